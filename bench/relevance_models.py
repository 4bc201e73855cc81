"""Which model over the shipped topic's indicators could reach recall 0.95 at precision 0.95?
Out-of-fold figures on the relevance set's **tune** half only (issue #15): the measure half is
never read, so any design may be tried here without spending it.

    .venv/bin/python bench/relevance_models.py
    .venv/bin/python bench/relevance_models.py --only logistic     # the linear models alone

Every model scores the same rows: which of the shipped topic's groups and bench/relevance.py's
SCORE_FEATURES clauses an article matches (tasks.matching.fitting.design). Each is fitted on
four folds and scores the fifth (tasks.matching.fitting's folds and seed); an article alerts
when the query matches it or its out-of-fold score reaches the lowest threshold that keeps
precision >= 0.95 over all languages (fitting.lowest_threshold, the rule the shipped `score:`
was chosen by). Models: the shipped logistic regression at each penalty; the same with every
pair of indicators that fire together in at least three articles (interactions); random
forests and gradient boosting (non-linear, not expressible as a `score:`, tried to see whether
the indicators or the linear model are the limit); and the plain count of indicators fired.

Prints a table (precision and recall, all languages and English) and one JSON line; writes
bench/results/relevance_models.json. Needs the [fit] extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reference import write_results  # noqa: E402
from bench.relevance import SCORE_FEATURES, SHIPPED, TOPIC, load_set, topic_spec  # noqa: E402
from bench.relevance import figures as relevance_figures  # noqa: E402
from tasks.matching import LabelledArticle, features_of  # noqa: E402
from tasks.matching.fitting import FOLDS, SEED, STRENGTHS, design, lowest_threshold  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "relevance_models.json"
TARGET_PRECISION = 0.95
MIN_PAIR_ARTICLES = 3


def out_of_fold(make: Callable[[], Any], rows: Any, wanted: Any, folds: Any) -> Any:
    """Each article's score from a model fitted on the other folds (the probability of wanted)."""
    import numpy as np

    scores = np.zeros(len(wanted))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        scores[test] = make().fit(rows[train], wanted[train]).predict_proba(rows[test])[:, 1]
    return scores


def figures(alerted: Any, wanted: Any, mask: Any) -> dict[str, Any]:
    """bench/relevance.py's figures of the articles in `mask`."""
    return relevance_figures(list(zip(wanted[mask].tolist(), alerted[mask].tolist(), strict=True)))


def precision_at_recall(scores: Any, query: Any, wanted: Any, mask: Any, recall: float) -> float | None:
    """The precision (within `mask`) at the highest threshold whose alerts reach `recall` there."""
    for threshold in sorted(set(scores[mask]), reverse=True):
        row = figures(query | (scores >= threshold), wanted, mask)
        if (row["recall"] or 0.0) >= recall:
            return row["precision"]  # type: ignore[no-any-return]
    return None


def models(n: int) -> dict[str, tuple[Callable[[], Any], bool]]:
    """name -> (a fresh model, whether it takes the interaction rows)."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    train = n * (FOLDS - 1) / FOLDS  # a fold's model sees this many: the penalty per article as in fitting.py
    chosen: dict[str, tuple[Callable[[], Any], bool]] = {}
    for lam in STRENGTHS:
        for pairs in (False, True):
            name = f"logistic lambda={lam}" + (" + pairs" if pairs else "")
            chosen[name] = (partial(LogisticRegression, C=1 / (lam * train), max_iter=10_000), pairs)
    for depth in (3, None):
        forest = partial(RandomForestClassifier, 500, max_depth=depth, min_samples_leaf=2, random_state=0)
        chosen[f"random forest depth={depth}"] = (forest, False)
    boosting = partial(GradientBoostingClassifier, max_depth=2, n_estimators=200, learning_rate=0.05, random_state=0)
    chosen["gradient boosting"] = (boosting, False)
    return chosen


def show(value: float | None) -> str:
    return f"{value:15.3f}" if value is not None else f"{'-':>15}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Models over the topic's indicators, out of fold on the tune half.")
    parser.add_argument("--only", default="", help="only the models whose name starts with this (e.g. logistic)")
    args = parser.parse_args(argv)
    try:
        import numpy as np
        import sklearn  # noqa: F401
    except ImportError:
        print("bench/relevance_models.py needs scikit-learn: pip install 'newswatch[fit]'")
        return 0
    records = [r for r in load_set() if r["split"] == "tune"]
    articles = [LabelledArticle(r["id"], r["lang"], r["title"], r["text"], r["wanted"]) for r in records]
    spec = topic_spec(SHIPPED, TOPIC)
    matrix, by_query = design(spec, features_of(spec, SCORE_FEATURES), articles)
    rows, wanted = np.array(matrix), np.array([a.wanted for a in articles])
    query, english = np.array(by_query), np.array([a.lang == "en" for a in articles])
    pairs = [
        rows[:, i] * rows[:, j]
        for i in range(rows.shape[1])
        for j in range(i + 1, rows.shape[1])
        if (rows[:, i] * rows[:, j]).sum() >= MIN_PAIR_ARTICLES
    ]
    with_pairs = np.hstack([rows, np.array(pairs).T])
    folds = np.random.default_rng(SEED).permutation(len(articles)) % FOLDS
    scored = {"indicators fired (count)": rows.sum(axis=1)}
    chosen = {name: model for name, model in models(len(articles)).items() if name.startswith(args.only)}
    for name, (make, interactions) in chosen.items():
        scored[name] = out_of_fold(make, with_pairs if interactions else rows, wanted.astype(float), folds)
    everyone = np.ones(len(articles), dtype=bool)
    table: dict[str, Any] = {
        "query alone": {"all": figures(query, wanted, everyone), "en": figures(query, wanted, english)}
    }
    for name, scores in scored.items():
        threshold = lowest_threshold(list(scores), list(wanted), by_query, TARGET_PRECISION)
        alerted = query | (scores >= threshold) if threshold is not None else query
        table[name] = {"all": figures(alerted, wanted, everyone), "en": figures(alerted, wanted, english)}
        table[name]["en_precision_at_recall_95"] = precision_at_recall(scores, query, wanted, english, 0.95)
    print(f"{len(articles)} tune articles ({int(wanted.sum())} wanted, {int(english.sum())} English), "
          f"{rows.shape[1]} indicators, {len(pairs)} pairs; out of fold, the query OR the score")  # fmt: skip
    print(
        f"{'model':32} {'all P':>6} {'all R':>6} {'en P':>6} {'en R':>6} {'en FP':>6} {'en FN':>6}"
        f" {'en P at R 0.95':>15}"
    )
    for name, row in table.items():
        a, e = row["all"], row["en"]
        print(
            f"{name:32} {a['precision']:6.3f} {a['recall']:6.3f} {e['precision']:6.3f} {e['recall']:6.3f}"
            f" {e['fp']:6} {e['fn']:6} {show(row.get('en_precision_at_recall_95'))}"
        )
    result = {
        "bench": "relevance_models",
        "articles": len(articles),
        "indicators": rows.shape[1],
        "pairs": len(pairs),
        "models": table,
    }
    write_results(result, RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
