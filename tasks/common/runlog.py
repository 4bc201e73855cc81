"""Where a stage's log lines go: inside a Prefect flow or task run, the run's logger (the lines
reach the Prefect server and its UI); outside one, as in a run without a Prefect server
(flows/stages.py), the `newswatch` logger on stderr. Prefect's own `get_run_logger` raises
MissingContextError outside a run."""

from __future__ import annotations

import logging
from typing import Any

LOGGER = "newswatch"


def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run (there is a server to publish artifacts to)."""
    from prefect.context import FlowRunContext, TaskRunContext

    return TaskRunContext.get() is not None or FlowRunContext.get() is not None


def run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The current Prefect run's logger, or the `newswatch` logger outside a run."""
    if in_prefect_run():
        from prefect import get_run_logger

        return get_run_logger()
    return logging.getLogger(LOGGER)
