"""Flows without a Prefect server (flows/stages.py): the stages called in this process, with
their tasks' retries, and a failed run told to the ops targets as the flows' hook would."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.monitor import monitor_here
from flows.stages import with_retries
from tasks.config import ConfigError
from tests.receivers import JsonReceiver


def test_with_retries_tries_again_then_gives_up() -> None:
    calls: list[int] = []

    def flaky(n: int) -> int:
        calls.append(n)
        if len(calls) < 2:
            raise OSError("first call fails")
        return n * 2

    assert with_retries(flaky, 1, 0.0, 21) == 42 and calls == [21, 21]
    calls.clear()
    with pytest.raises(OSError, match="first call fails"):
        with_retries(flaky, 0, 0.0, 1)
    assert calls == [1]


def test_a_failed_run_here_tells_ops(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with JsonReceiver() as hook:
        monkeypatch.setenv("NEWSWATCH_NOTIFY", hook.apprise_url())
        monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'nw.db'}")
        with pytest.raises(ConfigError):
            monitor_here(sources_file=str(tmp_path / "missing.yaml"))
    assert len(hook.posts) == 1
    assert "monitor run failed" in hook.posts[0]["title"] and "missing.yaml" in hook.posts[0]["message"]
