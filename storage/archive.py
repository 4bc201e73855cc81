"""Export and pruning: the archive's way out, and its tombstones.

    export_rows(db, kind, since, topic) -> Iterator[dict]   articles, matches or alerts, streamed by id
    prune(db, older_than) -> int                            delete articles older than a cutoff, keep tombstones
    count_prunable(db, older_than) -> int                   what prune would delete (--dry-run)
    is_tombstoned(db, canonical_urls, hashes) -> set[str]   which of these URLs and hashes were pruned

A pruned article leaves a tombstone (its canonical URL and content hash: storage.models.Tombstone)
so that ingest does not store it again when a feed still lists it. Articles with alerts still
pending are never pruned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, delete, exists, func, or_, select

from storage.clock import now_utc
from storage.db import dialect_insert, get_engine
from storage.models import (
    ALERTS,
    ARTICLES,
    JUDGMENTS,
    MATCHES,
    REVISIONS,
    SOURCES,
    STORY_TOPICS,
    TOMBSTONES,
    index_key,
)
from storage.repository import alerts_with_article

Kind = Literal["articles", "matches", "alerts"]
KINDS: tuple[Kind, ...] = ("articles", "matches", "alerts")
EXPORT_ROWS_PER_READ = 1000  # rows per keyset-paged read of export_rows
PRUNE_ARTICLES_PER_TRANSACTION = 500  # articles deleted (with their rows) per transaction of prune
IN_LIST_MAX = 500  # values per IN (...) list: well under SQLite's bound-parameter limit


# --- pruning --------------------------------------------------------------------------------------


def _prunable(older_than: datetime) -> Any:
    """The WHERE clause of articles to prune: older than the cutoff, no alert still pending."""
    when = func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at)
    pending = exists().where(ALERTS.c.article_id == ARTICLES.c.id, ALERTS.c.status == "pending")
    return and_(when < older_than, ~pending)


def count_prunable(db_url: str, older_than: datetime) -> int:
    """How many articles prune(db_url, older_than) would delete now."""
    with get_engine(db_url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ARTICLES).where(_prunable(older_than))).scalar_one())


def prune(db_url: str, older_than: datetime, chunk: int = PRUNE_ARTICLES_PER_TRANSACTION) -> int:
    """Delete the articles published (or, undated, fetched) before `older_than`, with their matches,
    alerts, judgments, story links and revisions, leaving a tombstone of each; one transaction per
    chunk. Articles with an alert still pending are kept. Returns how many articles were deleted."""
    total = 0
    last_id = 0
    while True:
        with get_engine(db_url).begin() as conn:
            rows = conn.execute(
                select(ARTICLES.c.id, ARTICLES.c.canonical_url, ARTICLES.c.content_hash)
                .where(_prunable(older_than), ARTICLES.c.id > last_id)
                .order_by(ARTICLES.c.id)
                .limit(chunk)
            ).all()
            if not rows:
                return total
            ids = [r.id for r in rows]
            now = now_utc()
            conn.execute(
                dialect_insert(conn, TOMBSTONES).on_conflict_do_nothing(index_elements=["canonical_url"]),
                [{"canonical_url": r.canonical_url, "content_hash": r.content_hash, "pruned_at": now} for r in rows],
            )
            match_ids = select(MATCHES.c.id).where(MATCHES.c.article_id.in_(ids))
            conn.execute(delete(JUDGMENTS).where(JUDGMENTS.c.article_id.in_(ids)))
            conn.execute(delete(ALERTS).where(or_(ALERTS.c.article_id.in_(ids), ALERTS.c.match_id.in_(match_ids))))
            conn.execute(delete(STORY_TOPICS).where(STORY_TOPICS.c.match_id.in_(match_ids)))
            conn.execute(delete(MATCHES).where(MATCHES.c.article_id.in_(ids)))
            conn.execute(delete(REVISIONS).where(REVISIONS.c.article_id.in_(ids)))
            total += conn.execute(delete(ARTICLES).where(ARTICLES.c.id.in_(ids))).rowcount
            last_id = ids[-1]


def is_tombstoned(db_url: str, canonical_urls: Iterable[str], hashes: Iterable[str | None] = ()) -> set[str]:
    """The given canonical URLs and content hashes that belong to pruned articles (tombstones
    hold a URL's index_key, as articles do)."""
    keys = {index_key(u): u for u in canonical_urls if u}
    urls = sorted(keys)
    digests = sorted({h for h in hashes if h})
    found: set[str] = set()
    if not urls and not digests:
        return found
    with get_engine(db_url).connect() as conn:
        for i in range(0, len(urls), IN_LIST_MAX):
            part = urls[i : i + IN_LIST_MAX]
            found.update(
                keys[k]
                for k in conn.execute(
                    select(TOMBSTONES.c.canonical_url).where(TOMBSTONES.c.canonical_url.in_(part))
                ).scalars()
            )
        for i in range(0, len(digests), IN_LIST_MAX):
            part = digests[i : i + IN_LIST_MAX]
            found.update(
                conn.execute(select(TOMBSTONES.c.content_hash).where(TOMBSTONES.c.content_hash.in_(part))).scalars()
            )
    return found


# --- export ---------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        # Both backends hand back aware datetimes through these selects (checked: bench/mutation.md);
        # a naive one, should a column ever give it, is UTC too: every stored time is.
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def _export_articles(since: datetime | None, topic: str | None) -> tuple[Any, Any]:
    query = select(
        ARTICLES.c.id,
        SOURCES.c.name.label("source"),
        ARTICLES.c.canonical_url,
        ARTICLES.c.url,
        ARTICLES.c.title,
        ARTICLES.c.author,
        ARTICLES.c.published_at,
        ARTICLES.c.fetched_at,
        ARTICLES.c.language,
        ARTICLES.c.story_id,
        ARTICLES.c.revision,
        ARTICLES.c.content_hash,
        ARTICLES.c.text_origin,
        ARTICLES.c.summary,
        ARTICLES.c.text,
    ).select_from(ARTICLES.join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id))
    if since is not None:
        query = query.where(func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at) >= since)
    if topic is not None:
        query = query.where(exists().where(MATCHES.c.article_id == ARTICLES.c.id, MATCHES.c.topic == topic))
    return query, ARTICLES.c.id


def _export_matches(since: datetime | None, topic: str | None) -> tuple[Any, Any]:
    query = select(
        MATCHES.c.id,
        MATCHES.c.topic,
        MATCHES.c.article_id,
        ARTICLES.c.url.label("article_url"),
        ARTICLES.c.title.label("article_title"),
        MATCHES.c.terms,
        MATCHES.c.words,
        MATCHES.c.hit_field,
        MATCHES.c.hit_sentence,
        MATCHES.c.indicators,
        MATCHES.c.created_at,
    ).select_from(MATCHES.join(ARTICLES, ARTICLES.c.id == MATCHES.c.article_id))
    if since is not None:
        query = query.where(MATCHES.c.created_at >= since)
    if topic is not None:
        query = query.where(MATCHES.c.topic == topic)
    return query, MATCHES.c.id


def _export_alerts(since: datetime | None, topic: str | None) -> tuple[Any, Any]:
    query = alerts_with_article()  # the same select `newswatch alerts` lists from
    if since is not None:
        query = query.where(ALERTS.c.created_at >= since)
    if topic is not None:
        query = query.where(ALERTS.c.topic == topic)
    return query, ALERTS.c.id


_EXPORTS: dict[str, Callable[[datetime | None, str | None], tuple[Any, Any]]] = {
    "articles": _export_articles,
    "matches": _export_matches,
    "alerts": _export_alerts,
}


def _export_query(kind: Kind, since: datetime | None, topic: str | None) -> tuple[Any, Any]:
    """(SELECT without paging, the id column to page on) for one kind of row."""
    if kind not in _EXPORTS:
        raise ValueError(f"unknown export kind {kind!r}: use one of {', '.join(KINDS)}")
    return _EXPORTS[kind](since, topic)


def export_rows(
    db_url: str,
    kind: Kind,
    since: datetime | None = None,
    topic: str | None = None,
    chunk: int = EXPORT_ROWS_PER_READ,
) -> Iterator[dict[str, Any]]:
    """Every row of `kind` (since a time, of one topic), oldest id first, as JSON-safe dicts.
    Read by keyset pagination, one short read per chunk: memory stays flat however large the
    archive, and no transaction stays open while the caller writes."""
    query, id_col = _export_query(kind, since, topic)
    engine = get_engine(db_url)
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


__all__ = [
    "EXPORT_ROWS_PER_READ",
    "IN_LIST_MAX",
    "KINDS",
    "PRUNE_ARTICLES_PER_TRANSACTION",
    "count_prunable",
    "export_rows",
    "is_tombstoned",
    "prune",
]
