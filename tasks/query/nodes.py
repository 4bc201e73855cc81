"""The syntax tree of a query, and the evaluation context its nodes need.

Each node tests itself on an ArticleContext (one article while queries are evaluated on it) and
explains itself into an ExplanationBuilder. What each node requires of an article, for the
prefilter, is worked out in tasks.query.prefilter; tasks.query.parser builds the trees.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from tasks.query.document import TEXT_FIELDS, Doc, Explanation, Span
from tasks.query.terms import Occurrence, TermKey, TermMatcher
from tasks.query.text import FieldView, fold_value

# --- evaluation context ------------------------------------------------------------------------


class ArticleContext:
    """One article while queries are evaluated on it: occurrences are computed once per term
    (scan mode) or were all filled in by the index's automaton pass (complete mode)."""

    __slots__ = ("doc", "fields", "occurrences", "pending", "pairs", "complete", "_meta")

    def __init__(self, doc: Doc, complete: bool = False) -> None:
        self.doc = doc
        self.fields = {"title": FieldView(doc.title), "text": FieldView(doc.text)}
        self.occurrences: dict[tuple[TermKey, str], list[Occurrence]] = {}
        # Complete mode: where each literal occurs, per field (filled by the prefilter); a term is
        # verified there only when a query asks for it, and absent when its literal is absent.
        self.pending: dict[tuple[str, str], list[int]] = {}
        self.pairs: dict[NearNode, list[tuple[str, Occurrence, Occurrence]]] = {}  # NEAR clauses explained
        self.complete = complete
        self._meta: dict[str, tuple[str, ...]] | None = None

    def occ(self, matcher: TermMatcher, field: str) -> list[Occurrence]:
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
            lang = fold_value(self.doc.lang or "").replace("_", "-")
            self._meta = {
                "source": (fold_value(self.doc.source),),
                "tag": tuple(fold_value(t) for t in self.doc.tags),
                "lang": (lang,) if lang else (),
            }
        return self._meta[kind]


class ExplanationBuilder:
    """What a matching query's clauses found: spans kept as view offsets until the end, where
    they are deduplicated, ordered (title first) and mapped to the Doc's offsets."""

    def __init__(self, ctx: ArticleContext) -> None:
        self.ctx = ctx
        self.clauses: list[tuple[int, str]] = []
        self.spans: set[tuple[int, int, int, str]] = set()  # field's index in TEXT_FIELDS first

    def add(self, field: str, occurrences: Iterable[Occurrence], clause: str) -> None:
        order = 0 if field == "title" else 1
        self.spans.update((order, start, end, clause) for start, end in occurrences)

    def explanation(self) -> Explanation:
        clauses = dict.fromkeys(c for _, c in sorted(self.clauses))
        views = [self.ctx.fields[f] for f in TEXT_FIELDS]
        ordered = sorted(self.spans)
        if all(v.same_offsets for v in views):  # view offsets are the Doc's: already unique
            return Explanation(tuple(clauses), tuple(Span(TEXT_FIELDS[o], s, e, c) for o, s, e, c in ordered))
        spans: dict[Span, None] = {}  # two view spans inside one expanded character can coincide
        for order, start, end, clause in ordered:
            start, end = views[order].original(start, end)
            spans[Span(TEXT_FIELDS[order], start, end, clause)] = None
        return Explanation(tuple(clauses), tuple(spans))


# --- the syntax tree ---------------------------------------------------------------------------


class Node(Protocol):
    @property
    def pos(self) -> int: ...

    def test(self, ctx: ArticleContext) -> bool: ...
    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None: ...


@dataclass(frozen=True, eq=False)
class TermNode:
    """A term or phrase, searched in `fields` (title, text or both)."""

    matcher: TermMatcher
    fields: tuple[str, ...]
    clause: str
    pos: int

    def test(self, ctx: ArticleContext) -> bool:
        # Not any(generator): this is the innermost call of every evaluation.
        fields, matcher = self.fields, self.matcher
        return bool(ctx.occ(matcher, fields[0])) or (len(fields) > 1 and bool(ctx.occ(matcher, fields[1])))

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        out.clauses.append((self.pos, self.clause))
        for f in self.fields:
            found = ctx.occ(self.matcher, f)
            if found:
                out.add(f, found, self.clause)


@dataclass(frozen=True, eq=False)
class MetadataNode:
    """source:, tag: or lang: compared with the article's metadata as a whole (folded) value."""

    kind: str  # source, tag, lang
    value: str  # folded
    prefix: bool
    clause: str
    pos: int

    def test(self, ctx: ArticleContext) -> bool:
        for have in ctx.meta(self.kind):
            if have == self.value or (self.prefix and have.startswith(self.value)):
                return True
            if self.kind == "lang" and have.startswith(self.value + "-"):  # lang:en matches en-GB
                return True
        return False

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        out.clauses.append((self.pos, self.clause))


@dataclass(frozen=True, eq=False)
class NotNode:
    child: Node
    pos: int

    def test(self, ctx: ArticleContext) -> bool:
        return not self.child.test(ctx)

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        return None  # what did not occur explains nothing


@dataclass(frozen=True, eq=False)
class AndNode:
    children: tuple[Node, ...]
    pos: int

    def test(self, ctx: ArticleContext) -> bool:
        return all(c.test(ctx) for c in self.children)

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        for c in self.children:
            c.collect(ctx, out)


@dataclass(frozen=True, eq=False)
class OrNode:
    children: tuple[Node, ...]
    pos: int

    def test(self, ctx: ArticleContext) -> bool:
        return any(c.test(ctx) for c in self.children)

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        for c in self.children:
            if c.test(ctx):
                c.collect(ctx, out)


@dataclass(frozen=True, eq=False)
class NearNode:
    """A NEAR/n (ordered=False) or ONEAR/n clause between two sides, each an OR of terms."""

    left: tuple[TermNode, ...]
    right: tuple[TermNode, ...]
    distance: int
    ordered: bool
    clause: str
    pos: int

    def _occurrences(self, ctx: ArticleContext, terms: tuple[TermNode, ...], field: str) -> list[Occurrence]:
        return sorted({occ for t in terms if field in t.fields for occ in ctx.occ(t.matcher, field)})

    def _pairs(self, ctx: ArticleContext, first_only: bool) -> list[tuple[str, Occurrence, Occurrence]]:
        """(field, a, b) for occurrences a of the left side and b of the right side close enough.
        Only the nearest candidates on each side are measured: the farther ones are farther."""
        pairs: list[tuple[str, Occurrence, Occurrence]] = []
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

    def test(self, ctx: ArticleContext) -> bool:
        if self in ctx.pairs:
            return bool(ctx.pairs[self])
        return bool(self._pairs(ctx, first_only=True))

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        out.clauses.append((self.pos, self.clause))
        pairs = ctx.pairs.get(self)
        if pairs is None:  # collect() follows a test() that stopped at the first pair
            pairs = ctx.pairs[self] = self._pairs(ctx, first_only=False)
        for field, a, b in pairs:
            out.add(field, (a, b), self.clause)
