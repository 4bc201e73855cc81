"""Scale-out: deploy/prefect.yaml deployed with `prefect deploy` to a real Prefect server onto a
process work pool, a `prefect worker start` picks up a run of the monitor deployment, and the run
completes and delivers its alert."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from tests.deploy.server import (
    client_env,
    create_flow_run,
    final_state,
    newswatch_env,
    one_run_at_a_time,
    prefect,
    started,
)
from tests.helpers import ROOT, Watched
from tests.newsweb import TRAFFICKING_TITLE
from tests.receivers import JsonReceiver


def test_deploy_to_process_pool_and_a_worker_runs_it(prefect_server: str, mekong: Watched, tmp_path: Path) -> None:
    api = prefect_server
    _, src, wl = mekong
    with JsonReceiver() as hook:
        # PWD: what `{{ $PWD }}` in the pull step resolves to, as in a shell in the project.
        base = client_env(api, tmp_path, PWD=str(ROOT))

        # The commands of the README, from the project directory.
        prefect(["work-pool", "create", "newswatch", "--type", "process"], base)
        prefect(["--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml"], base)

        deployments = {}
        for name in ("monitor/monitor", "digest/digest"):
            d = httpx.get(f"{api}/deployments/name/{name}", timeout=5)
            assert d.status_code == 200, name
            deployments[name] = d.json()
            assert deployments[name]["work_pool_name"] == "newswatch"
            assert deployments[name]["schedules"][0]["schedule"]["interval"] == 900
            assert one_run_at_a_time(deployments[name]), deployments[name]
            assert deployments[name]["pull_steps"] == [
                {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
            ]
        monitor = deployments["monitor/monitor"]

        worker_env = dict(
            base,
            PREFECT_WORKER_QUERY_SECONDS="2",
            PREFECT_WORKER_PREFETCH_SECONDS="10",
            **newswatch_env(tmp_path, src, wl, hook.apprise_url()),
        )
        worker = [sys.executable, "-m", "prefect", "worker", "start", "--pool", "newswatch"]
        with started(worker, tmp_path / "worker.log", cwd=ROOT, env=worker_env):
            run = create_flow_run(api, monitor["id"], {"force": True})
            state = final_state(api, run["id"], 180, "the worker to run the flow")
            assert state == "COMPLETED", (tmp_path / "worker.log").read_text()[-4000:]
            assert len(hook.posts) == 1 and TRAFFICKING_TITLE in hook.posts[0]["title"]
            flow_run = httpx.get(f"{api}/flow_runs/{run['id']}", timeout=5).json()
            assert flow_run["work_pool_name"] == "newswatch"
