"""Alerts: the outbox that delivery claims from, and what `newswatch alerts` lists and retries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine

from storage.clock import now_utc
from storage.db import get_engine
from storage.models import ALERTS, ARTICLES, MATCHES, SOURCES
from storage.records import AlertRow, AlertToSend
from storage.repository.helpers import from_row
from storage.repository.stories import story_outlets_on


def claim_pending_alerts(
    db_url: str,
    target_keys: Sequence[str],
    lease: timedelta,
    digest: bool = False,
    topics: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[AlertToSend]:
    """Take pending alerts (immediate ones, or with digest=True those waiting for a digest) for
    these targets whose next attempt is due, at most `limit`. A claim is a conditional UPDATE,
    so two runs at once never both take the same alert; a claim expires after `lease` if its
    run died. Claim just before sending: the lease must outlast a send, not a whole run."""
    now = now_utc()
    claimable = and_(
        ALERTS.c.status == "pending",
        or_(ALERTS.c.claimed_until.is_(None), ALERTS.c.claimed_until < now),
        or_(ALERTS.c.next_attempt_at.is_(None), ALERTS.c.next_attempt_at <= now),
    )
    claimed: list[AlertToSend] = []
    engine = get_engine(db_url)
    query = select(ALERTS.c.id).where(claimable, ALERTS.c.digest == digest, ALERTS.c.target.in_(list(target_keys)))
    if topics is not None:
        query = query.where(ALERTS.c.topic.in_(list(topics)))
    if limit is not None:
        query = query.limit(limit * 4)  # a few spares, for those another run takes first
    with engine.connect() as conn:
        candidates = conn.execute(query.order_by(ALERTS.c.id)).scalars().all()
    for alert_id in candidates:
        if limit is not None and len(claimed) >= limit:
            break
        with engine.begin() as conn:
            taken = conn.execute(
                update(ALERTS).where(ALERTS.c.id == alert_id, claimable).values(claimed_until=now + lease)
            ).rowcount
        if taken == 1:
            claimed.append(_alert_to_send(engine, alert_id))
    return claimed


def _alert_to_send(engine: Engine, alert_id: int) -> AlertToSend:
    with engine.connect() as conn:
        r = (
            conn.execute(
                select(
                    ALERTS.c.id,
                    ALERTS.c.target,
                    ALERTS.c.topic,
                    ALERTS.c.attempts,
                    MATCHES.c.terms,
                    MATCHES.c.words,
                    MATCHES.c.hit_sentence,
                    MATCHES.c.hit_field,
                    MATCHES.c.indicators,
                    ARTICLES.c.title,
                    ARTICLES.c.url,
                    ARTICLES.c.published_at,
                    ALERTS.c.article_id,
                    ARTICLES.c.story_id,
                    SOURCES.c.name.label("source_name"),
                )
                .join(MATCHES, MATCHES.c.id == ALERTS.c.match_id)
                .join(ARTICLES, ARTICLES.c.id == ALERTS.c.article_id)
                .join(SOURCES, SOURCES.c.id == ARTICLES.c.source_id)
                .where(ALERTS.c.id == alert_id)
            )
            .mappings()
            .one()
        )
    story = r["story_id"]
    also = tuple(story_outlets_on(engine, story, r["article_id"])) if story is not None else ()
    return replace(from_row(AlertToSend, r), also=also)


def mark_alert(
    db_url: str, alert_id: int, error: str | None, retry_at: datetime | None = None, dead: bool = False
) -> None:
    """After a send attempt: sent (error is None), or failed with the reason, to be tried again
    at `retry_at` or given up (`dead`). The claim is released."""
    values: dict[str, object] = {"claimed_until": None, "attempts": ALERTS.c.attempts + 1}
    if error is None:
        values.update(status="sent", sent_at=now_utc(), last_error=None, next_attempt_at=None)
    else:
        values.update(last_error=error[:2000], next_attempt_at=retry_at, status="dead" if dead else "pending")
    with get_engine(db_url).begin() as conn:
        conn.execute(update(ALERTS).where(ALERTS.c.id == alert_id).values(**values))


def postpone_alert(db_url: str, alert_id: int, until: datetime | None = None, to_digest: bool = False) -> None:
    """Release a claimed alert without an attempt: until quiet hours end, or into the digest."""
    values: dict[str, object] = {"claimed_until": None}
    if until is not None:
        values["next_attempt_at"] = until
    if to_digest:
        values["digest"] = True
    with get_engine(db_url).begin() as conn:
        conn.execute(update(ALERTS).where(ALERTS.c.id == alert_id).values(**values))


def sent_since(db_url: str, topic: str, target: str, since: datetime) -> int:
    """Immediate alerts of a topic sent to a target since `since` (for max_per_hour)."""
    with get_engine(db_url).connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    ALERTS.c.topic == topic,
                    ALERTS.c.target == target,
                    ALERTS.c.status == "sent",
                    ALERTS.c.digest.is_(False),
                    ALERTS.c.sent_at >= since,
                )
            ).scalar_one()
        )


def count_pending_alerts(db_url: str) -> int:
    with get_engine(db_url).connect() as conn:
        return len(conn.execute(select(ALERTS.c.id).where(ALERTS.c.status == "pending")).all())


def alerts_with_article(*extra: Any) -> Any:
    """SELECT of alerts with their article's URL and title (article_url, article_title), and any
    `extra` columns: what `newswatch alerts` lists (list_alerts) and `newswatch export alerts`
    writes (storage.archive). Without WHERE, ORDER BY or LIMIT: each caller adds its own."""
    return select(
        ALERTS.c.id,
        ALERTS.c.topic,
        ALERTS.c.match_id,
        ALERTS.c.article_id,
        ARTICLES.c.url.label("article_url"),
        ARTICLES.c.title.label("article_title"),
        ALERTS.c.target,
        ALERTS.c.target_label,
        ALERTS.c.status,
        ALERTS.c.digest,
        ALERTS.c.attempts,
        ALERTS.c.last_error,
        ALERTS.c.created_at,
        ALERTS.c.sent_at,
        *extra,
    ).select_from(ALERTS.join(ARTICLES, ARTICLES.c.id == ALERTS.c.article_id))


def list_alerts(db_url: str, statuses: Sequence[str] | None = None, limit: int = 100) -> list[AlertRow]:
    """The newest alerts (optionally of some statuses), for `newswatch alerts`."""
    query = alerts_with_article(ALERTS.c.next_attempt_at).order_by(ALERTS.c.id.desc()).limit(limit)
    if statuses:
        query = query.where(ALERTS.c.status.in_(list(statuses)))
    with get_engine(db_url).connect() as conn:
        return [
            from_row(AlertRow, dict(r, title=r["article_title"], url=r["article_url"]))
            for r in conn.execute(query).mappings()
        ]


def retry_alerts(db_url: str, ids: Sequence[int] | None = None) -> int:
    """Put dead alerts (these, or all) back in the queue with a fresh attempt count."""
    query = update(ALERTS).where(ALERTS.c.status == "dead")
    if ids:
        query = query.where(ALERTS.c.id.in_(list(ids)))
    with get_engine(db_url).begin() as conn:
        return int(
            conn.execute(query.values(status="pending", attempts=0, next_attempt_at=None, claimed_until=None)).rowcount
        )
