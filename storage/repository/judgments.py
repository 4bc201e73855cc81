"""Judgments: an analyst's word on an alert, relevant or not (`newswatch alerts mark`), what the
weekly report counts (`newswatch topics report`) and what `newswatch alerts export-labelled` writes.

A judgment is about the article and the topic: the alerts of one match to several targets are
judged once (one row per (topic, article)); marking any of them again replaces the judgment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from storage.clock import aware, now_utc
from storage.db import dialect_insert, get_engine, write
from storage.models import ALERTS, ARTICLES, JUDGMENTS, SOURCES
from storage.records import AlertOutcome, JudgedArticle, JudgmentRow


def judge_alert(db_url: str, alert_id: int, relevant: bool, note: str | None, by: str) -> JudgmentRow | None:
    """Record (or replace) the judgment of this alert's (topic, article); None when there is no such alert."""
    now = now_utc()

    def work(conn: Connection) -> JudgmentRow | None:
        alert = conn.execute(select(ALERTS.c.topic, ALERTS.c.article_id).where(ALERTS.c.id == alert_id)).one_or_none()
        if alert is None:
            return None
        values = {"alert_id": alert_id, "relevant": relevant, "note": note, "judged_by": by, "judged_at": now}
        stmt = dialect_insert(conn, JUDGMENTS).values(topic=alert.topic, article_id=alert.article_id, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["topic", "article_id"], set_=values))
        return JudgmentRow(alert_id, alert.topic, alert.article_id, relevant, note, by, now)

    return write(db_url, work)


def alert_outcomes(db_url: str, since: datetime, topic: str | None = None) -> list[AlertOutcome]:
    """Every (topic, article) alerted since `since` (any status), with whether one of its alerts
    was sent and its judgment, oldest first."""
    judged = (JUDGMENTS.c.topic == ALERTS.c.topic) & (JUDGMENTS.c.article_id == ALERTS.c.article_id)
    query = (
        select(ALERTS.c.topic, ALERTS.c.article_id, ALERTS.c.created_at, ALERTS.c.status, JUDGMENTS.c.relevant)
        .select_from(ALERTS.outerjoin(JUDGMENTS, judged))
        .where(ALERTS.c.created_at >= since)
        .order_by(ALERTS.c.created_at, ALERTS.c.id)
    )
    if topic is not None:
        query = query.where(ALERTS.c.topic == topic)
    outcomes: dict[tuple[str, int], AlertOutcome] = {}
    with get_engine(db_url).connect() as conn:
        for r in conn.execute(query):
            key = (r.topic, r.article_id)
            first = outcomes.get(key)
            sent = r.status == "sent" or (first is not None and first.sent)
            created = first.created_at if first is not None else aware(r.created_at)
            assert created is not None
            outcomes[key] = AlertOutcome(r.topic, r.article_id, created, sent, r.relevant)
    return list(outcomes.values())


def judged_articles(db_url: str, topic: str | None = None) -> list[JudgedArticle]:
    """The judged alerts' articles (of one topic, or all), in the order they were judged."""
    query = (
        select(
            JUDGMENTS.c.topic,
            JUDGMENTS.c.article_id,
            JUDGMENTS.c.alert_id,
            JUDGMENTS.c.relevant,
            JUDGMENTS.c.note,
            JUDGMENTS.c.judged_by,
            JUDGMENTS.c.judged_at,
            ARTICLES.c.title,
            ARTICLES.c.text,
            ARTICLES.c.language,
            ARTICLES.c.url,
            SOURCES.c.name.label("source_name"),
        )
        .select_from(
            JUDGMENTS.join(ARTICLES, ARTICLES.c.id == JUDGMENTS.c.article_id).join(
                SOURCES, SOURCES.c.id == ARTICLES.c.source_id
            )
        )
        .order_by(JUDGMENTS.c.judged_at, JUDGMENTS.c.id)
    )
    if topic is not None:
        query = query.where(JUDGMENTS.c.topic == topic)
    with get_engine(db_url).connect() as conn:
        return [JudgedArticle(**{**r, "judged_at": aware(r["judged_at"])}) for r in conn.execute(query).mappings()]
