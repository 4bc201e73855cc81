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
from storage.records import AlertRow, AlertToSend
from storage.repository.helpers import AL, A, M, S, from_row
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
        AL.c.status == "pending",
        or_(AL.c.claimed_until.is_(None), AL.c.claimed_until < now),
        or_(AL.c.next_attempt_at.is_(None), AL.c.next_attempt_at <= now),
    )
    claimed: list[AlertToSend] = []
    engine = get_engine(db_url)
    query = select(AL.c.id).where(claimable, AL.c.digest == digest, AL.c.target.in_(list(target_keys)))
    if topics is not None:
        query = query.where(AL.c.topic.in_(list(topics)))
    if limit is not None:
        query = query.limit(limit * 4)  # a few spares, for those another run takes first
    with engine.connect() as conn:
        candidates = conn.execute(query.order_by(AL.c.id)).scalars().all()
    for alert_id in candidates:
        if limit is not None and len(claimed) >= limit:
            break
        with engine.begin() as conn:
            taken = conn.execute(
                update(AL).where(AL.c.id == alert_id, claimable).values(claimed_until=now + lease)
            ).rowcount
        if taken == 1:
            claimed.append(_alert_to_send(engine, alert_id))
    return claimed


def _alert_to_send(engine: Engine, alert_id: int) -> AlertToSend:
    with engine.connect() as conn:
        r = (
            conn.execute(
                select(
                    AL.c.id,
                    AL.c.target,
                    AL.c.topic,
                    AL.c.attempts,
                    M.c.terms,
                    M.c.words,
                    M.c.hit_sentence,
                    M.c.hit_field,
                    A.c.title,
                    A.c.url,
                    A.c.published_at,
                    AL.c.article_id,
                    A.c.story_id,
                    S.c.name.label("source_name"),
                )
                .join(M, M.c.id == AL.c.match_id)
                .join(A, A.c.id == AL.c.article_id)
                .join(S, S.c.id == A.c.source_id)
                .where(AL.c.id == alert_id)
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
    values: dict[str, object] = {"claimed_until": None, "attempts": AL.c.attempts + 1}
    if error is None:
        values.update(status="sent", sent_at=now_utc(), last_error=None, next_attempt_at=None)
    else:
        values.update(last_error=error[:2000], next_attempt_at=retry_at, status="dead" if dead else "pending")
    with get_engine(db_url).begin() as conn:
        conn.execute(update(AL).where(AL.c.id == alert_id).values(**values))


def postpone_alert(db_url: str, alert_id: int, until: datetime | None = None, to_digest: bool = False) -> None:
    """Release a claimed alert without an attempt: until quiet hours end, or into the digest."""
    values: dict[str, object] = {"claimed_until": None}
    if until is not None:
        values["next_attempt_at"] = until
    if to_digest:
        values["digest"] = True
    with get_engine(db_url).begin() as conn:
        conn.execute(update(AL).where(AL.c.id == alert_id).values(**values))


def sent_since(db_url: str, topic: str, target: str, since: datetime) -> int:
    """Immediate alerts of a topic sent to a target since `since` (for max_per_hour)."""
    with get_engine(db_url).connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    AL.c.topic == topic,
                    AL.c.target == target,
                    AL.c.status == "sent",
                    AL.c.digest.is_(False),
                    AL.c.sent_at >= since,
                )
            ).scalar_one()
        )


def count_pending_alerts(db_url: str) -> int:
    with get_engine(db_url).connect() as conn:
        return len(conn.execute(select(AL.c.id).where(AL.c.status == "pending")).all())


def alerts_with_article(*extra: Any) -> Any:
    """SELECT of alerts with their article's URL and title (article_url, article_title), and any
    `extra` columns: what `newswatch alerts` lists (list_alerts) and `newswatch export alerts`
    writes (storage.archive). Without WHERE, ORDER BY or LIMIT: each caller adds its own."""
    return select(
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
        *extra,
    ).select_from(AL.join(A, A.c.id == AL.c.article_id))


def list_alerts(db_url: str, statuses: Sequence[str] | None = None, limit: int = 100) -> list[AlertRow]:
    """The newest alerts (optionally of some statuses), for `newswatch alerts`."""
    query = alerts_with_article(AL.c.next_attempt_at).order_by(AL.c.id.desc()).limit(limit)
    if statuses:
        query = query.where(AL.c.status.in_(list(statuses)))
    with get_engine(db_url).connect() as conn:
        return [
            from_row(AlertRow, dict(r, title=r["article_title"], url=r["article_url"]))
            for r in conn.execute(query).mappings()
        ]


def retry_alerts(db_url: str, ids: Sequence[int] | None = None) -> int:
    """Put dead alerts (these, or all) back in the queue with a fresh attempt count."""
    query = update(AL).where(AL.c.status == "dead")
    if ids:
        query = query.where(AL.c.id.in_(list(ids)))
    with get_engine(db_url).begin() as conn:
        return int(
            conn.execute(query.values(status="pending", attempts=0, next_attempt_at=None, claimed_until=None)).rowcount
        )
