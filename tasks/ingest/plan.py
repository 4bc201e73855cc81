"""Which sources a run fetches, and in which batches: the sources due now (or all chosen ones,
when the run is forced), cut into batches of `batch_size` (NEWSWATCH_BATCH_SIZE), one Prefect
task each, and into at most MAX_BATCHES batches, which grow past `batch_size` at more sources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from storage import repository
from storage.clock import now_utc
from storage.records import SourceState
from tasks.common import progress
from tasks.config import SourceSpec
from tasks.ingest.schedule import source_is_due

# A task run costs its Prefect server about 20 KB (the task run, its three states and their
# events) and 10 ms: at 7,000 sources, batches of 100 were 70 task runs, 1.4 MB of Prefect's
# database per run, 135 MB a day at a 15-minute schedule (bench/emm_day.py). A batch is a unit of
# retry and of reporting, not of concurrency (every batch's sources share one pool of fetch
# threads, and eight batches are all in flight at once), so above 8 x batch_size sources the
# batches grow instead: 875 sources each at 7,000.
MAX_BATCHES = 8


@dataclass(frozen=True)
class IngestBatch:
    sources: list[SourceSpec]
    states: dict[str, SourceState]  # by source name, for these sources only
    label: str  # "2-of-5": names the batch's task run


@dataclass(frozen=True)
class IngestPlan:
    batches: list[IngestBatch]
    due: list[SourceSpec]  # every batch's sources, in the order given
    not_due: int  # chosen sources whose interval or backoff has not passed: not fetched


def due_sources(
    sources: Sequence[SourceSpec], states: Mapping[str, SourceState], now: datetime, force: bool = False
) -> list[SourceSpec]:
    """The sources to fetch at `now`, in the order given: every one when forced, else those due
    (never fetched, or their next attempt has come). `states` holds a state for each source."""
    return [s for s in sources if force or source_is_due(states[s.name], now)]


def split_into_batches(sources: Sequence[SourceSpec], size: int) -> list[list[SourceSpec]]:
    """`sources` in order, cut into batches of `size` (the last one may be smaller)."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, not {size}")
    return [list(sources[i : i + size]) for i in range(0, len(sources), size)]


def batch_size_for(due: int, batch_size: int, max_batches: int = MAX_BATCHES) -> int:
    """Sources per batch: `batch_size`, or more when that would make over `max_batches` batches."""
    return max(batch_size, -(-due // max_batches))


def plan_ingest(
    db_url: str, sources: Sequence[SourceSpec], force: bool, batch_size: int, now: datetime | None = None
) -> IngestPlan:
    """Store the chosen sources (new ones get a row), read their states, and plan the run: the
    due sources in batches. The sources about to be fetched are announced to progress."""
    repository.upsert_sources(db_url, [(s.name, s.url, list(s.tags)) for s in sources])
    states = repository.source_states(db_url)
    due = due_sources(sources, states, now or now_utc(), force)
    progress.expect(progress.SOURCES, len(due))
    parts = split_into_batches(due, batch_size_for(len(due), batch_size))
    batches = [
        IngestBatch(part, {s.name: states[s.name] for s in part}, f"{i + 1}-of-{len(parts)}")
        for i, part in enumerate(parts)
    ]
    return IngestPlan(batches, due, len(sources) - len(due))
