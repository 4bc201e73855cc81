"""Near-duplicate detection: one story told by five outlets is one story.

A story's text becomes a MinHash signature of its word shingles (about half a KiB, stored in a
column next to the article); a StoryIndex rebuilt from recent signatures answers "which stored
story is this one a copy of?". Pure functions and one in-memory class: no database, no Prefect.
"""

from __future__ import annotations

import struct

import numpy as np
import regex
from datasketch import LeanMinHash, MinHash, MinHashLSH

from tasks.text import normalize

# Numbers below are from bench/dedup.py (277 real articles, about 830 seeded copies per kind).
# 128 permutations: the estimate's standard error is sqrt(J(1-J)/128), 0.044 at J = 0.5, while
# copies score 0.5-1.0 and different stories at most 0.17 (0.33 when two stories carry the same
# outlet's 57-word nav and footer): the gap is several errors wide, more permutations buy nothing.
NUM_PERM = 128
# Three-word shingles: an edited word breaks 3 shingles rather than 5, so copies keep more. At
# threshold 0.5, 3/4/5 words found 98.9/97.8/97.7% of copies with 1% edits and boilerplate and
# 98.1/97.1/95.6% with 3% edits, while different stories scored no higher (max 0.17/0.11/0.16;
# with shared boilerplate 0.33/0.31/0.34): longer shingles bought no precision.
SHINGLE_WORDS = 3
# Below this a text is a headline or a teaser: so few shingles that a shared quote or an outlet's
# leftover nav line is most of them, and two different teasers would look alike.
MIN_WORDS = 30
# Verification: an LSH candidate is the same story when its estimated Jaccard is at least this.
# 0.4 would also find the copies of very short articles that 60 words of boilerplate swamp
# (100% vs 98.9% at 1% edits) but is under two standard errors above the 0.33 that different
# stories reached through shared boilerplate; a false merge hides a story, which costs more than
# a second alert about one. A 70% truncation scores about 0.7 and is found; 50% scores about 0.5
# and is found only half the time (containment would find it: see the bench's sweep).
MATCH_THRESHOLD = 0.5
# Bands x rows of the LSH index: a pair at J = 0.5 shares some band with probability
# 1 - (1 - 0.5**3)**42 = 0.996 (32 x 4: 0.87), at J = 0.05 with 0.005. Insertion costs per band:
# 42 bands build 20,000 signatures in about 2 s, 64 x 2 in twice that.
LSH_BANDS, LSH_ROWS = 42, 3

# The permutation scheme of datasketch >= 2.0 ("affine32") keeps hash values in uint32, so
# 4 bytes per permutation lose nothing (512 bytes, not 1 KiB). Sketches of different schemes,
# seeds or shingle sizes are incomparable and comparing them gives garbage silently, so a
# 2-byte header names the format and the shingle size, and readers refuse what they do not know.
_SCHEME = "affine32"
_SEED = 1
_FORMAT = 1
_HEADER = struct.Struct("<BB")  # format version, shingle words
_SIG_BYTES = _HEADER.size + 4 * NUM_PERM
# Punctuation and symbols separate words ("U.S." and "U.S" shingle alike), and so does the
# zero-width space that Khmer pages put between words; letters and combining marks (Khmer and
# Thai vowel signs) stay, so no word is cut apart.
_NOT_WORD = regex.compile(r"[\p{P}\p{S}\u200b]+")


def words(text: str) -> list[str]:
    """The comparable words of `text`: normalized (NFKC, case-folded), punctuation removed."""
    return _NOT_WORD.sub(" ", normalize(text)).split()


def signature(text: str, *, shingle_words: int = SHINGLE_WORDS) -> bytes | None:
    """MinHash of the text's word shingles as bytes, or None when the text is too short to tell
    stories apart. `shingle_words` exists for the bench's sweep; stored signatures use the default."""
    tokens = words(text)
    if len(tokens) < max(MIN_WORDS, shingle_words):
        return None
    shingles = {" ".join(tokens[i : i + shingle_words]) for i in range(len(tokens) - shingle_words + 1)}
    # The default hash (SHA-1) is the same in every process, unlike hash(): signatures are stored.
    mh = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME)
    mh.update_batch([s.encode("utf-8") for s in shingles])
    header = _HEADER.pack(_FORMAT, shingle_words)
    return header + mh.hashvalues.astype("<u4", copy=False).tobytes()


def _decode(sig: bytes) -> tuple[int, np.ndarray]:
    if len(sig) != _SIG_BYTES:
        raise ValueError(f"not a signature: {len(sig)} bytes, expected {_SIG_BYTES}")
    fmt, shingle_words = _HEADER.unpack_from(sig)
    if fmt != _FORMAT:
        raise ValueError(f"signature format {fmt} is not {_FORMAT}: recompute it from the text")
    return shingle_words, np.frombuffer(sig, dtype="<u4", offset=_HEADER.size)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a == b)) / NUM_PERM


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (0.0 to 1.0)."""
    ka, ha = _decode(a)
    kb, hb = _decode(b)
    if ka != kb:
        raise ValueError(f"signatures of {ka}- and {kb}-word shingles are not comparable")
    return _jaccard(ha, hb)


class StoryIndex:
    """Signatures of stored stories, searchable for the one a new text is a copy of.

    Cheap to rebuild from stored signatures (see bench/dedup.py for 20,000), so it keeps no state
    anywhere but memory.
    """

    def __init__(self, threshold: float = MATCH_THRESHOLD) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(num_perm=NUM_PERM, params=(LSH_BANDS, LSH_ROWS))
        self._values: dict[int, np.ndarray] = {}
        self._shingle_words: int | None = None

    def __len__(self) -> int:
        return len(self._values)

    def _sketch(self, sig: bytes) -> tuple[np.ndarray, LeanMinHash]:
        shingle_words, values = _decode(sig)
        # Signatures of other shingle sizes hash other sets: their bands would never meet.
        if self._shingle_words not in (None, shingle_words):
            raise ValueError(f"index holds {self._shingle_words}-word shingles, got {shingle_words}")
        return values, LeanMinHash(seed=_SEED, hashvalues=values, scheme=_SCHEME)

    def add(self, key: int, sig: bytes) -> None:
        values, lean = self._sketch(sig)
        if key in self._values:
            raise ValueError(f"key {key} is already indexed")
        self._shingle_words = _HEADER.unpack_from(sig)[1]
        # The membership test above is the duplicate check; datasketch's own would repeat it.
        self._lsh.insert(key, lean, check_duplication=False)
        self._values[key] = values

    def matches(self, sig: bytes) -> list[tuple[int, float]]:
        """Every indexed key verified as the same story, best first (ties: lowest key first)."""
        values, lean = self._sketch(sig)
        found: list[tuple[int, float]] = []
        for key in self._lsh.query(lean):
            score = _jaccard(values, self._values[key])
            if score >= self.threshold:
                found.append((key, score))
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found

    def nearest(self, sig: bytes) -> tuple[int, float] | None:
        """The most similar indexed key and its estimated Jaccard, if it passes verification."""
        found = self.matches(sig)
        return found[0] if found else None
