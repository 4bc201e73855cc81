"""Digests: one message per topic and target listing the stories since the last digest, for
topics in `hourly` or `daily` mode and for immediate alerts held back by max_per_hour.

Same guarantees as immediate alerts: the stories are claimed, sent, then marked sent together
with the digest record in one transaction; a failed digest keeps them pending with a backoff."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from storage import repository
from storage.clock import aware, now_utc
from storage.db import storage_errors
from tasks.alerting.channels import Sender, close_all
from tasks.alerting.delivery import DEFAULT_CLAIM_LEASE, failure_reason, record_failed_send
from tasks.alerting.ops import alert_senders
from tasks.alerting.render import render_digest
from tasks.common.runlog import run_logger
from tasks.common.windows import last_slot, parse_clock, parse_zone
from tasks.config import TopicSpec, Watchlist

log = logging.getLogger(__name__)


@dataclass
class DigestReport:
    digests: int = 0  # messages sent
    stories: int = 0  # alerts they carried
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def digest_period(topic: TopicSpec | None, watchlist: Watchlist, now: datetime) -> tuple[datetime, str]:
    """The start and the name of the topic's current digest period: a digest sent since then
    means the next one is not due yet. Daily topics count from the configured local time; hourly
    topics and throttled immediate ones, from the top of the hour."""
    if topic is not None and topic.mode == "daily":
        slot = last_slot(now, parse_clock(watchlist.digest.time), parse_zone(watchlist.digest.timezone))
        return slot, "daily digest"
    return now.replace(minute=0, second=0, microsecond=0), "hourly digest"


def digest_is_due(db_url: str, topic_name: str, target: str, watchlist: Watchlist, now: datetime) -> tuple[bool, str]:
    """Is the topic's digest to this target due (none sent in the current period), and the
    period's name."""
    topic = next((t for t in watchlist.topics if t.name == topic_name), None)
    start, period = digest_period(topic, watchlist, now)
    last = aware(repository.last_digest_at(db_url, topic_name, target))
    return last is None or last < start, period


def send_digests(
    db_url: str,
    senders: Sequence[Sender],
    watchlist: Watchlist,
    max_attempts: int,
    topics: Sequence[str] | None = None,
    force: bool = False,
    lease: timedelta = DEFAULT_CLAIM_LEASE,
) -> DigestReport:
    """Send every due digest (all waiting ones with force) to each target."""
    report = DigestReport()
    now = now_utc()
    for sender in senders:
        key = sender.target.key
        for topic in repository.digest_topics(db_url, key):
            if topics is not None and topic not in topics:
                continue
            due, period = digest_is_due(db_url, topic, key, watchlist, now)
            if not (due or force):
                continue
            alerts = repository.claim_pending_alerts(db_url, [key], lease, digest=True, topics=[topic])
            if not alerts:
                continue  # another run took them
            try:
                sender.send(render_digest(topic, alerts, sender.format, period))
            except Exception as exc:  # keep the stories for the next digest run
                reason = failure_reason(exc)
                record_failed_send(db_url, alerts, reason, max_attempts)
                report.failed += 1
                report.errors.append(f"{sender.target.label}: {reason}")
                log.warning("digest of %s to %s failed: %s", topic, sender.target.label, reason)
                continue
            repository.mark_digest_sent(db_url, topic, key, [a.id for a in alerts])
            report.digests += 1
            report.stories += len(alerts)
    return report


@task(name="send-digests", cache_policy=NO_CACHE)
@storage_errors("send-digests")
def digest_task(
    db_url: str,
    senders: list[Sender],
    watchlist: Watchlist,
    max_attempts: int,
    topics: list[str] | None,
    force: bool,
    lease: timedelta,
) -> DigestReport:
    try:
        report = send_digests(db_url, alert_senders(senders), watchlist, max_attempts, topics, force, lease)
    finally:
        close_all(senders)
    run_logger().info("digests sent: %d (%d stories), failed: %d", report.digests, report.stories, report.failed)
    return report
