"""The query language's tokens: tokenize() splits a query into words, phrases, parentheses,
operators and field prefixes (the grammar is in tasks.query.parser); terms_query() writes the
old `terms:` lists as a query, quoting whatever tokenize() would otherwise read as syntax."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import regex

from tasks.query.document import META_FIELDS, TEXT_FIELDS
from tasks.query.errors import QuerySyntaxError

MAX_DISTANCE = 100  # the largest n of NEAR/n and ONEAR/n

_FIELD_PREFIX = regex.compile(r"([A-Za-z]+):")
_PROXIMITY = regex.compile(r"(O?NEAR)(?:/(.*))?", regex.DOTALL)
_FIELD_HELP = 'fields are title, text, source, tag, lang; to search for "word:", quote it'


@dataclass(frozen=True)
class Token:
    kind: str  # ( ) AND OR NOT NEAR WORD PHRASE FIELD EOF
    text: str  # WORD: the word; PHRASE: between the quotes; FIELD: its name; NEAR: as written
    pos: int
    end: int
    distance: int = 0
    ordered: bool = False


def tokenize(query: str) -> list[Token]:
    """The tokens of query, ending with an EOF token; QuerySyntaxError for an unterminated
    phrase, a bad NEAR distance, an unknown field or a field without a value."""
    toks, i = [], 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(Token(ch, ch, i, i + 1))
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError("unterminated phrase", query, i, "missing closing quote")
            toks.append(Token("PHRASE", query[i + 1 : close], i, close + 1))
            i = close + 1
        else:
            j = i
            while j < len(query) and not query[j].isspace() and query[j] not in '()"':
                j += 1
            toks.extend(_word(query, i, j))
            i = j
    toks.append(Token("EOF", "", len(query), len(query)))
    return toks


def _word(query: str, i: int, j: int) -> list[Token]:
    """The tokens of query[i:j], a run without spaces, parentheses or quotes."""
    word = query[i:j]
    if word in ("AND", "OR", "NOT"):
        return [Token(word, word, i, j)]
    near = _PROXIMITY.fullmatch(word)
    if near:
        op, n = near.group(1), near.group(2)
        if n is None or not regex.fullmatch(r"[0-9]+", n):
            raise QuerySyntaxError(f"{op} needs a distance", query, i, f"write {op}/n with n from 1 to {MAX_DISTANCE}")
        if not 1 <= int(n) <= MAX_DISTANCE:
            raise QuerySyntaxError(
                f"{op}/{n} out of range", query, i, f"the distance must be from 1 to {MAX_DISTANCE} words"
            )
        return [Token("NEAR", word, i, j, int(n), op == "ONEAR")]
    field = _FIELD_PREFIX.match(word)
    if field is None:
        return [Token("WORD", word, i, j)]
    name = field.group(1).lower()
    if name not in TEXT_FIELDS + META_FIELDS:
        raise QuerySyntaxError(f"unknown field {field.group(0)}", query, i, _FIELD_HELP)
    toks = [Token("FIELD", name, i, i + field.end())]
    rest = word[field.end() :]
    if rest:
        toks.append(Token("WORD", rest, i + field.end(), j))
    elif j >= len(query) or query[j] not in '("':
        raise QuerySyntaxError(
            f"field {name}: without a value", query, i, "put a term, phrase or group right after the colon"
        )
    return toks


# --- the old terms: lists -----------------------------------------------------------------------


def _needs_quotes(term: str) -> bool:
    if any(ch.isspace() or ch in '()":-\u2010\u2011' for ch in term) or term in ("AND", "OR", "NOT"):
        return True
    return _PROXIMITY.fullmatch(term) is not None


def terms_query(terms: Sequence[str]) -> str:
    """The old `terms:` list as one OR query. Multi-word terms and words the grammar would read
    otherwise (operators, field-like words, hyphens) become phrases; a trailing * is kept (inside
    the quotes); double quotes inside a term, which a phrase cannot hold, become spaces."""
    parts = []
    for raw in terms:
        term = " ".join(raw.replace('"', " ").split())
        if not term:
            continue
        parts.append(f'"{term}"' if _needs_quotes(term) else term)
    if not parts:
        raise ValueError("terms_query: no non-empty term")
    return " OR ".join(parts)
