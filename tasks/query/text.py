"""Text as the query language sees it: what separates words, what continues one, how metadata
values compare, and FieldView, one field of one article ready for the term matchers (its
case-folded view, its grapheme boundaries, the word distances NEAR measures, and the sentences
and paragraphs SENTENCE() and PARAGRAPH() look within)."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from itertools import islice

import regex

from tasks.common.scripts import UNSPACED_SCRIPT_CLASS
from tasks.common.text import paragraph_spans, sentence_spans

# A character that continues a word of a spaced script: letters, digits, combining marks; not
# those of unspaced scripts, so that "Facebook" in "在Facebook上" is still a whole word.
WORD_CHAR = rf"[[\w\p{{M}}]--{UNSPACED_SCRIPT_CLASS}]"
# What separates the words of a phrase in the text (and splits a hyphenated query term): the
# space, every other character str.isspace() accepts (spelt out, so that the regex module here
# and the re module in tasks.query.prefilter agree exactly), and hyphens.
SEPARATORS_BUT_SPACE = r"\t-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\-\u2010\u2011"
SEPARATOR_RUN = f"[ {SEPARATORS_BUT_SPACE}]+"

# NEAR counts these: a word of a spaced script, or one grapheme cluster of an unspaced one.
_TOKEN = regex.compile(rf"{WORD_CHAR}+|(?={UNSPACED_SCRIPT_CLASS})\X", regex.V1)
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")  # what _TOKEN matches in ASCII text
_GRAPHEME = regex.compile(r"\X", regex.V1)
SCOPES = ("sentence", "paragraph")


def fold_value(value: str) -> str:
    """How metadata values (source, tag, lang) compare: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


class FieldView:
    """One field of one article: its NFC text, the case-folded view every matcher runs on, and
    lazily the grapheme boundaries of that view."""

    __slots__ = ("text", "view", "_origin", "_bounds", "_scopes")

    def __init__(self, text: str) -> None:
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        self.text = text
        self.view = text.casefold()
        # casefold() works per code point, so equal lengths mean offsets map one to one (almost
        # every text); otherwise ("ß" -> "ss") remember which character each view offset came from.
        self._origin: list[int] | None = None
        if len(self.view) != len(text):
            self._origin = [i for i, ch in enumerate(text) for _ in ch.casefold()]
        self._bounds: dict[int, list[int]] = {}
        self._scopes: dict[str, list[tuple[int, int]]] | None = None

    @property
    def same_offsets(self) -> bool:
        """Do offsets in the view index the text too (no character's case folding changed length)?"""
        return self._origin is None

    def original(self, start: int, end: int) -> tuple[int, int]:
        if self._origin is None:
            return start, end
        return self._origin[start], self._origin[end - 1] + 1

    def _boundaries(self, pos: int) -> list[int]:
        """Grapheme boundaries of the whitespace-delimited stretch around pos. Only that stretch
        is scanned with \\X (a whole article takes a millisecond; a stretch, microseconds):
        clusters never reach across a space, and the boundary before a space is certain."""
        view = self.view
        start = max(view.rfind(" ", 0, pos), view.rfind("\n", 0, pos), 0)
        bounds = self._bounds.get(start)
        if bounds is None:
            ends = [e for e in (view.find(" ", start + 1), view.find("\n", start + 1)) if e >= 0]
            end = min(ends, default=len(view))
            bounds = [start] + [m.end() for m in _GRAPHEME.finditer(view, start, end)]
            self._bounds[start] = bounds
        return bounds

    def is_boundary(self, pos: int) -> bool:
        if pos <= 0 or pos >= len(self.view):
            return True
        bounds = self._boundaries(pos)
        i = bisect_left(bounds, pos)
        return i < len(bounds) and bounds[i] == pos

    def next_boundary(self, pos: int) -> int:
        if pos >= len(self.view):
            return len(self.view)
        bounds = self._boundaries(pos)
        return bounds[min(bisect_left(bounds, pos), len(bounds) - 1)]

    def within(self, end: int, start: int, n: int) -> bool:
        """Does something starting at `start` lie at most n words after something ending at
        `end` (start >= end; adjacent words are 1 apart)? Stops after n tokens: cost O(n), not
        O(article), and no article is tokenized whole."""
        if start - end < n:  # fewer characters than n: fewer words too
            return True
        # Count in C over a window that usually holds n words; a partial word at its end is a
        # word of the whole stretch too, so n of them in the window settles it.
        stop = min(start, end + 12 * n)
        window = self.view[end:stop]
        # ASCII text has no marks and no unspaced script: the re module counts its words faster.
        words = _ASCII_WORD.findall(window) if window.isascii() else _TOKEN.findall(window)
        if len(words) >= n:
            return False
        if stop == start:
            return True
        return sum(1 for _ in islice(_TOKEN.finditer(self.view, end, start), n)) < n

    def scope_spans(self, kind: str) -> list[tuple[int, int]]:
        """[start, end) of each sentence (tasks.common.text's splitter) or paragraph (blank-line
        separated) of the view, blank edges excluded; computed once per field."""
        if self._scopes is None:
            self._scopes = {}
        spans = self._scopes.get(kind)
        if spans is None:
            spans = self._scopes[kind] = sentence_spans(self.view) if kind == "sentence" else paragraph_spans(self.view)
        return spans
