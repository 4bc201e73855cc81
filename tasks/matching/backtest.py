"""A topic, or a query not yet saved, run against the stored archive without alerting: how
many articles a day it would have matched, how often each group of terms fired (indicators),
with the best examples, so an operator tunes a query before switching it on (`newswatch backtest`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from storage import repository
from storage.clock import aware
from tasks.matching.semantic import Meaning
from tasks.matching.topics import ArticleHit, CompiledTopic, match


@dataclass
class BacktestReport:
    topic: str
    since: str
    scanned: int = 0
    matched: int = 0
    per_day: dict[str, int] = field(default_factory=dict)
    per_indicator: dict[str, int] = field(default_factory=dict)  # group -> matched articles it fired in
    examples: list[ArticleHit] = field(default_factory=list)


def backtest_topic(
    db_url: str, topic: CompiledTopic, since: datetime, examples: int = 10, meaning: Meaning | None = None
) -> BacktestReport:
    """Scan the archive since `since` (streaming: memory stays flat) and count the matches; with
    `meaning`, also those the topic's `semantic:` key adds (the stored vectors, not re-embedded)."""
    report = BacktestReport(topic.name, since.isoformat())
    days: Counter[str] = Counter()
    indicators: Counter[str] = Counter()
    scored: list[tuple[int, ArticleHit]] = []
    for article in repository.articles_since(db_url, since):
        report.scanned += 1
        hit = match(article.title, article.text, topic, article.source_name, article.source_tags, article.language)
        if hit is None and meaning is not None:
            hit = meaning.hit(article.title, article.text, article.language, article)
        if hit is None:
            continue
        report.matched += 1
        when = aware(article.published_at or article.fetched_at)
        day = when.date().isoformat() if when else "unknown"
        days[day] += 1
        indicators.update(hit.indicators.keys())
        scored.append((len(hit.spans), ArticleHit.of(article, hit)))
    report.per_day = dict(sorted(days.items()))
    report.per_indicator = dict(indicators.most_common())
    report.examples = [e for _, e in sorted(scored, key=lambda pair: -pair[0])[:examples]]
    return report


@dataclass
class TopicComparison:
    """A topic as the watchlist has it now against an earlier version, over the same archive:
    the articles the change adds (with why they match now) and removes (with why they matched)."""

    topic: str
    since: str
    scanned: int = 0
    matched_now: int = 0
    matched_before: int = 0
    added: list[ArticleHit] = field(default_factory=list)  # match now, did not before: why now
    removed: list[ArticleHit] = field(default_factory=list)  # matched before, do not now: why before


def compare_topics(db_url: str, now: CompiledTopic, before: CompiledTopic | None, since: datetime) -> TopicComparison:
    """Run both versions of a topic over the archive since `since` (one pass, streaming) and keep
    the articles on which they disagree, newest first. `before` None: the topic is new."""
    report = TopicComparison(now.name, since.isoformat())
    for article in repository.articles_since(db_url, since):
        report.scanned += 1
        args = (article.source_name, article.source_tags, article.language)
        hit_now = match(article.title, article.text, now, *args)
        hit_before = match(article.title, article.text, before, *args) if before is not None else None
        report.matched_now += hit_now is not None
        report.matched_before += hit_before is not None
        if hit_now is not None and hit_before is None:
            report.added.append(ArticleHit.of(article, hit_now))
        elif hit_before is not None and hit_now is None:
            report.removed.append(ArticleHit.of(article, hit_before))
    for changed in (report.added, report.removed):
        changed.sort(key=lambda h: (h.published, h.id), reverse=True)
    return report
