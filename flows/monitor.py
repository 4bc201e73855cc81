"""The monitor flow: it only wires the stages together. Each stage's package owns its work:
ingest (which sources are due, in batches: fetch, parse, extract, store), stories (near-
duplicates become one story), matching (topics against new articles; which matches alert),
alerting (the outbox to each channel), report (what the run did). The wiring runs as a Prefect
flow (`monitor`) or, with no Prefect server, in this process (`monitor_here`, flows/stages.py)."""

from __future__ import annotations

import atexit
import gc
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.hooks import ops_told_of_failure, tell_ops
from flows.runform import EVERY, TEXT, ConfigNames
from flows.stages import PrefectStages, Stages, local_stages
from storage import repository
from storage.clock import now_utc
from storage.db import get_engine, storage_errors
from tasks.alerting import DeliveryReport, alert_senders, deliver_task, load_senders
from tasks.config import load_settings, load_sources, load_watchlist, select_sources, select_topics
from tasks.ingest import IngestOptions, ingest_batch, plan_ingest
from tasks.matching import match_task
from tasks.report import RunSummary, report_run, summarize
from tasks.stories import stories_task


@storage_errors("monitor")
def run_monitor(
    stages: Stages,
    sources: Sequence[str] | None = None,
    topics: Sequence[str] | None = None,
    dry_run: bool = False,
    force: bool = False,
    sources_file: str | None = None,
    watchlist_file: str | None = None,
) -> RunSummary:
    """One monitor run, each stage called through `stages` (the parameters: see `monitor`)."""
    started = now_utc()
    settings = load_settings()
    db_url = settings.db_url
    # Everything that can be wrong with the configuration fails here, before anything is touched.
    source_list = select_sources(load_sources(sources_file or settings.sources_file).sources, list(sources or ()))
    watchlist = load_watchlist(watchlist_file or settings.watchlist_file)
    topic_list = select_topics(watchlist.topics, list(topics or ()))
    senders = load_senders(settings)
    get_engine(db_url)

    plan = plan_ingest(db_url, source_list, force, settings.batch_size)
    options = IngestOptions.from_settings(settings)
    futures = [stages.submit(ingest_batch, db_url, b.sources, b.states, options, b.label) for b in plan.batches]
    ingested = [outcome for f in futures for outcome in f.result()]
    stories = stages.call(stories_task, db_url, settings.story_window_days)
    targets = [s.target for s in alert_senders(senders)]
    matched = stages.call(match_task, db_url, topic_list, targets, dry_run, options.embed_model)
    lease = timedelta(seconds=settings.alert_claim_lease)
    delivery = (
        DeliveryReport()
        if dry_run
        else stages.call(deliver_task, db_url, senders, watchlist, settings.alert_max_attempts, lease)
    )

    pending = repository.count_pending_alerts(db_url)
    summary = summarize(ingested, plan.not_due, stories, matched, delivery, pending, dry_run, started)
    report_run(db_url, summary, matched, [s.name for s in source_list], started)
    return summary


# The Run form (flows/runform.py): `sources` and `topics` picked from the config's names when a
# deployment is made from `monitor` (`prefect deploy`, `newswatch serve`), the files as text.
Sources = Annotated[Sequence[str] | None, ConfigNames("sources", __name__, "monitor")]
Topics = Annotated[Sequence[str] | None, ConfigNames("topics", __name__, "monitor")]
File = Annotated[str | None, TEXT]


# The pool bounds how many batches of sources are fetched at once (NEWSWATCH_BATCH_CONCURRENCY).
@flow(
    name="monitor",
    task_runner=ThreadPoolTaskRunner(max_workers=load_settings().batch_concurrency),  # type: ignore[arg-type]
    log_prints=True,
    on_failure=[tell_ops],
)
def monitor(
    sources: Sources = EVERY,
    topics: Topics = EVERY,
    dry_run: bool = False,
    force: bool = False,
    sources_file: File = "",
    watchlist_file: File = "",
) -> RunSummary:
    """Fetch the due sources, store new articles, match the watched topics, send alerts.

    Args:
        sources: Sources to fetch, by name or tag (all: every enabled source).
        topics: Topics to match (all: every one).
        dry_run: match and record, send nothing.
        force: fetch every chosen source now, even those not due or backing off.
        sources_file: Path of sources.yaml on the worker (empty: the setting, NEWSWATCH_SOURCES_FILE).
        watchlist_file: Path of watchlist.yaml on the worker (empty: the setting, NEWSWATCH_WATCHLIST_FILE).
    """
    return run_monitor(PrefectStages(), sources, topics, dry_run, force, sources_file, watchlist_file)


def monitor_here(**parameters: object) -> RunSummary:
    """The monitor run in this process without Prefect (no server needed): `monitor`'s parameters."""
    with ops_told_of_failure(monitor), local_stages(load_settings().batch_concurrency) as stages:
        return run_monitor(stages, **parameters)  # type: ignore[arg-type]


# After the imports above the heap holds about a million long-lived objects (Prefect, pydantic,
# SQLAlchemy). Frozen, they stay out of the run's garbage collections and out of the full
# collections at interpreter shutdown (0.3 s per run process, measured); the atexit hook runs
# after Prefect's own exit hooks (registered later, run earlier) have flushed the logs.
gc.freeze()
atexit.register(gc.freeze)
