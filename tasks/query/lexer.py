"""The query language's tokens: tokenize() splits a query into words, phrases, group references,
parentheses, operators, ATLEAST/SENTENCE/PARAGRAPH, the commas between ATLEAST's operands and
field prefixes (the grammar is in tasks.query.parser); terms_query() writes a `terms:` list as
a query, quoting whatever tokenize() would otherwise read as syntax."""

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
_GROUP = regex.compile(r"@([A-Za-z][A-Za-z0-9_-]*)")
_GROUP_HELP = "@ then letters, digits, - or _, starting with a letter; to search for '@word', quote it"
_EXACT_HELP = 'a leading = makes one term or phrase case-sensitive: =US, ="Nifty 50"'
OPERATORS = ("AND", "OR", "NOT")
FUNCTIONS = ("ATLEAST", "SENTENCE", "PARAGRAPH")  # each takes parentheses


@dataclass(frozen=True)
class Token:
    kind: str  # ( ) , AND OR NOT NEAR ATLEAST SCOPE WORD PHRASE GROUP FIELD EOF
    text: str  # WORD: the word; PHRASE: between the quotes; GROUP: the name; FIELD: its name; else as written
    pos: int  # where it starts in the query (an exact term's '=')
    end: int
    distance: int = 0
    ordered: bool = False
    exact: bool = False  # WORD, PHRASE: written with a leading '=' (case-sensitive)

    @property
    def content(self) -> int:
        """Where a WORD's or PHRASE's text starts in the query (after '=' and the opening quote)."""
        return self.pos + self.exact + (self.kind == "PHRASE")


def tokenize(query: str) -> list[Token]:
    """The tokens of query, ending with an EOF token; QuerySyntaxError for an unterminated
    phrase, a bad NEAR distance, an unknown field, a field without a value, a bad group name or
    a misplaced '='. Commas are tokens only directly inside ATLEAST's parentheses."""
    toks: list[Token] = []
    args: list[bool] = []  # per open parenthesis: is it ATLEAST's (its commas separate operands)?
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            if ch == "(":
                args.append(bool(toks) and toks[-1].kind == "ATLEAST")
            elif args:
                args.pop()
            toks.append(Token(ch, ch, i, i + 1))
            i += 1
        elif ch == "," and args and args[-1]:
            toks.append(Token(",", ",", i, i + 1))
            i += 1
        elif ch == '"' or query.startswith('="', i):
            toks.append(_phrase(query, i))
            i = toks[-1].end
        else:
            j = i
            stops = '()",' if args and args[-1] else '()"'
            while j < len(query) and not query[j].isspace() and query[j] not in stops:
                if j > i and query.startswith('="', j):  # title:="Nifty 50"
                    break
                j += 1
            toks.extend(_word(query, i, j))
            i = j
    toks.append(Token("EOF", "", len(query), len(query)))
    return toks


def _phrase(query: str, i: int) -> Token:
    """The phrase starting at i (its '"', or the '=' before it)."""
    exact = query[i] == "="
    opening = i + exact
    close = query.find('"', opening + 1)
    if close < 0:
        raise QuerySyntaxError("unterminated phrase", query, opening, "missing closing quote")
    return Token("PHRASE", query[opening + 1 : close], i, close + 1, exact=exact)


def _word(query: str, i: int, j: int) -> list[Token]:
    """The tokens of query[i:j], a run without spaces, parentheses or quotes."""
    word = query[i:j]
    if word in OPERATORS:
        return [Token(word, word, i, j)]
    if word in FUNCTIONS:
        return [Token("ATLEAST" if word == "ATLEAST" else "SCOPE", word, i, j)]
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
        return [_value(query, i, j)]
    name = field.group(1).lower()
    if name not in TEXT_FIELDS + META_FIELDS:
        raise QuerySyntaxError(f"unknown field {field.group(0)}", query, i, _FIELD_HELP)
    toks = [Token("FIELD", name, i, i + field.end())]
    if i + field.end() < j:
        toks.append(_value(query, i + field.end(), j))
    elif j >= len(query) or not (query[j] in '("' or query.startswith('="', j)):
        raise QuerySyntaxError(
            f"field {name}: without a value", query, i, "put a term, phrase or group right after the colon"
        )
    return toks


def _value(query: str, i: int, j: int) -> Token:
    """query[i:j] after any field prefix: a group reference, a function, a word, '=' and a word."""
    word = query[i:j]
    if word.startswith("@"):
        group = _GROUP.fullmatch(word)
        if group is None:
            raise QuerySyntaxError("bad group name", query, i, _GROUP_HELP)
        return Token("GROUP", group.group(1).lower(), i, j)
    if word in FUNCTIONS:
        return Token("ATLEAST" if word == "ATLEAST" else "SCOPE", word, i, j)
    if not word.startswith("="):
        return Token("WORD", word, i, j)
    rest = word[1:]
    if not rest:
        raise QuerySyntaxError("lone '='", query, i, _EXACT_HELP)
    if rest[0] in "=@" or _FIELD_PREFIX.match(rest):
        raise QuerySyntaxError(
            "'=' before a field, group or '='", query, i, f"{_EXACT_HELP}; fields go first: title:=US"
        )
    return Token("WORD", rest, i, j, exact=True)


# --- terms: lists ----------------------------------------------------------------------------------


def _needs_quotes(term: str) -> bool:
    if any(ch.isspace() or ch in '()":-\u2010\u2011' for ch in term) or term in OPERATORS + FUNCTIONS:
        return True
    return term[0] in "@=" or _PROXIMITY.fullmatch(term) is not None


def terms_query(terms: Sequence[str]) -> str:
    """A `terms:` list (or a group's) as one OR query. Multi-word terms and words the grammar
    would read otherwise (operators, field-like words, hyphens, a leading @) become phrases; a
    trailing * is kept (inside the quotes); a leading = (exact case) stays in front of the
    quotes; double quotes inside a term, which a phrase cannot hold, become spaces."""
    parts = []
    for raw in terms:
        term = " ".join(raw.replace('"', " ").split())
        exact = term.startswith("=")
        if exact:
            term = term[1:].lstrip()
        if not term:
            continue
        parts.append(("=" if exact else "") + (f'"{term}"' if _needs_quotes(term) else term))
    if not parts:
        raise ValueError("terms_query: no non-empty term")
    return " OR ".join(parts)
