"""The relevance set (bench/relevance/) holds what its README promises, its tune/measure split
never changes, and bench/relevance.py reports every method per language (it runs in a second)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "bench" / "relevance" / "articles.jsonl"
README = ROOT / "bench" / "relevance" / "README.md"
BENCH = ROOT / "bench" / "relevance.py"
LANGS = ("en", "km", "th", "vi")
FIELDS = {"id": str, "lang": str, "title": str, "text": str, "wanted": bool, "kind": str, "says_trafficking": bool,
          "split": str}  # fmt: skip
BATCH1_LAST = {"en": 136, "km": 24, "th": 24, "vi": 24}  # the highest id of batch 1 per language (README)
BATCH2_LAST = {"en": 196, "km": 44, "th": 44, "vi": 44}  # and of batch 2 (batches 3 and 4 are English only)
BATCH3_LAST = {"en": 276, "km": 44, "th": 44, "vi": 44}  # and of batch 3


def records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(*args: str | Path) -> dict[str, Any]:
    out = Path(args[args.index("--out") + 1])
    done = subprocess.run([sys.executable, str(BENCH), *map(str, args)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]  # the bench checks every record before it runs
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(done.stdout.strip().splitlines()[-1]) == result  # the one JSON line is the file
    return result


def test_the_set_has_its_size_languages_and_labels() -> None:
    rs = records()
    langs = Counter(r["lang"] for r in rs)
    assert len(rs) >= 200 and set(langs) == set(LANGS)
    assert all(langs[lang] >= 20 for lang in ("km", "th", "vi")) and langs["en"] > len(rs) / 2
    wanted = [r for r in rs if r["wanted"]]
    assert len(wanted) >= 0.4 * len(rs)
    assert sum(not r["says_trafficking"] for r in wanted) >= len(wanted) / 3
    for lang in LANGS:  # both labels in every language
        assert {r["wanted"] for r in rs if r["lang"] == lang} == {True, False}


def test_every_record_is_valid() -> None:
    rs = records()
    assert len({r["id"] for r in rs}) == len(rs)
    for r in rs:
        assert set(r) == set(FIELDS), r.get("id")
        assert all(type(r[k]) is t for k, t in FIELDS.items()), r["id"]
        assert r["lang"] in LANGS and re.fullmatch(rf"{r['lang']}-\d{{3}}", r["id"]), r["id"]
        assert r["split"] in ("tune", "measure") and r["title"].strip() and r["kind"].strip(), r["id"]
        if r["lang"] in ("en", "vi"):
            assert 60 <= len(r["text"].split()) <= 150, r["id"]


def test_the_split_is_balanced_and_never_changes() -> None:
    rs = records()
    groups = Counter((r["lang"], r["wanted"], r["split"]) for r in rs)
    for lang in LANGS:
        for wanted in (True, False):
            assert groups[(lang, wanted, "tune")] == groups[(lang, wanted, "measure")], (lang, wanted)
    readme = README.read_text(encoding="utf-8")
    measure = sorted(r["id"] for r in rs if r["split"] == "measure")
    batch1 = [i for i in measure if int(i[3:]) <= BATCH1_LAST[i[:2]]]
    batches12 = [i for i in measure if int(i[3:]) <= BATCH2_LAST[i[:2]]]
    batches123 = [i for i in measure if int(i[3:]) <= BATCH3_LAST[i[:2]]]
    pinned = (
        ("batch 1 measure ids", batch1),
        ("batches 1 and 2 measure ids", batches12),
        ("batches 1 to 3 measure ids", batches123),
        ("all measure ids", measure),
    )
    for label, ids in pinned:
        recorded = re.search(rf"^{label} sha256: `([0-9a-f]{{64}})`", readme, re.MULTILINE)
        assert recorded, f"README.md records the checksum of the {label}"
        assert sha256_of(ids) == recorded.group(1), f"{label}: an article changed halves"
    assert (len(batch1), len(batches12), len(batches123)) == (104, 164, 204)  # pinned since each batch was split


def sha256_of(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def test_the_bench_reports_every_method_per_language(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text("topics:\n  - name: draft\n    terms: [trafficking]\n", encoding="utf-8")
    out = tmp_path / "relevance.json"
    measured = run("--topic", draft, "--out", out)
    assert measured["split"] == "measure" and measured["articles"] == sum(r["split"] == "measure" for r in records())
    semantic = ("semantic", "shipped+semantic") if importlib.util.find_spec("static_model") else ()
    methods = ("old", "keywords", "shipped", "query alone", "draft", *semantic)
    assert list(measured["figures"]) == list(measured["methods"]) == list(methods)
    for lang in (*LANGS, "all"):  # the shipped topic's score only adds to its query's alerts
        with_score, alone = measured["figures"]["shipped"][lang], measured["figures"]["query alone"][lang]
        assert with_score["tp"] >= alone["tp"] and with_score["alerts"] >= alone["alerts"], lang
    assert measured["figures"]["shipped"]["en"]["tp"] > measured["figures"]["query alone"]["en"]["tp"]
    if semantic:  # issue #16: thresholds from the tune half; the combined method only adds alerts
        assert set(measured["semantic"]["thresholds"]["shipped+semantic"]) == set(LANGS)
        for lang in (*LANGS, "all"):
            both, shipped = measured["figures"]["shipped+semantic"][lang], measured["figures"]["shipped"][lang]
            assert both["tp"] >= shipped["tp"] and both["alerts"] >= shipped["alerts"], lang
    for method in methods:
        for lang in (*LANGS, "all"):
            f = measured["figures"][method][lang]
            assert f["tp"] + f["fn"] == f["wanted"] and f["tp"] + f["fp"] == f["alerts"], (method, lang)
            assert {"precision", "recall", "f1"} <= set(f)
        assert measured["figures"][method]["all"]["wanted"] == measured["wanted"]
        assert len(measured["misses"][method]) == measured["figures"][method]["all"]["fn"]
        assert len(measured["false_alerts"][method]) == measured["figures"][method]["all"]["fp"]
    assert measured["figures"]["old"]["all"]["recall"] < 1  # the set holds stories the old topic misses
    everything = run("--split", "all", "--out", out)
    assert everything["articles"] == len(records())
    assert all(everything["figures"]["old"][lang]["articles"] >= 20 for lang in LANGS)


@pytest.fixture(scope="module")
def fit_score_output() -> str:
    """What `bench/relevance.py --fit-score` prints (about 15 s: run once for the tests that read it)."""
    done = subprocess.run([sys.executable, str(BENCH), "--fit-score"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_the_shipped_score_is_the_one_fitted_on_the_tune_half(fit_score_output: str) -> None:
    """deploy/watchlist.yaml's `score:` is what `bench/relevance.py --fit-score` prints: fitted
    on the tune half by tasks.matching.fitting, reproducible, never edited by hand."""
    import yaml

    from tasks.config import load_watchlist

    fitted = yaml.safe_load(fit_score_output)["score"]
    shipped = next(
        t for t in load_watchlist(ROOT / "deploy" / "watchlist.yaml").topics if t.name == "human-trafficking"
    )
    assert shipped.score is not None and fitted == shipped.score.model_dump()


def test_the_models_bench_scores_every_model_out_of_fold_as_the_shipped_fit_does(fit_score_output: str) -> None:
    """bench/relevance_models.py reads the tune half only, and its "logistic + words" rows are the
    shipped fit's: at the penalty `--fit-score` chose, the same out-of-fold recall and precision."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "relevance_models.py"), "--only", "logistic"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    tune = [r for r in records() if r["split"] == "tune"]
    assert result["articles"] == len(tune)
    models = result["models"]
    assert {"query alone", "logistic lambda=0.1", "logistic lambda=0.1 + pairs", "logistic + words lambda=0.1"} <= set(
        models
    )
    assert not any(name.startswith(("random forest", "gradient")) for name in models)  # --only
    for row in models.values():
        assert 0 <= row["all"]["precision"] <= 1 and 0 <= row["en"]["recall"] <= 1
    head = re.search(r"recall ([0-9.]+), precision ([0-9.]+)", fit_score_output.splitlines()[0])
    assert head, fit_score_output[:300]
    shipped = models["logistic + words lambda=0.1"]["all"]  # the strongest penalty: the shipped fit's choice on a tie
    assert abs(shipped["recall"] - float(head[1])) < 0.001 and abs(shipped["precision"] - float(head[2])) < 0.001


class Sealed(dict[str, Any]):
    """A measure-half record whose article and label cannot be read (its id and split can)."""

    def __getitem__(self, key: str) -> Any:
        assert key in ("id", "split"), f"read {key!r} of measure article {dict.__getitem__(self, 'id')}"
        return dict.__getitem__(self, key)


def test_a_text_model_scores_the_tune_half_out_of_fold_without_reading_the_measure_half(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """bench/relevance_models.py's text rows: the TF-IDF is a step of the model (fitted in each
    fold on the training folds), and no measure article's title, text or label is ever read."""
    from sklearn.compose import ColumnTransformer

    import bench.relevance_models as models_bench

    everything = records()
    sealed = [r if r["split"] == "tune" else Sealed(r) for r in everything]
    monkeypatch.setattr(models_bench, "load_set", lambda: sealed)
    name = "text words 1-2 LR C=100"  # the only model whose name starts so
    make, reads = models_bench.models(10)[name]
    assert reads == "documents" and isinstance(make().steps[0][1], ColumnTransformer)
    out = tmp_path / "models.json"
    assert models_bench.main(["--only", name, "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["articles"] == sum(r["split"] == "tune" for r in everything)
    assert list(result["models"]) == ["query alone", "indicators fired (count)", name]
    row = result["models"][name]
    assert row["all"]["precision"] >= 0.95 and row["en"]["wanted"] == sum(
        r["split"] == "tune" and r["wanted"] and r["lang"] == "en" for r in everything
    )
    assert 0 <= row["en_recall_at_precision_95"] <= 1 and 0 <= row["en_precision_at_recall_95"] <= 1
