"""Near-duplicate detection: one story told by five outlets is one story.

A story's text becomes a MinHash signature of its word shingles (about half a KiB, stored in a
column next to the article); a StoryIndex rebuilt from recent signatures answers "which stored
story is this one a copy of?". Pure functions and one in-memory class: no database, no Prefect.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

import numpy as np
import regex

from tasks.common.text import normalize

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
# At most this many of a band's newest signatures are candidates for a query. An outlet that
# sends thousands of entries from one template (differing only by numbers) fills the same buckets:
# every query had every earlier entry as a candidate, and 10,000 such entries took 3.5 minutes
# in story assignment (issue #19). A true copy shares several bands with its original (at J = 0.5,
# 5 of 42 on average), so a hot band that no longer lists the original costs little recall.
# bench/dedup.py's templated outlet, bodies only (CPU, one core): 2,000 entries 5.9 s without the
# cap (2.96 ms/entry and growing with the outlet), 0.5 s with it; 10,000 entries 4.5 s with it.
# Recall on syndicated copies was the same with and without it (0.989 at 1% edits+boilerplate).
HOT_BUCKET = 64
# A text of fewer shingles than this (estimated from its signature) is short: templated notices
# ("API v201509 sunset reminder" and "v201506", one text but for the version) scored 0.55 and
# were merged on their bodies. Two short texts are one story only when their titles agree too
# (StoryFacts.agrees): no number in one title that the other lacks, unless one title's numbers are
# all in the other's. Not shared words: outlets retitle syndicated copies ("42 workers freed from
# scam compound" for "Police free 42 workers held in debt bondage at ... scam compound").
# bench/dedup.py measures what this costs syndicated copies and what it saves on templated notices.
SHORT_SHINGLES = 150

# The permutation scheme of datasketch >= 2.0 ("affine32") keeps hash values in uint32, so
# 4 bytes per permutation lose nothing (512 bytes, not 1 KiB). Sketches of different schemes,
# seeds or shingle sizes are incomparable and comparing them gives garbage silently, so a
# 2-byte header names the format and the shingle size, and readers refuse what they do not know.
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
    # words(), split as UTF-8 bytes: normalize() left no whitespace but single spaces, and no UTF-8
    # sequence holds an ASCII byte, so these are words()' tokens, encoded; the shingles come out as
    # the bytes MinHash hashes (0.85 -> 0.69 ms for a 1,000-word article, the same signature).
    tokens = _NOT_WORD.sub(" ", normalize(text)).encode("utf-8").split()
    if len(tokens) < max(MIN_WORDS, shingle_words):
        return None
    shingles = set(map(b" ".join, zip(*(tokens[i:] for i in range(shingle_words)), strict=False)))
    header = _HEADER.pack(_FORMAT, shingle_words)
    return header + minhash(list(shingles)).astype("<u4", copy=False).tobytes()


# datasketch 2.0's MinHash(num_perm=128, seed=1, scheme="affine32"), bit for bit (stored
# signatures were made by it; tests/stories/test_minhash.py compares the two on random sets). Importing
# datasketch imports scipy through its LSH modules: 62 MB and 0.4 s in every process that signs
# (the main one, the page workers' fork server), for these few lines of numpy.
def _affine_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)  # odd: a bijection
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


_PERM_A, _PERM_B = _affine_permutations(NUM_PERM, _SEED)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finalizer: spreads the input hashes before the affine permutations."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash(items: list[bytes]) -> np.ndarray:
    """The NUM_PERM minimum hash values (uint32) of a set of byte strings. The input hash is
    SHA-1's first 4 bytes, the same in every process (unlike hash()): signatures are stored."""
    values = np.full(NUM_PERM, np.uint32(0xFFFFFFFF), dtype=np.uint32)
    if not items:
        return values
    # The 4-byte prefixes joined and read at once: the same values as struct.unpack_from("<I")
    # one by one, 20% faster (0.26 ms against 0.33 for a 700-shingle article).
    sha1 = hashlib.sha1
    prefixes = b"".join([sha1(item).digest()[:4] for item in items])
    hashed = np.frombuffer(prefixes, dtype="<u4").astype(np.uint32)
    permuted = _fmix32(hashed.reshape(-1, 1)) * _PERM_A + _PERM_B  # uint32 arithmetic wraps: mod 2^32
    return np.minimum(values, permuted.min(axis=0))


def shingle_estimate(values: np.ndarray) -> float:
    """How many distinct shingles the signed text had, estimated from its minimum hash values
    (each the least of n uniform draws, 1/(n+1) on average): within about 10% at 100-1,000."""
    return float((NUM_PERM - 1) / max(float(np.sum(values, dtype=np.float64)) / 2**32, 1e-12))


_DIGIT = regex.compile(r"\d")


@dataclass(frozen=True)
class StoryFacts:
    """What besides its text tells an article's story apart: its title (None when unknown, or a
    URL standing in for one) and when it was published (else fetched)."""

    title: str | None = None
    when: datetime | None = None

    @cached_property
    def title_numbers(self) -> frozenset[str] | None:
        """The title's words with a digit in them (None: no title, or a URL standing in for one)."""
        if not self.title or self.title.startswith(("http://", "https://")):
            return None
        return frozenset(w for w in words(self.title) if _DIGIT.search(w))

    def agrees(self, other: StoryFacts) -> bool:
        """The titles do not tell two editions apart: one's numbers (words with a digit) are all
        in the other's ("v201509" and "v201506" are two notices). Unknown titles agree."""
        mine, theirs = self.title_numbers, other.title_numbers
        if mine is None or theirs is None:
            return True
        return mine <= theirs or theirs <= mine


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

    LSH banding over numpy arrays: each signature gives LSH_BANDS 64-bit band keys; indexed keys
    live in one sorted array (binary search), and keys added since the last merge in a small
    dict that is merged into it every MERGE_EVERY signatures. 20,000 signatures take about
    42 MB (datasketch's MinHashLSH took 256 MB for the same bands). It keeps no state anywhere
    but memory and is cheap to rebuild from stored signatures (bench/dedup.py).
    """

    MERGE_EVERY = 2048

    def __init__(
        self,
        threshold: float = MATCH_THRESHOLD,
        hot_bucket: int | None = HOT_BUCKET,
        window: timedelta | None = None,
    ) -> None:
        self.threshold = threshold
        self.hot_bucket = hot_bucket  # None: every owner of a band is a candidate (the bench's baseline)
        self.window = window  # two articles further apart in time are never one story (None: no limit)
        self._facts: dict[int, StoryFacts] = {}  # caller's key -> its facts, when given
        self._sizes = np.empty(0, dtype=np.float64)  # estimated shingles by position
        self._keys: list[int] = []  # position -> caller's key
        self._positions: dict[int, int] = {}  # caller's key -> position
        self._values = np.empty((0, NUM_PERM), dtype=np.uint32)  # rows by position (grown by doubling)
        self._sorted_bands = np.empty(0, dtype=np.uint64)
        self._sorted_owner = np.empty(0, dtype=np.int64)  # position of each sorted band key
        self._pending: dict[int, list[int]] = {}  # band key -> positions, not merged yet
        self._pending_count = 0
        self._shingle_words: int | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def _decoded(self, sig: bytes) -> np.ndarray:
        shingle_words, values = _decode(sig)
        # Signatures of other shingle sizes hash other sets: their bands would never meet.
        if self._shingle_words not in (None, shingle_words):
            raise ValueError(f"index holds {self._shingle_words}-word shingles, got {shingle_words}")
        return values

    def add(self, key: int, sig: bytes, facts: StoryFacts | None = None) -> None:
        values = self._decoded(sig)
        if key in self._positions:
            raise ValueError(f"key {key} is already indexed")
        self._shingle_words = _HEADER.unpack_from(sig)[1]
        position = len(self._keys)
        if position == len(self._values):
            grown = np.empty((max(1024, 2 * position), NUM_PERM), dtype=np.uint32)
            grown[:position] = self._values
            self._values = grown
            self._sizes = np.concatenate([self._sizes, np.zeros(len(grown) - len(self._sizes))])
        self._values[position] = values
        self._sizes[position] = shingle_estimate(values)
        if facts is not None:
            self._facts[key] = facts
        self._keys.append(key)
        self._positions[key] = position
        for band in _band_keys(values).tolist():
            self._pending.setdefault(band, []).append(position)
        self._pending_count += 1
        if self._pending_count >= self.MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        bands = np.fromiter((b for b, owners in self._pending.items() for _ in owners), dtype=np.uint64, count=-1)
        owners = np.fromiter((o for group in self._pending.values() for o in group), dtype=np.int64, count=-1)
        all_bands = np.concatenate([self._sorted_bands, bands])
        all_owners = np.concatenate([self._sorted_owner, owners])
        order = np.argsort(all_bands, kind="stable")
        self._sorted_bands, self._sorted_owner = all_bands[order], all_owners[order]
        self._pending.clear()
        self._pending_count = 0

    def _candidates(self, values: np.ndarray) -> np.ndarray:
        """Positions sharing at least one band with `values` (each once); of a band shared by more
        than hot_bucket signatures, its newest hot_bucket (owners are kept oldest first)."""
        bands = _band_keys(values)
        cap = self.hot_bucket or len(self._keys) + 1
        parts = []
        if len(self._sorted_bands):
            lo = np.searchsorted(self._sorted_bands, bands, side="left")
            hi = np.searchsorted(self._sorted_bands, bands, side="right")
            parts = [
                self._sorted_owner[max(a, b - cap) : b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a
            ]
        pending = [p for band in bands.tolist() for p in self._pending.get(band, ())[-cap:]]
        if pending:
            parts.append(np.array(pending, dtype=np.int64))
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    def matches(self, sig: bytes, facts: StoryFacts | None = None) -> list[tuple[int, float]]:
        """Every indexed key verified as the same story, best first (ties: lowest key first).
        With the query's `facts`: none published further than the window apart, and two short
        texts only where their titles agree."""
        values = self._decoded(sig)
        positions = self._candidates(values)
        if not len(positions):
            return []
        # One vectorized comparison for all candidates: boilerplate shared by many articles of
        # an outlet can make hundreds of them candidates for every query.
        scores = np.count_nonzero(self._values[positions] == values, axis=1) / NUM_PERM
        keep = scores >= self.threshold
        short = np.minimum(self._sizes[positions], shingle_estimate(values)) < SHORT_SHINGLES
        found = [
            (self._keys[p], float(score))
            for p, score, is_short in zip(
                positions[keep].tolist(), scores[keep].tolist(), short[keep].tolist(), strict=True
            )
            if facts is None or self._same_story(facts, self._facts.get(self._keys[p]), is_short)
        ]
        found.sort(key=lambda kv: (-kv[1], kv[0]))
        return found

    def _same_story(self, query: StoryFacts, stored: StoryFacts | None, short: bool) -> bool:
        if stored is None:
            return True
        apart = abs(query.when - stored.when) if query.when is not None and stored.when is not None else None
        if self.window is not None and apart is not None and apart > self.window:
            return False
        return not short or query.agrees(stored)

    def nearest(self, sig: bytes, facts: StoryFacts | None = None) -> tuple[int, float] | None:
        """The most similar indexed key and its estimated Jaccard, if it passes verification."""
        found = self.matches(sig, facts)
        return found[0] if found else None


# Odd 64-bit multipliers (from splitmix64) mixing the rows of a band and its number into one
# key; equal keys are candidates only, verified by the estimated Jaccard afterwards.
_MIX = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB], dtype=np.uint64)
_BAND_SALT = (np.arange(LSH_BANDS, dtype=np.uint64) + np.uint64(1)) * np.uint64(0xD6E8FEB86659FD93)


def _band_keys(values: np.ndarray) -> np.ndarray:
    """One 64-bit key per band of LSH_ROWS consecutive hash values (uint64 arithmetic wraps)."""
    rows = values[: LSH_BANDS * LSH_ROWS].astype(np.uint64).reshape(LSH_BANDS, LSH_ROWS)
    with np.errstate(over="ignore"):
        mixed = (rows * _MIX[:LSH_ROWS]).sum(axis=1, dtype=np.uint64) ^ _BAND_SALT
        mixed ^= mixed >> np.uint64(31)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        mixed ^= mixed >> np.uint64(29)
    return mixed
