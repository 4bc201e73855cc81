"""The run report (tasks.report): new matches say why (with their indicators), the source-health
section lists only the sources that need a look, and the health table is stored again only when a
source changed, or daily. The report is laid out for the Prefect UI's artifact pane (issue #19
item 2) and every artifact has a key and a description (item 3)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from itertools import takewhile

import lxml.html
import pytest
from markdown_it import MarkdownIt

from storage.records import SourceHealthRow
from tests.helpers import NOW, health_row


def rendered(report: str) -> lxml.html.HtmlElement:
    """The report as a Markdown renderer shows it (CommonMark with tables, as Prefect's UI)."""
    return lxml.html.fromstring(f"<div>{MarkdownIt('commonmark').enable('table').render(report)}</div>")


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
    items = [li.text_content() for li in rendered(health).xpath("//li")]
    assert len(items) == 2 and items[0].startswith("broken: failing, 3 failures in a row;") and "HTTP 500" in items[0]
    assert items[1].startswith("stopped: paused")
    assert "fine-1" not in health and "fine-2" not in health
    assert "<li>" not in MarkdownIt().render(render_markdown(RunSummary(), [], rows[:2]))  # all fine: no list


def match(title: str, indicators: dict[str, list[str]], source: str = "Mekong Daily", story: int | None = None):  # type: ignore[no-untyped-def]
    from storage.records import MatchRow

    sentence = "Their passports confiscated, they were forced to work."
    return MatchRow("abuse", title, "https://m.example/" + title, source, NOW, sentence,
                    ["passports confiscated"], ["@means", "forced labour"], story, indicators)  # fmt: skip


FIRED = {"means": ["passports confiscated"], "purpose": ["forced to work", "a|b *c*"]}


def test_each_match_is_a_block_that_says_what_and_why() -> None:
    """Issue #19 item 2: the matches were a 7-column table, 3,779 px wide in an 868 px pane.
    Each story is now a block: its title a link, source, date, topic, the hit sentence with the
    matched words bold, the clauses that fired, the indicators and the other outlets."""
    from tasks.report import RunSummary, render_markdown

    matches = [
        match("one", FIRED, story=1),
        match("one", FIRED, source="Phnom Post", story=1),  # the same story, another outlet
        match("two", {}, story=2),
    ]
    page = rendered(render_markdown(RunSummary(matches=3), matches))
    headings = page.xpath("//h3")
    assert [h.text_content() for h in headings] == ["1. one", "2. two"]
    assert [h.xpath("string(.//a/@href)") for h in headings] == ["https://m.example/one", "https://m.example/two"]

    def block(heading: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
        """The elements from this heading to the next one."""
        return list(takewhile(lambda e: e.tag not in ("h3", "h2"), heading.itersiblings()))

    one = block(headings[0])
    text = " ".join(e.text_content() for e in one)
    assert "Mekong Daily · 2026-11-29 12:00 UTC · topic abuse" in text
    (quote,) = [e for e in one if e.tag == "blockquote"]
    assert quote.text_content().strip() == "Their passports confiscated, they were forced to work."
    assert [b.text_content() for b in quote.xpath(".//strong")] == ["passports confiscated"]
    items = [li.text_content() for li in one[-1].xpath("./li")]
    assert items == [
        "Clauses that fired: @means; forced labour",
        "Indicators: means: passports confiscated; purpose: forced to work, a|b *c*",
        "Also carried by: Phnom Post",
    ]
    assert [e.text_content() for e in one[-1].xpath(".//em")] == ["passports confiscated", "forced to work", "a|b *c*"]
    two = block(headings[1])
    assert [li.text_content() for li in two[-1].xpath("./li")] == ["Clauses that fired: @means; forced labour"]


def test_no_table_in_the_report_is_wider_than_two_columns() -> None:
    """The summary's ten columns were cut off in the pane: its counts are rows now."""
    from tasks.report import RunSummary, render_markdown

    summary = RunSummary(sources_ok=3, sources_failed=1, entries_seen=40, new_articles=12, matches=2, alerts_sent=2)
    summary.failures = ["Broken Feed: HTTP 500"]
    rows = [health_row(name="broken", consecutive_failures=3, last_error="HTTP 500 " + "x" * 180)]
    page = rendered(render_markdown(summary, [match("one", FIRED), match("two", {})], rows))
    tables = page.xpath("//table")
    assert len(tables) == 1
    assert max(len(tr.xpath("./th|./td")) for tr in tables[0].xpath(".//tr")) <= 2
    counts = {tr.xpath("string(./td[1])"): tr.xpath("string(./td[2])") for tr in tables[0].xpath(".//tbody/tr")}
    assert counts["Sources"].startswith("3 ok, 1 failed") and counts["Alerts"].startswith("2 sent, 0 failed")
    assert counts["Entries"].startswith("40 seen, 0 already stored, 12 new articles")


def test_every_artifact_is_created_with_a_key_and_a_description() -> None:
    """Issue #19 item 3: the link artifacts had no key (a card reading only "MARKDOWN", a page
    titled by a UUID). Every create_*_artifact call in the code names both."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    calls = []
    for path in [p for package in ("flows", "tasks", "storage", "deploy") for p in (root / package).rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if re.fullmatch(r"create_\w+_artifact", name):
                    calls.append((f"{path.relative_to(root)}:{node.lineno}", {k.arg for k in node.keywords}))
    assert len(calls) >= 3
    assert [where for where, keywords in calls if not {"key", "description"} <= keywords] == []


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


def test_the_report_names_a_bounded_number_of_each_and_says_where_the_rest_are() -> None:
    """Issue #18: Prefect keeps each run's report twice (the artifact and its event); at 7,000
    sources one listed 160 stories, 140 failed sources and as many to look at (97 KB a run)."""
    from tasks.report import REPORT_MAX_ITEMS, RunSummary, render_markdown

    assert REPORT_MAX_ITEMS == 20
    matches = [match(f"story-{i}", FIRED, story=i) for i in range(100)]
    summary = RunSummary(matches=100, sources_failed=60, failures=[f"down-{i}: HTTP 500" for i in range(60)])
    rows = [health_row(name=f"down-{i}", consecutive_failures=2, last_error="HTTP 500") for i in range(60)]
    report = render_markdown(summary, matches, [*rows, health_row(name="fine")])
    page = rendered(report)
    assert [h.text_content() for h in page.xpath("//h3")] == [f"{i + 1}. story-{i}" for i in range(20)]
    assert "... and 80 more stories: `newswatch alerts` lists the alerts, `newswatch export --kind matches" in report
    failed = report[report.index("## Failed sources") : report.index("## Source health")]
    assert failed.count("\n- down\\-") == 20 and "... and 40 more failed sources: `newswatch sources list`" in failed
    health = report[report.index("## Source health") :]
    assert "1 of 61 sources ok." in health and health.count("\n- **down\\-") == 20
    assert "... and 40 more sources that need a look: `newswatch sources list`" in health
    assert len(report.encode()) < 25_000
    # Within the bounds, no "more" line.
    assert "more stories" not in render_markdown(RunSummary(matches=20), matches[:20])


def test_a_big_health_table_is_stored_a_few_times_a_day_however_often_it_changes() -> None:
    """At 7,000 sources the table is about 1.1 MB and some source's failure count changes nearly
    every run: it was stored every run (2.6 MB of Prefect's database, with its event)."""
    from tasks.report import (
        HEALTH_COLUMNS,
        SOURCES_TABLE_BYTES_PER_DAY,
        health_table,
        health_table_due,
        sources_table_gap,
    )

    def table(failures: int, n: int) -> list[dict[str, str]]:
        rows = [health_row(name=f"site-{i:05d}", consecutive_failures=failures * (i % 50 == 0)) for i in range(n)]
        return [dict(zip(HEALTH_COLUMNS, r, strict=True)) for r in health_table(rows, NOW)]

    big, changed = table(1, 7000), table(2, 7000)
    size = len(json.dumps(big))
    assert 700_000 < size < 1_500_000
    gap = sources_table_gap(size)
    assert gap == timedelta(days=1) * size / SOURCES_TABLE_BYTES_PER_DAY and timedelta(hours=6) < gap < timedelta(
        hours=16
    )
    assert not health_table_due(changed, big, NOW - timedelta(hours=1), NOW)  # changed, but too soon
    assert health_table_due(changed, big, NOW - gap, NOW)
    assert not health_table_due(big, big, NOW - gap, NOW)  # unchanged: not stored, as before
    # A small table is stored whenever it changes: one each 15-minute run stays within the budget.
    small = table(1, 100)
    assert sources_table_gap(len(json.dumps(small))) == timedelta(0)
    assert health_table_due(table(2, 100), small, NOW - timedelta(minutes=1), NOW)


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_stores_a_bounded_matches_table_and_no_artifact_per_article() -> None:
    """Through Prefect's real API: 120 new matches make one report and one table of 50 rows whose
    description says where the rest are; no link artifact per article (issue #18)."""
    from uuid import UUID

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.runtime import flow_run

    from tasks.report import TABLE_MAX_MATCHES, RunSummary, publish

    @flow
    def report() -> UUID:
        publish(RunSummary(matches=120), [match(f"story-{i}", FIRED, story=i) for i in range(120)])
        return UUID(flow_run.id)

    run_id = report()
    with get_client(sync_client=True) as client:
        mine = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
    assert sorted(a.key or "" for a in mine) == ["newswatch-matches", "newswatch-run"]
    (table,) = [a for a in mine if a.key == "newswatch-matches"]
    rows: list[dict[str, str]] = json.loads(table.data) if isinstance(table.data, str) else table.data  # type: ignore[assignment]
    assert TABLE_MAX_MATCHES == 50 and len(rows) == 50 and rows[0]["title"] == "story-0"
    assert "the first 50 of 120: `newswatch alerts`" in str(table.description)
