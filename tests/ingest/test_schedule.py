"""A source's schedule as pure logic (tasks.ingest.schedule): when it is due, backoff after
failures, pausing, Retry-After, and silence measured against the source's own rhythm."""

from __future__ import annotations

from datetime import timedelta

from tasks.ingest.schedule import FetchOutcome, backoff, is_silent, next_update, source_is_due, status
from tests.helpers import NOW, health_row, source_state


def test_backoff_doubles_and_caps_at_a_day() -> None:
    i = timedelta(minutes=15)
    assert [backoff(i, n) for n in (0, 1, 2, 3)] == [i, i, 2 * i, 4 * i]
    assert backoff(i, 8) == timedelta(hours=24) and backoff(i, 500) == timedelta(hours=24)


def test_due() -> None:
    assert source_is_due(source_state(), NOW)
    assert source_is_due(source_state(next_attempt_at=NOW - timedelta(seconds=1)), NOW)
    assert not source_is_due(source_state(next_attempt_at=NOW + timedelta(minutes=1)), NOW)
    naive = (NOW + timedelta(minutes=1)).replace(tzinfo=None)  # as SQLite returns it
    assert not source_is_due(source_state(next_attempt_at=naive), NOW)


def test_failures_back_off_then_pause_then_success_resets() -> None:
    interval = timedelta(minutes=15)
    s = source_state(etag='"v1"', body_hash="h")
    for n in range(1, 4):
        change = next_update(s, FetchOutcome("HTTP 500"), interval, NOW, pause_after=3)
        assert change.consecutive_failures == n and change.last_error == "HTTP 500"
        assert change.next_attempt_at == NOW + backoff(interval, n)
        assert change.etag == '"v1"' and change.body_hash == "h"  # a failure forgets no validator
        s = source_state(consecutive_failures=n, paused_at=change.paused_at, etag='"v1"', body_hash="h")
    assert change.paused_at == NOW
    ok = next_update(s, FetchOutcome(None, new_articles=2, etag='"v2"', body_hash="h2"), interval, NOW, 3)
    assert ok.consecutive_failures == 0 and ok.paused_at is None and ok.last_error is None
    assert ok.last_success_at == NOW and ok.last_new_at == NOW and ok.etag == '"v2"'
    assert ok.next_attempt_at == NOW + interval


def test_retry_after_defers_without_counting_a_failure() -> None:
    change = next_update(
        source_state(consecutive_failures=2), FetchOutcome("HTTP 429", retry_after=7200), timedelta(minutes=15), NOW, 10
    )
    assert change.consecutive_failures == 2 and change.next_attempt_at == NOW + timedelta(hours=2)


def test_silence_is_relative_to_the_source_rhythm() -> None:
    hourly = [NOW - timedelta(days=3, hours=h) for h in range(10)]  # one article an hour, until 3 days ago
    assert is_silent(health_row(recent_published=hourly, last_new_at=NOW - timedelta(days=3)), NOW)
    assert status(health_row(recent_published=hourly, last_new_at=NOW - timedelta(days=3)), NOW) == "silent"
    weekly = [NOW - timedelta(days=3 + 7 * w) for w in range(10)]  # weekly: 3 days of quiet is normal
    assert not is_silent(health_row(recent_published=weekly, last_new_at=NOW - timedelta(days=3)), NOW)
    assert not is_silent(health_row(recent_published=hourly[:3], last_new_at=NOW - timedelta(days=30)), NOW)
    assert status(health_row(consecutive_failures=2), NOW) == "failing"
    assert status(health_row(paused_at=NOW), NOW) == "paused"
    assert status(health_row(last_fetched_at=None), NOW) == "new"
