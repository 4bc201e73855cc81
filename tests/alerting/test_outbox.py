"""The outbox sender (tasks.alerting.delivery) called directly on SQLite, with real Apprise json://
targets posting to local receivers: the backoff, the dead letter, a failing target skipped for the
rest of the run, quiet hours and max_per_hour. tests/alerting/test_delivery.py runs the same
through the monitor flow on Prefect's engine (seconds a test); these take a fraction of a second,
which is what lets bench/mutation.py run them for each of delivery.py's mutants (issue #19)."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apprise
import pytest
from sqlalchemy import select
from sqlmodel import col

from storage import repository
from storage.db import dispose_all, get_engine
from storage.models import Alert
from storage.records import MatchRecord
from tasks.alerting.channels import AppriseSender, ConsoleSender, Sender
from tasks.alerting.delivery import (
    MAX_RETRY_DELAY,
    DeliveryReport,
    deliver,
    failure_reason,
    record_failed_send,
    retry_delay,
)
from tasks.config import Watchlist
from tests.helpers import numbered_article
from tests.receivers import FlakyJsonReceiver, JsonReceiver

MAX_ATTEMPTS = 3


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'outbox.db'}"


@pytest.fixture
def ok() -> Iterator[JsonReceiver]:
    with JsonReceiver() as receiver:
        yield receiver


@pytest.fixture
def down() -> Iterator[FlakyJsonReceiver]:
    with FlakyJsonReceiver(failures=1000) as receiver:  # answers HTTP 500 to every post
        yield receiver


def sender(url: str, tags: str | None = None) -> AppriseSender:
    servers = apprise.Apprise()
    assert servers.add(url, tag=tags)
    return AppriseSender(servers[0])


def pending(db_url: str, senders: Sequence[Sender], articles: int, topic: str = "ht") -> list[int]:
    """`articles` matched articles of `topic`, each with a pending alert to every sender; their ids."""
    src = repository.upsert_sources(db_url, [("A", "https://a.example/rss", [])])["A"]
    ids = repository.insert_articles(db_url, [numbered_article(src, n) for n in range(1, articles + 1)]).new_ids
    matches = [MatchRecord(topic, a, ["traffick*"], ["traffickers"], "About traffickers.", "text") for a in ids]
    repository.save_matches(db_url, ids, matches, {topic: [s.target for s in senders]}, "pending")
    return ids


def rows(db_url: str) -> list[Alert]:
    with get_engine(db_url).connect() as conn:
        return list(conn.execute(select(Alert).order_by(col(Alert.id))).all())  # type: ignore[arg-type]


def aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def watchlist(**topic: object) -> Watchlist:
    return Watchlist.model_validate({"topics": [{"name": "ht", "terms": ["traffick*"], **topic}]})


def test_retry_delay_doubles_from_a_minute_up_to_six_hours() -> None:
    minutes = [retry_delay(n) / timedelta(minutes=1) for n in range(0, 12)]
    assert minutes == [1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]
    assert retry_delay(10**6) == MAX_RETRY_DELAY  # the exponent is capped before it overflows


def test_failure_reason_names_the_exception_and_its_message() -> None:
    assert failure_reason(RuntimeError("HTTP 500")) == "RuntimeError: HTTP 500"
    assert failure_reason(TimeoutError()) == "TimeoutError"


def test_a_failed_send_backs_off_and_is_dead_lettered_at_the_last_attempt(db: str) -> None:
    target = sender("json://127.0.0.1:9/hook")
    first, second = pending(db, [target], 2)
    alerts = repository.claim_pending_alerts(db, [target.target.key], timedelta(minutes=10))
    assert [a.article_id for a in alerts] == [first, second]
    alerts[0] = dataclasses.replace(alerts[0], attempts=MAX_ATTEMPTS - 1)  # its last attempt
    before = datetime.now(UTC)
    assert record_failed_send(db, alerts, "RuntimeError: down", MAX_ATTEMPTS) == 1
    after = datetime.now(UTC)
    last, one = rows(db)
    assert (one.status, one.attempts, one.last_error, one.claimed_until) == ("pending", 1, "RuntimeError: down", None)
    assert before + timedelta(minutes=1) <= aware(one.next_attempt_at) <= after + timedelta(minutes=1)
    assert (last.status, last.last_error, last.claimed_until) == ("dead", "RuntimeError: down", None)
    assert before + retry_delay(MAX_ATTEMPTS) <= aware(last.next_attempt_at) <= after + retry_delay(MAX_ATTEMPTS)
    assert record_failed_send(db, [], "nothing", MAX_ATTEMPTS) == 0


def test_deliver_sends_marks_and_skips_a_failed_target_for_the_rest_of_the_run(
    db: str, ok: JsonReceiver, down: FlakyJsonReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    good, bad = sender(ok.apprise_url()), sender(down.apprise_url())
    pending(db, [good, bad], 2)
    with caplog.at_level(logging.WARNING, logger="tasks.alerting.delivery"):
        report = deliver(db, [good, bad], watchlist(), MAX_ATTEMPTS)
    assert (report.sent, report.failed, report.dead, report.postponed, report.to_digest) == (2, 1, 0, 0, 0)
    assert len(ok.posts) == 2 and len(down.attempts) == 1  # the second alert to `bad` waits for a later run
    assert len(report.errors) == 1 and report.errors[0].startswith(bad.target.label + ": RuntimeError: ")
    sent = [r for r in rows(db) if r.target == good.target.key]
    assert [(r.status, r.attempts, r.last_error, r.claimed_until) for r in sent] == [("sent", 1, None, None)] * 2
    failed, untried = [r for r in rows(db) if r.target == bad.target.key]
    assert (failed.status, failed.attempts, failed.claimed_until) == ("pending", 1, None)
    assert failed.last_error == report.errors[0].split(": ", 1)[1]
    logged = [r.getMessage() for r in caplog.records if r.name == "tasks.alerting.delivery"]
    assert logged == [f"alert {failed.id} to {bad.target.label} failed (attempt 1): {failed.last_error}"]
    assert (untried.status, untried.attempts, untried.next_attempt_at) == ("pending", 0, None)
    again = deliver(db, [good, bad], watchlist(), MAX_ATTEMPTS)
    assert (again.sent, again.failed, len(down.attempts)) == (0, 1, 2)  # the untried one; the other is not due


def test_deliver_dead_letters_after_max_attempts(
    db: str, down: FlakyJsonReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """Two targets down: each one's alert fails once and, at max_attempts=1, is dead-lettered."""
    bad = sender(down.apprise_url())
    with FlakyJsonReceiver(failures=1000) as also_down:
        worse = sender(also_down.apprise_url())
        pending(db, [bad, worse], 1)
        with caplog.at_level(logging.WARNING, logger="tasks.alerting.delivery"):
            report = deliver(db, [bad, worse], watchlist(), max_attempts=1)
    logged = [r.getMessage() for r in caplog.records if r.name == "tasks.alerting.delivery"]
    first = rows(db)[0]
    assert logged[0].startswith(f"alert {first.id} to {bad.target.label} failed (attempt 1, dead-lettered): ")
    assert (report.sent, report.failed, report.dead, len(logged)) == (0, 2, 2, 2)
    assert [(r.status, r.attempts) for r in rows(db)] == [("dead", 1)] * 2
    assert deliver(db, [], watchlist(), MAX_ATTEMPTS) == DeliveryReport()  # no target: nothing claimed


def _quiet_now(hours: int) -> str:
    """Quiet hours from an hour ago to `hours` from now, in UTC (across midnight when need be)."""
    now = datetime.now(UTC)
    return f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=hours):%H:%M} UTC"


def test_quiet_hours_postpone_to_the_latest_end_but_not_an_urgent_topic(db: str, ok: JsonReceiver) -> None:
    night = sender(ok.apprise_url(), tags="night, weekend")
    pending(db, [night], 2)
    quiet = [{"tag": "night", "quiet": _quiet_now(2)}, {"tag": "weekend", "quiet": _quiet_now(3)}]
    wl = Watchlist.model_validate({"targets": quiet, "topics": [{"name": "ht", "terms": ["x"]}]})
    report = deliver(db, [night], wl, MAX_ATTEMPTS)
    assert (report.sent, report.postponed) == (0, 2) and not ok.posts
    row = rows(db)[0]
    until = aware(row.next_attempt_at)
    expected = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)  # the later window's end
    assert abs(until - expected) <= timedelta(minutes=1)
    assert (row.status, row.attempts, row.claimed_until, row.digest) == ("pending", 0, None, False)
    with get_engine(db).begin() as conn:
        conn.execute(Alert.__table__.update().values(next_attempt_at=None))  # type: ignore[attr-defined]
    urgent = Watchlist.model_validate({"targets": quiet, "topics": [{"name": "ht", "terms": ["x"], "urgent": True}]})
    assert deliver(db, [night], urgent, MAX_ATTEMPTS).sent == 2 and len(ok.posts) == 2


def test_max_per_hour_rolls_the_excess_into_the_digest(db: str, ok: JsonReceiver) -> None:
    """The hour is the last 60 minutes: an alert sent 90 minutes ago no longer counts."""
    target = sender(ok.apprise_url())
    first, *_ = pending(db, [target], 5)
    report = deliver(db, [target], watchlist(max_per_hour=2), MAX_ATTEMPTS)
    assert (report.sent, report.to_digest) == (2, 3) and len(ok.posts) == 2
    assert [(r.status, r.digest, r.claimed_until) for r in rows(db)] == [("sent", False, None)] * 2 + [
        ("pending", True, None)
    ] * 3
    with get_engine(db).begin() as conn:  # the first was sent 90 minutes ago, the second 30
        table = Alert.__table__  # type: ignore[attr-defined]
        for minutes, alert_id in ((90, rows(db)[0].id), (30, rows(db)[1].id)):
            conn.execute(
                table.update()
                .where(table.c.id == alert_id)
                .values(sent_at=datetime.now(UTC) - timedelta(minutes=minutes))
            )
        conn.execute(table.update().where(table.c.status == "pending").values(digest=False))
    report = deliver(db, [target], watchlist(max_per_hour=2), MAX_ATTEMPTS)
    assert (report.sent, report.to_digest) == (1, 2)  # one more fits in the last hour
    assert first == rows(db)[0].article_id


def test_an_alert_of_a_topic_removed_since_is_still_sent_in_its_targets_format(db: str, ok: JsonReceiver) -> None:
    """The watchlist no longer has its topic: no max_per_hour, no urgency, but it still goes out,
    rendered in the format its target asked for (HTML here)."""
    target = sender(ok.apprise_url() + "?format=html")
    assert target.format == "html"
    pending(db, [target], 2, topic="removed")
    assert deliver(db, [target], watchlist(max_per_hour=1), MAX_ATTEMPTS).sent == 2 and len(ok.posts) == 2
    assert "<blockquote>" in ok.posts[0]["message"]


def _deliver_crashing_at(db_url: str, printed: str, point: str) -> None:
    os.environ["NEWSWATCH_CRASH_AT"] = point
    with open(printed, "w", encoding="utf-8") as out:  # noqa: PTH123
        sys.stdout = out  # the console target prints the alert (flushed at once)
        deliver(db_url, [ConsoleSender()], watchlist(), MAX_ATTEMPTS)


@pytest.mark.parametrize(
    ("point", "printed", "status"),
    [("before-send", False, "pending"), ("after-send", True, "pending"), ("after-mark", True, "sent")],
)
def test_a_crash_at_each_point_leaves_the_alert_as_the_outbox_promises(
    point: str, printed: bool, status: str, db: str, tmp_path: Path
) -> None:
    """NEWSWATCH_CRASH_AT kills the sending process at a named point (tests/flows/test_crash_safety.py
    crashes whole monitor runs; here one send, in a forked child, to the console target: Apprise's
    senders hang in a forked child): before the send nothing went out and the alert waits for its
    lease to end; after it, the alert went out and still waits (the one window where a crash repeats
    a message); after the mark it is sent."""
    pending(db, [ConsoleSender()], 1)
    dispose_all()  # the child opens its own connections
    out = tmp_path / "stdout.txt"
    child = multiprocessing.get_context("fork").Process(target=_deliver_crashing_at, args=(db, str(out), point))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert ("=== ALERT: " in out.read_text(encoding="utf-8")) == printed
    (row,) = rows(db)
    assert row.status == status and (row.claimed_until is None) == (status == "sent")
