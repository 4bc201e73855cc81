"""A topic scored on articles an analyst labelled wanted or not (`newswatch topics test --labelled`):
precision and recall overall and per language, and each miss and each false alert with what fired.

A labelled file is JSON Lines, one article a line: {"id", "lang", "title", "text", "wanted"}, the
format of bench/relevance/articles.jsonl and of `newswatch alerts export-labelled` (which adds
"topic": the topic the label is for, and more keys, ignored here). Reading it (`read_labelled`)
checks every line and names the file and line of the first bad one; scoring (`evaluate`) is a
pure function of a compiled topic and the articles.

The analysts' own judgments of alerts (`newswatch alerts mark`) give each topic a judged precision
per ISO week (`weekly_precision`, for `newswatch topics report`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from storage.records import AlertOutcome
from tasks.matching.semantic import Meaning
from tasks.matching.topics import CompiledTopic, match

NO_LANGUAGE = "?"  # the per-language key of articles labelled without a language
REQUIRED = {"id": (str, int), "title": (str,), "text": (str,), "wanted": (bool,)}


class LabelError(ValueError):
    """A labelled file that cannot be read: the message names the file and the line."""


@dataclass(frozen=True)
class LabelledArticle:
    id: str
    lang: str | None
    title: str
    text: str
    wanted: bool
    topic: str | None = None  # the topic the label is for (None: whatever topic is tested)


def _article(record: Any, where: str) -> LabelledArticle:
    if not isinstance(record, dict):
        raise LabelError(f"{where}: not a JSON object")
    for key, types in REQUIRED.items():
        value = record.get(key)
        # bool is an int: an id of true, or a wanted of 1, is a mistake
        if value is None or not isinstance(value, types) or (key == "id" and isinstance(value, bool)):
            kinds = " or ".join("string" if t is str else t.__name__ for t in types)
            raise LabelError(f"{where}: {key!r} missing or not a {kinds}")
    for key in ("lang", "topic"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise LabelError(f"{where}: {key!r} is not a string")
    lang = record.get("lang") or None
    return LabelledArticle(
        str(record["id"]), lang, record["title"], record["text"], record["wanted"], record.get("topic") or None
    )


def parse_labelled(lines: Iterable[str], name: str) -> list[LabelledArticle]:
    """The articles of these JSON lines (blank lines skipped); LabelError at the first bad line,
    naming `name` and the line. An id labelled twice for the same topic is an error."""
    articles: list[LabelledArticle] = []
    seen: dict[tuple[str, str | None], int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from None
        article = _article(record, where)
        key = (article.id, article.topic)
        if key in seen:
            raise LabelError(f"{where}: id {article.id!r} is labelled twice (first on line {seen[key]})")
        seen[key] = number
        articles.append(article)
    if not articles:
        raise LabelError(f"{name}: no labelled article")
    return articles


def read_labelled(path: Path) -> list[LabelledArticle]:
    """The labelled articles of a file; LabelError naming the file (and line) when it is unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_labelled(text.splitlines(), str(path))


@dataclass
class Score:
    articles: int = 0
    wanted: int = 0  # labelled wanted
    alerted: int = 0  # matched by the topic
    correct: int = 0  # wanted and matched
    precision: float | None = None  # correct / alerted (None: nothing alerted)
    recall: float | None = None  # correct / wanted (None: nothing wanted)

    def add(self, wanted: bool, alerted: bool) -> None:
        self.articles += 1
        self.wanted += wanted
        self.alerted += alerted
        self.correct += wanted and alerted

    def finish(self) -> Score:
        self.precision = round(self.correct / self.alerted, 4) if self.alerted else None
        self.recall = round(self.correct / self.wanted, 4) if self.wanted else None
        return self


@dataclass(frozen=True)
class Outcome:
    """A labelled article the topic got wrong, and why: what fired (a false alert) or nothing (a miss)."""

    id: str
    lang: str | None
    title: str
    wanted: bool
    clauses: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    indicators: dict[str, list[str]] = field(default_factory=dict)
    sentence: str | None = None


@dataclass
class Evaluation:
    topic: str
    overall: Score
    per_language: dict[str, Score]
    misses: list[Outcome] = field(default_factory=list)  # wanted, not matched
    false_alerts: list[Outcome] = field(default_factory=list)  # matched, not wanted


def evaluate(topic: CompiledTopic, articles: Sequence[LabelledArticle], meaning: Meaning | None = None) -> Evaluation:
    """Match each article with the topic (its language's query, then the default one, then its
    `semantic:` key when `meaning` is given, as a run does) and compare with its label."""
    overall = Score()
    languages: dict[str, Score] = {}
    misses: list[Outcome] = []
    false_alerts: list[Outcome] = []
    for a in articles:
        hit = match(a.title, a.text, topic, language=a.lang)
        if hit is None and meaning is not None:
            hit = meaning.hit(a.title, a.text, a.lang)
        overall.add(a.wanted, hit is not None)
        languages.setdefault(a.lang or NO_LANGUAGE, Score()).add(a.wanted, hit is not None)
        if a.wanted and hit is None:
            misses.append(Outcome(a.id, a.lang, a.title, True))
        elif hit is not None and not a.wanted:
            why = Outcome(a.id, a.lang, a.title, False, hit.terms, hit.words, hit.indicators, hit.hit_sentence)
            false_alerts.append(why)
    per_language = {lang: score.finish() for lang, score in sorted(languages.items())}
    return Evaluation(topic.name, overall.finish(), per_language, misses, false_alerts)


def labels_for(articles: Sequence[LabelledArticle], topic: str | None) -> tuple[list[LabelledArticle], int]:
    """The articles whose label is for `topic` (or for no topic in particular), and how many were
    left out as labelled for another topic. Without a topic, every article."""
    if topic is None:
        return list(articles), 0
    kept = [a for a in articles if a.topic is None or a.topic.casefold() == topic.casefold()]
    return kept, len(articles) - len(kept)


@dataclass
class WeekRow:
    """A topic's alerts of one ISO week and how the analysts judged them."""

    topic: str
    week: str  # ISO week: 2026-W48
    alerts: int = 0  # (topic, article) alerted, whatever the number of targets
    sent: int = 0  # of those, sent to someone
    judged: int = 0
    relevant: int = 0
    precision: float | None = None  # relevant / judged (None: none judged)


def weeks_back(now: datetime, weeks: int) -> datetime:
    """The start (Monday 00:00, in now's time zone) of the ISO week `weeks - 1` weeks before now's."""
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday - timedelta(weeks=max(weeks, 1) - 1)


def iso_week(when: datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_precision(outcomes: Iterable[AlertOutcome]) -> list[WeekRow]:
    """Per topic and ISO week (of the first alert), alerts, sent, judged, relevant and judged
    precision; by topic, then week."""
    rows: dict[tuple[str, str], WeekRow] = {}
    for o in outcomes:
        week = iso_week(o.created_at)
        row = rows.setdefault((o.topic, week), WeekRow(o.topic, week))
        row.alerts += 1
        row.sent += o.sent
        if o.relevant is not None:
            row.judged += 1
            row.relevant += o.relevant
    for row in rows.values():
        row.precision = round(row.relevant / row.judged, 4) if row.judged else None
    return [rows[key] for key in sorted(rows)]
