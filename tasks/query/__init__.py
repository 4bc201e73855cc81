"""query."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.query.evaluate import Doc, Explanation, Query, QuerySyntaxError, WatchlistIndex, parse, terms_query
    from tasks.query.prefilter import requirement

__all__ = ["Doc", "Explanation", "parse", "Query", "QuerySyntaxError", "requirement", "terms_query", "WatchlistIndex"]
__getattr__ = lazy_exports(__name__, __file__)
