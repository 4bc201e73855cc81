"""A query language for watched topics, and an index that runs many queries over one article.

The language (its grammar; what terms, phrases, NEAR and fields match) is specified in
tasks.query.parser, which also parses queries and compiles their terms; this module evaluates
parsed queries on articles and is the public API.

Explanations list the clauses that made the query match (terms, phrases, proximity clauses and
field clauses as written; field clauses inside a group read ``field:value``) and the spans of
text they matched; nothing from inside a NOT. Span offsets index the Doc's title/text as
passed, which callers keep in NFC (tasks.common.text.clean does); a non-NFC field is normalized first
and its offsets then index the NFC form.

WatchlistIndex (prefilter in tasks.query.prefilter) reads each article once with an Aho-Corasick
automaton holding every term's case-folded literal, and evaluates only the queries whose required
literals occurred; queries that can match without any term (``lang:km``, ``NOT x``) are evaluated
for every article. It returns exactly what Query.explain would for each matching query.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import regex

from tasks.query.parser import (
    _UNSPACED_CLASS,
    _WORDCH,
    TEXT_FIELDS,
    QuerySyntaxError,
    _fold,
    _Matcher,
    _Occurrence,
    _Parser,
    _TermKey,
    terms_query,
)

# Defined with the grammar in tasks.query.parser, and importable from here as they always were.
from tasks.query.parser import MAX_DEPTH as MAX_DEPTH
from tasks.query.parser import MAX_DISTANCE as MAX_DISTANCE
from tasks.query.parser import META_FIELDS as META_FIELDS
from tasks.query.parser import SEPARATORS_BUT_SPACE as SEPARATORS_BUT_SPACE

if TYPE_CHECKING:
    from tasks.query.prefilter import Prefilter

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

# NEAR counts these: a word of a spaced script, or one grapheme cluster of an unspaced one.
_TOKEN = regex.compile(rf"{_WORDCH}+|(?={_UNSPACED_CLASS})\X", regex.V1)
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")  # what _TOKEN matches in ASCII text
_GRAPHEME = regex.compile(r"\X", regex.V1)


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
# prefilter, is worked out in tasks.query.prefilter) -----------------------------------------------


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


_K = TypeVar("_K", bound=Hashable)


class WatchlistIndex(Generic[_K]):
    """Many queries compiled once; match() costs one automaton pass over the article plus the
    evaluation of the queries whose required terms occurred (see tasks.query.prefilter).

    Generic in the key type: Mapping[Hashable, Query] is invariant in its key, so a plain
    Mapping[Hashable, ...] parameter would make mypy reject a dict[str, Query]."""

    def __init__(self, queries: Mapping[_K, Query]) -> None:
        # Imported here: tasks.query.prefilter builds on this module's internals.
        from tasks.query.prefilter import Prefilter

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
