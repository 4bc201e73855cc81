"""Parsed queries and the index that runs many of them over one article.

Query (build it with parse_query, given the TermGroups its @references name) tests and
explains one article at a time. WatchlistIndex
(prefilter in tasks.query.prefilter) reads each article once with an Aho-Corasick automaton
holding every term's case-folded literal, and evaluates only the queries whose required
literals occurred; queries that can match without any term (``lang:km``, ``NOT x``) are
evaluated for every article. It returns exactly what Query.explain would for each matching query.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Generic, TypeVar

from tasks.query.context import ArticleContext, ExplanationBuilder
from tasks.query.document import Doc, Explanation, TermGroup
from tasks.query.parser import parse_tree
from tasks.query.prefilter import Prefilter, requirement


class Query:
    """A parsed query; build it with parse_query() (or Query(text, groups, language), the same thing)."""

    def __init__(self, text: str, groups: Mapping[str, TermGroup] | None = None, language: str | None = None) -> None:
        self.text = text
        self.groups = {name.lower(): group for name, group in (groups or {}).items()}
        self.language = language.lower() if language else None
        self._tree = parse_tree(text, self.groups, self.language)

    def __repr__(self) -> str:
        return f"Query({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Query):
            return False
        return (other.text, other.groups, other.language) == (self.text, self.groups, self.language)

    def __hash__(self) -> int:
        return hash(self.text)

    def __reduce__(self) -> tuple[type[Query], tuple[str, dict[str, TermGroup], str | None]]:
        return (Query, (self.text, self.groups, self.language))

    def requirement(self) -> list[frozenset[str]]:
        """Sets of literals (case-folded words; a wildcard's prefix) such that every article the
        query matches contains one literal of each set; [] when it can match without any term."""
        return requirement(self._tree.root)

    def matches(self, doc: Doc) -> bool:
        return self._tree.root.test(ArticleContext(doc))

    def explain(self, doc: Doc) -> Explanation | None:
        return self._explain(ArticleContext(doc))

    def _explain(self, ctx: ArticleContext) -> Explanation | None:
        root = self._tree.root
        if not root.test(ctx):
            return None
        out = ExplanationBuilder(ctx)
        root.collect(ctx, out)
        return out.explanation()


def parse_query(query: str, groups: Mapping[str, TermGroup] | None = None, language: str | None = None) -> Query:
    """The query, parsed; QuerySyntaxError (with a caret under the culprit) if it does not parse
    or names a group that `groups` does not define. language: the articles the query is for
    (a topic's `queries: {km: ...}`): its groups take that language's terms only; None (every
    language) takes each article's language's terms."""
    return Query(query, groups, language)


_K = TypeVar("_K", bound=Hashable)


class WatchlistIndex(Generic[_K]):
    """Many queries compiled once; match() costs one automaton pass over the article plus the
    evaluation of the queries whose required terms occurred (see tasks.query.prefilter).

    Generic in the key type: Mapping[Hashable, Query] is invariant in its key, so a plain
    Mapping[Hashable, ...] parameter would make mypy reject a dict[str, Query]."""

    def __init__(self, queries: Mapping[_K, Query]) -> None:
        self._items: list[tuple[_K, Query]] = list(queries.items())
        self._prefilter = Prefilter([q._tree for _, q in self._items])

    def __len__(self) -> int:
        return len(self._items)

    def candidates(self, doc: Doc) -> int:
        """How many queries match() would evaluate for this article (for benchmarks)."""
        return len(self._prefilter.candidates(ArticleContext(doc, complete=True)))

    def match(self, doc: Doc) -> dict[_K, Explanation]:
        ctx = ArticleContext(doc, complete=True)  # the prefilter fills in every term's occurrences
        result: dict[_K, Explanation] = {}
        for i in self._prefilter.candidates(ctx):
            key, query = self._items[i]
            explanation = query._explain(ctx)
            if explanation is not None:
                result[key] = explanation
        return result
