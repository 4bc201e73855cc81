"""A topic's `score:` fitted on labelled articles (`newswatch topics fit`): a logistic regression
over which weighted expressions an article matches (by default every group of the topic), and
the lowest threshold at which the topic's alerts (its query's matches plus the articles the
score adds) keep precision at the target.

The regularisation strength and the threshold are both chosen on out-of-fold scores (5 folds
drawn with a fixed seed), never on the articles a model was fitted on: fitted and judged on the
same articles, a model over 70 indicators finds every wanted article. It needs scikit-learn
(the [fit] extra); the runs that apply a fitted score do not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tasks.config import ScoreSpec, TopicSpec
from tasks.matching.evaluation import LabelledArticle
from tasks.matching.scoring import expression_index, lead
from tasks.matching.topics import article_doc, compile_topic, match

INSTALL = "pip install 'newswatch[fit]'"
STRENGTHS = (0.001, 0.003, 0.01, 0.03, 0.1)  # L2 penalty per article (lambda); C = 1 / (lambda * n)
FOLDS = 5
SEED = 20261205


class FitUnavailable(RuntimeError):
    """scikit-learn is not installed."""


@dataclass(frozen=True)
class Fitted:
    spec: ScoreSpec
    strength: float  # the chosen lambda
    recall: float  # out of fold, the query's matches plus the score's
    precision: float
    articles: int
    wanted: int


def features_of(topic: TopicSpec, extra: Sequence[str] = ()) -> list[str]:
    """Every group of the topic as `@name`, then the extra expressions, once each."""
    return list(dict.fromkeys([f"@{g}" for g in sorted(topic.term_groups())] + [e.strip() for e in extra]))


def design(
    topic: TopicSpec, features: Sequence[str], articles: Sequence[LabelledArticle]
) -> tuple[list[list[float]], list[bool]]:
    """Each article's row (1.0 where its lead matches the expression, as the score reads it:
    scoring.lead) and whether the query alone matches it (the whole text, as a run does)."""
    index = expression_index(topic, features)
    query = compile_topic(topic.model_copy(update={"score": None}))
    rows, by_query = [], []
    for a in articles:
        fired = index.match(lead(article_doc(a.title, a.text, language=a.lang)))
        rows.append([1.0 if f in fired else 0.0 for f in features])
        by_query.append(match(a.title, a.text, query, language=a.lang) is not None)
    return rows, by_query


def lowest_threshold(
    scores: Sequence[float], wanted: Sequence[bool], by_query: Sequence[bool], target: float
) -> float | None:
    """The lowest score at which the query's matches plus the articles scoring at least it keep
    precision >= target (None: no score does)."""
    chosen = None
    for t in sorted(set(scores), reverse=True):
        alerted = [w for w, s, q in zip(wanted, scores, by_query, strict=True) if q or s >= t]
        if alerted and sum(alerted) / len(alerted) >= target:
            chosen = t
    return chosen


def _regression(strength: float, n: int) -> Any:
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise FitUnavailable(f"fitting a score needs scikit-learn: {INSTALL}") from None
    # sklearn minimises C * sum(log loss) + |w|^2 / 2: the mean log loss + lambda/2 |w|^2, times 1/lambda.
    return LogisticRegression(C=1.0 / (strength * n), max_iter=10_000)


def _kept(weights: Any, min_weight: float) -> Any:
    """The weights as the score keeps them: rounded to 3 decimals, those under `min_weight` dropped."""
    import numpy as np

    rounded = np.round(weights, 3)
    return np.where(np.abs(rounded) >= max(min_weight, 0.001), rounded, 0.0)


def out_of_fold_scores(rows: Any, wanted: Any, strength: float, folds: Any, min_weight: float = 0.0) -> Any:
    """Each article's score by the model fitted on the other folds, its weights kept as the
    shipped score keeps them (so pruning is judged out of fold too)."""
    import numpy as np

    out = np.zeros(len(wanted))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        model = _regression(strength, int(train.sum())).fit(rows[train], wanted[train])
        out[test] = rows[test] @ _kept(model.coef_[0], min_weight) + model.intercept_[0]
    return out


def fit_score(
    topic: TopicSpec,
    articles: Sequence[LabelledArticle],
    features: Sequence[str],
    target: float = 0.95,
    min_weight: float = 0.0,
) -> Fitted | None:
    """The score fitted on these articles (None: no threshold keeps the target precision);
    weights under `min_weight` (absolute) are dropped (tasks.matching.words.MIN_WEIGHT)."""
    import numpy as np

    if len({a.wanted for a in articles}) < 2 or len(articles) < 2 * FOLDS:
        raise ValueError(f"fitting needs wanted and unwanted articles, at least {2 * FOLDS}")
    matrix, by_query = design(topic, features, articles)
    rows, wanted = np.array(matrix), np.array([a.wanted for a in articles], dtype=float)
    folds = np.random.default_rng(SEED).permutation(len(articles)) % FOLDS
    tried = {}
    for strength in STRENGTHS:
        scores = out_of_fold_scores(rows, wanted, strength, folds, min_weight)
        t = lowest_threshold(list(scores), [a.wanted for a in articles], by_query, target)
        if t is not None:
            alerted = [a.wanted for a, s, q in zip(articles, scores, by_query, strict=True) if q or s >= t]
            tried[strength] = (t, sum(alerted) / sum(wanted), sum(alerted) / len(alerted))
    if not tried:
        return None
    # The highest recall, then precision; on a tie the strongest penalty: the smaller weights that
    # score the same out of fold. With 264 tune articles four strengths tied, and the weakest
    # (weights up to 2.9) let a flood story with "lost contact", "phone" and "promised jobs" through.
    strength = max(tried, key=lambda k: (tried[k][1], tried[k][2], k))
    threshold, recall, precision = tried[strength]
    model = _regression(strength, len(articles)).fit(rows, wanted)
    kept = _kept(model.coef_[0], min_weight)
    weights = {f: float(w) for f, w in zip(features, kept, strict=True) if w}
    # The threshold rounded down: an article that reached it still does.
    spec = ScoreSpec(
        threshold=math.floor(float(threshold) * 1000) / 1000, bias=round(float(model.intercept_[0]), 3), weights=weights
    )
    return Fitted(spec, strength, round(recall, 4), round(precision, 4), len(articles), int(wanted.sum()))
