"""Source health and politeness as pure logic: intervals, backoff, pause, silence, host gate,
robots.txt, feed discovery."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from storage.records import SourceHealthRow, SourceState
from tasks.common.interval import parse_interval
from tasks.fetching.discovery import feed_links, looks_like_html
from tasks.fetching.politeness import HostGate, RobotsCache
from tasks.ingest.schedule import FetchOutcome, backoff, is_silent, next_update, source_is_due, status

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def state(**kw: object) -> SourceState:
    values: dict[str, object] = dict(
        id=1,
        name="S",
        etag=None,
        last_modified=None,
        body_hash=None,
        next_attempt_at=None,
        consecutive_failures=0,
        paused_at=None,
        pause_notified_at=None,
        last_error=None,
    )
    values.update(kw)
    return SourceState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("90s", 90), ("1d", 86400), (" 2H ", 7200)]
)
def test_parse_interval(text: str, seconds: int) -> None:
    assert parse_interval(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "m", "1x", "30m garbage", "10s", "-5m"])
def test_parse_interval_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(text)


def test_backoff_doubles_and_caps_at_a_day() -> None:
    i = timedelta(minutes=15)
    assert [backoff(i, n) for n in (0, 1, 2, 3)] == [i, i, 2 * i, 4 * i]
    assert backoff(i, 8) == timedelta(hours=24) and backoff(i, 500) == timedelta(hours=24)


def test_due() -> None:
    assert source_is_due(state(), NOW)
    assert source_is_due(state(next_attempt_at=NOW - timedelta(seconds=1)), NOW)
    assert not source_is_due(state(next_attempt_at=NOW + timedelta(minutes=1)), NOW)
    assert not source_is_due(state(next_attempt_at=(NOW + timedelta(minutes=1)).replace(tzinfo=None)), NOW)  # SQLite


def test_failures_back_off_then_pause_then_success_resets() -> None:
    interval = timedelta(minutes=15)
    s = state(etag='"v1"', body_hash="h")
    for n in range(1, 4):
        change = next_update(s, FetchOutcome("HTTP 500"), interval, NOW, pause_after=3)
        assert change.consecutive_failures == n and change.last_error == "HTTP 500"
        assert change.next_attempt_at == NOW + backoff(interval, n)
        assert change.etag == '"v1"' and change.body_hash == "h"  # a failure forgets no validator
        s = state(consecutive_failures=n, paused_at=change.paused_at, etag='"v1"', body_hash="h")
    assert change.paused_at == NOW
    ok = next_update(s, FetchOutcome(None, new_articles=2, etag='"v2"', body_hash="h2"), interval, NOW, 3)
    assert ok.consecutive_failures == 0 and ok.paused_at is None and ok.last_error is None
    assert ok.last_success_at == NOW and ok.last_new_at == NOW and ok.etag == '"v2"'
    assert ok.next_attempt_at == NOW + interval


def test_retry_after_defers_without_counting_a_failure() -> None:
    change = next_update(
        state(consecutive_failures=2), FetchOutcome("HTTP 429", retry_after=7200), timedelta(minutes=15), NOW, 10
    )
    assert change.consecutive_failures == 2 and change.next_attempt_at == NOW + timedelta(hours=2)


def health_row(**kw: object) -> SourceHealthRow:
    values: dict[str, object] = dict(
        name="S",
        url="https://s.example/rss",
        last_fetched_at=NOW,
        last_success_at=NOW,
        last_error=None,
        consecutive_failures=0,
        next_attempt_at=NOW,
        paused_at=None,
        last_new_at=NOW,
        recent_published=[],
    )
    values.update(kw)
    return SourceHealthRow(**values)  # type: ignore[arg-type]


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


def test_host_gate_limits_concurrency_and_spaces_requests() -> None:
    gate = HostGate(concurrency=2, min_gap=0.05)
    active, peak, starts = [0], [0], []
    lock = threading.Lock()

    def request(url: str) -> None:
        with gate.slot(url):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
                starts.append((url, time.monotonic()))
            time.sleep(0.1)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=request, args=("http://a.example/x",)) for _ in range(6)]
    threads.append(threading.Thread(target=request, args=("http://b.example/y",)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a_starts = sorted(t for u, t in starts if "a.example" in u)
    assert peak[0] <= 3  # 2 on a.example + 1 on b.example
    assert all(b - a >= 0.045 for a, b in zip(a_starts, a_starts[1:], strict=False))
    gate.block("http://a.example/z", 30)
    assert 29 < gate.blocked_for("http://a.example/other") <= 30 and gate.blocked_for("http://b.example/") == 0


def test_robots_cache() -> None:
    calls: list[str] = []

    def load(url: str) -> tuple[int, bytes]:
        calls.append(url)
        if "blocked.example" in url:
            return 200, b"User-agent: newswatch\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n"
        if "missing.example" in url:
            return 404, b""
        raise OSError("unreachable")

    robots = RobotsCache("newswatch/0.1 (+https://github.com/newswatch/newswatch)")
    assert robots.allowed("https://blocked.example/news/1", load)
    assert not robots.allowed("https://blocked.example/private/2", load)
    assert robots.allowed("https://missing.example/a", load)
    assert not robots.allowed("https://down.example/a", load)
    assert robots.unreadable("https://down.example/a") and not robots.unreadable("https://blocked.example/private/2")
    robots.allowed("https://blocked.example/news/3", load)
    assert calls.count("https://blocked.example/robots.txt") == 1  # cached per host


def test_feed_discovery() -> None:
    html = b"""<html><head>
    <link rel="stylesheet" href="/s.css">
    <link rel="alternate" type="application/atom+xml" href="/atom.xml" title="Atom">
    <link rel="alternate" type="application/rss+xml" href="https://site.example/rss" title="RSS">
    <link rel="alternate" hreflang="km" href="/km/">
    </head><body>x</body></html>"""
    assert feed_links(html, "https://site.example/news/") == [
        "https://site.example/rss",
        "https://site.example/atom.xml",
    ]
    assert feed_links(b"<html><body>no feed</body></html>", "https://x.example/") == []
    assert looks_like_html(b"<!DOCTYPE html><html>", "text/plain")
    assert looks_like_html(b"", "text/html; charset=utf-8")
    assert not looks_like_html(b'<?xml version="1.0"?><rss>', "application/xml")


def test_language_from_metadata_script_or_detector() -> None:
    from tasks.common.language import detect

    khmer = "មន្ត្រីបីនាក់ត្រូវបានចោទប្រកាន់ពីបទឃុបឃិតជាមួយជនជួញដូរមនុស្ស នៅខេត្តព្រះសីហនុ"
    assert detect(khmer, declared="en") == "km"  # the script overrides a wrong declaration
    assert detect("ເຈົ້າໜ້າທີ່ສາມຄົນຖືກກ່າວຫາວ່າຮ່ວມມືກັບພວກຄ້າມະນຸດ ຢູ່ແຂວງ") == "lo"
    assert detect("Three officials were accused of colluding with human traffickers in Cambodia.") == "en"
    assert detect("Ba quan chức bị cáo buộc thông đồng với những kẻ buôn người ở Campuchia hôm nay.") == "vi"
    assert detect("Short text", declared="fr") == "fr" and detect("Short") is None


def test_run_report_lists_only_the_sources_that_need_a_look() -> None:
    from tasks.report import RunSummary, render_markdown

    rows = [
        health_row(name="fine-1"),
        health_row(name="fine-2"),
        health_row(name="broken", consecutive_failures=3, last_error="HTTP 500 (https://b.example/rss)"),
        health_row(name="stopped", paused_at=NOW),
    ]
    report = render_markdown(RunSummary(), [], rows)
    health = report[report.index("## Source health") :]
    assert "2 of 4 sources ok." in health
    assert "| broken | failing |" in health and "HTTP 500" in health and "| stopped | paused |" in health
    assert "fine-1" not in health and "fine-2" not in health
    assert "| source |" not in render_markdown(RunSummary(), [], rows[:2])  # all fine: no table


def test_the_health_table_is_stored_again_only_when_a_source_changes_or_daily() -> None:
    import json

    from tasks.report import HEALTH_COLUMNS, SOURCES_TABLE_MAX_AGE, health_table, health_table_due

    def table(rows: list[SourceHealthRow], at: datetime) -> list[dict[str, str]]:
        return [dict(zip(HEALTH_COLUMNS, r, strict=True)) for r in health_table(rows, at)]

    earlier = NOW - timedelta(minutes=15)
    fine = [health_row(name="a", last_success_at=earlier), health_row(name="b", last_success_at=earlier)]
    stored = json.dumps(table(fine, earlier))
    # The next run: new times, same states.
    moved = [health_row(name="a", last_success_at=NOW), health_row(name="b", last_success_at=NOW)]
    assert table(moved, NOW) != json.loads(stored)
    assert not health_table_due(table(moved, NOW), stored, earlier, NOW)
    assert not health_table_due(table(moved, NOW), json.loads(stored), earlier, NOW)  # data as a list
    # A source fails, or its error changes, or one is added: stored.
    failing = [moved[0], health_row(name="b", consecutive_failures=1, last_error="HTTP 500")]
    assert health_table_due(table(failing, NOW), stored, earlier, NOW)
    other_error = [moved[0], health_row(name="b", consecutive_failures=1, last_error="timed out")]
    assert health_table_due(table(other_error, NOW), json.dumps(table(failing, NOW)), earlier, NOW)
    assert health_table_due(table([*moved, health_row(name="c")], NOW), stored, earlier, NOW)
    # Nothing changed for a day, no table stored yet, or one we cannot read: stored.
    assert health_table_due(table(moved, NOW), stored, NOW - SOURCES_TABLE_MAX_AGE, NOW)
    assert health_table_due(table(moved, NOW), None, None, NOW)
    assert health_table_due(table(moved, NOW), "not json", earlier, NOW)
    assert health_table_due(table(moved, NOW), '[{"other": "columns"}]', earlier, NOW)


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_stores_the_health_table_when_it_changed() -> None:
    """Through Prefect's real API: the first run stores the table, an unchanged one does not,
    a failing source makes the next run store it again."""
    import uuid

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from tasks.report import SOURCES_KEY, RunSummary, publish

    name = f"health-{uuid.uuid4().hex[:8]}"  # the session's server holds other tests' tables

    @flow
    def report(rows: list[SourceHealthRow]) -> None:
        publish(RunSummary(), [], rows)

    def stored_versions() -> int:
        with get_client(sync_client=True) as client:
            tables = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SOURCES_KEY])))
        return sum(1 for t in tables if name in str(t.data))

    fine = [health_row(name=name, last_fetched_at=NOW, last_success_at=NOW)]
    report(fine)
    assert stored_versions() == 1
    report([health_row(name=name, last_fetched_at=NOW, last_success_at=NOW + timedelta(minutes=15))])
    assert stored_versions() == 1
    report([health_row(name=name, last_fetched_at=NOW, consecutive_failures=1, last_error="HTTP 503")])
    assert stored_versions() == 2
