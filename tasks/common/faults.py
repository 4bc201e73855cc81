"""Crash points for the crash-safety test: `NEWSWATCH_CRASH_AT=after-send:3` makes the process
SIGKILL itself the 3rd time it passes `crashpoint("after-send")`. Unset (always, outside that
test), a crash point costs one dictionary lookup."""

from __future__ import annotations

import os
import signal
import threading

_counts: dict[str, int] = {}
_lock = threading.Lock()


def crashpoint(name: str) -> None:
    spec = os.environ.get("NEWSWATCH_CRASH_AT")
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        hit = _counts[name] == int(nth or 1)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
