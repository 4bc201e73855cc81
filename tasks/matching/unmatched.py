"""The match stage of a run: every article not yet checked (this run's, and any a crashed run
left) against the compiled watchlist, matches and their alerts written in the same transaction
as the articles' checked mark; the `match-topics` Prefect task."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import repository
from storage.records import MatchRecord, Target
from tasks.common.faults import crashpoint
from tasks.common.runlog import run_logger
from tasks.config import TopicSpec
from tasks.matching.rules import alert_rule, route
from tasks.matching.topics import compile_watchlist, match_article

ARTICLES_PER_ROUND = 200  # articles read, matched and written per transaction


@dataclass
class MatchReport:
    checked: int = 0
    new_match_ids: list[int] | None = None


def match_unmatched(db_url: str, topics: Sequence[TopicSpec], targets: Sequence[Target], dry_run: bool) -> MatchReport:
    """Check every article not yet checked (this run's, and any a crashed run left), write
    matches and their alerts in the same transaction as the articles' checked mark."""
    compiled = compile_watchlist(topics)
    routes = {t.name: route(t, targets) for t in topics}
    digest_topics = {t.name for t in topics if t.mode != "immediate"}
    rule = alert_rule(topics)  # which new matches alert: tasks/matching/rules.py
    report = MatchReport(new_match_ids=[])
    while True:
        batch = repository.unmatched_articles(db_url, ARTICLES_PER_ROUND)
        if not batch:
            return report
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
            for hit in match_article(a, compiled)
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
def match_task(db_url: str, topics: list[TopicSpec], targets: list[Target], dry_run: bool) -> MatchReport:
    report = match_unmatched(db_url, topics, targets, dry_run)
    run_logger().info("checked %d articles: %d new matches", report.checked, len(report.new_match_ids or []))
    return report
