"""`newswatch serve` against a real Prefect server: the deployment appears with its schedule,
editable parameters and a limit of one run at a time; of two runs started at once the way the
UI's "Custom run" does, one completes and delivers its alert, the other is cancelled, not queued."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.deploy.server import create_flow_run, deployment_named, final_state, newswatch_serve, one_run_at_a_time
from tests.helpers import Watched
from tests.newsweb import TRAFFICKING_TITLE
from tests.receivers import JsonReceiver


def test_serve_shows_the_deployment_and_runs_it(prefect_server: str, mekong: Watched, tmp_path: Path) -> None:
    api = prefect_server
    _, src, wl = mekong
    hook = JsonReceiver()
    serving = newswatch_serve(api, tmp_path, src, wl, hook.apprise_url(), schedule_minutes=15)
    with hook, serving as deployment:
        assert deployment["schedules"][0]["schedule"]["interval"] == 15 * 60
        assert deployment["schedules"][0]["active"] is True
        properties = deployment["parameter_openapi_schema"]["properties"]
        assert {"sources", "topics", "dry_run"} <= set(properties)
        digest = deployment_named(api, "digest/digest", 30)
        assert one_run_at_a_time(deployment) and one_run_at_a_time(digest), deployment

        # What the UI's Run -> Custom run does: a flow run of the deployment with edited parameters,
        # twice at once: the runner picks both up in one poll, and only one may run.
        parameters = {"topics": ["human-trafficking"], "dry_run": False}
        runs = [create_flow_run(api, deployment["id"], parameters) for _ in range(2)]
        states = sorted(final_state(api, r["id"], 120, "the flow runs to finish") for r in runs)
        assert states == ["CANCELLED", "COMPLETED"], (tmp_path / "serve.log").read_text()[-3000:]
        run = next(r for r in runs if final_state(api, r["id"], 5, "") == "COMPLETED")
        assert len(hook.posts) == 1 and TRAFFICKING_TITLE in hook.posts[0]["title"]
        artifacts = httpx.post(
            f"{api}/artifacts/filter", json={"artifacts": {"key": {"any_": ["newswatch-run"]}}}, timeout=10
        ).json()
        assert any(a["flow_run_id"] == run["id"] and TRAFFICKING_TITLE in a["data"] for a in artifacts)
    # Stopping the server process must leave the schedule active (pause_on_shutdown=False).
    after = httpx.get(f"{api}/deployments/name/monitor/monitor", timeout=5).json()
    assert after["schedules"][0]["active"] is True and after.get("paused") is False
