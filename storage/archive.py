"""Export and pruning: the archive's way out, and its tombstones.

    export_rows(db, kind, since, topic) -> Iterator[dict]   articles, matches or alerts, streamed by id
    prune(db, older_than) -> int                            delete articles older than a cutoff, keep tombstones
    count_prunable(db, older_than) -> int                   what prune would delete (--dry-run)
    is_tombstoned(db, canonical_urls, hashes) -> set[str]   which of these URLs and hashes were pruned

A pruned article leaves a tombstone (its canonical URL and content hash) so that ingest does not
store it again when a feed still lists it. Articles with alerts still pending are never pruned.

This module imports only SQLAlchemy and SQLModel at the top (storage.db and storage.models are
imported inside functions), so storage.models and storage.db may import it to register the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Column, Index, Text, UniqueConstraint, and_, delete, exists, func, or_, select
from sqlmodel import Field, SQLModel

from storage.clock import now_utc

Kind = Literal["articles", "matches", "alerts"]
KINDS: tuple[Kind, ...] = ("articles", "matches", "alerts")
CHUNK = 1000
PRUNE_CHUNK = 500
_IN_CHUNK = 500  # values per IN (...) list: well under SQLite's bound-parameter limit


class Tombstone(SQLModel, table=True):
    """An article that `newswatch prune` removed: never ingested again."""

    __tablename__ = "tombstones"
    __table_args__ = (
        UniqueConstraint("canonical_url", name="uq_tombstones_canonical_url"),
        Index("ix_tombstones_content_hash", "content_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    canonical_url: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str | None = Field(default=None, max_length=64)
    pruned_at: datetime = Field(default_factory=now_utc)


TB = Tombstone.__table__  # type: ignore[attr-defined]


def _tables() -> tuple[Any, Any, Any, Any, Any, Any]:
    """articles, matches, alerts, story_topics, article_revisions, sources (imported here: no cycles)."""
    from storage.models import Alert, Article, ArticleRevision, Match, Source, StoryTopic

    return (
        Article.__table__,  # type: ignore[attr-defined]
        Match.__table__,  # type: ignore[attr-defined]
        Alert.__table__,  # type: ignore[attr-defined]
        StoryTopic.__table__,  # type: ignore[attr-defined]
        ArticleRevision.__table__,  # type: ignore[attr-defined]
        Source.__table__,  # type: ignore[attr-defined]
    )


def _engine(db_url: str) -> Any:
    from storage.db import get_engine

    return get_engine(db_url)


def _insert(conn: Any, table: Any) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# --- pruning --------------------------------------------------------------------------------------


def _prunable(older_than: datetime) -> Any:
    """The WHERE clause of articles to prune: older than the cutoff, no alert still pending."""
    A, _M, AL, _ST, _AR, _S = _tables()
    when = func.coalesce(A.c.published_at, A.c.fetched_at)
    pending = exists().where(AL.c.article_id == A.c.id, AL.c.status == "pending")
    return and_(when < older_than, ~pending)


def count_prunable(db_url: str, older_than: datetime) -> int:
    """How many articles prune(db_url, older_than) would delete now."""
    A = _tables()[0]
    with _engine(db_url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(A).where(_prunable(older_than))).scalar_one())


def prune(db_url: str, older_than: datetime, chunk: int = PRUNE_CHUNK) -> int:
    """Delete the articles published (or, undated, fetched) before `older_than`, with their matches,
    alerts, story links and revisions, leaving a tombstone of each; one transaction per chunk.
    Articles with an alert still pending are kept. Returns how many articles were deleted."""
    A, M, AL, ST, AR, _S = _tables()
    total = 0
    last_id = 0
    while True:
        with _engine(db_url).begin() as conn:
            rows = conn.execute(
                select(A.c.id, A.c.canonical_url, A.c.content_hash)
                .where(_prunable(older_than), A.c.id > last_id)
                .order_by(A.c.id)
                .limit(chunk)
            ).all()
            if not rows:
                return total
            ids = [r.id for r in rows]
            now = now_utc()
            conn.execute(
                _insert(conn, TB).on_conflict_do_nothing(index_elements=["canonical_url"]),
                [{"canonical_url": r.canonical_url, "content_hash": r.content_hash, "pruned_at": now} for r in rows],
            )
            match_ids = select(M.c.id).where(M.c.article_id.in_(ids))
            conn.execute(delete(AL).where(or_(AL.c.article_id.in_(ids), AL.c.match_id.in_(match_ids))))
            conn.execute(delete(ST).where(ST.c.match_id.in_(match_ids)))
            conn.execute(delete(M).where(M.c.article_id.in_(ids)))
            conn.execute(delete(AR).where(AR.c.article_id.in_(ids)))
            total += conn.execute(delete(A).where(A.c.id.in_(ids))).rowcount
            last_id = ids[-1]


def is_tombstoned(db_url: str, canonical_urls: Iterable[str], hashes: Iterable[str | None] = ()) -> set[str]:
    """The given canonical URLs and content hashes that belong to pruned articles."""
    urls = sorted({u for u in canonical_urls if u})
    digests = sorted({h for h in hashes if h})
    found: set[str] = set()
    if not urls and not digests:
        return found
    with _engine(db_url).connect() as conn:
        for i in range(0, len(urls), _IN_CHUNK):
            part = urls[i : i + _IN_CHUNK]
            found.update(conn.execute(select(TB.c.canonical_url).where(TB.c.canonical_url.in_(part))).scalars())
        for i in range(0, len(digests), _IN_CHUNK):
            part = digests[i : i + _IN_CHUNK]
            found.update(conn.execute(select(TB.c.content_hash).where(TB.c.content_hash.in_(part))).scalars())
    return found


# --- export ---------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive datetimes; every stored time is UTC
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _export_query(kind: Kind, since: datetime | None, topic: str | None) -> tuple[Any, Any]:
    """(SELECT without paging, the id column to page on) for one kind of row."""
    A, M, AL, _ST, _AR, S = _tables()
    if kind == "articles":
        query = select(
            A.c.id,
            S.c.name.label("source"),
            A.c.canonical_url,
            A.c.url,
            A.c.title,
            A.c.author,
            A.c.published_at,
            A.c.fetched_at,
            A.c.language,
            A.c.story_id,
            A.c.revision,
            A.c.content_hash,
            A.c.text_origin,
            A.c.summary,
            A.c.text,
        ).select_from(A.join(S, S.c.id == A.c.source_id))
        if since is not None:
            query = query.where(func.coalesce(A.c.published_at, A.c.fetched_at) >= since)
        if topic is not None:
            query = query.where(exists().where(M.c.article_id == A.c.id, M.c.topic == topic))
        return query, A.c.id
    if kind == "matches":
        query = select(
            M.c.id,
            M.c.topic,
            M.c.article_id,
            A.c.url.label("article_url"),
            A.c.title.label("article_title"),
            M.c.terms,
            M.c.words,
            M.c.hit_field,
            M.c.hit_sentence,
            M.c.created_at,
        ).select_from(M.join(A, A.c.id == M.c.article_id))
        if since is not None:
            query = query.where(M.c.created_at >= since)
        if topic is not None:
            query = query.where(M.c.topic == topic)
        return query, M.c.id
    if kind == "alerts":
        query = select(
            AL.c.id,
            AL.c.topic,
            AL.c.match_id,
            AL.c.article_id,
            A.c.url.label("article_url"),
            A.c.title.label("article_title"),
            AL.c.target,
            AL.c.target_label,
            AL.c.status,
            AL.c.digest,
            AL.c.attempts,
            AL.c.last_error,
            AL.c.created_at,
            AL.c.sent_at,
        ).select_from(AL.join(A, A.c.id == AL.c.article_id))
        if since is not None:
            query = query.where(AL.c.created_at >= since)
        if topic is not None:
            query = query.where(AL.c.topic == topic)
        return query, AL.c.id
    raise ValueError(f"unknown export kind {kind!r}: use one of {', '.join(KINDS)}")


def export_rows(
    db_url: str, kind: Kind, since: datetime | None = None, topic: str | None = None, chunk: int = CHUNK
) -> Iterator[dict[str, Any]]:
    """Every row of `kind` (since a time, of one topic), oldest id first, as JSON-safe dicts.
    Read by keyset pagination, one short read per chunk: memory stays flat however large the
    archive, and no transaction stays open while the caller writes."""
    query, id_col = _export_query(kind, since, topic)
    engine = _engine(db_url)
    last_id = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(query.where(id_col > last_id).order_by(id_col).limit(chunk)).mappings().all()
        if not rows:
            return
        for r in rows:
            yield {key: _json_safe(value) for key, value in r.items()}
        last_id = rows[-1]["id"]
        del rows


__all__ = ["KINDS", "Tombstone", "count_prunable", "export_rows", "is_tombstoned", "prune"]
