"""`newswatch setup` creates the automations that crash zombie runs and cancel late runs on a real
Prefect API (the test harness's server), once however often it runs, and as specified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.automations import LATE, LATE_WINDOW_SECONDS, ZOMBIE_WINDOW_SECONDS, ZOMBIES
from tasks.config import prefect_api_url
from tests.helpers import cli

pytestmark = pytest.mark.usefixtures("prefect_harness")


def ours() -> list[dict[str, Any]]:
    found = httpx.post(f"{prefect_api_url()}/automations/filter", json={}, timeout=10).json()
    return [a for a in found if a["name"] in (ZOMBIES, LATE)]


@pytest.fixture
def no_automations() -> Iterator[None]:
    """The harness's server is shared by the whole session: leave none of ours behind."""

    def drop() -> None:
        for automation in ours():
            httpx.delete(f"{prefect_api_url()}/automations/{automation['id']}", timeout=10)

    drop()
    yield
    drop()


@pytest.mark.usefixtures("no_automations")
def test_setup_creates_each_automation_once() -> None:
    env = {"PREFECT_API_URL": str(prefect_api_url())}
    first = cli(["setup", "--json"], env, timeout=90)
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout)["automations"] == {ZOMBIES: "created", LATE: "created"}
    second = cli(["setup"], env, timeout=90)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"automation updated: {ZOMBIES}" in second.stdout

    by_name = {a["name"]: a for a in ours()}
    assert sorted(a["name"] for a in ours()) == sorted([LATE, ZOMBIES])  # once each
    zombie, late = by_name[ZOMBIES], by_name[LATE]
    assert zombie["enabled"] and late["enabled"]

    trigger = zombie["trigger"]
    assert trigger["posture"] == "Proactive" and trigger["within"] == ZOMBIE_WINDOW_SECONDS
    assert trigger["after"] == ["prefect.flow-run.heartbeat"] and "prefect.flow-run.heartbeat" in trigger["expect"]
    assert trigger["for_each"] == ["prefect.resource.id"]
    assert trigger["match_related"]["prefect.resource.name"] == ["monitor", "digest"]
    assert [(a["type"], a["state"]) for a in zombie["actions"]] == [("change-flow-run-state", "CRASHED")]

    trigger = late["trigger"]
    assert trigger["after"] == ["prefect.flow-run.Late"] and trigger["within"] == LATE_WINDOW_SECONDS
    assert "prefect.flow-run.Running" in trigger["expect"]
    assert [a["type"] for a in late["actions"]] == ["cancel-flow-run"]
