"""What queries are evaluated on and what they answer: Doc (an article: its text fields and the
metadata that field clauses compare), Span and Explanation (why a query matched).

Explanations list the clauses that made the query match (terms, phrases, proximity clauses and
field clauses as written; field clauses inside a group read ``field:value``) and the spans of
text they matched; nothing from inside a NOT. Span offsets index the Doc's title/text as
passed, which callers keep in NFC (tasks.common.text.clean does); a non-NFC field is normalized
first and its offsets then index the NFC form.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT_FIELDS = ("title", "text")  # searched by terms; title first wherever spans are ordered
META_FIELDS = ("source", "tag", "lang")  # compared as whole values by source:, tag:, lang:


@dataclass(frozen=True)
class Doc:
    title: str
    text: str
    source: str = ""
    tags: tuple[str, ...] = ()
    lang: str | None = None


@dataclass(frozen=True)
class Span:
    """[start, end) in the Doc's `field` ("title" or "text"); clause: the clause as written."""

    field: str
    start: int
    end: int
    clause: str


@dataclass(frozen=True)
class Explanation:
    clauses: tuple[str, ...]
    spans: tuple[Span, ...]
