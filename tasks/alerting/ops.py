"""Operational notices, for the people who run newswatch rather than those who read its alerts:
a flow run failed, a source was paused. They go to the targets tagged `ops` (every target when
none is), are sent straight away and are not kept in the alert outbox."""

from __future__ import annotations

from collections.abc import Sequence

from storage import repository
from tasks.alerting.channels import Sender, load_senders
from tasks.alerting.render import Message, escape
from tasks.config import Settings

OPS_TAG = "ops"


def ops_senders(senders: Sequence[Sender]) -> list[Sender]:
    """Targets tagged `ops` get operational notices; without any, every target does."""
    tagged = [s for s in senders if OPS_TAG in s.tags]
    return tagged or list(senders)


def alert_senders(senders: list[Sender]) -> list[Sender]:
    """Alerts go to every target not reserved for operations (tagged only `ops`)."""
    return [s for s in senders if s.tags != {OPS_TAG}] or senders


def notify_run_failed(settings: Settings, flow_name: str, run_name: str, reason: str) -> list[str]:
    """Tell the ops targets that a flow run failed; returns the delivery errors. Called from a
    flow's failure hook, so it never raises. The reason's first line only: a database error's
    message carries its SQL statement and parameters (article text) on the lines after."""
    reason = next((line.strip() for line in reason.splitlines() if line.strip()), "unknown reason")
    try:
        senders = load_senders(settings)
    except Exception as exc:  # the notifier config itself may be what failed the run
        return [f"notifier config: {type(exc).__name__}"]
    errors = []
    for sender in ops_senders(senders):
        fmt = sender.format
        body = f"The {escape(flow_name, fmt)} run {escape(run_name, fmt)} failed: {escape(reason[:500], fmt)}"
        try:
            sender.send(Message(f"[newswatch] {flow_name} run failed: {run_name}", body, fmt))
        except Exception as exc:  # nothing more to do from a failure hook
            errors.append(f"{sender.target.label}: {exc}")
    return errors


def announce_paused(db_url: str, senders: Sequence[Sender]) -> tuple[int, list[str]]:
    """One notice to the ops targets per paused source; a notice that fails is sent next run.
    Returns the number of sources announced and the delivery errors."""
    announced = 0
    all_errors: list[str] = []
    for state in repository.source_states(db_url).values():
        if state.paused_at is None or state.pause_notified_at is not None:
            continue
        errors = []
        for sender in ops_senders(senders):  # each in its own format
            fmt = sender.format
            body = (
                f"{escape(state.name, fmt)} failed {state.consecutive_failures} times in a row and is paused: "
                f"it is now tried once a day, and resumes by itself on the first success.\n\n"
                f"Last error: {escape(state.last_error or 'unknown', fmt)}\n\n"
                f"Check it with: newswatch sources test URL"
            )
            try:
                sender.send(Message(f"[newswatch] source paused: {state.name}", body, fmt))
            except Exception as exc:  # a notice that fails is tried again next run
                errors.append(f"{sender.target.label}: {exc}")
        if errors:
            all_errors.extend(errors)
        else:
            repository.mark_pause_notified(db_url, state.id)
            announced += 1
    return announced, all_errors
