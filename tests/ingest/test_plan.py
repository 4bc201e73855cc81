"""Planning a run's ingest: which sources are due, and the batches they are cut into."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import repository
from storage.records import SourceUpdate
from tasks.common import progress
from tasks.config import SourceSpec
from tasks.ingest import due_sources, plan_ingest, split_into_batches
from tests.helpers import source_state

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def spec(name: str) -> SourceSpec:
    return SourceSpec(name=name, url=f"https://{name.lower()}.example/feed.xml")


def test_due_sources_keeps_the_order_and_skips_those_not_due() -> None:
    sources = [spec("A"), spec("B"), spec("C"), spec("D")]
    states = {
        "A": source_state(name="A"),  # never fetched
        "B": source_state(name="B", next_attempt_at=NOW + timedelta(minutes=5)),  # interval or backoff not over
        "C": source_state(name="C", next_attempt_at=NOW),  # due this very moment
        "D": source_state(name="D", next_attempt_at=(NOW - timedelta(hours=1)).replace(tzinfo=None)),  # naive (SQLite)
    }
    assert [s.name for s in due_sources(sources, states, NOW)] == ["A", "C", "D"]
    assert [s.name for s in due_sources(sources, states, NOW, force=True)] == ["A", "B", "C", "D"]
    assert due_sources([], {}, NOW) == []


def test_split_into_batches_keeps_the_order_and_the_last_batch_takes_the_rest() -> None:
    sources = [spec(f"S{i}") for i in range(7)]
    batches = split_into_batches(sources, 3)
    assert [[s.name for s in b] for b in batches] == [["S0", "S1", "S2"], ["S3", "S4", "S5"], ["S6"]]
    assert split_into_batches(sources, 7) == [sources]
    assert split_into_batches(sources, 100) == [sources]
    assert split_into_batches([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        split_into_batches(sources, 0)


def test_plan_ingest_stores_new_sources_and_plans_the_due_ones_in_labelled_batches(db_url: str) -> None:
    sources = [spec(f"S{i}") for i in range(5)]
    expected: list[int] = []

    def listener(stage: str, event: str, n: int) -> None:
        if stage == progress.SOURCES and event == "expect":
            expected.append(n)

    with progress.listening(listener):
        first = plan_ingest(db_url, sources, force=False, batch_size=2, now=NOW)
    assert [b.label for b in first.batches] == ["1-of-3", "2-of-3", "3-of-3"]
    assert [[s.name for s in b.sources] for b in first.batches] == [["S0", "S1"], ["S2", "S3"], ["S4"]]
    assert all(set(b.states) == {s.name for s in b.sources} for b in first.batches)
    assert first.due == sources and first.not_due == 0 and expected == [5]

    ids = repository.upsert_sources(db_url, [(s.name, s.url, []) for s in sources])
    later = SourceUpdate(NOW, NOW + timedelta(hours=1), consecutive_failures=0, last_error=None)
    repository.record_source_results(db_url, [(ids["S1"], later), (ids["S3"], later)])
    second = plan_ingest(db_url, sources, force=False, batch_size=2, now=NOW)
    assert [s.name for s in second.due] == ["S0", "S2", "S4"] and second.not_due == 2
    assert [b.label for b in second.batches] == ["1-of-2", "2-of-2"]
    forced = plan_ingest(db_url, sources, force=True, batch_size=10, now=NOW)
    assert forced.due == sources and forced.not_due == 0 and len(forced.batches) == 1


def test_plan_ingest_with_nothing_due_has_no_batches(db_url: str) -> None:
    plan = plan_ingest(db_url, [], force=False, batch_size=10, now=NOW)
    assert plan.batches == [] and plan.due == [] and plan.not_due == 0


def test_batches_grow_past_the_batch_size_rather_than_number_more_than_max_batches(db_url: str) -> None:
    """Issue #18: a task run is about 20 KB of Prefect's database; at 7,000 sources batches of 100
    were 70 task runs a run. Up to MAX_BATCHES x batch_size sources nothing changes."""
    from tasks.ingest.plan import MAX_BATCHES, batch_size_for

    assert MAX_BATCHES == 8
    assert batch_size_for(7000, 100) == 875 and batch_size_for(7001, 100) == 876  # 8 batches, the last of 869
    assert batch_size_for(800, 100) == 100 and batch_size_for(801, 100) == 101
    assert batch_size_for(50, 100) == 100 and batch_size_for(0, 100) == 100
    assert batch_size_for(5, 2, max_batches=3) == 2 and batch_size_for(7, 2, max_batches=3) == 3
    many = plan_ingest(db_url, [spec(f"S{i:02d}") for i in range(20)], force=True, batch_size=2, now=NOW)
    assert [len(b.sources) for b in many.batches] == [3, 3, 3, 3, 3, 3, 2]
    assert many.batches[-1].label == "7-of-7"
