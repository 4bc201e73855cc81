"""A batch of sources logs a bounded number of lines, whatever its size (issue #18: every line
of a Prefect task run is a row of the server's database; one per source with news was about
3,000 rows a run at 7,000 sources)."""

from __future__ import annotations

import logging

import pytest

import tasks.ingest.batch as batch
from tasks.config import load_settings
from tasks.ingest import IngestOptions
from tasks.ingest.batch import RejectedEntry, SourceOutcome, ingest_batch
from tasks.ingest.batchlog import MAX_DETAIL_LINES, batch_lines


def outcomes() -> list[SourceOutcome]:
    """500 sources with news (source i brought i % 7 new articles), 40 failed (3 of them
    deferred), 30 with entries left out, 100 not modified."""
    news = [SourceOutcome(f"news-{i:03d}", entries=20, new=i % 7, known=20 - i % 7) for i in range(500)]
    failed = [SourceOutcome(f"down-{i:02d}", error=f"HTTP 50{i % 4}", deferred=i < 3) for i in range(40)]
    left_out = [
        SourceOutcome(f"odd-{i:02d}", entries=5, new=1, rejected=[RejectedEntry("javascript:x", "not an http(s) link")])
        for i in range(30)
    ]
    quiet = [SourceOutcome(f"quiet-{i:03d}", not_modified=True) for i in range(100)]
    return news + failed + left_out + quiet


def test_a_big_batch_says_everything_in_a_bounded_number_of_lines() -> None:
    lines = batch_lines("3-of-9", outcomes())
    assert len(lines) == 2 * MAX_DETAIL_LINES + 3
    summary = lines[0][1]
    new = sum(i % 7 for i in range(500)) + 30
    assert summary.startswith(f"batch 3-of-9: 670 sources: 530 read (10150 entries, {new} new, 0 revised, ")
    assert "100 not modified, 40 failed (3 deferred" in summary
    assert "most new: news-006 (6), news-013 (6), news-020 (6), news-027 (6), news-034 (6) ..." in summary
    failures = [text for level, text in lines if level == logging.WARNING]
    assert failures[:2] == ["down-00: deferred: HTTP 500", "down-01: deferred: HTTP 501"]
    assert failures[MAX_DETAIL_LINES - 1] == "down-04: failed: HTTP 500"
    assert failures[-1] == "... and 35 more failed sources: down-05, down-06, down-07, down-08, down-09 ..."
    assert lines[-1][1].startswith("... and 25 more sources with entries left out or a warning: odd-05, ")


def test_a_small_batch_names_each_failure_and_no_more_lines() -> None:
    few = [SourceOutcome("a", entries=3, new=2), SourceOutcome("b", error="timed out")]
    assert batch_lines("1-of-1", few) == [
        (
            logging.INFO,
            "batch 1-of-1: 2 sources: 1 read (3 entries, 2 new, 0 revised, 0 known, 0 duplicates; most new: a (2)), "
            "0 not modified, 1 failed",
        ),
        (logging.WARNING, "b: failed: timed out"),
    ]


def test_the_task_logs_those_lines_and_no_line_per_source(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The task wrapper (its sources' work replaced by the 670 outcomes above): 13 lines, not 600."""
    monkeypatch.setattr(batch, "ingest_sources", lambda *_: outcomes())
    # Settings first: where an earlier test left a Prefect API configured, reading its variables
    # logs httpx requests, which are not the batch's lines.
    options = IngestOptions.from_settings(load_settings())
    caplog.set_level(logging.INFO)
    ingest_batch.fn("sqlite://", [], {}, options, "3-of-9")
    assert len([r for r in caplog.records if r.name == "newswatch"]) == 2 * MAX_DETAIL_LINES + 3
    assert "news-499" not in caplog.text
