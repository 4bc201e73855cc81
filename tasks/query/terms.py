"""Compiled terms: TermMatcher finds one term or phrase of a query in a FieldView, and says
which literal the prefilter looks for to know where it may start."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import regex

from tasks.common.scripts import UNSPACED_SCRIPT_CHAR
from tasks.query.text import SEPARATOR_RUN, WORD_CHAR, FieldView

# Case-folded words, trailing wildcard, and for an exact-case term (``=US``) its words as
# written (NFC), else ().
TermKey = tuple[tuple[str, ...], bool, tuple[str, ...]]
Occurrence = tuple[int, int]  # [start, end) in a FieldView's view


class TermMatcher:
    """One term or phrase, compiled: its regex runs on case-folded text (so its semantics are
    exactly "equal after str.casefold", which is also what the Aho-Corasick prefilter sees).
    An exact-case term is found the same way, then kept only where the text as written holds
    its words as written."""

    __slots__ = ("key", "literal", "source", "compiled", "start_cluster", "end_cluster", "exact", "plain")

    def __init__(self, words: tuple[str, ...], wildcard: bool, exact: tuple[str, ...] = ()) -> None:
        self.key: TermKey = (words, wildcard, exact)
        # Every match starts with this once separator runs are squeezed to one space: the
        # prefilter looks for it (the wildcard's prefix; the whole phrase, not just a word of it).
        self.literal = " ".join(words)
        self.start_cluster = bool(UNSPACED_SCRIPT_CHAR.match(words[0][0]))
        self.end_cluster = bool(UNSPACED_SCRIPT_CHAR.match(words[-1][-1]))
        body = SEPARATOR_RUN.join(regex.escape(w) for w in words)
        if wildcard and not self.end_cluster:
            body += f"{WORD_CHAR}*"
        start = "" if self.start_cluster else f"(?<!{WORD_CHAR})"
        end = "" if self.end_cluster else f"(?!{WORD_CHAR})"
        # Compiled on first use, not here: compiling is 80% of loading the shipped watchlist
        # (1,442 regexes, 0.45 s of a quiet CLI run's 2.7 s CPU), and a run compiles only the
        # terms whose literal the prefilter saw in some article.
        self.source = start + body + end
        self.compiled: regex.Pattern[str] | None = None
        self.exact = regex.compile(SEPARATOR_RUN.join(regex.escape(w) for w in exact), regex.V1) if exact else None
        self.plain = not (self.start_cluster or self.end_cluster or exact)  # nothing to check after the regex

    @property
    def pattern(self) -> regex.Pattern[str]:
        """The term's regex on case-folded text (compiled once, at the first article that needs it)."""
        if self.compiled is None:
            self.compiled = regex.compile(self.source, regex.V1)
        return self.compiled

    def _checked(self, view: FieldView, start: int, end: int) -> Occurrence | None:
        # Unspaced scripts: not inside a grapheme cluster (a Khmer subscript, a Thai vowel sign).
        if self.start_cluster and not view.is_boundary(start):
            return None
        if self.end_cluster and not view.is_boundary(end):
            if not self.key[1]:
                return None
            end = view.next_boundary(end)
        if self.exact is not None and not self._exact_case(view, start, end):
            return None
        return start, end

    def _exact_case(self, view: FieldView, start: int, end: int) -> bool:
        """Does the text as written (not its folded view) hold the words as written there?"""
        first, last = view.original(start, end)
        assert self.exact is not None
        found = self.exact.match(view.text, first, last)
        return found is not None and (self.key[1] or found.end() == last)

    def find(self, view: FieldView) -> list[Occurrence]:
        """Every occurrence, overlapping ones too (as the index finds them: one per start)."""
        found = (self._checked(view, m.start(), m.end()) for m in self.pattern.finditer(view.view, overlapped=True))
        return [occ for occ in found if occ is not None]

    def at_each(self, view: FieldView, starts: Iterable[int]) -> list[Occurrence]:
        """The occurrences starting at these places (where the prefilter saw the literal)."""
        match, text = self.pattern.match, view.view
        spans = [m.span() for m in (match(text, pos) for pos in starts) if m is not None]
        if self.plain:  # the common case: no cluster or case checks
            return spans
        return [occ for occ in (self._checked(view, *span) for span in spans) if occ is not None]


@lru_cache(maxsize=65536)
def term_matcher(words: tuple[str, ...], wildcard: bool, exact: tuple[str, ...] = ()) -> TermMatcher:
    """The one TermMatcher of a key, shared by every query that uses the term. A matcher is
    immutable, and compiling its regexes is most of a query's parse: the shipped watchlist's
    validation and compile parsed 1,499 queries with 4,041 term compiles in 1.3 s before this
    cache (its groups repeat the same terms in every clause and language)."""
    return TermMatcher(words, wildcard, exact)
