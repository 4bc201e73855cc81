"""The prefilter behind tasks.query.index.WatchlistIndex: which queries can possibly match an article.

Each query's requirement is a list of literal sets that must all be met (each by at least one
of its literals occurring): a term needs its literal; AND needs what each branch needs; OR needs
one literal of any branch (the union of each branch's most selective set), and so does a group
(an OR of its terms, every language's); NEAR needs a literal of each side; ATLEAST(n, ...) of
all its operands needs what AND needs, otherwise one literal of any operand unless n of them
need nothing; SENTENCE(x) and PARAGRAPH(x) need what x needs (x holding in a sentence holds
its terms in the article); NOT and field clauses need nothing. A query that needs nothing
(``NOT x``, ``lang:km``) is evaluated for every article.

One Aho-Corasick automaton holds the literal of every term of every query: its case-folded
words joined by one space (for a wildcard, the prefix). A term matches words separated by any
run of whitespace and hyphens, so the automaton reads the case-folded text with every such run
squeezed to one space: every match of a term then contains its literal where it starts. One
pass over title and text records where each literal occurs. The queries posted under one of
those literals (each query is posted under its most selective set only) whose every set is met
are the candidates; a term is verified (its regex anchored at each recorded place, on the
unsqueezed text) only when a candidate's evaluation asks for it. Since every term of every query
is in the automaton, a term whose literal did not occur is known absent (which is what NOT
needs). An exact-case term (``=US``) has its case-folded literal like any other: the case is
checked when the term is verified. Cost: one pass over the text, plus work per literal occurrence and per candidate; the
number of topics only enters through the queries that need nothing.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

import ahocorasick

from tasks.query.context import ArticleContext
from tasks.query.nodes import AndNode, AtLeastNode, NearNode, Node, OrNode, ScopeNode, TermNode
from tasks.query.parser import QueryTree
from tasks.query.text import SEPARATORS_BUT_SPACE

# The separator runs other than a lone plain space: those starting with another separator, and
# those starting with a space followed by a separator. Two passes with the re module (7 us each
# on a 400-word article) beat one alternation (45 us): each starts with one character class.
_FROM_SEPARATOR = re.compile(f"[{SEPARATORS_BUT_SPACE}][ {SEPARATORS_BUT_SPACE}]*")
_FROM_SPACE = re.compile(f" [ {SEPARATORS_BUT_SPACE}]+")


def _selectivity(literals: frozenset[str]) -> tuple[int, int]:
    # A longer literal (a phrase more than a word) is rarer in text, so it brings fewer false
    # candidates; then fewer literals.
    return min(map(len, literals)), -len(literals)


def requirement(node: Node) -> list[frozenset[str]]:
    """Sets of literals that must all be met (one literal of each occurring) for node to match."""
    if isinstance(node, TermNode):
        return [frozenset({node.matcher.literal})]
    if isinstance(node, NearNode):
        return [frozenset(t.matcher.literal for t in side) for side in (node.left, node.right)]
    if isinstance(node, AndNode):
        return [s for child in node.children for s in requirement(child)]
    if isinstance(node, OrNode):
        return _any_of([requirement(child) for child in node.children], 1)
    if isinstance(node, AtLeastNode):
        each = [requirement(child) for child in node.children]
        if node.n == len(each):
            return [s for sets in each for s in sets]
        return _any_of(each, node.n)
    if isinstance(node, ScopeNode):
        return requirement(node.child)
    return []  # NOT (absence needs no term), source:/tag:/lang:


def _any_of(each: list[list[frozenset[str]]], n: int) -> list[frozenset[str]]:
    """What n or more of these operands matching needs: when fewer than n need nothing, one
    operand that needs something matches, so one literal of its most selective set occurs."""
    if sum(1 for sets in each if not sets) >= n:
        return []
    union: set[str] = set()
    for sets in each:
        if sets:
            best: frozenset[str] = max(sets, key=_selectivity)
            union |= best
    return [frozenset(union)]


def squeeze(view: str) -> tuple[str, list[int], list[int]]:
    """view with each separator run as one space, and how to map offsets back: a squeezed
    offset q is q + shifts[i] in view, for the last i with marks[i] <= q."""
    runs = [m.span() for m in _FROM_SEPARATOR.finditer(view)]
    if runs or "  " in view:
        runs += [m.span() for m in _FROM_SPACE.finditer(view)]
    if not runs:
        return view, [0], [0]
    runs.sort()
    merged: list[list[int]] = []
    for start, end in runs:  # a run found by both passes: overlapping spans
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    marks, shifts = [0], [0]
    last = removed = 0
    for start, end in merged:
        pieces += (view[last:start], " ")
        last = end
        if end - start > 1:
            removed += end - start - 1
            marks.append(end - removed)
            shifts.append(removed)
    pieces.append(view[last:])
    return "".join(pieces), marks, shifts


class Prefilter:
    """The automaton over every literal of the given queries, and which queries each literal
    (or none) lets through."""

    def __init__(self, queries: Sequence[QueryTree]) -> None:
        self._always: list[int] = []  # queries that need no literal
        self._posted: dict[str, list[int]] = {}
        self._needs: list[tuple[frozenset[str], ...]] = []  # per query: the sets beyond the posted one
        literals: set[str] = set()
        for i, query in enumerate(queries):
            literals.update(m.literal for m in query.matchers)  # NOT's terms too: see above
            sets = list(dict.fromkeys(requirement(query.root)))
            if not sets:
                self._always.append(i)
                self._needs.append(())
                continue
            posted = max(sets, key=_selectivity)
            for literal in posted:
                self._posted.setdefault(literal, []).append(i)
            self._needs.append(tuple(s for s in sets if s != posted))
        self._automaton: ahocorasick.Automaton | None = None
        if literals:  # an empty automaton cannot be iterated
            self._automaton = ahocorasick.Automaton()
            for literal in literals:
                self._automaton.add_word(literal, (len(literal) - 1, literal))
            self._automaton.make_automaton()

    def scan(self, ctx: ArticleContext) -> set[str]:
        """Record in ctx.pending where every literal occurs; return the literals that occur."""
        found: set[str] = set()
        if self._automaton is None:
            return found
        for name, view in ctx.fields.items():
            if not view.view:
                continue
            squeezed, marks, shifts = squeeze(view.view)
            pending = ctx.pending
            # Hits come in order of their end, so each literal's places stay in order.
            for end, (back, literal) in self._automaton.iter(squeezed):
                start = end - back
                if len(marks) > 1:
                    start += shifts[bisect_right(marks, start) - 1]
                places = pending.get((literal, name))
                if places is None:
                    pending[(literal, name)] = [start]
                    found.add(literal)
                else:
                    places.append(start)
        return found

    def candidates(self, ctx: ArticleContext) -> list[int]:
        """Indexes (in the order given) of the queries worth evaluating on ctx's article."""
        found = self.scan(ctx)
        posted = set(self._always)
        for literal in found:
            posted.update(self._posted.get(literal, ()))
        needs = self._needs
        return [i for i in sorted(posted) if all(not s.isdisjoint(found) for s in needs[i])]
