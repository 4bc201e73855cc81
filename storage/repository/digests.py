"""Digests: when each (topic, target) last got one, and the alerts waiting for the next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update

from storage.clock import now_utc
from storage.db import dialect_insert, get_engine
from storage.repository.helpers import AL, DG


def last_digest_at(db_url: str, topic: str, target: str) -> datetime | None:
    with get_engine(db_url).connect() as conn:
        return conn.execute(
            select(func.max(DG.c.sent_at)).where(DG.c.topic == topic, DG.c.target == target)
        ).scalar_one_or_none()


def mark_digest_sent(db_url: str, topic: str, target: str, alert_ids: Sequence[int]) -> None:
    """The digest went out: its alerts are sent and the digest recorded, in one transaction."""
    now = now_utc()
    with get_engine(db_url).begin() as conn:
        conn.execute(
            update(AL)
            .where(AL.c.id.in_(list(alert_ids)))
            .values(status="sent", sent_at=now, claimed_until=None, last_error=None, attempts=AL.c.attempts + 1)
        )
        conn.execute(dialect_insert(conn, DG).values(topic=topic, target=target, sent_at=now, stories=len(alert_ids)))


def digest_topics(db_url: str, target: str) -> list[str]:
    """Topics with stories waiting for a digest to this target."""
    with get_engine(db_url).connect() as conn:
        return list(
            conn.execute(
                select(AL.c.topic)
                .where(AL.c.target == target, AL.c.status == "pending", AL.c.digest.is_(True))
                .distinct()
                .order_by(AL.c.topic)
            ).scalars()
        )
