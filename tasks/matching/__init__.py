"""Matching: watched topics against new articles, and which matches alert.

A topic's queries (per language) compile once per run into one index (tasks.query); each new
article is checked once, and every match keeps the clauses that fired, the words they found
and the sentences that show why.

- topics.py: topics compiled to queries; matching an article; the hit: clauses, words, spans,
  the sentences that explain it.
- rules.py: the product rules: which targets a topic's alerts go to (`route`), and which new
  match alerts (`match_alerts`: one alert per story, follow-ups only from new outlets).
- unmatched.py: the match stage of a run: every article not yet checked, matches and alerts
  written in one transaction; the `match-topics` Prefect task.
- search.py: the archive searched with the query language (`newswatch search`).
- backtest.py: a topic or query run over the archive without alerting (`newswatch backtest`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.matching.backtest import BacktestReport, backtest_topic
    from tasks.matching.rules import match_alerts, route
    from tasks.matching.search import SearchReport, search_archive
    from tasks.matching.topics import ArticleHit, CompiledTopic, TopicHit, compile_topic, match, topic_queries
    from tasks.matching.unmatched import MatchReport, match_task, match_unmatched

__all__ = [
    "ArticleHit",
    "backtest_topic",
    "BacktestReport",
    "compile_topic",
    "CompiledTopic",
    "match",
    "match_alerts",
    "match_task",
    "match_unmatched",
    "MatchReport",
    "route",
    "search_archive",
    "SearchReport",
    "topic_queries",
    "TopicHit",
]
__getattr__ = lazy_exports(__name__, __file__)
