"""What queries are evaluated on and what they answer: Doc (an article: its text fields and the
metadata that field clauses compare), TermGroup (a named list of terms that queries refer to as
``@name``), Span, Indicator and Explanation (why a query matched).

Explanations list the clauses that made the query match (terms, phrases, proximity clauses,
group references and field clauses as written; field clauses inside parentheses read
``field:value``), the spans of text they matched, and per group that fired (an indicator) the
text it matched; nothing from inside a NOT. Span offsets index the Doc's title/text as passed,
which callers keep in NFC (tasks.common.text.clean does); a non-NFC field is normalized first
and its offsets then index the NFC form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


class TermGroup:
    """A named list of terms (the syntax of a topic's `terms:` list: words, trailing-* wildcards,
    phrases, ``=`` for exact case): `terms` for articles of every language, and `languages`
    adding terms for articles of one language ({"km": [...]}, primary language subtags)."""

    __slots__ = ("terms", "languages")

    def __init__(self, terms: Sequence[str] = (), languages: Mapping[str, Sequence[str]] | None = None) -> None:
        self.terms = tuple(terms)
        self.languages = {code.lower(): tuple(more) for code, more in sorted((languages or {}).items())}

    def __repr__(self) -> str:
        return f"TermGroup({self.terms!r}, {self.languages!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TermGroup) and (other.terms, other.languages) == (self.terms, self.languages)

    def __hash__(self) -> int:
        return hash((self.terms, tuple(self.languages.items())))

    def __reduce__(self) -> tuple[type[TermGroup], tuple[tuple[str, ...], dict[str, tuple[str, ...]]]]:
        return (TermGroup, (self.terms, self.languages))

    def terms_for(self, language: str) -> tuple[str, ...]:
        """The terms an article in this language is searched for."""
        return self.terms + self.languages.get(language, ())


@dataclass(frozen=True)
class Span:
    """[start, end) in the Doc's `field` ("title" or "text"); clause: the clause as written."""

    field: str
    start: int
    end: int
    clause: str


@dataclass(frozen=True)
class Indicator:
    """A group (``@means``) that fired: its name, the distinct texts it matched as the article
    writes them (title first, then in order), and their spans."""

    group: str
    quotes: tuple[str, ...]
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Explanation:
    clauses: tuple[str, ...]
    spans: tuple[Span, ...]
    indicators: tuple[Indicator, ...] = ()  # in the order the query first names them
