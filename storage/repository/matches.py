"""Matches: a topic's hits on an article, stored with their alerts in one transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from storage.clock import now_utc
from storage.db import dialect_insert, get_engine, write
from storage.models import ALERTS, ARTICLES, MATCHES, SOURCES, STORY_TOPICS
from storage.records import AlertRule, MatchRecord, MatchRow, StoryFacts, Target
from storage.repository.helpers import from_row


def save_matches(
    db_url: str,
    checked_ids: Sequence[int],
    matches: Sequence[MatchRecord],
    targets: Mapping[str, Sequence[Target]],
    alert_status: str = "pending",
    digest_topics: Collection[str] = (),
    stories: Mapping[int, int | None] | None = None,
    alert_rule: AlertRule | None = None,
) -> list[int]:
    """In one transaction: store the matches, write one alert per (new match, target of its
    topic) into the outbox, and mark the checked articles as matched. Returns the ids of new
    matches. Alerts of `digest_topics` wait for the digest instead of going out at once.

    `stories` (article id -> story id) has each new match claim its (topic, story); `alert_rule`
    (tasks/matching/rules.py) then decides, from what the claim found, whether the match writes
    alerts, inside this transaction. Without a rule every new match alerts."""
    now = now_utc()

    def work(conn: Connection) -> list[int]:
        new_ids: list[int] = []
        for m in sorted(matches, key=lambda m: m.article_id):  # one lock order for every run (stable)
            match_id = _insert_match(conn, m, now)
            if match_id is None:
                continue  # another run matched it first, and wrote its alerts
            new_ids.append(match_id)
            facts = _story_facts(conn, m, match_id, (stories or {}).get(m.article_id))
            if alert_rule is not None and not alert_rule(m.topic, facts):
                continue  # a later copy of a story already alerted: it only joins the story
            digest = m.topic in digest_topics
            for t in targets.get(m.topic, ()):
                _insert_alert(conn, m, match_id, t, alert_status, digest, now)
        if checked_ids:
            conn.execute(update(ARTICLES).where(ARTICLES.c.id.in_(list(checked_ids))).values(matched_at=now))
        return new_ids

    return write(db_url, work)


def _insert_match(conn: Connection, m: MatchRecord, now: datetime) -> int | None:
    """The new match's id; None when the (topic, article) was matched already."""
    stmt = dialect_insert(conn, MATCHES).values(
        topic=m.topic,
        article_id=m.article_id,
        terms=m.terms,
        words=m.words,
        hit_sentence=m.hit_sentence,
        hit_field=m.hit_field,
        spans=m.spans,
        sentences=m.sentences,
        indicators=m.indicators,
        created_at=now,
    )
    return conn.execute(stmt.on_conflict_do_nothing().returning(MATCHES.c.id)).scalar()


def _insert_alert(
    conn: Connection, m: MatchRecord, match_id: int, target: Target, status: str, digest: bool, now: datetime
) -> None:
    alert = dialect_insert(conn, ALERTS).values(
        match_id=match_id,
        topic=m.topic,
        article_id=m.article_id,
        target=target.key,
        target_label=target.label,
        status=status,
        digest=digest,
        attempts=0,
        created_at=now,
    )
    conn.execute(alert.on_conflict_do_nothing())


def _story_facts(conn: Connection, m: MatchRecord, match_id: int, story: int | None) -> StoryFacts:
    """Claim the match's (topic, story) with the unique story_topics row, and hand over what that
    found; whether the outlet carried the story before is a query, run only if the rule asks
    (in this transaction: the rule is called before the transaction ends)."""
    if story is None:
        return StoryFacts(story_id=None, first_for_topic=False, outlet_carried_before=lambda: False)
    claimed = conn.execute(
        dialect_insert(conn, STORY_TOPICS)
        .values(topic=m.topic, story_id=story, match_id=match_id, created_at=now_utc())
        .on_conflict_do_nothing()
        .returning(STORY_TOPICS.c.id)
    ).scalar()

    def outlet_carried_before() -> bool:
        """Another article of the story, from this article's outlet, matched the topic already."""
        source = select(ARTICLES.c.source_id).where(ARTICLES.c.id == m.article_id).scalar_subquery()
        seen = conn.execute(
            select(func.count())
            .select_from(MATCHES.join(ARTICLES, ARTICLES.c.id == MATCHES.c.article_id))
            .where(
                MATCHES.c.topic == m.topic,
                ARTICLES.c.story_id == story,
                ARTICLES.c.id != m.article_id,
                ARTICLES.c.source_id == source,
            )
        ).scalar_one()
        return int(seen) > 0

    return StoryFacts(story_id=story, first_for_topic=claimed is not None, outlet_carried_before=outlet_carried_before)


def match_rows(db_url: str, match_ids: Sequence[int]) -> list[MatchRow]:
    if not match_ids:
        return []
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(
                MATCHES.c.topic,
                ARTICLES.c.title,
                ARTICLES.c.url,
                SOURCES.c.name.label("source_name"),
                ARTICLES.c.published_at,
                MATCHES.c.hit_sentence,
                MATCHES.c.words,
                MATCHES.c.terms,
                ARTICLES.c.story_id,
                MATCHES.c.indicators,
            )
            .join(ARTICLES, ARTICLES.c.id == MATCHES.c.article_id)
            .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
            .where(MATCHES.c.id.in_(list(match_ids)))
            .order_by(MATCHES.c.topic, ARTICLES.c.published_at.desc())
        ).mappings()
        return [from_row(MatchRow, r) for r in rows]


def article_topics(db_url: str, article_id: int) -> set[str]:
    """The topics an article matched."""
    with get_engine(db_url).connect() as conn:
        return set(conn.execute(select(MATCHES.c.topic).where(MATCHES.c.article_id == article_id)).scalars())
