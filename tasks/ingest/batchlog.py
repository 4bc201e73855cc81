"""The log lines of one batch of sources (the `ingest-sources` task): a bounded number, whatever
the batch's size. Every line of a Prefect task run is a row of the server's database: with a
line per source with news, an EMM-sized run (7,000 sources, about 3,000 with news) wrote about
3,000 lines, a good part of the 6.7-8.2 MB each run added to Prefect's database
(bench/emm_day.py). Now a batch writes one summary line (counts, the sources with the most new
articles), then at most MAX_DETAIL_LINES lines of failed sources and as many of sources with a
warning or entries left out, each followed by one "and N more" line naming a few more. Every
source's outcome stays in newswatch's database: `newswatch sources list` shows it live."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

MAX_DETAIL_LINES = 5  # failed sources, and sources with a note, one line each per batch
NAMES_SHOWN = 5  # names in a summary or "and N more" line


class Rejected(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def reason(self) -> str: ...


class Outcome(Protocol):
    """What the lines need of a source's outcome (tasks/ingest/batch.py's SourceOutcome)."""

    name: str
    error: str | None
    warning: str | None
    not_modified: bool
    deferred: bool
    entries: int
    known: int
    new: int
    duplicates: int
    revised: int

    @property
    def rejected(self) -> Sequence[Rejected]: ...


def _names(names: Sequence[str], limit: int = NAMES_SHOWN) -> str:
    return ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def summary_line(label: str, outcomes: Sequence[Outcome]) -> str:
    """One line for the batch: how many sources read, unchanged and failed, what they brought,
    and the sources with the most new articles."""
    read = [o for o in outcomes if o.error is None and not o.not_modified]
    failed = sum(1 for o in outcomes if o.error is not None)
    deferred = sum(1 for o in outcomes if o.error is not None and o.deferred)
    busiest = sorted((o for o in read if o.new), key=lambda o: -o.new)
    most = f"; most new: {_names([f'{o.name} ({o.new})' for o in busiest])}" if busiest else ""
    sources = f"{len(outcomes)} source{'s' if len(outcomes) != 1 else ''}"
    return (
        f"batch {label}: {sources}: {len(read)} read ({sum(o.entries for o in read)} entries, "
        f"{sum(o.new for o in read)} new, {sum(o.revised for o in read)} revised, {sum(o.known for o in read)} known, "
        f"{sum(o.duplicates for o in read)} duplicates{most}), "
        f"{len(outcomes) - len(read) - failed} not modified, {failed} failed"
        + (f" ({deferred} deferred: the server asked to come back later)" if deferred else "")
    )


def note_line(o: Outcome) -> str:
    """A source that was read but has something to say: entries left out, or a warning."""
    first = o.rejected[0] if o.rejected else None
    return (
        f"{o.name}: {o.entries} entries, {o.new} new, {o.known} known, {o.duplicates} duplicates"
        + (f", {len(o.rejected)} left out (first: {first.url[:200]}: {first.reason})" if first else "")
        + (f" (warning: {o.warning})" if o.warning else "")
    )


def _bounded(lines: list[str], names: list[str], what: str) -> list[str]:
    """The lines of the first MAX_DETAIL_LINES sources (given), then one line for the rest."""
    rest = names[MAX_DETAIL_LINES:]
    return lines + ([f"... and {len(rest)} more {what}: {_names(rest)}"] if rest else [])


def batch_lines(label: str, outcomes: Sequence[Outcome]) -> list[tuple[int, str]]:
    """The batch's log lines as (level, message): at most 2 * MAX_DETAIL_LINES + 3."""
    failed = [o for o in outcomes if o.error is not None]
    noted = [o for o in outcomes if o.error is None and not o.not_modified and (o.rejected or o.warning)]
    failures = _bounded(
        [f"{o.name}: {'deferred' if o.deferred else 'failed'}: {o.error}" for o in failed[:MAX_DETAIL_LINES]],
        [o.name for o in failed],
        "failed sources",
    )
    notes = _bounded(
        [note_line(o) for o in noted[:MAX_DETAIL_LINES]],
        [o.name for o in noted],
        "sources with entries left out or a warning",
    )
    return (
        [(logging.INFO, summary_line(label, outcomes))]
        + [(logging.WARNING, line) for line in failures]
        + [(logging.INFO, line) for line in notes]
    )
