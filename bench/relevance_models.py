"""Which model over the shipped topic's indicators could reach recall 0.95 at precision 0.95?
Out-of-fold figures on the relevance set's **tune** half only (issue #15): the measure half is
never read, so any design may be tried here without spending it.

    .venv/bin/python bench/relevance_models.py
    .venv/bin/python bench/relevance_models.py --only logistic     # the linear models alone
    .venv/bin/python bench/relevance_models.py --only text         # the models that read the text

Every model scores the same rows: which of the shipped topic's groups and bench/relevance.py's
SCORE_FEATURES clauses an article matches (tasks.matching.fitting.design). Each is fitted on
four folds and scores the fifth (tasks.matching.fitting's folds and seed); an article alerts
when the query matches it or its out-of-fold score reaches the lowest threshold that keeps
precision >= 0.95 over all languages (fitting.lowest_threshold, the rule the shipped `score:`
was chosen by). Models: the shipped logistic regression at each penalty; the same with every
pair of indicators that fire together in at least three articles (interactions); random
forests and gradient boosting (non-linear, not expressible as a `score:`, tried to see whether
the indicators or the linear model are the limit); and the plain count of indicators fired.

The `text` rows read the article itself (its title and text, NFC, as the topic matches them):
TF-IDF of word 1-2 grams or of character 2-5 grams within words (char_wb: Khmer and Thai have
no spaces), with a logistic regression; the indicator rows beside the character TF-IDF (scaled
by INDICATOR_SCALE so that one C suits both); and a linear SVM on the character TF-IDF with
probabilities calibrated by CalibratedClassifierCV. The vectorizer is part of the model: fitted
in each fold on its four training folds only, as the regression is. Same folds, same alert rule.

Prints a table (precision and recall, all languages and English, and English recall at precision
0.95 and precision at recall 0.95 over all thresholds) and one JSON line; writes
bench/results/relevance_models.json. Needs the [fit] extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reference import write_results  # noqa: E402
from bench.relevance import SCORE_FEATURES, SHIPPED, TOPIC, load_set, shipped_features, topic_spec  # noqa: E402
from bench.relevance import figures as relevance_figures  # noqa: E402
from tasks.matching import MIN_WEIGHT, LabelledArticle, features_of  # noqa: E402
from tasks.matching.fitting import FOLDS, SEED, STRENGTHS, design, lowest_threshold, out_of_fold_scores  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "relevance_models.json"
TARGET_PRECISION = 0.95
MIN_PAIR_ARTICLES = 3
TEXT_C = (1.0, 10.0, 100.0)  # inverse penalties of the text models (TF-IDF rows have unit length)
INDICATOR_SCALE = 0.1  # the indicator rows beside TF-IDF: 0/1 scaled so that one C suits both


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


def recall_at_precision(scores: Any, query: Any, wanted: Any, mask: Any, precision: float) -> float | None:
    """The highest recall (within `mask`) of any threshold whose alerts keep `precision` there."""
    best = None
    for threshold in sorted(set(scores[mask]), reverse=True):
        row = figures(query | (scores >= threshold), wanted, mask)
        if row["precision"] is not None and row["precision"] >= precision:
            best = max(best or 0.0, row["recall"])
    return best


def models(n: int) -> dict[str, tuple[Callable[[], Any], str]]:
    """name -> (a fresh model, the rows it reads: "indicators", "pairs" or "documents")."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    train = n * (FOLDS - 1) / FOLDS  # a fold's model sees this many: the penalty per article as in fitting.py
    chosen: dict[str, tuple[Callable[[], Any], str]] = {}
    for lam in STRENGTHS:
        for pairs in (False, True):
            name = f"logistic lambda={lam}" + (" + pairs" if pairs else "")
            make = partial(LogisticRegression, C=1 / (lam * train), max_iter=10_000)
            chosen[name] = (make, "pairs" if pairs else "indicators")
    for depth in (3, None):
        forest = partial(RandomForestClassifier, 500, max_depth=depth, min_samples_leaf=2, random_state=0)
        chosen[f"random forest depth={depth}"] = (forest, "indicators")
    boosting = partial(GradientBoostingClassifier, max_depth=2, n_estimators=200, learning_rate=0.05, random_state=0)
    chosen["gradient boosting"] = (boosting, "indicators")
    return chosen | text_models()


def scaled_indicators(columns: Any) -> Any:
    """The indicator columns of a documents row (object dtype) as floats, scaled to sit beside TF-IDF."""
    return columns.astype(float) * INDICATOR_SCALE


def text_pipeline(analyzer: str, with_indicators: bool, classifier: Callable[[], Any]) -> Any:
    """TF-IDF of column 0 (the document), optionally beside the indicator columns, then the classifier:
    one estimator, so that the vectorizer is fitted on the training folds only."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    grams = (1, 2) if analyzer == "word" else (2, 5)
    parts: list[tuple[str, Any, Any]] = [
        ("text", TfidfVectorizer(analyzer=analyzer, ngram_range=grams, min_df=2, sublinear_tf=True), 0)
    ]
    if with_indicators:
        parts.append(("indicators", FunctionTransformer(scaled_indicators), slice(1, None)))
    return make_pipeline(ColumnTransformer(parts), classifier())


def text_models() -> dict[str, tuple[Callable[[], Any], str]]:
    """name -> (a fresh model over the documents rows: the article's text, then its indicators)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    chosen: dict[str, tuple[Callable[[], Any], str]] = {}
    for c in TEXT_C:
        lr = partial(LogisticRegression, C=c, max_iter=10_000)
        chosen[f"text words 1-2 LR C={c:g}"] = (partial(text_pipeline, "word", False, lr), "documents")
        chosen[f"text chars 2-5 LR C={c:g}"] = (partial(text_pipeline, "char_wb", False, lr), "documents")
        chosen[f"text chars + indicators LR C={c:g}"] = (partial(text_pipeline, "char_wb", True, lr), "documents")
    for c in (0.1, 1.0):
        svm = partial(CalibratedClassifierCV, LinearSVC(C=c), cv=FOLDS)
        chosen[f"text chars SVM calibrated C={c:g}"] = (partial(text_pipeline, "char_wb", False, svm), "documents")
    return chosen


def show(value: float | None) -> str:
    return f"{value:15.3f}" if value is not None else f"{'-':>15}"


def tune_rows(articles: list[LabelledArticle]) -> tuple[dict[str, Any], Any]:
    """The rows each kind of model reads ({"indicators", "pairs", "documents"}) and the query's matches."""
    import numpy as np

    spec = topic_spec(SHIPPED, TOPIC)
    matrix, by_query = design(spec, features_of(spec, SCORE_FEATURES), articles)
    rows = np.array(matrix)
    pairs = [
        rows[:, i] * rows[:, j]
        for i in range(rows.shape[1])
        for j in range(i + 1, rows.shape[1])
        if (rows[:, i] * rows[:, j]).sum() >= MIN_PAIR_ARTICLES
    ]
    documents = np.empty((len(articles), 1 + rows.shape[1]), dtype=object)  # the article, then its indicators
    documents[:, 0] = [unicodedata.normalize("NFC", f"{a.title}\n{a.text}") for a in articles]
    documents[:, 1:] = rows
    inputs = {"indicators": rows, "pairs": np.hstack([rows, np.array(pairs).T]), "documents": documents}
    return inputs, np.array(by_query)


def word_rows(articles: list[LabelledArticle]) -> Any:
    """The shipped fit's rows: the indicators, then the words and two-word phrases (6 s: only
    when a `logistic + words` row is asked for)."""
    import numpy as np

    spec = topic_spec(SHIPPED, TOPIC)
    return np.array(design(spec, shipped_features(spec, articles), articles)[0])


def shipped_fit_rows(words: Any, wanted: Any, folds: Any) -> dict[str, Any]:
    """The shipped fit's out-of-fold scores at each penalty: the indicators, the words and
    two-word phrases, weights pruned as the shipped score prunes them (tasks.matching.fitting)."""
    return {
        f"logistic + words lambda={lam}": out_of_fold_scores(words, wanted, lam, folds, MIN_WEIGHT) for lam in STRENGTHS
    }


def score_row(scores: Any, query: Any, wanted: Any, english: Any) -> dict[str, Any]:
    """One model's figures: the query OR the score at the lowest threshold keeping precision 0.95
    over all languages; English recall at precision 0.95 and precision at recall 0.95."""
    import numpy as np

    threshold = lowest_threshold(list(scores), list(wanted), list(query), TARGET_PRECISION)
    alerted = query | (scores >= threshold) if threshold is not None else query
    everyone = np.ones(len(wanted), dtype=bool)
    return {
        "all": figures(alerted, wanted, everyone),
        "en": figures(alerted, wanted, english),
        "en_recall_at_precision_95": recall_at_precision(scores, query, wanted, english, TARGET_PRECISION),
        "en_precision_at_recall_95": precision_at_recall(scores, query, wanted, english, 0.95),
    }


def print_table(table: dict[str, Any]) -> None:
    print(
        f"{'model':38} {'all P':>6} {'all R':>6} {'en P':>6} {'en R':>6} {'en FP':>6} {'en FN':>6}"
        f" {'en R at P 0.95':>15} {'en P at R 0.95':>15}"
    )
    for name, row in table.items():
        a, e = row["all"], row["en"]
        print(
            f"{name:38} {a['precision']:6.3f} {a['recall']:6.3f} {e['precision']:6.3f} {e['recall']:6.3f}"
            f" {e['fp']:6} {e['fn']:6} {show(row.get('en_recall_at_precision_95'))}"
            f" {show(row.get('en_precision_at_recall_95'))}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Models over the topic's indicators, out of fold on the tune half.")
    parser.add_argument("--only", default="", help="only the models whose name starts with this (logistic, text)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    try:
        import numpy as np
        import sklearn  # noqa: F401
    except ImportError:
        print("bench/relevance_models.py needs scikit-learn: pip install 'newswatch[fit]'")
        return 0
    records = [r for r in load_set() if r["split"] == "tune"]
    articles = [LabelledArticle(r["id"], r["lang"], r["title"], r["text"], r["wanted"]) for r in records]
    inputs, query = tune_rows(articles)
    wanted, english = np.array([a.wanted for a in articles]), np.array([a.lang == "en" for a in articles])
    folds = np.random.default_rng(SEED).permutation(len(articles)) % FOLDS
    scored = {"indicators fired (count)": inputs["indicators"].sum(axis=1)}
    chosen = {name: model for name, model in models(len(articles)).items() if name.startswith(args.only)}
    for name, (make, reads) in chosen.items():
        scored[name] = out_of_fold(make, inputs[reads], wanted.astype(float), folds)
    if "logistic + words".startswith(args.only) or args.only.startswith("logistic + words"):
        shipped = shipped_fit_rows(word_rows(articles), wanted.astype(float), folds)
        scored |= {name: scores for name, scores in shipped.items() if name.startswith(args.only)}
    table: dict[str, Any] = {
        "query alone": {"all": figures(query, wanted, np.ones(len(articles), dtype=bool)),
                        "en": figures(query, wanted, english)}
    }  # fmt: skip
    table |= {name: score_row(scores, query, wanted, english) for name, scores in scored.items()}
    indicators, pairs = inputs["indicators"].shape[1], inputs["pairs"].shape[1] - inputs["indicators"].shape[1]
    print(f"{len(articles)} tune articles ({int(wanted.sum())} wanted, {int(english.sum())} English), "
          f"{indicators} indicators, {pairs} pairs; out of fold, the query OR the score")  # fmt: skip
    print_table(table)
    result = {"bench": "relevance_models", "articles": len(articles), "indicators": indicators, "pairs": pairs,
              "models": table}  # fmt: skip
    write_results(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
