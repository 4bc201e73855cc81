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
- semantic.py: a topic's `semantic:` key: its references embedded once per run, each article's
  stored vector compared with them; it only adds matches, each explained (score, threshold,
  closest reference).
- scoring.py: a topic's `score:` key: the weighted indicators that add the articles its query
  misses, each explained (score, threshold, the weights that fired and what they found).
- fitting.py: a `score:` fitted on labelled articles (`newswatch topics fit`): a logistic
  regression over which indicators fire, threshold and strength chosen out of fold.
- words.py: the words and two-word phrases of labelled articles as candidate expressions of a
  fitted score (`topics fit --words`).
- tuning.py: a semantic topic's threshold chosen on labelled articles, with the
  precision/recall curve (`newswatch topics tune`).
- search.py: the archive searched with the query language (`newswatch search`).
- backtest.py: a topic or query run over the archive without alerting (`newswatch backtest`);
  a topic against its earlier version: what a change adds and removes (`backtest --against`).
- evaluation.py: a topic scored on articles labelled wanted or not: precision, recall, misses
  and false alerts (`newswatch topics test --labelled`); the analysts' judgments of alerts
  as judged precision per topic and week (`newswatch topics report`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.matching.backtest import BacktestReport, TopicComparison, backtest_topic, compare_topics
    from tasks.matching.evaluation import (
        Evaluation,
        LabelError,
        LabelledArticle,
        WeekRow,
        evaluate,
        labels_for,
        parse_labelled,
        read_labelled,
        weekly_precision,
        weeks_back,
    )
    from tasks.matching.fitting import Fitted, FitUnavailable, features_of, fit_score
    from tasks.matching.rules import match_alerts, route
    from tasks.matching.scoring import CompiledScore, compile_score
    from tasks.matching.search import SearchReport, search_archive
    from tasks.matching.semantic import (
        SEMANTIC_CLAUSE,
        Meaning,
        SemanticTopic,
        article_vector,
        closest,
        compile_semantic,
        meaning_of,
    )
    from tasks.matching.topics import ArticleHit, CompiledTopic, TopicHit, compile_topic, match, topic_queries
    from tasks.matching.tuning import Point, Scored, Tuning, sampled, score_articles, tune
    from tasks.matching.unmatched import MatchReport, all_hits, match_task, match_unmatched, semantic_stage
    from tasks.matching.words import MIN_WEIGHT, phrase_features

__all__ = [
    "CompiledScore",
    "compile_score",
    "features_of",
    "fit_score",
    "Fitted",
    "FitUnavailable",
    "MIN_WEIGHT",
    "phrase_features",
    "all_hits",
    "article_vector",
    "closest",
    "compile_semantic",
    "Meaning",
    "meaning_of",
    "semantic_stage",
    "SEMANTIC_CLAUSE",
    "SemanticTopic",
    "Point",
    "sampled",
    "Scored",
    "score_articles",
    "tune",
    "Tuning",
    "ArticleHit",
    "backtest_topic",
    "BacktestReport",
    "compare_topics",
    "compile_topic",
    "CompiledTopic",
    "evaluate",
    "Evaluation",
    "LabelError",
    "LabelledArticle",
    "labels_for",
    "match",
    "match_alerts",
    "match_task",
    "match_unmatched",
    "MatchReport",
    "parse_labelled",
    "read_labelled",
    "route",
    "search_archive",
    "SearchReport",
    "topic_queries",
    "TopicComparison",
    "TopicHit",
    "weekly_precision",
    "weeks_back",
    "WeekRow",
]
__getattr__ = lazy_exports(__name__, __file__)
