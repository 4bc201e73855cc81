"""Articles: what is known already, storing new ones and new revisions, and reading them back."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storage.clock import now_utc
from storage.db import dialect_insert, get_engine, is_data_error, one_line, write
from storage.models import ARTICLES, REVISIONS, SOURCES, index_key
from storage.records import ArticleRecord, InsertOutcome, KnownArticle, StoredArticle
from storage.repository.helpers import from_row


def known_entries(
    db_url: str, source_id: int, canonical_urls: Sequence[str], guids: Sequence[str]
) -> dict[str, KnownArticle]:
    """Which of these canonical URLs (any source) or GUIDs (this source) are stored already,
    keyed by URL and by GUID as given (the database holds their index_key)."""
    if not canonical_urls and not guids:
        return {}
    url_keys = {index_key(u): u for u in canonical_urls}
    guid_keys = {index_key(g): g for g in guids}
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
                    ARTICLES.c.canonical_url.in_(list(url_keys)),
                    and_(ARTICLES.c.source_id == source_id, ARTICLES.c.guid.in_(list(guid_keys))),
                )
            )
        ).mappings()
        known: dict[str, KnownArticle] = {}
        for r in rows:
            article = from_row(KnownArticle, r)
            known[url_keys.get(r["canonical_url"], r["canonical_url"])] = article
            if r["guid"]:
                known[guid_keys.get(r["guid"], r["guid"])] = article
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
                    vector=record.vector,
                    vector_model=record.vector_model,
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
    same GUID from the same source, or same text) is dropped by the database, not by us.
    Canonical URL and GUID are stored as their index_key. When the database refuses the batch
    for a record's values (storage.db.is_data_error), each record is stored alone and the ones
    refused come back in `rejected` with the reason: one bad entry costs only itself."""
    if not records:
        return InsertOutcome()
    # One order for every run (canonical URL, the key two runs most often share), so that two runs
    # storing the same articles wait on each other instead of deadlocking; ids come back in the
    # callers' order.
    order = sorted(range(len(records)), key=lambda i: records[i].canonical_url)
    rows = [_row(records[i]) for i in order]

    def insert_all(conn: Connection) -> list[int | None]:
        stmt = _insert_statement(conn)
        return [conn.execute(stmt, row).scalar() for row in rows]

    try:
        ids = write(db_url, insert_all)
        outcome = InsertOutcome(ids=[None] * len(records))
        for i, new_id in zip(order, ids, strict=True):
            outcome.ids[i] = new_id
        return outcome
    except Exception as exc:
        if not is_data_error(exc):
            raise
    outcome = InsertOutcome(ids=[None] * len(records))
    for i, row in zip(order, rows, strict=True):
        try:
            outcome.ids[i] = write(db_url, lambda conn, row=row: conn.execute(_insert_statement(conn), row).scalar())  # type: ignore[misc]
        except Exception as exc:
            if not is_data_error(exc):
                raise
            outcome.rejected[i] = one_line(exc)
    return outcome


def _row(record: ArticleRecord) -> dict[str, Any]:
    values = dict(record.__dict__, fetched_at=now_utc())
    values["canonical_url"] = index_key(record.canonical_url)
    values["guid"] = index_key(record.guid) if record.guid else record.guid
    return values


def _insert_statement(conn: Connection) -> Any:
    """One INSERT for every row, the values bound at execution. Built with .values(**row) for
    each row, SQLAlchemy coerced the 18 values and keyed its cache on them every time: 0.34 ms
    of CPU a row on SQLite without the search index against 0.10 ms (1,200 articles of the
    bench's news web; the trigram search index adds about 1 ms a row either way)."""
    return dialect_insert(conn, ARTICLES).on_conflict_do_nothing().returning(ARTICLES.c.id)


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


def article_ids_by_url(db_url: str, urls: Sequence[str]) -> dict[str, int]:
    """Stored articles by URL, as given (the page's URL or the canonical URL): {url: id}."""
    if not urls:
        return {}
    keys = [index_key(u) for u in urls]
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(ARTICLES.c.id, ARTICLES.c.url, ARTICLES.c.canonical_url).where(
                ARTICLES.c.url.in_(list(urls)) | ARTICLES.c.canonical_url.in_(keys)
            )
        ).all()
    found: dict[str, int] = {}
    for url, key in zip(urls, keys, strict=True):
        for r in rows:
            if url in (r.url, r.canonical_url) or key == r.canonical_url:
                found[url] = r.id
    return found


def articles_by_id(db_url: str, ids: Sequence[int]) -> list[StoredArticle]:
    if not ids:
        return []
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(_stored_articles().where(ARTICLES.c.id.in_(list(ids))).order_by(ARTICLES.c.id)).mappings()
        return [from_row(StoredArticle, r) for r in rows]
