"""Database tables. The database, not the code, enforces what "new" means.

Uniqueness lives in constraints so that two runs at once (two workers, a manual run next to a
scheduled one) can never store the same article, match or alert twice: inserts use
ON CONFLICT DO NOTHING and only the rows that were really inserted go downstream.

Every table is here, and this module imports nothing else of storage but the clock, so anything
in storage may import it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint, func
from sqlmodel import Field, SQLModel

from storage.clock import now_utc

# A value that a unique index holds is at most this many UTF-8 bytes. PostgreSQL's btree refuses an
# index row over 2,704 bytes: one feed entry with a 3,000-character link or GUID failed its batch's
# insert, and so every run while the feed listed it (issue #19). A longer value is stored as its
# first bytes and the SHA-256 of the whole (index_key), which still tells any two values apart.
INDEX_KEY_MAX_BYTES = 1024
_KEY_HASH = " sha256:"


def index_key(value: str) -> str:
    """`value` itself when it fits a unique index, else its head and the SHA-256 of the whole:
    what articles.canonical_url, articles.guid and tombstones.canonical_url store and are looked
    up by."""
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw) <= INDEX_KEY_MAX_BYTES:
        return value
    digest = hashlib.sha256(raw).hexdigest()
    head = raw[: INDEX_KEY_MAX_BYTES - len(_KEY_HASH) - len(digest)].decode("utf-8", "ignore")
    return f"{head}{_KEY_HASH}{digest}"


# Every timestamp is time-zone aware and in UTC (SQLModel refuses naive ones), on both backends.


class Source(SQLModel, table=True):
    __tablename__ = "sources"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    url: str = Field(sa_column=Column(Text, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=now_utc)
    last_fetched_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_failures: int = 0
    # Politeness: validators for conditional GET, and the hash of the last body processed
    # (a server that ignores conditional GET but sends the same bytes costs no parsing).
    etag: str | None = Field(default=None, sa_column=Column(Text))
    last_modified: str | None = Field(default=None, sa_column=Column(Text))
    body_hash: str | None = Field(default=None, max_length=64)
    # When the source is due again: its interval after a success, an exponential backoff
    # (capped at 24 h) after failures, or the server's Retry-After.
    next_attempt_at: datetime | None = None
    paused_at: datetime | None = None  # set after N consecutive failures; cleared by a success
    pause_notified_at: datetime | None = None  # the operators' one notification about the pause
    last_new_at: datetime | None = None  # when the source last gave a new article


class Article(SQLModel, table=True):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("canonical_url", name="uq_articles_canonical_url"),
        UniqueConstraint("source_id", "guid", name="uq_articles_source_guid"),
        UniqueConstraint("content_hash", name="uq_articles_content_hash"),
        Index("ix_articles_unmatched", "matched_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="sources.id", index=True)
    canonical_url: str = Field(sa_column=Column(Text, nullable=False))
    url: str = Field(sa_column=Column(Text, nullable=False))
    guid: str | None = Field(default=None, sa_column=Column(Text))
    title: str = Field(sa_column=Column(Text, nullable=False))
    author: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = None
    fetched_at: datetime = Field(default_factory=now_utc)
    language: str | None = Field(default=None, max_length=20)
    # What the page or feed declared, where the text overruled it (tasks.common.language):
    # NULL when the declaration was kept or there was none.
    declared_language: str | None = Field(default=None, max_length=20)
    summary: str | None = Field(default=None, sa_column=Column(Text))
    text: str = Field(sa_column=Column(Text, nullable=False))
    # SHA-256 of the normalized text; NULL when the text is too short to identify an article
    # (two different stories may share a one-line summary).
    content_hash: str | None = Field(default=None, max_length=64)
    # How `text` was obtained: "page" (extracted from the article page) or "feed" (the feed's
    # summary, because the page could not be fetched or extracted); text_note says why.
    text_origin: str = Field(max_length=10)
    text_note: str | None = Field(default=None, sa_column=Column(Text))
    # NULL until the article has been checked against the watchlist. Matching picks up every
    # unmatched article, so a run that died after storing articles loses none of them.
    matched_at: datetime | None = None
    # Near-duplicate detection: the MinHash signature of the text, and the story the article
    # belongs to (the id of the story's first article); NULL until the story stage ran.
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    story_id: int | None = Field(default=None, index=True)
    revision: int = 1  # bumped when the page at the same URL changes its text
    # Semantic matching (tasks/semantic): the text's embedding as int8 bytes and the model that made it;
    # NULL without a model (the [semantic] extra) and for articles stored before one was installed.
    vector: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    vector_model: str | None = Field(default=None, max_length=100)


class Match(SQLModel, table=True):
    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("topic", "article_id", name="uq_matches_topic_article"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=200, index=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    # The watch terms that fired ("traffick*") and the words they found ("traffickers").
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    words: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hit_sentence: str = Field(sa_column=Column(Text, nullable=False))
    hit_field: str = Field(max_length=10)  # "title" or "text"
    # The explanation: matched spans [field, start, end, clause] and the best hit sentences.
    spans: list[list[object]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sentences: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The indicators: per group of terms that fired (@means), the text it matched ({} without groups).
    indicators: dict[str, list[str]] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=now_utc)


class Alert(SQLModel, table=True):
    """One row per (topic, article, target): the outbox that delivery works from."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("topic", "article_id", "target", name="uq_alerts_topic_article_target"),
        Index("ix_alerts_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="matches.id", index=True)
    topic: str = Field(max_length=200)
    article_id: int = Field(foreign_key="articles.id")
    # A stable, secret-free key for the Apprise target (a hash of its URL) and its
    # privacy-masked form for people: the URL itself may hold a password and never lands here.
    target: str = Field(max_length=80)
    target_label: str = Field(sa_column=Column(Text, nullable=False))
    # pending: to send; sent; dead: gave up after N attempts (retry with `newswatch alerts retry`);
    # dry_run: recorded by a dry run, never sent.
    status: str = Field(default="pending", max_length=12)
    # Delivered in a digest (the topic's mode, or throttled out of immediate delivery).
    digest: bool = False
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    next_attempt_at: datetime | None = None  # backoff after a failure, or the end of quiet hours
    claimed_until: datetime | None = None
    created_at: datetime = Field(default_factory=now_utc)
    sent_at: datetime | None = None


class Judgment(SQLModel, table=True):
    """An analyst's judgment of an alert (`newswatch alerts mark`): was its article relevant to its
    topic. One per (topic, article), the alerts of a match to several targets being judged once;
    marking again replaces it. `alert_id` is the alert last marked."""

    __tablename__ = "judgments"
    __table_args__ = (UniqueConstraint("topic", "article_id", name="uq_judgments_topic_article"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    topic: str = Field(max_length=200)
    article_id: int = Field(foreign_key="articles.id", index=True)
    relevant: bool
    note: str | None = Field(default=None, sa_column=Column(Text))
    judged_by: str = Field(max_length=200)
    judged_at: datetime = Field(default_factory=now_utc)


class Digest(SQLModel, table=True):
    """A digest sent to a target for a topic: when the next one is due is counted from here."""

    __tablename__ = "digests"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=200, index=True)
    target: str = Field(max_length=80, index=True)
    sent_at: datetime = Field(default_factory=now_utc)
    stories: int = 0


class StoryTopic(SQLModel, table=True):
    """One row per (topic, story): whoever inserts it first alerts; later copies of the story
    only attach to it. The database, not the code, makes "one story, one alert" hold."""

    __tablename__ = "story_topics"
    __table_args__ = (UniqueConstraint("topic", "story_id", name="uq_story_topics_topic_story"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=200)
    story_id: int = Field(index=True)
    match_id: int = Field(foreign_key="matches.id")
    created_at: datetime = Field(default_factory=now_utc)


class ArticleRevision(SQLModel, table=True):
    """The earlier texts of an article whose page changed under the same URL."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision", name="uq_article_revisions_article_revision"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    revision: int
    title: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str | None = Field(default=None, max_length=64)
    fetched_at: datetime = Field(default_factory=now_utc)


class Tombstone(SQLModel, table=True):
    """An article that `newswatch prune` removed (storage.archive): never ingested again."""

    __tablename__ = "tombstones"
    __table_args__ = (
        UniqueConstraint("canonical_url", name="uq_tombstones_canonical_url"),
        Index("ix_tombstones_content_hash", "content_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    canonical_url: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str | None = Field(default=None, max_length=64)
    pruned_at: datetime = Field(default_factory=now_utc)


class HostSlot(SQLModel, table=True):
    """A host's politeness state, shared by every process on this database (storage/hostslots.py):
    when the next request to it may start, and the requests in flight (token: lease expiry)."""

    __tablename__ = "host_slots"

    host: str = Field(primary_key=True, max_length=300)
    next_start: float  # seconds since the epoch, on the database's clock
    leases: dict[str, float] = Field(sa_column=Column(JSON, nullable=False))


# The tables as SQLAlchemy Core sees them, for the queries of storage.repository, archive and search.
SOURCES = Source.__table__  # type: ignore[attr-defined]
ARTICLES = Article.__table__  # type: ignore[attr-defined]
REVISIONS = ArticleRevision.__table__  # type: ignore[attr-defined]
MATCHES = Match.__table__  # type: ignore[attr-defined]
ALERTS = Alert.__table__  # type: ignore[attr-defined]
JUDGMENTS = Judgment.__table__  # type: ignore[attr-defined]
DIGESTS = Digest.__table__  # type: ignore[attr-defined]
STORY_TOPICS = StoryTopic.__table__  # type: ignore[attr-defined]
TOMBSTONES = Tombstone.__table__  # type: ignore[attr-defined]
HOST_SLOTS = HostSlot.__table__  # type: ignore[attr-defined]

# A source's newest articles by publication (else fetch) time, read by the health stage every run
# for each source's rhythm: with this index that costs the same at any archive size (migration 0006).
Index(
    "ix_articles_source_recent",
    ARTICLES.c.source_id,
    func.coalesce(ARTICLES.c.published_at, ARTICLES.c.fetched_at),
)
