"""Every deployment entrypoint loads, so a rename cannot silently break a schedule."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.flows import load_flow_from_entrypoint

from tasks.config import load_settings
from tasks.config.settings import DEPLOY_DIR
from tests.helpers import ROOT


def test_prefect_yaml_entrypoints_load(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    spec = yaml.safe_load((DEPLOY_DIR / "prefect.yaml").read_text())
    deployments = spec["deployments"]
    assert deployments, "deploy/prefect.yaml defines no deployment"
    monkeypatch.chdir(ROOT)  # entrypoints are relative to the project directory, as for `prefect deploy`
    assert [d["name"] for d in deployments] == ["monitor", "digest"]
    for d in deployments:
        flow = load_flow_from_entrypoint(d["entrypoint"])
        assert flow.name == d["name"]
        assert set(d.get("parameters", {})) <= set(flow.parameters.properties)
        assert d["schedules"][0]["interval"] == 900


def test_serve_builds_the_scheduled_deployment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from deploy.serve import build_deployments

    monkeypatch.setenv("NEWSWATCH_SCHEDULE_MINUTES", "30")
    deployments = build_deployments(load_settings())
    assert [d.name for d in deployments] == ["monitor", "digest"]
    assert deployments[1].schedules[0].schedule.interval.total_seconds() == 15 * 60
    monitor = deployments[0]
    assert monitor.entrypoint and monitor.entrypoint.endswith("flows/monitor.py:monitor")
    path = Path(monitor.entrypoint)
    load_flow_from_entrypoint(str(path if path.is_absolute() else ROOT / path))
    schedule = monitor.schedules[0].schedule
    assert schedule.interval.total_seconds() == 30 * 60
    # Prefect keeps the parameter schema it will register in a private attribute (no public one).
    assert {"sources", "topics", "dry_run"} <= set(monitor._parameter_openapi_schema.properties)


def test_serve_script_runs_as_a_file() -> None:
    import runpy

    namespace = runpy.run_path(str(DEPLOY_DIR / "serve.py"), run_name="not_main")
    assert callable(namespace["main"]) and callable(namespace["build_deployments"])
