"""Source health: when a source is due, how failures back off, when a source is paused and
when it has gone silent. Pure functions over the stored state; storage writes the result."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.clock import aware
from storage.records import SourceHealthRow, SourceState, SourceUpdate

MAX_BACKOFF = timedelta(hours=24)
MIN_ARTICLES_FOR_RHYTHM = 5
SILENCE_FACTOR = 5
MIN_SILENCE = timedelta(hours=24)


def source_is_due(state: SourceState | None, now: datetime) -> bool:
    """Whether a source may be fetched at `now`: never fetched, or its next attempt has come."""
    next_attempt = aware(state.next_attempt_at) if state else None
    return next_attempt is None or next_attempt <= now


@dataclass(frozen=True)
class FetchOutcome:
    """What one fetch of a source came to, as the health stage needs it."""

    error: str | None
    new_articles: int = 0
    retry_after: float | None = None  # the server asked us to wait (429/503): not the source's fault
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


def backoff(interval: timedelta, failures: int) -> timedelta:
    """interval, 2x, 4x, ... after 1, 2, 3 consecutive failures; never more than 24 h."""
    if failures <= 0:
        return interval
    return min(interval * (2 ** min(failures - 1, 20)), MAX_BACKOFF)


def next_update(
    state: SourceState, outcome: FetchOutcome, interval: timedelta, now: datetime, pause_after: int
) -> SourceUpdate:
    if outcome.retry_after is not None:
        wait = min(max(timedelta(seconds=outcome.retry_after), interval), MAX_BACKOFF)
        return SourceUpdate(
            last_fetched_at=now,
            next_attempt_at=now + wait,
            consecutive_failures=state.consecutive_failures,
            last_error=outcome.error,
            paused_at=state.paused_at,
            etag=state.etag,
            last_modified=state.last_modified,
            body_hash=state.body_hash,
        )
    if outcome.error is not None:
        failures = state.consecutive_failures + 1
        paused = state.paused_at or (now if failures >= pause_after else None)
        return SourceUpdate(
            last_fetched_at=now,
            next_attempt_at=now + backoff(interval, failures),
            consecutive_failures=failures,
            last_error=outcome.error,
            paused_at=paused,
            etag=state.etag,
            last_modified=state.last_modified,
            body_hash=state.body_hash,
        )
    return SourceUpdate(
        last_fetched_at=now,
        next_attempt_at=now + interval,
        consecutive_failures=0,
        last_error=None,
        last_success_at=now,
        paused_at=None,
        etag=outcome.etag,
        last_modified=outcome.last_modified,
        body_hash=outcome.body_hash,
        last_new_at=now if outcome.new_articles else None,
    )


def is_silent(row: SourceHealthRow, now: datetime) -> bool:
    """Nothing new for far longer than the source's own rhythm (median gap between its articles)."""
    times = [t for t in (aware(x) for x in row.recent_published) if t is not None]
    last_new = aware(row.last_new_at)
    if len(times) < MIN_ARTICLES_FOR_RHYTHM or last_new is None:
        return False
    gaps = [(a - b).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    rhythm = timedelta(seconds=statistics.median(gaps))
    return now - last_new > max(rhythm * SILENCE_FACTOR, MIN_SILENCE)


def status(row: SourceHealthRow, now: datetime) -> str:
    if row.paused_at is not None:
        return "paused"
    if row.last_fetched_at is None:
        return "new"
    if row.consecutive_failures:
        return "failing"
    if is_silent(row, now):
        return "silent"
    return "ok"
