"""The digest flow: send the due digests (hourly and daily topics, and immediate alerts held
back by max_per_hour). Scheduled every 15 minutes; each digest goes out once per period."""

from __future__ import annotations

from datetime import timedelta

from prefect import flow

from flows.hooks import tell_ops
from storage.db import get_engine
from tasks.alerting import DigestReport, digest_task, load_senders
from tasks.config import load_settings, load_watchlist, select_topics


@flow(name="digest", on_failure=[tell_ops])
def digest(topics: list[str] | None = None, force: bool = False, watchlist_file: str | None = None) -> DigestReport:
    """Send the digests that are due.

    Args:
        topics: topic names (default: all).
        force: send every waiting digest now, due or not.
        watchlist_file: path of watchlist.yaml (default: NEWSWATCH_WATCHLIST_FILE or deploy/watchlist.yaml).
    """
    settings = load_settings()
    watchlist = load_watchlist(watchlist_file or settings.watchlist_file)
    chosen = [t.name for t in select_topics(watchlist.topics, topics)] if topics else None
    senders = load_senders(settings)
    get_engine(settings.db_url)
    lease = timedelta(seconds=settings.alert_claim_lease)
    return digest_task(settings.db_url, senders, watchlist, settings.alert_max_attempts, chosen, force, lease)
