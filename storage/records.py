"""The records every stage shares with storage: what goes in (ArticleRecord, MatchRecord,
SourceUpdate, Target), what comes out (StoredArticle, AlertToSend, the *Row views), and the facts
storage hands to the alert rule (StoryFacts, AlertRule). Plain dataclasses, no queries: a stage
that only passes records around imports this module, not the repository."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

# --- sources ---------------------------------------------------------------------------------------


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


# --- articles --------------------------------------------------------------------------------------


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
    vector: bytes | None = None  # int8 (tasks.semantic.pack), by vector_model
    vector_model: str | None = None
    declared_language: str | None = None  # what the page or feed said, where the text overruled it


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
    vector: bytes | None = None  # as ArticleRecord's
    vector_model: str | None = None


@dataclass(frozen=True)
class KnownArticle:
    id: int
    source_id: int
    summary: str | None
    content_hash: str | None
    revision: int


@dataclass
class InsertOutcome:
    ids: list[int | None] = field(default_factory=list)  # per record: its new id, or None if dropped
    # Records the database refused for their own values (index of the record: the reason), each
    # alone: the other records of the batch are stored all the same.
    rejected: dict[int, str] = field(default_factory=dict)

    @property
    def new_ids(self) -> list[int]:
        return [i for i in self.ids if i is not None]

    @property
    def conflicts(self) -> int:
        return self.ids.count(None) - len(self.rejected)


# --- stories ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoryRow:
    story_id: int
    title: str
    url: str
    first_seen: datetime
    articles: int
    outlets: list[str]
    topics: list[str]


# --- matches and the alert rule --------------------------------------------------------------------


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
    # Per group of terms that fired (@means), the text it matched: the match's indicators.
    indicators: dict[str, list[str]] = field(default_factory=dict)


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
    indicators: dict[str, list[str]] = field(default_factory=dict)  # as MatchRecord's


@dataclass(frozen=True)
class StoryFacts:
    """What storage knows, inside save_matches's transaction, about a new match's place in its story.

    story_id: the article's story (None: not in a story).
    first_for_topic: this match claimed its (topic, story): it inserted the unique story_topics row,
        so no earlier match of the topic is in the story.
    outlet_carried_before: asks the database whether another article of the story from the same
        outlet already matched the topic; a query, so the rule calls it only when it needs to know.
    """

    story_id: int | None
    first_for_topic: bool
    outlet_carried_before: Callable[[], bool]


# Whether a new match of a topic (the str) writes alerts, given its story facts: the product rule
# (tasks/matching/rules.py), passed to storage.repository.save_matches by the matching stage.
AlertRule = Callable[[str, StoryFacts], bool]


# --- alerts ----------------------------------------------------------------------------------------


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
    indicators: dict[str, list[str]] = field(default_factory=dict)  # its match's (MatchRecord.indicators)


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


# --- judgments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgmentRow:
    """An analyst's judgment of an alert: was its article relevant to its topic. One per (topic,
    article): an alert sent to two targets is judged once; `alert_id` is the alert last marked."""

    alert_id: int
    topic: str
    article_id: int
    relevant: bool
    note: str | None
    judged_by: str
    judged_at: datetime


@dataclass(frozen=True)
class AlertOutcome:
    """A topic's alert on an article (its alerts to every target, as one) and how it was judged."""

    topic: str
    article_id: int
    created_at: datetime  # the first of its alerts
    sent: bool  # one of its alerts was sent
    relevant: bool | None  # None: not judged


@dataclass(frozen=True)
class JudgedArticle:
    """A judged alert's article, as `newswatch alerts export-labelled` writes it."""

    topic: str
    article_id: int
    alert_id: int
    relevant: bool
    note: str | None
    judged_by: str
    judged_at: datetime
    title: str
    text: str
    language: str | None
    url: str
    source_name: str


__all__ = [
    "AlertOutcome",
    "AlertRow",
    "AlertRule",
    "AlertToSend",
    "ArticleRecord",
    "InsertOutcome",
    "JudgedArticle",
    "JudgmentRow",
    "KnownArticle",
    "MatchRecord",
    "MatchRow",
    "SourceHealthRow",
    "SourceState",
    "SourceUpdate",
    "StoredArticle",
    "StoryFacts",
    "StoryRow",
    "Target",
]
