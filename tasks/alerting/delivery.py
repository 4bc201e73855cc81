"""The outbox sender: claim due alerts, send each to its one target, mark it. A failed send
stays pending with an exponential backoff across runs and is dead-lettered after N attempts
(`newswatch alerts retry` revives it), so nothing is lost; an alert is marked sent right
after its target accepted it, so a repeat needs a crash in that instant. Quiet hours postpone
alerts (urgent topics excepted); a topic over its max_per_hour rolls the excess into the
next digest."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from storage import repository
from storage.clock import now_utc
from storage.repository import AlertToSend
from tasks.alerting.channels import Sender, alert_senders, close_all, ops_senders
from tasks.alerting.render import Message, escape, render_alert
from tasks.common.faults import crashpoint
from tasks.config import Watchlist

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)  # default of NEWSWATCH_ALERT_CLAIM_LEASE
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY_GAP = timedelta(hours=6)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0  # gave up on after max attempts in this run
    postponed: int = 0  # quiet hours
    to_digest: int = 0  # over max_per_hour
    notices: int = 0  # operational notices sent (paused sources)
    errors: list[str] = field(default_factory=list)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8, ... minutes after the 1st, 2nd, 3rd, 4th failed attempt; at most 6 h."""
    return min(FIRST_RETRY * (2 ** max(0, min(attempts - 1, 20))), MAX_RETRY_GAP)


def _postponed(
    db_url: str, alert: AlertToSend, sender: Sender, watchlist: Watchlist, now: datetime, report: DeliveryReport
) -> bool:
    topic = next((t for t in watchlist.topics if t.name == alert.topic), None)
    if not (topic and topic.urgent):
        ends = [end for q in watchlist.quiet_hours(sender.tags) if (end := q.ends_at(now)) is not None]
        if ends:
            repository.postpone_alert(db_url, alert.id, until=max(ends))
            report.postponed += 1
            return True
    recent = now - timedelta(hours=1)
    if (
        topic
        and topic.max_per_hour
        and repository.sent_since(db_url, alert.topic, alert.target, recent) >= (topic.max_per_hour)
    ):
        repository.postpone_alert(db_url, alert.id, to_digest=True)
        report.to_digest += 1
        return True
    return False


def send_claimed(
    db_url: str,
    alert_id: int,
    sender: Sender,
    message: Message,
    attempts_before: int,
    max_attempts: int,
    report: DeliveryReport,
) -> bool:
    """Send one claimed alert (or digest member) and record the outcome; True when sent."""
    try:
        crashpoint("before-send")
        sender.send(message)
    except Exception as exc:  # any failure of a target keeps the alert for a later run
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempts = attempts_before + 1
        dead = attempts >= max_attempts
        repository.mark_alert(db_url, alert_id, reason, retry_at=now_utc() + retry_delay(attempts), dead=dead)
        report.failed += 1
        report.dead += dead
        report.errors.append(f"{sender.target.label}: {reason}")
        log.warning(
            "alert %d to %s failed (attempt %d%s): %s",
            alert_id,
            sender.target.label,
            attempts,
            ", dead-lettered" if dead else "",
            reason,
        )
        return False
    crashpoint("after-send")  # the one window where a crash repeats a message
    repository.mark_alert(db_url, alert_id, None)
    crashpoint("after-mark")
    report.sent += 1
    return True


def deliver(
    db_url: str, senders: Sequence[Sender], watchlist: Watchlist, max_attempts: int, lease: timedelta = CLAIM_LEASE
) -> DeliveryReport:
    """Send every due immediate alert to its target, claiming each just before its send. The
    loop ends: a sent alert is done, a failed or postponed one is due again only later."""
    report = DeliveryReport()
    by_key = {s.target.key: s for s in senders}
    now = now_utc()
    while by_key and (claimed := repository.claim_pending_alerts(db_url, list(by_key), lease, limit=1)):
        alert = claimed[0]
        sender = by_key[alert.target]
        if _postponed(db_url, alert, sender, watchlist, now, report):
            continue
        message = render_alert(alert, sender.format)
        if not send_claimed(db_url, alert.id, sender, message, alert.attempts, max_attempts, report):
            # A target that failed (down, or hanging until its timeout) is not tried again in this
            # run: its other alerts wait for the next run instead of each waiting for a timeout.
            del by_key[alert.target]
    return report


def announce_paused(db_url: str, senders: Sequence[Sender], report: DeliveryReport) -> None:
    """One notice to the ops targets per paused source; a notice that fails is sent next run."""
    for state in repository.source_states(db_url).values():
        if state.paused_at is None or state.pause_notified_at is not None:
            continue
        errors = []
        for sender in ops_senders(list(senders)):  # each in its own format
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
            report.errors.extend(errors)
        else:
            repository.mark_pause_notified(db_url, state.id)
            report.notices += 1


@task(name="deliver-alerts", cache_policy=NO_CACHE)
def deliver_task(
    db_url: str, senders: list[Sender], watchlist: Watchlist, max_attempts: int, lease: timedelta
) -> DeliveryReport:
    try:
        report = deliver(db_url, alert_senders(senders), watchlist, max_attempts, lease)
        announce_paused(db_url, senders, report)
    finally:
        close_all(senders)
    get_run_logger().info(
        "alerts sent: %d, failed: %d (dead-lettered: %d), postponed for quiet hours: %d, to digest: %d; notices: %d",
        report.sent,
        report.failed,
        report.dead,
        report.postponed,
        report.to_digest,
        report.notices,
    )
    return report
