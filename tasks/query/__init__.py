"""The topic query language: parsing a query (terms, phrases, wildcards, exact case, AND/OR/NOT,
NEAR/n, @groups of terms, ATLEAST, SENTENCE/PARAGRAPH, fields), evaluating it on an article
with an explanation of why it matched (and which groups fired on what), and running a whole
watchlist of queries over each article at the cost of one pass (the grammar is in parser.py).
Imports go down this list, never up:

- text: word separators and word characters, metadata folding, FieldView (one article field,
  with its sentences and paragraphs).
- terms: TermMatcher, one term or phrase compiled to a regex, and the literal it starts with.
- document: Doc (what a query reads), TermGroup (what @name names), Span, Indicator and
  Explanation (why it matched).
- context: ArticleContext (the article nodes are evaluated on), ScopedContext (one sentence or
  paragraph of it) and ExplanationBuilder.
- nodes: the syntax-tree node classes.
- errors: QuerySyntaxError, with a caret under the culprit.
- lexer: tokenize() a query; terms_query() writes a `terms:` list as a query.
- leaves: terms, field values and group references compiled into the tree's leaves.
- parser: the grammar and the recursive-descent parser that builds the tree.
- prefilter: each query's required literals, and the Aho-Corasick prefilter over them.
- index: Query, parse_query() and WatchlistIndex, the public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.query.document import Doc, Explanation, Indicator, Span, TermGroup
    from tasks.query.errors import QuerySyntaxError
    from tasks.query.index import Query, WatchlistIndex, parse_query
    from tasks.query.lexer import terms_query

__all__ = [
    "Doc",
    "Explanation",
    "Indicator",
    "parse_query",
    "Query",
    "QuerySyntaxError",
    "Span",
    "TermGroup",
    "terms_query",
    "WatchlistIndex",
]
__getattr__ = lazy_exports(__name__, __file__)
