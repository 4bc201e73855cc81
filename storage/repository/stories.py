"""Stories: near-duplicate articles grouped under their first article's id (tasks/stories)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from storage.db import get_engine, write
from storage.models import ARTICLES, SOURCES, STORY_TOPICS
from storage.records import StoryRow


def articles_without_story(db_url: str, limit: int) -> list[tuple[int, bytes | None]]:
    """(id, signature) of stored articles not yet put in a story, oldest first."""
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(ARTICLES.c.id, ARTICLES.c.signature)
            .where(ARTICLES.c.story_id.is_(None))
            .order_by(ARTICLES.c.id)
            .limit(limit)
        ).all()
    return [(r[0], r[1]) for r in rows]


def story_signatures(db_url: str, since: datetime) -> Iterator[tuple[int, int, bytes, str, datetime]]:
    """(article_id, story_id, signature, title, published or else fetched time) of the articles
    fetched since `since`: what the story index holds."""
    last_id = 0
    when = func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at)
    while True:
        with get_engine(db_url).connect() as conn:
            rows = conn.execute(
                select(ARTICLES.c.id, ARTICLES.c.story_id, ARTICLES.c.signature, ARTICLES.c.title, when)
                .where(
                    ARTICLES.c.fetched_at >= since, ARTICLES.c.story_id.is_not(None), ARTICLES.c.signature.is_not(None)
                )
                .where(ARTICLES.c.id > last_id)
                .order_by(ARTICLES.c.id)
                .limit(2000)
            ).all()
        if not rows:
            return
        yield from ((r[0], r[1], r[2], r[3], _utc(r[4])) for r in rows)
        last_id = rows[-1][0]


def story_facts(db_url: str, ids: Sequence[int]) -> dict[int, tuple[str, datetime]]:
    """article_id -> (title, published or else fetched time) of these articles."""
    if not ids:
        return {}
    when = func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at)
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(ARTICLES.c.id, ARTICLES.c.title, when).where(ARTICLES.c.id.in_(list(ids)))).all()
    return {r[0]: (r[1], _utc(r[2])) for r in rows}


def _utc(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite returns COALESCE's result as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def set_stories(db_url: str, assignments: Sequence[tuple[int, int]]) -> None:
    """Put articles in stories: (article_id, story_id) pairs, in one transaction."""
    if not assignments:
        return
    statement = (
        update(ARTICLES)
        .where(ARTICLES.c.id == bindparam("article_id"), ARTICLES.c.story_id.is_(None))
        .values(story_id=bindparam("new_story_id"))
    )
    params = [{"article_id": a, "new_story_id": s} for a, s in sorted(assignments)]  # one lock order
    write(db_url, lambda conn: conn.execute(statement, params))  # one executemany, not one per article


def story_outlets(db_url: str, story_id: int, except_article: int | None = None) -> list[str]:
    """The sources that carry a story (other than one article's own source), in order of arrival."""
    return story_outlets_on(get_engine(db_url), story_id, except_article)


def story_outlets_on(engine: Any, story_id: int, except_article: int | None = None) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(SOURCES.c.name, func.min(ARTICLES.c.id).label("first"))
            .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
            .where(ARTICLES.c.story_id == story_id)
            .group_by(SOURCES.c.name)
            .order_by("first")
        ).all()
        own = None
        if except_article is not None:
            own = conn.execute(
                select(SOURCES.c.name)
                .join(ARTICLES, ARTICLES.c.source_id == SOURCES.c.id)
                .where(ARTICLES.c.id == except_article)
            ).scalar_one_or_none()
    return [name for name, _ in rows if name != own]


def recent_stories(db_url: str, since: datetime, limit: int = 50) -> list[StoryRow]:
    """Stories with an article fetched since `since`, newest first, with their outlets and topics."""
    with get_engine(db_url).connect() as conn:
        ids = conn.execute(
            select(ARTICLES.c.story_id, func.max(ARTICLES.c.fetched_at).label("last"))
            .where(ARTICLES.c.fetched_at >= since, ARTICLES.c.story_id.is_not(None))
            .group_by(ARTICLES.c.story_id)
            .order_by(func.max(ARTICLES.c.fetched_at).desc())
            .limit(limit)
        ).all()
        stories = []
        for story_id, _ in ids:
            first = (
                conn.execute(
                    select(ARTICLES.c.title, ARTICLES.c.url, ARTICLES.c.fetched_at).where(ARTICLES.c.id == story_id)
                ).one_or_none()
                or conn.execute(
                    select(ARTICLES.c.title, ARTICLES.c.url, ARTICLES.c.fetched_at)
                    .where(ARTICLES.c.story_id == story_id)
                    .order_by(ARTICLES.c.id)
                    .limit(1)
                ).one()
            )
            count = conn.execute(select(func.count()).where(ARTICLES.c.story_id == story_id)).scalar_one()
            topics = (
                conn.execute(
                    select(STORY_TOPICS.c.topic)
                    .where(STORY_TOPICS.c.story_id == story_id)
                    .order_by(STORY_TOPICS.c.topic)
                )
                .scalars()
                .all()
            )
            stories.append(
                StoryRow(
                    story_id, first[0], first[1], first[2], int(count), story_outlets(db_url, story_id), list(topics)
                )
            )
    return stories
