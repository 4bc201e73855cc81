"""`newswatch serve` against a real Prefect server: the deployment appears with its schedule
and editable parameters, and a run started the way the UI's "Custom run" does completes and
delivers its alert."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ENV
from tests.flows.test_monitor import write_config
from tests.newsweb import TRAFFICKING_TITLE, NewsWeb, build_site
from tests.receivers import JsonReceiver, free_port


def wait_until(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
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


@pytest.fixture
def prefect_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-server"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api",  # --port does not move the UI's API address
    )
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        wait_until(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, 120, "the Prefect server")
        yield api
    finally:
        stop(server)
        log.close()


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


def served_env(api: str, tmp_path: Path, src: str, wl: str, notify: str, schedule_minutes: int) -> dict[str, str]:
    """The environment of a `newswatch serve` under test: its config, its notifier, a fast poll."""
    return client_env(
        api,
        tmp_path,
        PREFECT_RUNNER_POLL_FREQUENCY="2",
        NEWSWATCH_SCHEDULE_MINUTES=str(schedule_minutes),
        **newswatch_env(tmp_path, src, wl, notify),
    )


def test_serve_shows_the_deployment_and_runs_it(prefect_server: str, tmp_path: Path) -> None:
    api = prefect_server
    with NewsWeb() as web, JsonReceiver() as hook:
        site = build_site(web)
        src, wl = write_config(tmp_path, [("Mekong Daily", site["feed"])])
        env = served_env(api, tmp_path, src, wl, hook.apprise_url(), schedule_minutes=15)
        log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
        serve = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deployment = wait_until(
                lambda: (
                    (r := httpx.get(f"{api}/deployments/name/monitor/monitor", timeout=5)).status_code == 200
                    and r.json()
                ),
                90,
                "the monitor deployment",
            )
            assert deployment["schedules"][0]["schedule"]["interval"] == 15 * 60
            assert deployment["schedules"][0]["active"] is True
            properties = deployment["parameter_openapi_schema"]["properties"]
            assert {"sources", "topics", "dry_run"} <= set(properties)

            # What the UI's Run -> Custom run does: a flow run of the deployment with edited parameters.
            run = create_flow_run(api, deployment["id"], {"topics": ["human-trafficking"], "dry_run": False})
            state = wait_until(
                lambda: (
                    (s := httpx.get(f"{api}/flow_runs/{run['id']}", timeout=5).json()["state"]["type"])
                    in ("COMPLETED", "FAILED", "CRASHED")
                    and s
                ),
                120,
                "the flow run to finish",
            )
            assert state == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
            assert len(hook.posts) == 1 and TRAFFICKING_TITLE in hook.posts[0]["title"]
            artifacts = httpx.post(
                f"{api}/artifacts/filter", json={"artifacts": {"key": {"any_": ["newswatch-run"]}}}, timeout=10
            ).json()
            assert any(a["flow_run_id"] == run["id"] and TRAFFICKING_TITLE in a["data"] for a in artifacts)
        finally:
            stop(serve)
            log.close()
    # Stopping the server process must leave the schedule active (pause_on_shutdown=False).
    after = httpx.get(f"{api}/deployments/name/monitor/monitor", timeout=5).json()
    assert after["schedules"][0]["active"] is True and after.get("paused") is False
