"""The one clock. Every stored timestamp is time-zone aware and in UTC; it lives here, in the
lowest layer, because storage stamps rows with it and every stage compares against them."""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
