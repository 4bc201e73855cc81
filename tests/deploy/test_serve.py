"""`newswatch serve` against a real Prefect server: the deployment appears with its schedule
and editable parameters, and a run started the way the UI's "Custom run" does completes and
delivers its alert."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.deploy.server import create_flow_run, final_state, newswatch_serve
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

        # What the UI's Run -> Custom run does: a flow run of the deployment with edited parameters.
        run = create_flow_run(api, deployment["id"], {"topics": ["human-trafficking"], "dry_run": False})
        state = final_state(api, run["id"], 120, "the flow run to finish")
        assert state == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
        assert len(hook.posts) == 1 and TRAFFICKING_TITLE in hook.posts[0]["title"]
        artifacts = httpx.post(
            f"{api}/artifacts/filter", json={"artifacts": {"key": {"any_": ["newswatch-run"]}}}, timeout=10
        ).json()
        assert any(a["flow_run_id"] == run["id"] and TRAFFICKING_TITLE in a["data"] for a in artifacts)
    # Stopping the server process must leave the schedule active (pause_on_shutdown=False).
    after = httpx.get(f"{api}/deployments/name/monitor/monitor", timeout=5).json()
    assert after["schedules"][0]["active"] is True and after.get("paused") is False
