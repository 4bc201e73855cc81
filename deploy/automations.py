"""The Prefect automations the deployments rely on, created or brought up to date by `newswatch
setup` (one of each name, however often it runs):

- zombie runs: a monitor or digest run whose process died stays "Running" for ever (upstream
  #16746). A flow run sends a heartbeat every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (Prefect's
  default, 180); a run that sent one and then neither another nor a final state within
  ZOMBIE_WINDOW_SECONDS (over three intervals: a run busy on both cores can send one late
  without being dead) is marked Crashed, which also tells ops through the flows' failure hook
  path in the UI and frees the deployment's concurrency slot.
- late runs: a scheduled run that went Late (not started 15 s after its time) and did not start
  within LATE_WINDOW_SECONDS is cancelled. After an outage the runs that piled up are dropped,
  not replayed back to back (upstream #19313); the next scheduled run does the work.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

FLOWS = ["monitor", "digest"]
HEARTBEAT_SECONDS = 180  # Prefect 3.9's default PREFECT_FLOWS_HEARTBEAT_FREQUENCY
ZOMBIE_WINDOW_SECONDS = 600
LATE_WINDOW_SECONDS = 600
ZOMBIES = "newswatch: crash zombie runs"
LATE = "newswatch: cancel late runs"
FINAL = ["Completed", "Failed", "Cancelled", "Crashed"]


def _trigger(after: str, expect: list[str], within: int) -> Any:
    """Fires for a newswatch flow run that had `after` and then none of `expect` within `within` s."""
    from prefect.automations import EventTrigger, Posture

    return EventTrigger(
        after={f"prefect.flow-run.{after}"},
        expect={f"prefect.flow-run.{e}" for e in expect},
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": FLOWS},
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=timedelta(seconds=within),
    )


def wanted() -> list[Any]:
    """The automations as they should be on the server."""
    from prefect.automations import Automation, CancelFlowRun, ChangeFlowRunState
    from prefect.client.schemas.objects import StateType

    zombie = Automation(
        name=ZOMBIES,
        description=f"A newswatch flow run with no heartbeat for {ZOMBIE_WINDOW_SECONDS} s "
        f"(heartbeats every {HEARTBEAT_SECONDS} s) is marked Crashed.",
        trigger=_trigger("heartbeat", ["heartbeat", *FINAL], ZOMBIE_WINDOW_SECONDS),
        actions=[
            ChangeFlowRunState(
                name=None, state=StateType.CRASHED, message="no heartbeat: the run's process is gone", force=False
            )
        ],
    )
    late = Automation(
        name=LATE,
        description=f"A newswatch flow run still not started {LATE_WINDOW_SECONDS} s after it went Late "
        "is cancelled: the next scheduled run does its work.",
        trigger=_trigger("Late", ["Pending", "Running", "Cancelling", *FINAL], LATE_WINDOW_SECONDS),
        actions=[CancelFlowRun()],
    )
    return [zombie, late]


def ensure_automations() -> dict[str, str]:
    """Create each automation, or update the one of its name (duplicates deleted);
    {name: "created" | "updated"}."""
    from prefect.automations import AutomationCore
    from prefect.client.orchestration import get_client

    done: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for automation in wanted():
            existing = client.read_automations_by_name(name=automation.name)
            if not existing:
                client.create_automation(automation=AutomationCore(**automation.model_dump(exclude={"id"})))
                done[automation.name] = "created"
                continue
            # The server's update refuses owner_resource (an extra field there), as Automation.update knows.
            core = AutomationCore(**automation.model_dump(exclude={"id", "owner_resource"}))
            client.update_automation(automation_id=existing[0].id, automation=core)
            for duplicate in existing[1:]:
                client.delete_automation(automation_id=duplicate.id)
            done[automation.name] = "updated"
    return done
