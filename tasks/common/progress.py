"""Progress of long operations, for whoever is watching in this process (the CLI's progress
bars). Stages call `expect` and `advance`; a listener registered with `listening` hears them.
Nobody listening (a worker, a served run) costs one dict lookup per call."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# listener(stage, event, n): event "expect" sets a stage's total (n), "advance" adds n done.
Listener = Callable[[str, str, int], None]

SOURCES = "sources fetched"
ARTICLES = "articles extracted"

_listeners: list[Listener] = []
_lock = threading.Lock()


def _emit(stage: str, event: str, n: int) -> None:
    for listener in list(_listeners):
        with contextlib.suppress(Exception):  # a display problem must never fail a run
            listener(stage, event, n)


def expect(stage: str, total: int) -> None:
    """`total` more units of `stage` are coming (added to what was expected before)."""
    if _listeners:
        _emit(stage, "expect", total)


def advance(stage: str, n: int = 1) -> None:
    if _listeners:
        _emit(stage, "advance", n)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
