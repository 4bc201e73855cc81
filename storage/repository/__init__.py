"""Reads and writes for the pipeline, one module per aggregate (sources, articles, stories,
matches, alerts, judgments, digests), used through this one handle: `from storage import repository;
repository.upsert_sources(...)`. The records they take and return are in storage.records.

Every write that could race another run is an INSERT ... ON CONFLICT DO NOTHING or a conditional
UPDATE, on SQLite and PostgreSQL alike, and returns only what this call really changed."""

from __future__ import annotations

from storage.repository.alerts import (
    alerts_with_article,
    claim_pending_alerts,
    count_pending_alerts,
    list_alerts,
    mark_alert,
    postpone_alert,
    retry_alerts,
    sent_since,
)
from storage.repository.articles import (
    article_ids_by_url,
    articles_by_id,
    articles_since,
    insert_articles,
    known_entries,
    revise_article,
    unmatched_articles,
)
from storage.repository.digests import digest_topics, last_digest_at, mark_digest_sent
from storage.repository.judgments import alert_outcomes, judge_alert, judged_articles
from storage.repository.matches import article_topics, match_rows, save_matches
from storage.repository.sources import (
    mark_pause_notified,
    newest_per_source,
    record_source_result,
    record_source_results,
    source_health,
    source_states,
    upsert_sources,
)
from storage.repository.stories import (
    articles_without_story,
    recent_stories,
    set_stories,
    story_facts,
    story_outlets,
    story_outlets_on,
    story_signatures,
)

__all__ = [
    "alert_outcomes",
    "alerts_with_article",
    "article_ids_by_url",
    "article_topics",
    "articles_by_id",
    "articles_since",
    "articles_without_story",
    "claim_pending_alerts",
    "count_pending_alerts",
    "digest_topics",
    "insert_articles",
    "judge_alert",
    "judged_articles",
    "known_entries",
    "last_digest_at",
    "list_alerts",
    "mark_alert",
    "mark_digest_sent",
    "mark_pause_notified",
    "match_rows",
    "newest_per_source",
    "postpone_alert",
    "recent_stories",
    "record_source_result",
    "record_source_results",
    "retry_alerts",
    "revise_article",
    "save_matches",
    "sent_since",
    "set_stories",
    "source_health",
    "source_states",
    "story_outlets",
    "story_outlets_on",
    "story_facts",
    "story_signatures",
    "unmatched_articles",
    "upsert_sources",
]
