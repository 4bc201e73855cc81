"""Articles: what is known already, storing new ones and new revisions, and reading them back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storage.clock import now_utc
from storage.db import dialect_insert, get_engine, write
from storage.models import ARTICLES, REVISIONS, SOURCES
from storage.records import ArticleRecord, InsertOutcome, KnownArticle, StoredArticle
from storage.repository.helpers import from_row


def known_entries(
    db_url: str, source_id: int, canonical_urls: Sequence[str], guids: Sequence[str]
) -> dict[str, KnownArticle]:
    """Which of these canonical URLs (any source) or GUIDs (this source) are stored already,
    keyed by URL and by GUID."""
    if not canonical_urls and not guids:
        return {}
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(
                ARTICLES.c.canonical_url,
                ARTICLES.c.guid,
                ARTICLES.c.id,
                ARTICLES.c.source_id,
                ARTICLES.c.summary,
                ARTICLES.c.content_hash,
                ARTICLES.c.revision,
            ).where(
                or_(
                    ARTICLES.c.canonical_url.in_(list(canonical_urls)),
                    and_(ARTICLES.c.source_id == source_id, ARTICLES.c.guid.in_(list(guids))),
                )
            )
        ).mappings()
        known: dict[str, KnownArticle] = {}
        for r in rows:
            article = from_row(KnownArticle, r)
            known[r["canonical_url"]] = article
            if r["guid"]:
                known[r["guid"]] = article
        return known


def revise_article(db_url: str, article: KnownArticle, record: ArticleRecord) -> bool:
    """The page at a stored URL changed its text: keep the old text as a revision, store the
    new one, and have it matched again (matches are unique per topic, so only topics it did not
    match before can alert). False when the new text is another stored article's."""
    try:
        with get_engine(db_url).begin() as conn:
            old = conn.execute(
                select(ARTICLES.c.title, ARTICLES.c.text, ARTICLES.c.content_hash).where(ARTICLES.c.id == article.id)
            ).one()
            conn.execute(
                dialect_insert(conn, REVISIONS).values(
                    article_id=article.id,
                    revision=article.revision,
                    title=old[0],
                    text=old[1],
                    content_hash=old[2],
                    fetched_at=now_utc(),
                )
            )
            changed = conn.execute(
                update(ARTICLES)
                .where(ARTICLES.c.id == article.id, ARTICLES.c.revision == article.revision)  # one run revises it, once
                .values(
                    title=record.title,
                    text=record.text,
                    summary=record.summary,
                    content_hash=record.content_hash,
                    signature=record.signature,
                    text_origin=record.text_origin,
                    text_note=record.text_note,
                    revision=article.revision + 1,
                    fetched_at=now_utc(),
                    matched_at=None,
                )
            ).rowcount
            if changed != 1:
                raise _Lost()
    except (IntegrityError, _Lost):
        return False
    return True


class _Lost(Exception):
    """Another run revised the article first."""


def insert_articles(db_url: str, records: Sequence[ArticleRecord]) -> InsertOutcome:
    """Store the records; a record that collides with a stored article (same canonical URL,
    same GUID from the same source, or same text) is dropped by the database, not by us."""
    if not records:
        return InsertOutcome()
    # One order for every run (canonical URL, the key two runs most often share), so that two runs
    # storing the same articles wait on each other instead of deadlocking; ids come back in the
    # callers' order.
    order = sorted(range(len(records)), key=lambda i: records[i].canonical_url)

    def work(conn: Connection) -> InsertOutcome:
        ids: list[int | None] = [None] * len(records)
        for i in order:
            values = dict(records[i].__dict__, fetched_at=now_utc())
            stmt = dialect_insert(conn, ARTICLES).values(**values).on_conflict_do_nothing().returning(ARTICLES.c.id)
            ids[i] = conn.execute(stmt).scalar()
        return InsertOutcome(ids=ids)

    return write(db_url, work)


def _stored_articles() -> Any:
    return select(ARTICLES, SOURCES.c.name.label("source_name"), SOURCES.c.tags.label("source_tags")).join(
        SOURCES, SOURCES.c.id == ARTICLES.c.source_id
    )


def unmatched_articles(db_url: str, limit: int) -> list[StoredArticle]:
    """Articles not yet checked against the watchlist, oldest first."""
    with get_engine(db_url).connect() as conn:
        # Only articles whose story is known: "one story, one alert" needs it (tasks/stories/assign.py).
        rows = conn.execute(
            _stored_articles()
            .where(ARTICLES.c.matched_at.is_(None), ARTICLES.c.story_id.is_not(None))
            .order_by(ARTICLES.c.id)
            .limit(limit)
        )
        return [from_row(StoredArticle, r) for r in rows.mappings()]


def articles_since(db_url: str, since: datetime, chunk: int = 500) -> Iterator[StoredArticle]:
    """Every stored article published (or, without a date, fetched) since `since`, oldest
    first, read in chunks so memory stays flat however large the archive."""
    when = func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at)
    last_id = 0
    while True:
        with get_engine(db_url).connect() as conn:
            rows = (
                conn.execute(
                    _stored_articles()
                    .where(when >= since, ARTICLES.c.id > last_id)
                    .order_by(ARTICLES.c.id)
                    .limit(chunk)
                )
                .mappings()
                .all()
            )
        if not rows:
            return
        for r in rows:
            yield from_row(StoredArticle, r)
        last_id = rows[-1]["id"]


def articles_by_id(db_url: str, ids: Sequence[int]) -> list[StoredArticle]:
    if not ids:
        return []
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(_stored_articles().where(ARTICLES.c.id.in_(list(ids))).order_by(ARTICLES.c.id)).mappings()
        return [from_row(StoredArticle, r) for r in rows]
