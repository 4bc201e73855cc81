"""Sources: the list from the config, each source's fetch state, and its health."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, true, update
from sqlalchemy.engine import Connection

from storage.clock import now_utc
from storage.db import dialect_insert, get_engine, write
from storage.models import ARTICLES, SOURCES
from storage.records import SourceHealthRow, SourceState, SourceUpdate
from storage.repository.helpers import from_row

# Fields of SourceUpdate whose None is written (cleared), not skipped.
_NULLABLE_UPDATES = frozenset({"last_error", "paused_at", "etag", "last_modified", "body_hash"})


def upsert_sources(db_url: str, sources: Iterable[tuple[str, str, list[str]]]) -> dict[str, int]:
    """Make sure each (name, url, tags) has a row; returns name -> id. The name is the key.

    Only new or changed sources are written: on a steady list this takes no row lock at all, so it
    never waits on (or deadlocks with) another run that is recording its fetch results."""
    wanted = {name: (url, list(tags)) for name, url, tags in sources}

    def work(conn: Connection) -> dict[str, int]:
        stored = {r.name: r for r in conn.execute(select(SOURCES.c.name, SOURCES.c.id, SOURCES.c.url, SOURCES.c.tags))}
        rows = [
            {"name": name, "url": url, "tags": tags, "created_at": now_utc()}
            for name, (url, tags) in sorted(wanted.items())  # one lock order for every run
            if name not in stored or (stored[name].url, stored[name].tags) != (url, tags)
        ]
        if not rows:
            return {name: r.id for name, r in stored.items()}
        stmt = dialect_insert(conn, SOURCES)
        conn.execute(  # one executemany: a statement per source cost 0.1 s per 1,000
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={"url": stmt.excluded.url, "tags": stmt.excluded.tags}
            ),
            rows,
        )
        return {row.name: row.id for row in conn.execute(select(SOURCES.c.name, SOURCES.c.id))}

    return write(db_url, work)


def source_states(db_url: str) -> dict[str, SourceState]:
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(*(SOURCES.c[f.name] for f in fields(SourceState)))).mappings()
        return {r["name"]: from_row(SourceState, r) for r in rows}


def record_source_result(db_url: str, source_id: int, change: SourceUpdate) -> None:
    record_source_results(db_url, [(source_id, change)])


def record_source_results(db_url: str, changes: Sequence[tuple[int, SourceUpdate]]) -> None:
    """Several sources' fetch results in one transaction (a quiet run of thousands of sources
    spent most of its time committing one row at a time)."""

    def work(conn: Connection) -> None:
        for source_id, change in sorted(changes, key=lambda c: c[0]):  # one lock order for every run
            values = {k: v for k, v in change.__dict__.items() if v is not None or k in _NULLABLE_UPDATES}
            if change.paused_at is None:
                values["pause_notified_at"] = None  # a source that works again may be paused, and told, anew
            conn.execute(update(SOURCES).where(SOURCES.c.id == source_id).values(**values))

    write(db_url, work)


def mark_pause_notified(db_url: str, source_id: int) -> None:
    with get_engine(db_url).begin() as conn:
        conn.execute(update(SOURCES).where(SOURCES.c.id == source_id).values(pause_notified_at=now_utc()))


def source_health(db_url: str, recent: int = 20) -> list[SourceHealthRow]:
    """Every known source with its health and the times of its newest articles (its rhythm)."""
    with get_engine(db_url).connect() as conn:
        sources = conn.execute(select(SOURCES).order_by(SOURCES.c.name)).mappings().all()
        times: dict[int, list[datetime]] = {}
        for source_id, at in conn.execute(newest_per_source(conn.dialect.name, recent)):
            times.setdefault(source_id, []).append(at)
    return [
        SourceHealthRow(
            **{f.name: s[f.name] for f in fields(SourceHealthRow) if f.name in s},
            recent_published=times.get(s["id"], []),
        )
        for s in sources
    ]


def newest_per_source(dialect: str, recent: int) -> Any:
    """(source_id, time) of each source's `recent` newest articles, newest first, in one query that
    walks ix_articles_source_recent per source: its cost does not grow with the archive (a window
    over all articles took 1.4 s at 500,000 on SQLite). PostgreSQL spells it LATERAL; SQLite has no
    LATERAL, and PostgreSQL cannot run SQLite's correlated IN in time (minutes at 500,000)."""
    newest = ARTICLES.alias("newest")
    when = func.coalesce(newest.c.published_at, newest.c.fetched_at)
    top = select(when.label("at") if dialect == "postgresql" else newest.c.id)
    top = top.where(newest.c.source_id == SOURCES.c.id).order_by(when.desc()).limit(recent)
    if dialect == "postgresql":
        lateral = top.lateral("top")
        return (
            select(SOURCES.c.id, lateral.c.at)
            .select_from(SOURCES.join(lateral, true()))
            .order_by(SOURCES.c.id, lateral.c.at.desc())
        )
    at = func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at)
    return (
        select(ARTICLES.c.source_id, at)
        .select_from(SOURCES.join(ARTICLES, ARTICLES.c.id.in_(top)))
        .order_by(ARTICLES.c.source_id, at.desc())
    )
