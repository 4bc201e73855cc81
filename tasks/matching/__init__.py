"""matching."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.matching.backtest import backtest
    from tasks.matching.search import search_archive
    from tasks.matching.topics import compile_topic, hit_segments, match, match_task, topic_queries

__all__ = ["backtest", "compile_topic", "hit_segments", "match", "match_task", "search_archive", "topic_queries"]
__getattr__ = lazy_exports(__name__, __file__)
