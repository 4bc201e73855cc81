"""The match stage of a run: every article not yet checked (this run's, and any a crashed run
left) against the compiled watchlist, and against the topics' `semantic:` references (which
only add matches), matches and their alerts written in the same transaction as the articles'
checked mark; the `match-topics` Prefect task."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import repository
from storage.db import storage_errors
from storage.records import MatchRecord, StoredArticle, Target
from tasks.common.faults import crashpoint
from tasks.common.runlog import run_logger
from tasks.config import TopicSpec
from tasks.matching.rules import alert_rule, route
from tasks.matching.semantic import SemanticTopic, compile_semantic, semantic_hits
from tasks.matching.topics import CompiledWatchlist, TopicHit, compile_watchlist, match_article
from tasks.semantic import SHIPPED, Embedder, EmbedderUnavailable, cached_embedder

ARTICLES_PER_ROUND = 200  # articles read, matched and written per transaction
log = logging.getLogger(__name__)


@dataclass
class MatchReport:
    checked: int = 0
    new_match_ids: list[int] | None = None


def semantic_stage(
    topics: Sequence[TopicSpec], embed_model: str | None, db_url: str | None
) -> tuple[Embedder, list[SemanticTopic]] | None:
    """The run's model and its semantic topics (None: no topic has `semantic:`). A model that
    cannot load is logged and the run goes on with the topics' queries alone."""
    if not any(t.semantic for t in topics):
        return None
    try:
        embedder = cached_embedder(embed_model or SHIPPED)
    except EmbedderUnavailable as exc:
        log.error("semantic topics match by their queries only: %s", exc)
        return None
    return embedder, compile_semantic(topics, embedder, db_url)


def all_hits(
    article: StoredArticle, compiled: CompiledWatchlist, semantic: tuple[Embedder, list[SemanticTopic]] | None
) -> list[TopicHit]:
    """The article's matches by the topics' queries, then those the semantic method adds."""
    hits = match_article(article, compiled)
    if semantic is not None:
        hits += semantic_hits(article, semantic[1], semantic[0], {h.topic for h in hits})
    return hits


def match_unmatched(
    db_url: str,
    topics: Sequence[TopicSpec],
    targets: Sequence[Target],
    dry_run: bool,
    embed_model: str | None = None,
) -> MatchReport:
    """Check every article not yet checked (this run's, and any a crashed run left), write
    matches and their alerts in the same transaction as the articles' checked mark.
    `embed_model`: the model of the topics' `semantic:` key (tasks.semantic.model_choice)."""
    compiled = compile_watchlist(topics)
    # The model is loaded with the first articles to check: a quiet run never loads it.
    semantic: tuple[Embedder, list[SemanticTopic]] | None = None
    routes = {t.name: route(t, targets) for t in topics}
    digest_topics = {t.name for t in topics if t.mode != "immediate"}
    rule = alert_rule(topics)  # which new matches alert: tasks/matching/rules.py
    report = MatchReport(new_match_ids=[])
    while True:
        batch = repository.unmatched_articles(db_url, ARTICLES_PER_ROUND)
        if not batch:
            return report
        if semantic is None and report.checked == 0:
            semantic = semantic_stage(topics, embed_model, db_url)
        records = [
            MatchRecord(
                hit.topic,
                a.id,
                hit.terms,
                hit.words,
                hit.hit_sentence,
                hit.hit_field,
                hit.spans,
                hit.sentences,
                hit.indicators,
            )
            for a in batch
            for hit in all_hits(a, compiled, semantic)
        ]
        status = "dry_run" if dry_run else "pending"
        stories = {a.id: a.story_id for a in batch}
        new_ids = repository.save_matches(
            db_url, [a.id for a in batch], records, routes, status, digest_topics, stories, rule
        )
        crashpoint("after-match")
        report.checked += len(batch)
        assert report.new_match_ids is not None
        report.new_match_ids.extend(new_ids)


@task(name="match-topics", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
@storage_errors("match-topics")
def match_task(
    db_url: str, topics: list[TopicSpec], targets: list[Target], dry_run: bool, embed_model: str | None = None
) -> MatchReport:
    report = match_unmatched(db_url, topics, targets, dry_run, embed_model)
    run_logger().info("checked %d articles: %d new matches", report.checked, len(report.new_match_ids or []))
    return report
