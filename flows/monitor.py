"""The monitor flow: it only wires the stages together (fetch+parse+extract+store per batch
of sources, then match, then deliver, then report)."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.task_runners import ThreadPoolTaskRunner

from storage import repository
from storage.db import get_engine
from tasks.config import load_sources, load_watchlist, select_sources, select_topics
from tasks.deliver import DeliveryReport, deliver_task
from tasks.fetch import FetchPolicy
from tasks.ingest import SourceOutcome, ingest_batch
from tasks.match import match_task
from tasks.notify import load_senders
from tasks.report import RunSummary, publish, summarize
from tasks.settings import load_settings


# Prefect's own annotations reject a concrete ThreadPoolTaskRunner here (mypy only).
# The pool bounds how many batches of sources are fetched at once (NEWSWATCH_BATCH_CONCURRENCY).
@flow(
    name="monitor",
    task_runner=ThreadPoolTaskRunner(max_workers=load_settings().batch_concurrency),  # type: ignore[arg-type]
    log_prints=True,
)
def monitor(
    sources: list[str] | None = None,
    topics: list[str] | None = None,
    dry_run: bool = False,
    sources_file: str | None = None,
    watchlist_file: str | None = None,
) -> RunSummary:
    """Fetch the sources, store new articles, match the watched topics, send alerts.

    Args:
        sources: source names or tags to fetch (default: all enabled sources).
        topics: topic names to match (default: all).
        dry_run: match and record, send nothing.
        sources_file: path of sources.yaml (default: NEWSWATCH_SOURCES_FILE or deploy/sources.yaml).
        watchlist_file: path of watchlist.yaml (default: NEWSWATCH_WATCHLIST_FILE or deploy/watchlist.yaml).
    """
    logger = get_run_logger()
    settings = load_settings()
    # Everything that can be wrong with the configuration fails here, before anything is touched.
    source_list = select_sources(load_sources(sources_file or settings.sources_file).sources, sources)
    topic_list = select_topics(load_watchlist(watchlist_file or settings.watchlist_file).topics, topics)
    senders = load_senders(settings)
    db_url = settings.db_url
    get_engine(db_url)

    source_ids = repository.upsert_sources(db_url, [(s.name, s.url, list(s.tags)) for s in source_list])
    policy = FetchPolicy.from_settings(settings)
    size = settings.batch_size
    batches = [source_list[i : i + size] for i in range(0, len(source_list), size)]
    futures = [
        ingest_batch.submit(db_url, batch, source_ids, policy, settings.fetch_workers, f"{i + 1}-of-{len(batches)}")
        for i, batch in enumerate(batches)
    ]
    outcomes: list[SourceOutcome] = [o for f in futures for o in f.result()]
    summary = summarize(outcomes)
    summary.dry_run = dry_run

    matched = match_task(db_url, topic_list, [s.target for s in senders], dry_run)
    summary.articles_checked = matched.checked
    summary.matches = len(matched.new_match_ids or [])
    delivery = DeliveryReport() if dry_run else deliver_task(db_url, senders)
    summary.alerts_sent, summary.alerts_failed = delivery.sent, delivery.failed
    summary.alerts_pending = repository.count_pending_alerts(db_url)

    publish(summary, repository.match_rows(db_url, matched.new_match_ids or []))
    logger.info(
        "sources ok %d, failed %d; entries %d, new %d, duplicates %d; matches %d; alerts sent %d, failed %d",
        summary.sources_ok,
        summary.sources_failed,
        summary.entries_seen,
        summary.new_articles,
        summary.duplicates,
        summary.matches,
        summary.alerts_sent,
        summary.alerts_failed,
    )
    return summary
