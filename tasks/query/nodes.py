"""The syntax tree of a query.

Each node tests itself on an ArticleContext (one article while queries are evaluated on it, or
one sentence or paragraph of it: tasks.query.context) and explains itself into an
ExplanationBuilder. What each node requires of an article, for the prefilter, is worked out in
tasks.query.prefilter; tasks.query.parser builds the trees.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Protocol

from tasks.query.context import ArticleContext, ExplanationBuilder
from tasks.query.document import TEXT_FIELDS
from tasks.query.terms import Occurrence, TermMatcher


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

    def applies(self, ctx: ArticleContext) -> bool:
        """Is the term searched for in this article (see GroupTermNode)?"""
        return True


@dataclass(frozen=True, eq=False)
class GroupTermNode(TermNode):
    """A term of a group (``@means``): clause is the reference as written; lang, when set, is the
    one article language whose terms the group adds it for (an article in another language
    does not contain it)."""

    group: str
    lang: str | None

    def applies(self, ctx: ArticleContext) -> bool:
        return self.lang is None or ctx.language() == self.lang

    def test(self, ctx: ArticleContext) -> bool:
        return self.applies(ctx) and TermNode.test(self, ctx)

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        if not self.applies(ctx):
            return
        out.clauses.append((self.pos, self.clause))
        for f in self.fields:
            found = ctx.occ(self.matcher, f)
            if found:
                out.add(f, found, self.clause)
                out.indicate(self.group, self.pos, f, found)


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
class AtLeastNode:
    """ATLEAST(n, a, b, ...): at least n of the operands match (each counts once)."""

    n: int
    children: tuple[Node, ...]
    pos: int

    def test(self, ctx: ArticleContext) -> bool:
        needed, left = self.n, len(self.children)
        for c in self.children:
            if c.test(ctx):
                needed -= 1
                if not needed:
                    return True
            left -= 1
            if left < needed:
                return False
        return False

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        for c in self.children:
            if c.test(ctx):
                c.collect(ctx, out)


@dataclass(frozen=True, eq=False)
class ScopeNode:
    """SENTENCE(x) or PARAGRAPH(x) (kind "sentence" or "paragraph"): x holds within one sentence
    or paragraph of one field, each evaluated as if it were the whole article."""

    kind: str
    child: Node
    pos: int

    def test(self, ctx: ArticleContext) -> bool:
        return any(self.child.test(window) for window in ctx.windows(self.kind))

    def collect(self, ctx: ArticleContext, out: ExplanationBuilder) -> None:
        for window in ctx.windows(self.kind):
            if self.child.test(window):
                self.child.collect(window, out)


@dataclass(frozen=True, eq=False)
class NearNode:
    """A NEAR/n (ordered=False) or ONEAR/n clause between two sides, each an OR of terms."""

    left: tuple[TermNode, ...]
    right: tuple[TermNode, ...]
    distance: int
    ordered: bool
    clause: str
    pos: int
    grouped: bool = False  # a side holds a group's terms: explanations name the group
    localized: bool = False  # ... some of them for one language only

    def _occurrences(self, ctx: ArticleContext, terms: tuple[TermNode, ...], field: str) -> list[Occurrence]:
        if self.localized:
            terms = tuple(t for t in terms if t.applies(ctx))
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
        if not self.grouped:
            return
        grouped = [t for t in self.left + self.right if isinstance(t, GroupTermNode) and t.applies(ctx)]
        for field, a, b in pairs:
            for t in grouped:  # which group's term each side's occurrence is
                found = ctx.occ(t.matcher, field) if field in t.fields else []
                mine = [occ for occ in (a, b) if occ in found]
                if mine:
                    out.indicate(t.group, t.pos, field, mine)
