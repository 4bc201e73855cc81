"""The run report (tasks.report): new matches say why (with their indicators), the source-health
section lists only the sources that need a look, and the health table is stored again only when a
source changed, or daily."""

from __future__ import annotations

from datetime import datetime, timedelta

import lxml.html
import pytest
from markdown_it import MarkdownIt

from storage.records import SourceHealthRow
from tests.helpers import NOW, health_row


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


def test_new_matches_say_why_with_their_indicators() -> None:
    from storage.records import MatchRow
    from tasks.report import RunSummary, render_markdown

    def row(title: str, indicators: dict[str, list[str]]) -> MatchRow:
        sentence = "Their passports confiscated, they were forced to work."
        return MatchRow("abuse", title, "https://m.example/" + title, "Mekong Daily", NOW, sentence,
                        ["passports confiscated"], ["@means"], None, indicators)  # fmt: skip

    fired = {"means": ["passports confiscated"], "purpose": ["forced to work", "a|b *c*"]}
    report = render_markdown(RunSummary(matches=2), [row("one", fired), row("two", {})])
    # Read as a Markdown renderer reads it: the text of the "why" cells, and their emphasis.
    page = lxml.html.fromstring(MarkdownIt("commonmark").enable("table").render(report))
    (table,) = [t for t in page.xpath("//table") if "why" in t.xpath("string(.//thead)")]
    one, two = [tr.xpath("./td") for tr in table.xpath(".//tbody/tr")]
    assert len(one) == len(two) == 7  # the pipe in a quote breaks no cell
    assert one[4].text_content() == (
        "Their passports confiscated, they were forced to work. "
        "Indicators: means: passports confiscated; purpose: forced to work, a|b *c*"
    )
    assert [e.text_content() for e in one[4].xpath(".//em")] == ["passports confiscated", "forced to work", "a|b *c*"]
    assert two[4].text_content() == "Their passports confiscated, they were forced to work."


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
