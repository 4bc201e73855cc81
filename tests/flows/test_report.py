"""The run report (tasks.report): new matches say why (with their indicators), the source-health
section lists only the sources that need a look, and the health table is stored again only when a
source changed, or daily. The report is laid out for the Prefect UI's artifact pane (issue #19
item 2) and every artifact has a key and a description (item 3)."""

from __future__ import annotations

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
    assert len(calls) >= 4
    assert [where for where, keywords in calls if not {"key", "description"} <= keywords] == []


def test_artifact_keys_are_names_prefect_takes() -> None:
    from tasks.report import artifact_key, link_key

    assert artifact_key("newswatch-match", "Human Trafficking", "Mekong Daily") == (
        "newswatch-match-human-trafficking-mekong-daily"
    )
    assert artifact_key("x", "ការជួញដូរមនុស្ស", "--") == "x-x-x"
    key = link_key(match("one", FIRED, source="Phnom Penh Post (EN)"))
    assert re.fullmatch(r"newswatch-match-abuse-phnom-penh-post-en-[0-9a-f]{8}", key), key
    assert link_key(match("one", FIRED)) != link_key(match("two", FIRED))


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
