"""Reads and writes for the pipeline. Every write that could race another run is an
INSERT ... ON CONFLICT DO NOTHING or a conditional UPDATE, on SQLite and PostgreSQL alike,
and returns only what this call really changed."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from storage.clock import now_utc
from storage.db import get_engine, write
from storage.models import Alert, Article, ArticleRevision, Digest, Match, Source, StoryTopic

A = Article.__table__  # type: ignore[attr-defined]
M = Match.__table__  # type: ignore[attr-defined]
AL = Alert.__table__  # type: ignore[attr-defined]
S = Source.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ArticleRecord:
    """An article ready to store (built by the ingest stage)."""

    source_id: int
    canonical_url: str
    url: str
    guid: str | None
    title: str
    author: str | None
    published_at: datetime | None
    language: str | None
    summary: str | None
    text: str
    content_hash: str | None
    text_origin: str
    text_note: str | None = None
    signature: bytes | None = None


@dataclass(frozen=True)
class StoredArticle:
    id: int
    source_name: str
    source_tags: list[str]
    url: str
    title: str
    author: str | None
    published_at: datetime | None
    language: str | None
    text: str
    fetched_at: datetime | None = None
    source_id: int = 0
    story_id: int | None = None


@dataclass(frozen=True)
class MatchRecord:
    topic: str
    article_id: int
    terms: list[str]
    words: list[str]
    hit_sentence: str
    hit_field: str
    spans: list[list[object]] = field(default_factory=list)  # [field, start, end, clause]
    sentences: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertToSend:
    id: int
    target: str
    topic: str
    terms: list[str]
    words: list[str]
    hit_sentence: str
    hit_field: str
    title: str
    url: str
    source_name: str
    published_at: datetime | None
    attempts: int
    article_id: int = 0
    story_id: int | None = None
    also: tuple[str, ...] = ()  # other outlets carrying the story (filled by the sender)


@dataclass
class InsertOutcome:
    ids: list[int | None] = field(default_factory=list)  # per record: its new id, or None if dropped

    @property
    def new_ids(self) -> list[int]:
        return [i for i in self.ids if i is not None]

    @property
    def conflicts(self) -> int:
        return self.ids.count(None)


T = TypeVar("T")


def _build(cls: type[T], row: Any) -> T:
    """A dataclass from a result row whose column labels are the dataclass's field names
    (fields the row lacks keep their defaults)."""
    return cls(**{f.name: row[f.name] for f in fields(cls) if f.name in row})  # type: ignore[arg-type]


def _insert(conn: Connection, table: Any) -> Any:
    """INSERT with the dialect's ON CONFLICT clause available (both dialects spell it alike)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def upsert_sources(db_url: str, sources: Iterable[tuple[str, str, list[str]]]) -> dict[str, int]:
    """Make sure each (name, url, tags) has a row; returns name -> id. The name is the key.

    Only new or changed sources are written: on a steady list this takes no row lock at all, so it
    never waits on (or deadlocks with) another run that is recording its fetch results."""
    wanted = {name: (url, list(tags)) for name, url, tags in sources}

    def work(conn: Connection) -> dict[str, int]:
        stored = {r.name: r for r in conn.execute(select(S.c.name, S.c.id, S.c.url, S.c.tags))}
        rows = [
            {"name": name, "url": url, "tags": tags, "created_at": now_utc()}
            for name, (url, tags) in sorted(wanted.items())  # one lock order for every run
            if name not in stored or (stored[name].url, stored[name].tags) != (url, tags)
        ]
        if not rows:
            return {name: r.id for name, r in stored.items()}
        stmt = _insert(conn, S)
        conn.execute(  # one executemany: a statement per source cost 0.1 s per 1,000
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={"url": stmt.excluded.url, "tags": stmt.excluded.tags}
            ),
            rows,
        )
        return {row.name: row.id for row in conn.execute(select(S.c.name, S.c.id))}

    return write(db_url, work)


@dataclass(frozen=True)
class KnownArticle:
    id: int
    source_id: int
    summary: str | None
    content_hash: str | None
    revision: int


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
                A.c.canonical_url, A.c.guid, A.c.id, A.c.source_id, A.c.summary, A.c.content_hash, A.c.revision
            ).where(
                or_(
                    A.c.canonical_url.in_(list(canonical_urls)),
                    and_(A.c.source_id == source_id, A.c.guid.in_(list(guids))),
                )
            )
        ).mappings()
        known: dict[str, KnownArticle] = {}
        for r in rows:
            article = _build(KnownArticle, r)
            known[r["canonical_url"]] = article
            if r["guid"]:
                known[r["guid"]] = article
        return known


AR = ArticleRevision.__table__  # type: ignore[attr-defined]


def revise_article(db_url: str, article: KnownArticle, record: ArticleRecord) -> bool:
    """The page at a stored URL changed its text: keep the old text as a revision, store the
    new one, and have it matched again (matches are unique per topic, so only topics it did not
    match before can alert). False when the new text is another stored article's."""
    try:
        with get_engine(db_url).begin() as conn:
            old = conn.execute(select(A.c.title, A.c.text, A.c.content_hash).where(A.c.id == article.id)).one()
            conn.execute(
                _insert(conn, AR).values(
                    article_id=article.id,
                    revision=article.revision,
                    title=old[0],
                    text=old[1],
                    content_hash=old[2],
                    fetched_at=now_utc(),
                )
            )
            changed = conn.execute(
                update(A)
                .where(A.c.id == article.id, A.c.revision == article.revision)  # one run revises it, once
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
            stmt = _insert(conn, A).values(**values).on_conflict_do_nothing().returning(A.c.id)
            ids[i] = conn.execute(stmt).scalar()
        return InsertOutcome(ids=ids)

    return write(db_url, work)


@dataclass(frozen=True)
class SourceState:
    """What the fetcher needs to know about a source from earlier runs."""

    id: int
    name: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_attempt_at: datetime | None
    consecutive_failures: int
    paused_at: datetime | None
    pause_notified_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class SourceUpdate:
    """A source's state after a fetch, computed by the health stage; written as is."""

    last_fetched_at: datetime
    next_attempt_at: datetime
    consecutive_failures: int
    last_error: str | None
    last_success_at: datetime | None = None  # None: keep the stored one
    paused_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_new_at: datetime | None = None  # None: keep the stored one


def source_states(db_url: str) -> dict[str, SourceState]:
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(*(S.c[f.name] for f in fields(SourceState)))).mappings()
        return {r["name"]: _build(SourceState, r) for r in rows}


def record_source_result(db_url: str, source_id: int, change: SourceUpdate) -> None:
    record_source_results(db_url, [(source_id, change)])


def record_source_results(db_url: str, changes: Sequence[tuple[int, SourceUpdate]]) -> None:
    """Several sources' fetch results in one transaction (a quiet run of thousands of sources
    spent most of its time committing one row at a time)."""

    def work(conn: Connection) -> None:
        for source_id, change in sorted(changes, key=lambda c: c[0]):  # one lock order for every run
            values = {k: v for k, v in change.__dict__.items() if v is not None or k in _NULLABLE_UPDATES}
            if change.paused_at is None:
                values["pause_notified_at"] = None  # a source that works again may be paused, and told, anew
            conn.execute(update(S).where(S.c.id == source_id).values(**values))

    write(db_url, work)


# Fields of SourceUpdate whose None is written (cleared), not skipped.
_NULLABLE_UPDATES = {"last_error", "paused_at", "etag", "last_modified", "body_hash"}


def mark_pause_notified(db_url: str, source_id: int) -> None:
    with get_engine(db_url).begin() as conn:
        conn.execute(update(S).where(S.c.id == source_id).values(pause_notified_at=now_utc()))


@dataclass(frozen=True)
class SourceHealthRow:
    name: str
    url: str
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_attempt_at: datetime | None
    paused_at: datetime | None
    last_new_at: datetime | None
    recent_published: list[datetime]  # publication (else fetch) times of its newest articles, newest first


def source_health(db_url: str, recent: int = 20) -> list[SourceHealthRow]:
    """Every known source with its health and the times of its newest articles (its rhythm)."""
    with get_engine(db_url).connect() as conn:
        sources = conn.execute(select(S).order_by(S.c.name)).mappings().all()
        times: dict[int, list[datetime]] = {}
        for source_id, at in conn.execute(newest_per_source(conn.dialect.name, recent)):
            times.setdefault(source_id, []).append(at)
    return [
        SourceHealthRow(
            **{f.name: s[f.name] for f in fields(SourceHealthRow) if f.name in s},
            recent_published=times.get(s["id"], []),
        )
        for s in sources
    ]


def newest_per_source(dialect: str, recent: int) -> Any:
    """(source_id, time) of each source's `recent` newest articles, newest first, in one query that
    walks ix_articles_source_recent per source: its cost does not grow with the archive (a window
    over all articles took 1.4 s at 500,000 on SQLite). PostgreSQL spells it LATERAL; SQLite has no
    LATERAL, and PostgreSQL cannot run SQLite's correlated IN in time (minutes at 500,000)."""
    newest = A.alias("newest")
    when = func.coalesce(newest.c.published_at, newest.c.fetched_at)
    top = select(when.label("at") if dialect == "postgresql" else newest.c.id)
    top = top.where(newest.c.source_id == S.c.id).order_by(when.desc()).limit(recent)
    if dialect == "postgresql":
        lateral = top.lateral("top")
        return select(S.c.id, lateral.c.at).select_from(S.join(lateral, true())).order_by(S.c.id, lateral.c.at.desc())
    at = func.coalesce(A.c.published_at, A.c.fetched_at)
    return select(A.c.source_id, at).select_from(S.join(A, A.c.id.in_(top))).order_by(A.c.source_id, at.desc())


def _stored_articles() -> Any:
    return select(A, S.c.name.label("source_name"), S.c.tags.label("source_tags")).join(S, S.c.id == A.c.source_id)


def unmatched_articles(db_url: str, limit: int) -> list[StoredArticle]:
    """Articles not yet checked against the watchlist, oldest first."""
    with get_engine(db_url).connect() as conn:
        # Only articles whose story is known: "one story, one alert" needs it (tasks/stories/assign.py).
        rows = conn.execute(
            _stored_articles().where(A.c.matched_at.is_(None), A.c.story_id.is_not(None)).order_by(A.c.id).limit(limit)
        )
        return [_build(StoredArticle, r) for r in rows.mappings()]


def articles_since(db_url: str, since: datetime, chunk: int = 500) -> Iterator[StoredArticle]:
    """Every stored article published (or, without a date, fetched) since `since`, oldest
    first, read in chunks so memory stays flat however large the archive."""
    when = func.coalesce(A.c.published_at, A.c.fetched_at)
    last_id = 0
    while True:
        with get_engine(db_url).connect() as conn:
            rows = (
                conn.execute(_stored_articles().where(when >= since, A.c.id > last_id).order_by(A.c.id).limit(chunk))
                .mappings()
                .all()
            )
        if not rows:
            return
        for r in rows:
            yield _build(StoredArticle, r)
        last_id = rows[-1]["id"]


def save_matches(
    db_url: str,
    checked_ids: Sequence[int],
    matches: Sequence[MatchRecord],
    targets: Mapping[str, Sequence[Target]],
    alert_status: str = "pending",
    digest_topics: Collection[str] = (),
    stories: Mapping[int, int | None] | None = None,
    followup_topics: Collection[str] = (),
) -> list[int]:
    """In one transaction: store the matches, write one alert per (new match, target of its
    topic) into the outbox, and mark the checked articles as matched. Returns the ids of new
    matches. Alerts of `digest_topics` wait for the digest instead of going out at once."""
    now = now_utc()

    def work(conn: Connection) -> list[int]:
        new_ids: list[int] = []
        for m in sorted(matches, key=lambda m: m.article_id):  # one lock order for every run (stable)
            stmt = _insert(conn, M).values(
                topic=m.topic,
                article_id=m.article_id,
                terms=m.terms,
                words=m.words,
                hit_sentence=m.hit_sentence,
                hit_field=m.hit_field,
                spans=m.spans,
                sentences=m.sentences,
                created_at=now,
            )
            match_id = conn.execute(stmt.on_conflict_do_nothing().returning(M.c.id)).scalar()
            if match_id is None:
                continue  # another run matched it first, and wrote its alerts
            new_ids.append(match_id)
            if not _alerts_for(conn, m, match_id, stories, followup_topics):
                continue  # a later copy of a story already alerted: it only joins the story
            for t in targets.get(m.topic, ()):
                alert = _insert(conn, AL).values(
                    match_id=match_id,
                    topic=m.topic,
                    article_id=m.article_id,
                    target=t.key,
                    target_label=t.label,
                    status=alert_status,
                    digest=m.topic in digest_topics,
                    attempts=0,
                    created_at=now,
                )
                conn.execute(alert.on_conflict_do_nothing())
        if checked_ids:
            conn.execute(update(A).where(A.c.id.in_(list(checked_ids))).values(matched_at=now))
        return new_ids

    return write(db_url, work)


def _alerts_for(
    conn: Connection,
    m: MatchRecord,
    match_id: int,
    stories: Mapping[int, int | None] | None,
    followup_topics: Collection[str],
) -> bool:
    """Whether this match alerts: the first match of its (topic, story) does, claimed by a
    unique row; a later copy does only as a follow-up, when its topic asks for follow-ups and
    the copy comes from an outlet that had not carried the story for this topic."""
    story = (stories or {}).get(m.article_id)
    if story is None:
        return True
    first = conn.execute(
        _insert(conn, ST)
        .values(topic=m.topic, story_id=story, match_id=match_id, created_at=now_utc())
        .on_conflict_do_nothing()
        .returning(ST.c.id)
    ).scalar()
    if first is not None:
        return True
    if m.topic not in followup_topics:
        return False
    source = select(A.c.source_id).where(A.c.id == m.article_id).scalar_subquery()
    seen = conn.execute(
        select(func.count())
        .select_from(M.join(A, A.c.id == M.c.article_id))
        .where(M.c.topic == m.topic, A.c.story_id == story, A.c.id != m.article_id, A.c.source_id == source)
    ).scalar_one()
    return int(seen) == 0


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


def _alert_to_send(engine, alert_id: int) -> AlertToSend:  # type: ignore[no-untyped-def]
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
    return replace(_build(AlertToSend, r), also=also)


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


@dataclass(frozen=True)
class MatchRow:
    topic: str
    title: str
    url: str
    source_name: str
    published_at: datetime | None
    hit_sentence: str
    words: list[str]
    terms: list[str]
    story_id: int | None = None


def match_rows(db_url: str, match_ids: Sequence[int]) -> list[MatchRow]:
    if not match_ids:
        return []
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(
                M.c.topic,
                A.c.title,
                A.c.url,
                S.c.name.label("source_name"),
                A.c.published_at,
                M.c.hit_sentence,
                M.c.words,
                M.c.terms,
                A.c.story_id,
            )
            .join(A, A.c.id == M.c.article_id)
            .join(S, S.c.id == A.c.source_id)
            .where(M.c.id.in_(list(match_ids)))
            .order_by(M.c.topic, A.c.published_at.desc())
        ).mappings()
        return [_build(MatchRow, r) for r in rows]


@dataclass(frozen=True)
class AlertRow:
    id: int
    topic: str
    title: str
    url: str
    target_label: str
    status: str
    digest: bool
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


def list_alerts(db_url: str, statuses: Sequence[str] | None = None, limit: int = 100) -> list[AlertRow]:
    """The newest alerts (optionally of some statuses), for `newswatch alerts`."""
    query = (
        select(
            AL.c.id,
            AL.c.topic,
            A.c.title,
            A.c.url,
            AL.c.target_label,
            AL.c.status,
            AL.c.digest,
            AL.c.attempts,
            AL.c.last_error,
            AL.c.created_at,
            AL.c.sent_at,
            AL.c.next_attempt_at,
        )
        .join(A, A.c.id == AL.c.article_id)
        .order_by(AL.c.id.desc())
        .limit(limit)
    )
    if statuses:
        query = query.where(AL.c.status.in_(list(statuses)))
    with get_engine(db_url).connect() as conn:
        return [_build(AlertRow, r) for r in conn.execute(query).mappings()]


def retry_alerts(db_url: str, ids: Sequence[int] | None = None) -> int:
    """Put dead alerts (these, or all) back in the queue with a fresh attempt count."""
    query = update(AL).where(AL.c.status == "dead")
    if ids:
        query = query.where(AL.c.id.in_(list(ids)))
    with get_engine(db_url).begin() as conn:
        return int(
            conn.execute(query.values(status="pending", attempts=0, next_attempt_at=None, claimed_until=None)).rowcount
        )


DG = Digest.__table__  # type: ignore[attr-defined]


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
        conn.execute(_insert(conn, DG).values(topic=topic, target=target, sent_at=now, stories=len(alert_ids)))


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


ST = StoryTopic.__table__  # type: ignore[attr-defined]


def articles_without_story(db_url: str, limit: int) -> list[tuple[int, bytes | None]]:
    """(id, signature) of stored articles not yet put in a story, oldest first."""
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(
            select(A.c.id, A.c.signature).where(A.c.story_id.is_(None)).order_by(A.c.id).limit(limit)
        ).all()
    return [(r[0], r[1]) for r in rows]


def story_signatures(db_url: str, since: datetime) -> Iterator[tuple[int, int, bytes]]:
    """(article_id, story_id, signature) of the articles fetched since `since`: what the story
    index holds."""
    last_id = 0
    while True:
        with get_engine(db_url).connect() as conn:
            rows = conn.execute(
                select(A.c.id, A.c.story_id, A.c.signature)
                .where(A.c.fetched_at >= since, A.c.story_id.is_not(None), A.c.signature.is_not(None))
                .where(A.c.id > last_id)
                .order_by(A.c.id)
                .limit(2000)
            ).all()
        if not rows:
            return
        yield from ((article_id, story_id, signature) for article_id, story_id, signature in rows)
        last_id = rows[-1][0]


def set_stories(db_url: str, assignments: Sequence[tuple[int, int]]) -> None:
    """Put articles in stories: (article_id, story_id) pairs, in one transaction."""
    if not assignments:
        return
    statement = (
        update(A)
        .where(A.c.id == bindparam("article_id"), A.c.story_id.is_(None))
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
            select(S.c.name, func.min(A.c.id).label("first"))
            .join(S, S.c.id == A.c.source_id)
            .where(A.c.story_id == story_id)
            .group_by(S.c.name)
            .order_by("first")
        ).all()
        own = None
        if except_article is not None:
            own = conn.execute(
                select(S.c.name).join(A, A.c.source_id == S.c.id).where(A.c.id == except_article)
            ).scalar_one_or_none()
    return [name for name, _ in rows if name != own]


@dataclass(frozen=True)
class StoryRow:
    story_id: int
    title: str
    url: str
    first_seen: datetime
    articles: int
    outlets: list[str]
    topics: list[str]


def recent_stories(db_url: str, since: datetime, limit: int = 50) -> list[StoryRow]:
    """Stories with an article fetched since `since`, newest first, with their outlets and topics."""
    with get_engine(db_url).connect() as conn:
        ids = conn.execute(
            select(A.c.story_id, func.max(A.c.fetched_at).label("last"))
            .where(A.c.fetched_at >= since, A.c.story_id.is_not(None))
            .group_by(A.c.story_id)
            .order_by(func.max(A.c.fetched_at).desc())
            .limit(limit)
        ).all()
        stories = []
        for story_id, _ in ids:
            first = (
                conn.execute(select(A.c.title, A.c.url, A.c.fetched_at).where(A.c.id == story_id)).one_or_none()
                or conn.execute(
                    select(A.c.title, A.c.url, A.c.fetched_at).where(A.c.story_id == story_id).order_by(A.c.id).limit(1)
                ).one()
            )
            count = conn.execute(select(func.count()).where(A.c.story_id == story_id)).scalar_one()
            topics = (
                conn.execute(select(ST.c.topic).where(ST.c.story_id == story_id).order_by(ST.c.topic)).scalars().all()
            )
            stories.append(
                StoryRow(
                    story_id, first[0], first[1], first[2], int(count), story_outlets(db_url, story_id), list(topics)
                )
            )
    return stories


def articles_by_id(db_url: str, ids: Sequence[int]) -> list[StoredArticle]:
    if not ids:
        return []
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(_stored_articles().where(A.c.id.in_(list(ids))).order_by(A.c.id)).mappings()
        return [_build(StoredArticle, r) for r in rows]


def article_topics(db_url: str, article_id: int) -> set[str]:
    with get_engine(db_url).connect() as conn:
        return set(conn.execute(select(M.c.topic).where(M.c.article_id == article_id)).scalars())
