"""Baseline (b) of bench/pipeline.py: newswatch's own stage functions called in a plain Python
program, without Prefect, as parallel as the flow: every source at once on the shared fetch
threads, the same worker processes for extraction. The difference to the flow is Prefect's cost.

    NEWSWATCH_... .venv/bin/python bench/plain_loop.py

Settings come from the environment as for `newswatch run --force`. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage import repository  # noqa: E402
from storage.db import get_engine  # noqa: E402
from tasks.alerting import alert_senders, close_all, deliver, load_senders  # noqa: E402
from tasks.config import load_settings, load_sources, load_watchlist  # noqa: E402
from tasks.ingest import IngestOptions, ingest_sources  # noqa: E402
from tasks.matching import match_unmatched  # noqa: E402
from tasks.stories import assign_stories  # noqa: E402


def main() -> None:
    started = time.perf_counter()
    settings = load_settings()
    sources = [s for s in load_sources(settings.sources_file).sources if s.enabled]
    watchlist = load_watchlist(settings.watchlist_file)
    senders = alert_senders(load_senders(settings))
    db_url = settings.db_url
    get_engine(db_url)
    repository.upsert_sources(db_url, [(s.name, s.url, list(s.tags)) for s in sources])
    states = repository.source_states(db_url)
    # Without Prefect there is no reason to batch: every source goes to the shared fetch threads.
    outcomes = ingest_sources(db_url, sources, states, IngestOptions.from_settings(settings))
    ingested = time.perf_counter()
    assign_stories(db_url, timedelta(days=settings.story_window_days))
    matched = match_unmatched(db_url, watchlist.topics, [s.target for s in senders], dry_run=False)
    try:
        sent = deliver(db_url, senders, watchlist, settings.alert_max_attempts).sent
    finally:
        close_all(senders)
    print(
        json.dumps(
            {
                "sources": len(sources),
                "new": sum(o.new for o in outcomes),
                "failed": sum(not o.ok for o in outcomes),
                "matches": len(matched.new_match_ids or []),
                "sent": sent,
                "ingest_s": ingested - started,
                "wall_s": time.perf_counter() - started,
            }
        )
    )


if __name__ == "__main__":
    main()
