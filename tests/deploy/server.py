"""A real Prefect server for the tests of this folder, and the processes that talk to it:
`newswatch serve`, a worker, the UI's Run button (through the API). The server itself is the
prefect_server fixture (conftest.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_ENV
from tests.helpers import ROOT

FINISHED = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """predicate()'s first true value within `timeout` seconds (an HTTP error counts as false)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def started(command: list[str], log: Path, **popen: Any) -> Iterator[subprocess.Popen[bytes]]:
    """`command` running, its output in `log`; stopped on the way out (SIGTERM, then SIGKILL)."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **popen)
        try:
            yield process
        finally:
            stop(process)


def create_flow_run(api: str, deployment_id: str, parameters: dict[str, object]) -> dict[str, object]:
    """Create a flow run of a deployment, as the UI's Run button does. A busy server (SQLite, a
    worker polling it) may answer 5xx once; try again for a while, and show every answer if it
    never succeeds."""
    answers: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            response = httpx.post(
                f"{api}/deployments/{deployment_id}/create_flow_run", json={"parameters": parameters}, timeout=10
            )
        except httpx.HTTPError as exc:
            answers.append(repr(exc))
        else:
            if response.status_code in (200, 201):
                return response.json()  # type: ignore[no-any-return]
            answers.append(f"{response.status_code} {response.text[:300]}")
            assert response.status_code >= 500, answers  # a refusal will not change on retry
        time.sleep(0.5)
    raise AssertionError(f"no flow run created: {answers}")


def final_state(api: str, run_id: object, timeout: float, what: str) -> str:
    """The state type a flow run ends in (COMPLETED, FAILED, ...), once it has ended."""

    def ended() -> str | None:
        state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=5).json()["state"]["type"]
        return state if state in FINISHED else None

    return str(wait_until(ended, timeout, what))


def one_run_at_a_time(deployment: dict[str, Any]) -> bool:
    """The deployment admits one run at a time and cancels a run that comes while one runs."""
    limit = deployment.get("global_concurrency_limit") or {}
    options = deployment.get("concurrency_options") or {}
    return limit.get("limit") == 1 and options.get("collision_strategy") == "CANCEL_NEW"


def client_env(api: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without its Prefect and newswatch settings, talking to `api`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSWATCH_"))}
    env.update(
        PREFECT_API_URL=api,
        PREFECT_HOME=str(tmp_path / "prefect-client"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        **extra,
    )
    return env


def newswatch_env(tmp_path: Path, src: str, wl: str, notify: str) -> dict[str, str]:
    """The newswatch settings of a process under test that runs the flow: its config and notifier."""
    return dict(
        NEWSWATCH_SOURCES_FILE=src,
        NEWSWATCH_WATCHLIST_FILE=wl,
        NEWSWATCH_HOME=str(tmp_path / "home"),
        NEWSWATCH_NOTIFY=notify,
        **TEST_ENV,
    )


@contextmanager
def newswatch_serve(
    api: str, tmp_path: Path, src: str, wl: str, notify: str, schedule_minutes: int
) -> Iterator[dict[str, Any]]:
    """`newswatch serve` on these files and this notifier, polling fast, its output in
    serve.log; yields the monitor deployment once the server has it."""
    env = client_env(
        api,
        tmp_path,
        PREFECT_RUNNER_POLL_FREQUENCY="2",
        NEWSWATCH_SCHEDULE_MINUTES=str(schedule_minutes),
        **newswatch_env(tmp_path, src, wl, notify),
    )
    with started([sys.executable, "-m", "deploy.cli", "serve"], tmp_path / "serve.log", env=env):
        yield deployment_named(api, "monitor/monitor", 90)


def deployment_named(api: str, name: str, timeout: float) -> dict[str, Any]:
    """The deployment `flow/deployment` once the server has it."""

    def found() -> dict[str, Any] | None:
        response = httpx.get(f"{api}/deployments/name/{name}", timeout=5)
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    return wait_until(found, timeout, f"the deployment {name}")  # type: ignore[no-any-return]


def prefect(args: list[str], env: dict[str, str]) -> str:
    """Run a `prefect` CLI command from the project directory; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout
