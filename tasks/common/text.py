"""Text hygiene shared by the stages: clean what we store, normalize what we compare."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# C0/C1 control characters except tab and newline; NUL in particular, which PostgreSQL rejects.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A lone surrogate (a JSON Feed's "\\ud800", a numeric character reference) is no character: it
# cannot be encoded, so neither SQLite nor PostgreSQL can store it. It becomes U+FFFD here, where
# every parsed field passes, so the text is valid Unicode from the parse boundary on.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?។៕。！？])\s+|\n+")

# Below this many characters a text does not identify an article (a one-line summary may be
# shared by two different stories), so it gets no content hash.
MIN_HASHED_CHARS = 200


def clean(text: str | None, limit: int | None = None) -> str:
    """Remove control characters, replace lone surrogates by U+FFFD and collapse runs of
    spaces; keep paragraph breaks."""
    if not text:
        return ""
    text = _SURROGATE.sub("\ufffd", text)
    # NFC: one spelling per letter, so a decomposed "ồ" in a page equals the composed one in a term.
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text).strip()
    return text[:limit] if limit else text


def strip_controls(text: str) -> str:
    """NFC, control characters removed, lone surrogates as U+FFFD, line breaks as spaces; nothing
    else touched (not even the ends: the pieces of a sentence keep their spaces)."""
    text = (
        unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text))
        .replace("\r\n", " ")
        .replace("\r", " ")
        .replace("\n", " ")
    )
    return _CONTROL.sub("", text)


def normalize(text: str) -> str:
    """The form two copies of one text share: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(text: str) -> str | None:
    norm = normalize(text)
    if len(norm) < MIN_HASHED_CHARS:
        return None
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")  # a line holding only blanks, or none


def spans_between(text: str, breaks: re.Pattern[str]) -> list[tuple[int, int]]:
    """(start, end) of each piece of `text` between matches of `breaks`, blank edges excluded."""
    spans = []
    start = 0
    for m in [*breaks.finditer(text), None]:
        end = m.start() if m else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if m:
            start = m.end()
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, blank edges excluded."""
    return spans_between(text, _SENTENCE_END)


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph of `text` (paragraphs end at a blank line)."""
    return spans_between(text, _PARAGRAPH_BREAK)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]
