"""The outbox sender: claim pending alerts, send each to its target, mark it sent. A send that
fails leaves the alert pending for the next run, so nothing is lost; an alert is marked sent
right after its target accepted it, so a repeat needs a crash in that instant."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from storage import repository
from tasks.notify import Message, Sender, alert_senders, format_alert, send_notice

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    notices: int = 0  # operational notices sent (paused sources)
    errors: list[str] = field(default_factory=list)


def deliver(db_url: str, senders: Sequence[Sender]) -> DeliveryReport:
    report = DeliveryReport()
    by_key = {s.target.key: s for s in senders}
    for alert in repository.claim_pending_alerts(db_url, list(by_key), CLAIM_LEASE):
        sender = by_key[alert.target]
        try:
            sender.send(format_alert(alert))
        except Exception as exc:  # any failure of a target keeps the alert for the next run
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            repository.mark_alert(db_url, alert.id, reason)
            report.failed += 1
            report.errors.append(f"{sender.target.label}: {reason}")
            log.warning("alert %d to %s failed (attempt %d): %s", alert.id, sender.target.label, alert.attempts, reason)
        else:
            repository.mark_alert(db_url, alert.id, None)
            report.sent += 1
    return report


def announce_paused(db_url: str, senders: Sequence[Sender], report: DeliveryReport) -> None:
    """One notice to the ops targets per paused source; a notice that fails is sent next run."""
    for state in repository.source_states(db_url).values():
        if state.paused_at is None or state.pause_notified_at is not None:
            continue
        message = Message(
            title=f"[newswatch] source paused: {state.name}",
            body=(
                f"**{state.name}** failed {state.consecutive_failures} times in a row and is paused: it is now "
                f"tried once a day, and resumes by itself on the first success.\n\n"
                f"Last error: {state.last_error or 'unknown'}\n\nCheck it with `newswatch sources test URL`."
            ),
        )
        errors = send_notice(list(senders), message)
        if errors:
            report.errors.extend(errors)
        else:
            repository.mark_pause_notified(db_url, state.id)
            report.notices += 1


@task(name="deliver-alerts", cache_policy=NO_CACHE)
def deliver_task(db_url: str, senders: list[Sender]) -> DeliveryReport:
    report = deliver(db_url, alert_senders(senders))
    announce_paused(db_url, senders, report)
    get_run_logger().info("alerts sent: %d, failed: %d; notices: %d", report.sent, report.failed, report.notices)
    return report
