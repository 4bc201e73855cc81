"""A semantic topic's threshold chosen on labelled articles (`newswatch topics tune`): the
lowest threshold at which the topic's alerts (its query's matches, plus the articles the
semantic method adds) keep precision at the target, and the precision/recall curve around it.

The rule is bench/semantic.py's (phase 1 of issue #16): the lowest score at which precision
still holds, so recall is the highest the target allows on these articles. With few labelled
articles a threshold per language rests on a handful of them: the curve shows how many."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tasks.matching.evaluation import LabelledArticle
from tasks.matching.semantic import Meaning
from tasks.matching.topics import CompiledTopic, match
from tasks.semantic import article_input

ALL = "all"


@dataclass(frozen=True)
class Scored:
    """A labelled article: wanted or not, matched by the query, its closest reference's score."""

    lang: str
    wanted: bool
    query: bool
    score: float


@dataclass(frozen=True)
class Point:
    threshold: float
    alerted: int  # the query's matches and the articles scoring at least the threshold
    correct: int
    added: int  # alerted by the semantic method alone
    precision: float | None
    recall: float | None


@dataclass
class Tuning:
    """One language's (or all languages') curve and the threshold chosen on it."""

    language: str
    articles: int
    wanted: int
    target: float
    query_alone: Point  # threshold 1.0: what the query alone alerts
    chosen: Point | None  # None: no threshold keeps the target precision
    curve: list[Point] = field(default_factory=list)  # highest threshold first


def score_articles(topic: CompiledTopic, meaning: Meaning, articles: Sequence[LabelledArticle]) -> list[Scored]:
    """Each article's label, whether the topic's query matches it, and its semantic score."""
    if not articles:
        return []
    vectors = meaning.embedder.embed([article_input(a.title, a.text) for a in articles])
    return [
        Scored(a.lang or "?", a.wanted, match(a.title, a.text, topic, language=a.lang) is not None, meaning.score(v))
        for a, v in zip(articles, vectors, strict=True)
    ]


def _point(rows: Sequence[Scored], threshold: float) -> Point:
    alerted = [r for r in rows if r.query or r.score >= threshold]
    correct = sum(r.wanted for r in alerted)
    wanted = sum(r.wanted for r in rows)
    added = sum(not r.query for r in alerted)
    precision = round(correct / len(alerted), 4) if alerted else None
    recall = round(correct / wanted, 4) if wanted else None
    return Point(round(threshold, 4), len(alerted), correct, added, precision, recall)


def tune_rows(rows: Sequence[Scored], target: float, language: str = ALL) -> Tuning:
    """The curve over every distinct score of the articles the query misses, highest first, and
    the lowest threshold whose precision is at least `target`."""
    thresholds = sorted({r.score for r in rows if not r.query}, reverse=True)
    curve = [_point(rows, t) for t in thresholds]
    holding = [p for p in curve if p.precision is not None and p.precision >= target and p.added]
    chosen = holding[-1] if holding else None
    return Tuning(language, len(rows), sum(r.wanted for r in rows), target, _point(rows, 1.01), chosen, curve)


def tune(rows: Sequence[Scored], target: float, per_language: bool) -> list[Tuning]:
    """One tuning over all the articles, or one per language (the languages in the file)."""
    if not per_language:
        return [tune_rows(rows, target)]
    languages = sorted({r.lang for r in rows})
    return [tune_rows([r for r in rows if r.lang == lang], target, lang) for lang in languages]


def sampled(curve: Sequence[Point], chosen: Point | None, rows: int = 15) -> list[Point]:
    """About `rows` points of the curve, evenly spread, the chosen one always among them."""
    if len(curve) <= rows:
        return list(curve)
    step = len(curve) / rows
    keep = {curve[int(i * step)] for i in range(rows)} | {curve[-1]} | ({chosen} if chosen else set())
    return [p for p in curve if p in keep]
