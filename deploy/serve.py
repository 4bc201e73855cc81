"""The scheduled deployments, served by a long-running process (`newswatch serve`, or
`python deploy/serve.py`). The work-pool path is deploy/prefect.yaml."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from prefect import Flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment

import flows
from flows.digest import digest
from flows.monitor import monitor
from tasks.config import Settings, load_settings

# Digests are checked often and sent once per period (hourly, or daily at the configured time).
DIGEST_EVERY_MINUTES = 15

# One run of each deployment at a time; a run due while one is running is cancelled, not queued
# (CANCEL_NEW; Prefect's default ENQUEUE would hold it and, after an outage, replay the runs that
# piled up back to back: upstream #19313). The next scheduled run does the work anyway.
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


# The folder that holds flows/: entrypoints are shown relative to it (flows/monitor.py:monitor).
PROJECT = Path(flows.__file__).resolve().parent.parent


def from_project(flow: Flow[Any, Any], **options: Any) -> RunnerDeployment:
    """flow.to_deployment(**options) with its entrypoint relative to the project: Prefect takes it
    relative to the working directory, and the UI showed `../../<clone>/flows/monitor.py:monitor`
    for a serve started elsewhere (issue #19 item 4). Its path is the project's, as Prefect's
    from_entrypoint sets it (RunnerDeployment has no public field for it)."""
    with contextlib.chdir(PROJECT):
        deployment = cast(RunnerDeployment, flow.to_deployment(**options))
    deployment._path = str(PROJECT)
    return deployment


def build_deployments(settings: Settings) -> list[RunnerDeployment]:
    """The two deployments. Their Run forms come from the flows' signatures, the lists of
    sources and topics read from the config now (flows/runform.py), as `prefect deploy` does."""
    monitoring = from_project(
        monitor,
        name="monitor",
        interval=timedelta(minutes=settings.schedule_minutes),
        parameters={"dry_run": False},
        description="Fetch every source, store new articles, match the watchlist, send alerts.",
        tags=["newswatch"],
        concurrency_limit=ONE_AT_A_TIME,
    )
    digesting = from_project(
        digest,
        name="digest",
        interval=timedelta(minutes=DIGEST_EVERY_MINUTES),
        description="Send the due digests (hourly and daily topics, and alerts held back by max_per_hour).",
        tags=["newswatch"],
        concurrency_limit=ONE_AT_A_TIME,
    )
    return [monitoring, digesting]


def main() -> None:
    # pause_on_shutdown=False: on SIGTERM Prefect would otherwise pause the schedules and skip
    # every run due while the server is down (upstream #16363, shared NOTES).
    serve(*build_deployments(load_settings()), pause_on_shutdown=False, limit=4)


if __name__ == "__main__":
    main()
