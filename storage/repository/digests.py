"""Digests: when each (topic, target) last got one, and the alerts waiting for the next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update

from storage.clock import now_utc
from storage.db import dialect_insert, get_engine
from storage.models import ALERTS, DIGESTS


def last_digest_at(db_url: str, topic: str, target: str) -> datetime | None:
    with get_engine(db_url).connect() as conn:
        return conn.execute(
            select(func.max(DIGESTS.c.sent_at)).where(DIGESTS.c.topic == topic, DIGESTS.c.target == target)
        ).scalar_one_or_none()


def mark_digest_sent(db_url: str, topic: str, target: str, alert_ids: Sequence[int]) -> None:
    """The digest went out: its alerts are sent and the digest recorded, in one transaction."""
    now = now_utc()
    with get_engine(db_url).begin() as conn:
        conn.execute(
            update(ALERTS)
            .where(ALERTS.c.id.in_(list(alert_ids)))
            .values(status="sent", sent_at=now, claimed_until=None, last_error=None, attempts=ALERTS.c.attempts + 1)
        )
        conn.execute(
            dialect_insert(conn, DIGESTS).values(topic=topic, target=target, sent_at=now, stories=len(alert_ids))
        )


def digest_topics(db_url: str, target: str) -> list[str]:
    """Topics with stories waiting for a digest to this target."""
    with get_engine(db_url).connect() as conn:
        return list(
            conn.execute(
                select(ALERTS.c.topic)
                .where(ALERTS.c.target == target, ALERTS.c.status == "pending", ALERTS.c.digest.is_(True))
                .distinct()
                .order_by(ALERTS.c.topic)
            ).scalars()
        )
