"""The monitor flow: it only wires the stages together (fetch+parse+extract+store per batch
of due sources, then match, then deliver, then report)."""

from __future__ import annotations

import atexit
import gc
from datetime import timedelta

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from flows.hooks import tell_ops
from storage import repository
from storage.clock import now_utc
from storage.db import get_engine
from tasks.alerting import DeliveryReport, alert_senders, deliver_task, load_senders
from tasks.common import progress
from tasks.config import load_settings, load_sources, load_watchlist, select_sources, select_topics
from tasks.ingest import IngestOptions, SourceOutcome, ingest_batch, is_due
from tasks.matching import match_task
from tasks.report import RunSummary, publish, run_name, summarize
from tasks.stories import stories_task


# The pool bounds how many batches of sources are fetched at once (NEWSWATCH_BATCH_CONCURRENCY).
@flow(
    name="monitor",
    task_runner=ThreadPoolTaskRunner(max_workers=load_settings().batch_concurrency),  # type: ignore[arg-type]
    log_prints=True,
    on_failure=[tell_ops],
)
def monitor(
    sources: list[str] | None = None,
    topics: list[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    sources_file: str | None = None,
    watchlist_file: str | None = None,
) -> RunSummary:
    """Fetch the due sources, store new articles, match the watched topics, send alerts.

    Args:
        sources: source names or tags to fetch (default: all enabled sources).
        topics: topic names to match (default: all).
        dry_run: match and record, send nothing.
        force: fetch every chosen source now, even those not due or backing off.
        sources_file: path of sources.yaml (default: NEWSWATCH_SOURCES_FILE or deploy/sources.yaml).
        watchlist_file: path of watchlist.yaml (default: NEWSWATCH_WATCHLIST_FILE or deploy/watchlist.yaml).
    """
    logger = get_run_logger()
    started = now_utc()
    settings = load_settings()
    # Everything that can be wrong with the configuration fails here, before anything is touched.
    source_list = select_sources(load_sources(sources_file or settings.sources_file).sources, sources)
    watchlist = load_watchlist(watchlist_file or settings.watchlist_file)
    topic_list = select_topics(watchlist.topics, topics)
    senders = load_senders(settings)
    db_url = settings.db_url
    get_engine(db_url)

    repository.upsert_sources(db_url, [(s.name, s.url, list(s.tags)) for s in source_list])
    states = repository.source_states(db_url)
    now = now_utc()
    due = [s for s in source_list if force or is_due(states[s.name], now)]
    progress.expect(progress.SOURCES, len(due))
    options = IngestOptions.from_settings(settings)
    size = settings.batch_size
    batches = [due[i : i + size] for i in range(0, len(due), size)]
    futures = [
        ingest_batch.submit(
            db_url, batch, {s.name: states[s.name] for s in batch}, options, f"{i + 1}-of-{len(batches)}"
        )
        for i, batch in enumerate(batches)
    ]
    outcomes: list[SourceOutcome] = [o for f in futures for o in f.result()]
    summary = summarize(outcomes)
    summary.sources_not_due = len(source_list) - len(due)
    summary.sources_run = [s.name for s in due]
    summary.dry_run = dry_run

    stories = stories_task(db_url, settings.story_window_days)
    summary.stories_joined = stories.joined
    matched = match_task(db_url, topic_list, [s.target for s in alert_senders(senders)], dry_run)
    summary.articles_checked = matched.checked
    summary.matches = len(matched.new_match_ids or [])
    delivery = (
        DeliveryReport()
        if dry_run
        else deliver_task(
            db_url, senders, watchlist, settings.alert_max_attempts, timedelta(seconds=settings.alert_claim_lease)
        )
    )
    summary.alerts_sent, summary.alerts_failed = delivery.sent, delivery.failed
    summary.alerts_pending = repository.count_pending_alerts(db_url)

    summary.duration_s = (now_utc() - started).total_seconds()
    chosen = {s.name for s in source_list}
    health = [h for h in repository.source_health(db_url) if h.name in chosen]
    publish(summary, repository.match_rows(db_url, matched.new_match_ids or []), health)
    logger.info(
        "sources ok %d, failed %d, not due %d; entries %d, new %d, duplicates %d; matches %d; "
        "alerts sent %d, failed %d",
        summary.sources_ok,
        summary.sources_failed,
        summary.sources_not_due,
        summary.entries_seen,
        summary.new_articles,
        summary.duplicates,
        summary.matches,
        summary.alerts_sent,
        summary.alerts_failed,
    )
    _rename(run_name(summary, started))
    return summary


def _rename(name: str) -> None:
    """Name the flow run after what it did, once it is known (the UI lists runs by name)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    if flow_run.id:
        with get_client(sync_client=True) as client:
            client.update_flow_run(flow_run.id, name=name)


# After the imports above the heap holds about a million long-lived objects (Prefect, pydantic,
# SQLAlchemy). Frozen, they stay out of the run's garbage collections and out of the full
# collections at interpreter shutdown (0.3 s per run process, measured); the atexit hook runs
# after Prefect's own exit hooks (registered later, run earlier) have flushed the logs.
gc.freeze()
atexit.register(gc.freeze)
