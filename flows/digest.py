"""The digest flow: send the due digests (hourly and daily topics, and immediate alerts held
back by max_per_hour). Scheduled every 15 minutes; each digest goes out once per period. Like
the monitor, it runs as a Prefect flow or, with no Prefect server, here (`digest_here`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from prefect import flow

from flows.hooks import ops_told_of_failure, tell_ops
from flows.runform import EVERY, TEXT, ConfigNames
from flows.stages import PrefectStages, Stages, local_stages
from storage.db import get_engine, storage_errors
from tasks.alerting import DigestReport, digest_task, load_senders
from tasks.config import load_settings, load_watchlist, select_topics


@storage_errors("digest")
def run_digest(
    stages: Stages, topics: Sequence[str] | None = None, force: bool = False, watchlist_file: str | None = None
) -> DigestReport:
    """One digest run, its stage called through `stages` (the parameters: see `digest`)."""
    settings = load_settings()
    watchlist = load_watchlist(watchlist_file or settings.watchlist_file)
    # Every topic (none named, or "all", the Run form's default) is no filter: the stories still
    # waiting for a topic since removed from the watchlist go out too.
    picked = select_topics(watchlist.topics, list(topics or ()))
    chosen = [t.name for t in picked] if len(picked) < len(watchlist.topics) else None
    senders = load_senders(settings)
    get_engine(settings.db_url)
    lease = timedelta(seconds=settings.alert_claim_lease)
    return stages.call(
        digest_task, settings.db_url, senders, watchlist, settings.alert_max_attempts, chosen, force, lease
    )


# The Run form (flows/runform.py): `topics` picked from the watchlist when a deployment is made.
Topics = Annotated[Sequence[str] | None, ConfigNames("topics", __name__, "digest")]
File = Annotated[str | None, TEXT]


@flow(name="digest", on_failure=[tell_ops])
def digest(topics: Topics = EVERY, force: bool = False, watchlist_file: File = "") -> DigestReport:
    """Send the digests that are due.

    Args:
        topics: Topics (all: every one).
        force: send every waiting digest now, due or not.
        watchlist_file: Path of watchlist.yaml on the worker (empty: the setting, NEWSWATCH_WATCHLIST_FILE).
    """
    return run_digest(PrefectStages(), topics, force, watchlist_file)


def digest_here(**parameters: object) -> DigestReport:
    """The digest run in this process without Prefect (no server needed): `digest`'s parameters."""
    with ops_told_of_failure(digest), local_stages(1) as stages:
        return run_digest(stages, **parameters)  # type: ignore[arg-type]
