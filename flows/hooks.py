"""A failed run tells the operators (the `ops` Apprise targets): the flows' failure hook, and
the same for a run without a Prefect server (flows/stages.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tasks.alerting import notify_run_failed
from tasks.config import load_settings

log = logging.getLogger(__name__)


def _tell(flow_name: str, run_name: str, reason: str) -> None:
    for error in notify_run_failed(load_settings(), flow_name, run_name, reason):
        log.warning("could not tell ops that %s failed: %s", run_name, error)


def tell_ops(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
    _tell(flow.name, flow_run.name, state.message or "unknown reason")


@contextmanager
def ops_told_of_failure(flow: Callable[..., object]) -> Iterator[None]:
    """A run of `flow` outside Prefect: its exception goes to the ops targets, then on up."""
    name = getattr(flow, "name", "run")
    try:
        yield
    except Exception as exc:
        _tell(name, f"{name} (no Prefect server)", f"{type(exc).__name__}: {exc}")
        raise
