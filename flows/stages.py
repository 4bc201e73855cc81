"""How a flow calls its stages: as Prefect tasks inside a flow run (a task run each, shown in
the UI), or as the plain functions those tasks wrap, in this process with no Prefect server.

The second is what `newswatch run`, `demo` and `digest` do when no PREFECT_API_URL is set.
Prefect 3 records every flow run through an API, and without one it starts a temporary server
first: 18-27 s on a busy 2-core machine, against a default start timeout of 20 s, so 3 CLI runs
in 6 failed (shared NOTES). Called here, the stages need no server at all; the run's summary,
its log lines (the `newswatch` logger) and the alerts are the same, only the Prefect UI's
record of the run (task runs, artifacts, the run's name) is not kept."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from prefect import Task

from storage.db import one_line
from tasks.common.runlog import LOGGER

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Pending(Protocol[R_co]):
    """A stage submitted to run alongside others: a Prefect future or a concurrent.futures one."""

    def result(self) -> R_co: ...


class Stages(Protocol):
    def submit(self, task: Task[..., R], *args: Any) -> Pending[R]: ...

    def call(self, task: Task[..., R], *args: Any) -> R: ...


class PrefectStages:
    """Inside a flow run: each stage is a task run of the flow's task runner."""

    def submit(self, task: Task[..., R], *args: Any) -> Pending[R]:
        return task.submit(*args)  # type: ignore[no-any-return]

    def call(self, task: Task[..., R], *args: Any) -> R:
        return task(*args)


class LocalStages:
    """No Prefect run: each stage is its task's function, with the task's retries, on `pool`."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool

    def submit(self, task: Task[..., R], *args: Any) -> Pending[R]:
        return self._pool.submit(self.call, task, *args)

    def call(self, task: Task[..., R], *args: Any) -> R:
        return with_retries(task.fn, task.retries or 0, _delay(task.retry_delay_seconds), *args)


def _delay(setting: object) -> float:
    """The tasks here give one number of seconds (Prefect also takes a list or a callable)."""
    return float(setting) if isinstance(setting, int | float) else 0.0


def with_retries(fn: Callable[..., R], retries: int, delay: float, *args: Any) -> R:
    """fn(*args), tried again up to `retries` times after an exception, as Prefect would."""
    for attempt in range(retries + 1):
        try:
            return fn(*args)
        except Exception as exc:
            if attempt == retries:
                raise
            # One line: a database error's message carries its SQL statement on the lines after.
            logging.getLogger(LOGGER).warning("%s failed (%s), retrying in %.0f s", fn.__name__, one_line(exc), delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


@contextmanager
def local_stages(workers: int) -> Iterator[LocalStages]:
    """Stages for a run in this process: `workers` threads for submitted stages, and the
    `newswatch` logger's INFO lines shown (on Prefect's console handler, as a run's would be)."""
    logger = logging.getLogger(LOGGER)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stage") as pool:
            yield LocalStages(pool)
    finally:
        logger.setLevel(level)
