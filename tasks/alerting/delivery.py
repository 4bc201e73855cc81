"""The outbox sender: claim due alerts, send each to its one target, mark it. A failed send
(of an alert here, or of a digest: record_failed_send) stays pending with an exponential
backoff across runs and is dead-lettered after N attempts (`newswatch alerts retry` revives
it), so nothing is lost; an alert is marked sent right after its target accepted it, so a
repeat needs a crash in that instant. Quiet hours postpone alerts (urgent topics excepted); a
topic over its max_per_hour rolls the excess into the next digest."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import repository
from storage.clock import now_utc
from storage.db import storage_errors
from storage.records import AlertToSend
from tasks.alerting.channels import Sender, close_all
from tasks.alerting.ops import alert_senders, announce_paused
from tasks.alerting.render import Message, render_alert
from tasks.common.faults import crashpoint
from tasks.common.runlog import run_logger
from tasks.config import Watchlist

log = logging.getLogger(__name__)

DEFAULT_CLAIM_LEASE = timedelta(minutes=10)  # as NEWSWATCH_ALERT_CLAIM_LEASE's default
FIRST_RETRY_DELAY = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=6)


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
    return min(FIRST_RETRY_DELAY * (2 ** max(0, min(attempts - 1, 20))), MAX_RETRY_DELAY)


def failure_reason(exc: Exception) -> str:
    """What a failed send records and reports: the exception's type and message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def record_failed_send(db_url: str, alerts: Sequence[AlertToSend], reason: str, max_attempts: int) -> int:
    """Record a failed send of claimed alerts (one immediate alert, or the stories of a digest):
    each stays pending until retry_delay() after this attempt, or is dead-lettered once it has
    had max_attempts. Releases their claims; returns how many were dead-lettered."""
    now = now_utc()
    dead = 0
    for alert in alerts:
        attempts = alert.attempts + 1
        given_up = attempts >= max_attempts
        repository.mark_alert(db_url, alert.id, reason, retry_at=now + retry_delay(attempts), dead=given_up)
        dead += given_up
    return dead


def _held_back(
    db_url: str, alert: AlertToSend, sender: Sender, watchlist: Watchlist, now: datetime, report: DeliveryReport
) -> bool:
    """Postpone the alert to the end of the target's quiet hours (urgent topics excepted), or
    into the next digest when its topic is over max_per_hour; True when it was held back."""
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
    db_url: str, alert: AlertToSend, sender: Sender, message: Message, max_attempts: int, report: DeliveryReport
) -> bool:
    """Send one claimed alert and record the outcome; True when sent."""
    try:
        crashpoint("before-send")
        sender.send(message)
    except Exception as exc:  # any failure of a target keeps the alert for a later run
        reason = failure_reason(exc)
        dead = record_failed_send(db_url, [alert], reason, max_attempts)
        report.failed += 1
        report.dead += dead
        report.errors.append(f"{sender.target.label}: {reason}")
        log.warning(
            "alert %d to %s failed (attempt %d%s): %s",
            alert.id,
            sender.target.label,
            alert.attempts + 1,
            ", dead-lettered" if dead else "",
            reason,
        )
        return False
    crashpoint("after-send")  # the one window where a crash repeats a message
    repository.mark_alert(db_url, alert.id, None)
    crashpoint("after-mark")
    report.sent += 1
    return True


def deliver(
    db_url: str,
    senders: Sequence[Sender],
    watchlist: Watchlist,
    max_attempts: int,
    lease: timedelta = DEFAULT_CLAIM_LEASE,
) -> DeliveryReport:
    """Send every due immediate alert to its target, claiming each just before its send. The
    loop ends: a sent alert is done, a failed or postponed one is due again only later."""
    report = DeliveryReport()
    by_key = {s.target.key: s for s in senders}
    now = now_utc()
    while by_key and (claimed := repository.claim_pending_alerts(db_url, list(by_key), lease, limit=1)):
        alert = claimed[0]
        sender = by_key[alert.target]
        if _held_back(db_url, alert, sender, watchlist, now, report):
            continue
        message = render_alert(alert, sender.format)
        if not send_claimed(db_url, alert, sender, message, max_attempts, report):
            # A target that failed (down, or hanging until its timeout) is not tried again in this
            # run: its other alerts wait for the next run instead of each waiting for a timeout.
            del by_key[alert.target]
    return report


@task(name="deliver-alerts", cache_policy=NO_CACHE)
@storage_errors("deliver-alerts")
def deliver_task(
    db_url: str, senders: list[Sender], watchlist: Watchlist, max_attempts: int, lease: timedelta
) -> DeliveryReport:
    try:
        report = deliver(db_url, alert_senders(senders), watchlist, max_attempts, lease)
        notices, notice_errors = announce_paused(db_url, senders)
        report.notices += notices
        report.errors.extend(notice_errors)
    finally:
        close_all(senders)
    run_logger().info(
        "alerts sent: %d, failed: %d (dead-lettered: %d), postponed for quiet hours: %d, to digest: %d; notices: %d",
        report.sent,
        report.failed,
        report.dead,
        report.postponed,
        report.to_digest,
        report.notices,
    )
    return report
