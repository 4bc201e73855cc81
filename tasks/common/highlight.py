"""A sentence split into its matched words and the text between them, so each output (an alert
channel, the terminal, a report) can escape the text and emphasize the words in its own syntax.
Words match whole, case-insensitively; in scripts written without spaces (Khmer, Thai, Chinese,
...) they match anywhere, but never inside a grapheme cluster."""

from __future__ import annotations

from collections.abc import Sequence

import regex

from tasks.common.scripts import UNSPACED_SCRIPT_CHAR

# A word character, including combining marks: emphasis never starts or ends inside a word or
# a grapheme cluster (Khmer vowel signs and subscripts are marks).
_WORD = r"[\w\p{M}]"


def _bounded(body: str, term: str) -> str:
    """Whole-word for spaced scripts; in scripts without spaces a word has no boundary to require,
    so only never inside a grapheme cluster."""
    if UNSPACED_SCRIPT_CHAR.search(term):
        return rf"(?<!\p{{M}}){body}(?!\p{{M}})"
    return rf"(?<!{_WORD}){body}(?!{_WORD})"


def hit_segments(sentence: str, words: Sequence[str]) -> list[tuple[str, bool]]:
    """The sentence cut into (text, is_a_matched_word) pieces, so each channel can escape the
    text and emphasize the words in its own syntax."""
    if not words:
        return [(sentence, False)] if sentence else []
    alternation = "|".join(_bounded(regex.escape(w), w) for w in sorted(words, key=len, reverse=True))
    pattern = regex.compile(alternation, regex.IGNORECASE | regex.V1)
    pieces: list[tuple[str, bool]] = []
    last = 0
    for m in pattern.finditer(sentence):
        if m.start() > last:
            pieces.append((sentence[last : m.start()], False))
        pieces.append((m.group(0), True))
        last = m.end()
    if last < len(sentence):
        pieces.append((sentence[last:], False))
    return pieces


def emphasize(sentence: str, words: Sequence[str], before: str = "**", after: str = "**") -> str:
    """The sentence with each matched word wrapped, nothing escaped (alert channels escape each
    piece of hit_segments instead: tasks.alerting.render)."""
    return "".join(f"{before}{text}{after}" if hit else text for text, hit in hit_segments(sentence, words))
