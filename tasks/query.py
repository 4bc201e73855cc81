"""A query language for watched topics, and an index that runs many queries over one article.

Grammar (precedence, tightest first: field prefix, NEAR/ONEAR, NOT, AND, OR)::

    query    := or
    or       := and ("OR" and)*
    and      := unary (["AND"] unary)*          adjacent clauses are ANDed
    unary    := "NOT" unary | proximity
    proximity:= primary [("NEAR/n" | "ONEAR/n") primary]
    primary  := [field ":"] (term | "phrase" | "(" or ")")

Operators are upper-case only (AND, OR, NOT, NEAR/n, ONEAR/n), so "and", "or", "not", "near"
stay ordinary words that can be searched for. Field names are case-insensitive.

- term: a word matched whole-word, case-insensitively (full Unicode case folding) after NFC
  normalization. A trailing ``*`` is a prefix wildcard (``traffick*``); ``*`` anywhere else is
  an error. A hyphenated term (``anti-trafficking``) is a two-word phrase.
- "phrase": words separated in the text by any run of whitespace and/or hyphens (``-``, U+2010,
  U+2011); the last word may carry the wildcard (``"human traffick*"``). Double quotes cannot
  be escaped.
- Scripts written without spaces (Khmer, Thai, Lao, Myanmar, Han, Hiragana, Katakana): a term
  edge in such a script needs no word boundary, only a grapheme-cluster boundary (the match
  never starts or ends inside a cluster). There ``*`` only completes the cluster it ends in.
  A Latin word directly next to such a script (``在Facebook上``) still counts as whole-word.
- ``A NEAR/n B``: an occurrence of A and one of B, in the same field, either order, at most n
  words apart; ``A ONEAR/n B``: A before B. Distance = word index of the first word of the
  later clause minus that of the last word of the earlier one (adjacent words: 1; overlapping
  occurrences never count), 1 <= n <= 100. A and B are terms, phrases or parenthesised OR
  groups of them. Words are runs of letters/digits/marks; in unspaced scripts every grapheme
  cluster counts as one word (a Khmer or Thai word is 2-4 clusters, a Chinese word 1-2
  characters: choose n accordingly).
- fields: ``title:x``/``text:x`` restrict a term, phrase or group to that field (unprefixed
  terms search both). ``source:"Khmer Times"`` (the source's name), ``tag:cambodia`` (one of
  the source's tags) and ``lang:km`` (the article's language; ``lang:en`` also matches
  ``en-GB``) compare whole values, case-insensitively; a trailing ``*`` makes them prefixes.
  A field prefix on a group applies to every term in it; fields cannot be nested differently.
  Letters followed by a colon always name a field: quote such a word to search for it
  (``"covid:19"``).
- ``NOT x`` is allowed anywhere, also alone (``NOT sport`` matches every article without
  "sport"); ``a NOT b`` is ``a AND NOT b``. Mind the precedence: ``a OR b NOT c`` is
  ``a OR (b AND NOT c)``; write ``(a OR b) NOT c``.

Explanations list the clauses that made the query match (terms, phrases, proximity clauses and
field clauses as written; field clauses inside a group read ``field:value``) and the spans of
text they matched; nothing from inside a NOT. Span offsets index the Doc's title/text as
passed, which callers keep in NFC (tasks.text.clean does); a non-NFC field is normalized first
and its offsets then index the NFC form.

WatchlistIndex (prefilter in tasks.query_index) reads each article once with an Aho-Corasick
automaton holding every term's case-folded literal, and evaluates only the queries whose required
literals occurred; queries that can match without any term (``lang:km``, ``NOT x``) are evaluated
for every article. It returns exactly what Query.explain would for each matching query.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import regex

if TYPE_CHECKING:
    from tasks.query_index import Prefilter

__all__ = [
    "Doc",
    "Explanation",
    "Query",
    "QuerySyntaxError",
    "Span",
    "WatchlistIndex",
    "parse",
    "terms_query",
]

TEXT_FIELDS = ("title", "text")
META_FIELDS = ("source", "tag", "lang")
MAX_DISTANCE = 100
MAX_DEPTH = 50

_UNSPACED_CLASS = r"[\p{Khmer}\p{Thai}\p{Lao}\p{Myanmar}\p{Han}\p{Hiragana}\p{Katakana}]"
_UNSPACED = regex.compile(_UNSPACED_CLASS, regex.V1)
# A character that continues a word of a spaced script: letters, digits, combining marks; not
# those of unspaced scripts, so that "Facebook" in "在Facebook上" is still a whole word.
_WORDCH = rf"[[\w\p{{M}}]--{_UNSPACED_CLASS}]"
# What separates the words of a phrase in the text (and splits a hyphenated query term): the
# space, every other character str.isspace() accepts (spelt out, so that the regex module here
# and the re module in tasks.query_index agree exactly), and hyphens.
SEPARATORS_BUT_SPACE = r"\t-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\-\u2010\u2011"
_SEP = f"[ {SEPARATORS_BUT_SPACE}]+"
_QUERY_WORD = regex.compile(f"[^ {SEPARATORS_BUT_SPACE}]+", regex.V1)
# NEAR counts these: a word of a spaced script, or one grapheme cluster of an unspaced one.
_TOKEN = regex.compile(rf"{_WORDCH}+|(?={_UNSPACED_CLASS})\X", regex.V1)
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")  # what _TOKEN matches in ASCII text
_GRAPHEME = regex.compile(r"\X", regex.V1)
_FIELD_PREFIX = regex.compile(r"([A-Za-z]+):")
_PROXIMITY = regex.compile(r"(O?NEAR)(?:/(.*))?", regex.DOTALL)


# --- errors ------------------------------------------------------------------------------------


def _width(text: str) -> int:
    """Terminal columns, so the caret lands under the token even after CJK or combining marks."""
    cols = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        cols += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cols


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed. str() is "<message> at position <n>[: <detail>]", then the
    query, then a caret under the culprit; message names the kind of error ("unbalanced
    parenthesis"), detail says what to do about it."""

    def __init__(self, message: str, query: str, position: int, detail: str = "") -> None:
        self.message = message
        self.query = query
        self.position = position
        self.detail = detail
        first = f"{message} at position {position}" + (f": {detail}" if detail else "")
        shown = "".join(" " if ch in "\r\n\t\v\f" else ch for ch in query)
        super().__init__(f"{first}\n  {shown}\n  {' ' * _width(query[:position])}^")

    def __reduce__(self) -> tuple[type[QuerySyntaxError], tuple[str, str, int, str]]:
        # Prefect and multiprocessing pickle exceptions; the default would call cls(str(self)).
        return (type(self), (self.message, self.query, self.position, self.detail))


# --- documents and explanations ----------------------------------------------------------------


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


def _fold(value: str) -> str:
    """How metadata values compare: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


class _FieldView:
    """One field of one article: its NFC text, the case-folded view every matcher runs on, and
    lazily the grapheme boundaries of that view."""

    __slots__ = ("text", "view", "_origin", "_bounds")

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


_TermKey = tuple[tuple[str, ...], bool]  # case-folded words, trailing wildcard
_Occurrence = tuple[int, int]  # [start, end) in a _FieldView's view


class _Matcher:
    """One term or phrase, compiled: its regex runs on case-folded text (so its semantics are
    exactly "equal after str.casefold", which is also what the Aho-Corasick prefilter sees)."""

    __slots__ = ("key", "literal", "pattern", "start_cluster", "end_cluster")

    def __init__(self, words: tuple[str, ...], wildcard: bool) -> None:
        self.key: _TermKey = (words, wildcard)
        # Every match starts with this once separator runs are squeezed to one space: the
        # prefilter looks for it (the wildcard's prefix; the whole phrase, not just a word of it).
        self.literal = " ".join(words)
        self.start_cluster = bool(_UNSPACED.match(words[0][0]))
        self.end_cluster = bool(_UNSPACED.match(words[-1][-1]))
        body = _SEP.join(regex.escape(w) for w in words)
        if wildcard and not self.end_cluster:
            body += f"{_WORDCH}*"
        start = "" if self.start_cluster else f"(?<!{_WORDCH})"
        end = "" if self.end_cluster else f"(?!{_WORDCH})"
        self.pattern = regex.compile(start + body + end, regex.V1)

    def _checked(self, view: _FieldView, start: int, end: int) -> _Occurrence | None:
        # Unspaced scripts: not inside a grapheme cluster (a Khmer subscript, a Thai vowel sign).
        if self.start_cluster and not view.is_boundary(start):
            return None
        if self.end_cluster and not view.is_boundary(end):
            if not self.key[1]:
                return None
            end = view.next_boundary(end)
        return start, end

    def find(self, view: _FieldView) -> list[_Occurrence]:
        """Every occurrence, overlapping ones too (as the index finds them: one per start)."""
        found = (self._checked(view, m.start(), m.end()) for m in self.pattern.finditer(view.view, overlapped=True))
        return [occ for occ in found if occ is not None]

    def at_each(self, view: _FieldView, starts: Iterable[int]) -> list[_Occurrence]:
        """The occurrences starting at these places (where the prefilter saw the literal)."""
        match, text = self.pattern.match, view.view
        spans = [m.span() for m in (match(text, pos) for pos in starts) if m is not None]
        if not (self.start_cluster or self.end_cluster):  # the common case: no cluster checks
            return spans
        return [occ for occ in (self._checked(view, *span) for span in spans) if occ is not None]


class _Context:
    """One article while queries are evaluated on it: occurrences are computed once per term
    (scan mode) or were all filled in by the index's automaton pass (complete mode)."""

    __slots__ = ("doc", "fields", "occurrences", "pending", "pairs", "complete", "_meta")

    def __init__(self, doc: Doc, complete: bool = False) -> None:
        self.doc = doc
        self.fields = {"title": _FieldView(doc.title), "text": _FieldView(doc.text)}
        self.occurrences: dict[tuple[_TermKey, str], list[_Occurrence]] = {}
        # Complete mode: where each literal occurs, per field (filled by the prefilter); a term is
        # verified there only when a query asks for it, and absent when its literal is absent.
        self.pending: dict[tuple[str, str], list[int]] = {}
        self.pairs: dict[_Near, list[tuple[str, _Occurrence, _Occurrence]]] = {}  # NEAR clauses explained
        self.complete = complete
        self._meta: dict[str, tuple[str, ...]] | None = None

    def occ(self, matcher: _Matcher, field: str) -> list[_Occurrence]:
        key = (matcher.key, field)
        found = self.occurrences.get(key)
        if found is None:
            view = self.fields[field]
            if self.complete:
                starts = self.pending.get((matcher.literal, field))
                found = matcher.at_each(view, starts) if starts else []
            else:
                found = matcher.find(view)
            self.occurrences[key] = found
        return found

    def meta(self, kind: str) -> tuple[str, ...]:
        if self._meta is None:
            lang = _fold(self.doc.lang or "").replace("_", "-")
            self._meta = {
                "source": (_fold(self.doc.source),),
                "tag": tuple(_fold(t) for t in self.doc.tags),
                "lang": (lang,) if lang else (),
            }
        return self._meta[kind]


class _Collector:
    """What a matching query's clauses found: spans kept as view offsets until the end, where
    they are deduplicated, ordered (title first) and mapped to the Doc's offsets."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.clauses: list[tuple[int, str]] = []
        self.spans: set[tuple[int, int, int, str]] = set()  # field's index in TEXT_FIELDS first

    def add(self, field: str, occurrences: Iterable[_Occurrence], clause: str) -> None:
        order = 0 if field == "title" else 1
        self.spans.update((order, start, end, clause) for start, end in occurrences)

    def explanation(self) -> Explanation:
        clauses = dict.fromkeys(c for _, c in sorted(self.clauses))
        views = [self.ctx.fields[f] for f in TEXT_FIELDS]
        ordered = sorted(self.spans)
        if all(v._origin is None for v in views):  # view offsets are the Doc's: already unique
            return Explanation(tuple(clauses), tuple(Span(TEXT_FIELDS[o], s, e, c) for o, s, e, c in ordered))
        spans: dict[Span, None] = {}  # two view spans inside one expanded character can coincide
        for order, start, end, clause in ordered:
            start, end = views[order].original(start, end)
            spans[Span(TEXT_FIELDS[order], start, end, clause)] = None
        return Explanation(tuple(clauses), tuple(spans))


# --- the syntax tree: each node tests itself and explains itself (what each requires, for the
# prefilter, is worked out in tasks.query_index) -----------------------------------------------


class _Node(Protocol):
    @property
    def pos(self) -> int: ...

    def test(self, ctx: _Context) -> bool: ...
    def collect(self, ctx: _Context, out: _Collector) -> None: ...


@dataclass(frozen=True, eq=False)
class _Term:
    matcher: _Matcher
    fields: tuple[str, ...]
    clause: str
    pos: int

    def test(self, ctx: _Context) -> bool:
        # Not any(generator): this is the innermost call of every evaluation.
        fields, matcher = self.fields, self.matcher
        return bool(ctx.occ(matcher, fields[0])) or (len(fields) > 1 and bool(ctx.occ(matcher, fields[1])))

    def collect(self, ctx: _Context, out: _Collector) -> None:
        out.clauses.append((self.pos, self.clause))
        for f in self.fields:
            found = ctx.occ(self.matcher, f)
            if found:
                out.add(f, found, self.clause)


@dataclass(frozen=True, eq=False)
class _Meta:
    kind: str  # source, tag, lang
    value: str  # folded
    prefix: bool
    clause: str
    pos: int

    def test(self, ctx: _Context) -> bool:
        for have in ctx.meta(self.kind):
            if have == self.value or (self.prefix and have.startswith(self.value)):
                return True
            if self.kind == "lang" and have.startswith(self.value + "-"):  # lang:en matches en-GB
                return True
        return False

    def collect(self, ctx: _Context, out: _Collector) -> None:
        out.clauses.append((self.pos, self.clause))


@dataclass(frozen=True, eq=False)
class _Not:
    child: _Node
    pos: int

    def test(self, ctx: _Context) -> bool:
        return not self.child.test(ctx)

    def collect(self, ctx: _Context, out: _Collector) -> None:
        return None  # what did not occur explains nothing


@dataclass(frozen=True, eq=False)
class _And:
    children: tuple[_Node, ...]
    pos: int

    def test(self, ctx: _Context) -> bool:
        return all(c.test(ctx) for c in self.children)

    def collect(self, ctx: _Context, out: _Collector) -> None:
        for c in self.children:
            c.collect(ctx, out)


@dataclass(frozen=True, eq=False)
class _Or:
    children: tuple[_Node, ...]
    pos: int

    def test(self, ctx: _Context) -> bool:
        return any(c.test(ctx) for c in self.children)

    def collect(self, ctx: _Context, out: _Collector) -> None:
        for c in self.children:
            if c.test(ctx):
                c.collect(ctx, out)


@dataclass(frozen=True, eq=False)
class _Near:
    left: tuple[_Term, ...]
    right: tuple[_Term, ...]
    distance: int
    ordered: bool
    clause: str
    pos: int

    def _occurrences(self, ctx: _Context, terms: tuple[_Term, ...], field: str) -> list[_Occurrence]:
        return sorted({occ for t in terms if field in t.fields for occ in ctx.occ(t.matcher, field)})

    def _pairs(self, ctx: _Context, first_only: bool) -> list[tuple[str, _Occurrence, _Occurrence]]:
        """(field, a, b) for occurrences a of the left side and b of the right side close enough.
        Only the nearest candidates on each side are measured: the farther ones are farther."""
        pairs: list[tuple[str, _Occurrence, _Occurrence]] = []
        n = self.distance
        for field in TEXT_FIELDS:
            lefts = self._occurrences(ctx, self.left, field)
            rights = self._occurrences(ctx, self.right, field) if lefts else []
            if not rights:
                continue
            view = ctx.fields[field]
            starts = [b[0] for b in rights]
            by_end = sorted(rights, key=lambda b: b[1])
            ends = [b[1] for b in by_end]
            for a in lefts:
                # b after a: from the first one starting at or after a's end, while near enough
                for i in range(bisect_left(starts, a[1]), len(rights)):
                    if not view.within(a[1], rights[i][0], n):
                        break
                    pairs.append((field, a, rights[i]))
                    if first_only:
                        return pairs
                if self.ordered:
                    continue
                # b before a: from the last one ending at or before a's start, backwards
                for i in range(bisect_right(ends, a[0]) - 1, -1, -1):
                    if not view.within(by_end[i][1], a[0], n):
                        break
                    pairs.append((field, a, by_end[i]))
                    if first_only:
                        return pairs
        return pairs

    def test(self, ctx: _Context) -> bool:
        if self in ctx.pairs:
            return bool(ctx.pairs[self])
        return bool(self._pairs(ctx, first_only=True))

    def collect(self, ctx: _Context, out: _Collector) -> None:
        out.clauses.append((self.pos, self.clause))
        pairs = ctx.pairs.get(self)
        if pairs is None:  # collect() follows a test() that stopped at the first pair
            pairs = ctx.pairs[self] = self._pairs(ctx, first_only=False)
        for field, a, b in pairs:
            out.add(field, (a, b), self.clause)


# --- lexer and parser ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # ( ) AND OR NOT NEAR WORD PHRASE FIELD EOF
    text: str  # WORD: the word; PHRASE: between the quotes; FIELD: its name; NEAR: as written
    pos: int
    end: int
    distance: int = 0
    ordered: bool = False


_OPERAND_START = ("WORD", "PHRASE", "FIELD", "(", "NOT")
_NEAR_HELP = "each side takes a term, a phrase or an (a OR b) group of them"
_FIELD_HELP = 'fields are title, text, source, tag, lang; to search for "word:", quote it'


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.toks = self._lex()
        self.i = 0
        self.depth = 0  # open parentheses and NOTs
        self.matchers: dict[_TermKey, _Matcher] = {}

    def error(self, message: str, pos: int, detail: str = "") -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, pos, detail)

    def _lex(self) -> list[_Tok]:
        q, toks, i = self.query, [], 0
        while i < len(q):
            ch = q[i]
            if ch.isspace():
                i += 1
            elif ch in "()":
                toks.append(_Tok(ch, ch, i, i + 1))
                i += 1
            elif ch == '"':
                close = q.find('"', i + 1)
                if close < 0:
                    raise self.error("unterminated phrase", i, "missing closing quote")
                toks.append(_Tok("PHRASE", q[i + 1 : close], i, close + 1))
                i = close + 1
            else:
                j = i
                while j < len(q) and not q[j].isspace() and q[j] not in '()"':
                    j += 1
                toks.extend(self._word(q[i:j], i, j))
                i = j
        toks.append(_Tok("EOF", "", len(q), len(q)))
        return toks

    def _word(self, word: str, i: int, j: int) -> list[_Tok]:
        if word in ("AND", "OR", "NOT"):
            return [_Tok(word, word, i, j)]
        near = _PROXIMITY.fullmatch(word)
        if near:
            op, n = near.group(1), near.group(2)
            if n is None or not regex.fullmatch(r"[0-9]+", n):
                raise self.error(f"{op} needs a distance", i, f"write {op}/n with n from 1 to {MAX_DISTANCE}")
            if not 1 <= int(n) <= MAX_DISTANCE:
                raise self.error(f"{op}/{n} out of range", i, f"the distance must be from 1 to {MAX_DISTANCE} words")
            return [_Tok("NEAR", word, i, j, int(n), op == "ONEAR")]
        field = _FIELD_PREFIX.match(word)
        if field is None:
            return [_Tok("WORD", word, i, j)]
        name = field.group(1).lower()
        if name not in TEXT_FIELDS + META_FIELDS:
            raise self.error(f"unknown field {field.group(0)}", i, _FIELD_HELP)
        toks = [_Tok("FIELD", name, i, i + field.end())]
        rest = word[field.end() :]
        if rest:
            toks.append(_Tok("WORD", rest, i + field.end(), j))
        elif j >= len(self.query) or self.query[j] not in '("':
            raise self.error(f"field {name}: without a value", i, "put a term, phrase or group right after the colon")
        return toks

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> _Node:
        if not self.query.strip():
            raise self.error("empty query", 0)
        node = self.or_expr(None)
        tok = self.peek()
        if tok.kind != "EOF":  # only a ')' stops the loops above before the end
            raise self.error("unbalanced parenthesis", tok.pos, "')' without '('")
        return node

    def or_expr(self, field: str | None) -> _Node:
        parts = [self.and_expr(field, None)]
        while self.peek().kind == "OR":
            parts.append(self.and_expr(field, self.take()))
        return parts[0] if len(parts) == 1 else _Or(tuple(parts), parts[0].pos)

    def and_expr(self, field: str | None, after: _Tok | None) -> _Node:
        parts = [self.unary(field, after)]
        while True:
            tok = self.peek()
            if tok.kind == "AND":
                parts.append(self.unary(field, self.take()))
            elif tok.kind in _OPERAND_START:
                parts.append(self.unary(field, None))
            else:
                break
        return parts[0] if len(parts) == 1 else _And(tuple(parts), parts[0].pos)

    def unary(self, field: str | None, after: _Tok | None) -> _Node:
        if self.peek().kind == "NOT":
            tok = self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:  # the parser and the evaluator recurse: stay far from Python's limit
                raise self.error("query nested too deeply", tok.pos, f"more than {MAX_DEPTH} levels")
            node = _Not(self.unary(field, tok), tok.pos)
            self.depth -= 1
            return node
        return self.proximity(field, after)

    def proximity(self, field: str | None, after: _Tok | None) -> _Node:
        left, start, _ = self.primary(field, after)
        if self.peek().kind != "NEAR":
            return left
        op = self.take()
        right, right_start, end = self.primary(field, op)
        if self.peek().kind == "NEAR":
            again = self.peek()
            raise self.error(f"{again.text} cannot be chained", again.pos, "join proximity clauses with AND")
        left_terms = self.operand(left, start, op)
        right_terms = self.operand(right, right_start, op)
        return _Near(left_terms, right_terms, op.distance, op.ordered, self.query[start:end], start)

    def operand(self, node: _Node, pos: int, op: _Tok) -> tuple[_Term, ...]:
        terms: list[_Term] = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, _Term):
                terms.append(n)
            elif isinstance(n, _Or):
                stack.extend(n.children)
            else:
                raise self.error(f"{op.text} operand is not a term, phrase or group", pos, _NEAR_HELP)
        return tuple(terms)

    def primary(self, field: str | None, after: _Tok | None) -> tuple[_Node, int, int]:
        """A term, phrase or group, with its extent in the query (for clauses and carets)."""
        tok = self.peek()
        prefix: _Tok | None = None
        if tok.kind == "FIELD":
            prefix = self.take()
            field = self._nested(field, prefix)
            tok = self.peek()
        if tok.kind in ("WORD", "PHRASE"):
            self.take()
            start = prefix.pos if prefix else tok.pos
            return self.leaf(tok, field, self.query[start : tok.end], start), start, tok.end
        if tok.kind == "(":
            self.take()
            if self.peek().kind == ")":
                raise self.error("empty parentheses", tok.pos)
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error("query nested too deeply", tok.pos, f"more than {MAX_DEPTH} levels")
            inner = self.or_expr(field)
            self.depth -= 1
            if self.peek().kind != ")":
                raise self.error("unbalanced parenthesis", tok.pos, "'(' is never closed")
            close = self.take()
            return inner, prefix.pos if prefix else tok.pos, close.end
        if after is not None and after.kind == "NEAR" and tok.kind == "NOT":
            raise self.error(f"{after.text} operand is not a term, phrase or group", tok.pos, _NEAR_HELP)
        if after is not None:
            raise self.error(f"dangling operator {after.text}", after.pos, "nothing follows it")
        if tok.kind == ")":
            raise self.error("unbalanced parenthesis", tok.pos, "')' without '('")
        raise self.error(f"dangling operator {tok.text}", tok.pos, "nothing precedes it")

    def _nested(self, outer: str | None, prefix: _Tok) -> str:
        inner = prefix.text
        if outer is None or outer == inner or (outer in TEXT_FIELDS and inner in META_FIELDS):
            return inner
        raise self.error("conflicting fields", prefix.pos, f"{inner}: cannot be used inside {outer}:")

    def leaf(self, tok: _Tok, field: str | None, written: str, start: int) -> _Node:
        if field in META_FIELDS:
            return self.meta(tok, field, written if start != tok.pos else f"{field}:{written}", start)
        words, wildcard = self.words(tok)
        key = (tuple(unicodedata.normalize("NFC", w).casefold() for w in words), wildcard)
        matcher = self.matchers.get(key) or self.matchers.setdefault(key, _Matcher(*key))
        return _Term(matcher, (field,) if field else TEXT_FIELDS, written, start)

    def meta(self, tok: _Tok, kind: str, clause: str, start: int) -> _Meta:
        value = tok.text.strip()
        base = tok.pos + (1 if tok.kind == "PHRASE" else 0)
        if not value:
            raise self.error("empty phrase", tok.pos)
        self._check_stars(value, base + tok.text.index(value[0]), last=True)
        prefix = value.endswith("*")
        folded = _fold(value.rstrip("*"))
        return _Meta(kind, folded.replace("_", "-") if kind == "lang" else folded, prefix, clause, start)

    def words(self, tok: _Tok) -> tuple[list[str], bool]:
        base = tok.pos + (1 if tok.kind == "PHRASE" else 0)
        found = list(_QUERY_WORD.finditer(tok.text))
        if not found:
            if tok.kind == "PHRASE":
                raise self.error("empty phrase", tok.pos)
            raise self.error("lone '-'", tok.pos, "use NOT to exclude a term")
        if tok.kind == "WORD" and tok.text[0] in "-\u2010\u2011":
            raise self.error("'-' is not NOT", tok.pos, f"write NOT {found[0].group(0)}")
        for k, m in enumerate(found):
            self._check_stars(m.group(0), base + m.start(), last=k == len(found) - 1)
        words = [m.group(0) for m in found]
        wildcard = words[-1].endswith("*")
        words[-1] = words[-1].rstrip("*")
        return words, wildcard

    def _check_stars(self, word: str, pos: int, last: bool) -> None:
        if word.strip("*") == "":
            raise self.error("lone '*'", pos, "a wildcard needs a prefix, as in traffick*")
        for k, ch in enumerate(word):
            if ch != "*":
                continue
            if k != len(word) - 1:
                raise self.error("'*' inside a word", pos + k, "only a trailing wildcard (traffick*) is supported")
            if not last:
                raise self.error("'*' inside a phrase", pos + k, "only its last word may end in *")


# --- public API ---------------------------------------------------------------------------------


class Query:
    """A parsed query; build it with parse() (or Query(text), the same thing)."""

    def __init__(self, text: str) -> None:
        parser = _Parser(text)
        self.text = text
        self._root = parser.parse()
        self._matchers = tuple(parser.matchers.values())

    def __repr__(self) -> str:
        return f"Query({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Query) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __reduce__(self) -> tuple[type[Query], tuple[str]]:
        return (Query, (self.text,))

    def matches(self, doc: Doc) -> bool:
        return self._root.test(_Context(doc))

    def explain(self, doc: Doc) -> Explanation | None:
        return self._explain(_Context(doc))

    def _explain(self, ctx: _Context) -> Explanation | None:
        if not self._root.test(ctx):
            return None
        out = _Collector(ctx)
        self._root.collect(ctx, out)
        return out.explanation()


def parse(query: str) -> Query:
    return Query(query)


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


_K = TypeVar("_K", bound=Hashable)


class WatchlistIndex(Generic[_K]):
    """Many queries compiled once; match() costs one automaton pass over the article plus the
    evaluation of the queries whose required terms occurred (see tasks.query_index).

    Generic in the key type: Mapping[Hashable, Query] is invariant in its key, so a plain
    Mapping[Hashable, ...] parameter would make mypy reject a dict[str, Query]."""

    def __init__(self, queries: Mapping[_K, Query]) -> None:
        # Imported here: tasks.query_index builds on this module's internals.
        from tasks.query_index import Prefilter

        self._items: list[tuple[_K, Query]] = list(queries.items())
        self._prefilter: Prefilter = Prefilter([q for _, q in self._items])

    def __len__(self) -> int:
        return len(self._items)

    def candidates(self, doc: Doc) -> int:
        """How many queries match() would evaluate for this article (for benchmarks)."""
        return len(self._prefilter.candidates(_Context(doc, complete=True)))

    def match(self, doc: Doc) -> dict[_K, Explanation]:
        ctx = _Context(doc, complete=True)  # the prefilter fills in every term's occurrences
        result: dict[_K, Explanation] = {}
        for i in self._prefilter.candidates(ctx):
            key, query = self._items[i]
            explanation = query._explain(ctx)
            if explanation is not None:
                result[key] = explanation
        return result
