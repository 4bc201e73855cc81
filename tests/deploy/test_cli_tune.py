"""`newswatch topics tune` (the threshold chosen on labelled articles, the curve), and the
analyst tools scoring a topic's `semantic:` key: `backtest` on the stored vectors (not embedded
again), `topics test --labelled`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import repository
from tasks.matching import Scored, tune
from tests.helpers import cli, stored_article
from tests.semantic.stories import DESCRIPTION, STORIES

TOPIC = f"""\
topics:
  - name: trafficking
    terms: [human trafficking]
    semantic:
      description: {DESCRIPTION}
      threshold: 0.63
  - name: plain
    terms: [pangolin]
"""
# (id, title, text, wanted): cosines to the description with the shipped model 0.47, 0.68, 0.30,
# 0.57 (tests/semantic/stories.py)
LABELLED = [
    (key, *STORIES[key], wanted)
    for key, wanted in (("keyword", True), ("meaning", True), ("rates", False), ("drugs", False))
]


def test_the_lowest_threshold_that_keeps_precision_is_chosen() -> None:
    rows = [
        Scored("en", True, True, 0.1),  # the query's match: alerted at any threshold
        Scored("en", True, False, 0.9),
        Scored("en", False, False, 0.8),
        Scored("en", True, False, 0.7),
        Scored("km", False, False, 0.95),
    ]
    (overall,) = tune(rows, 0.95, per_language=False)
    assert overall.query_alone.recall == pytest.approx(1 / 3, abs=1e-3) and overall.query_alone.precision == 1.0
    assert overall.chosen is None  # km's 0.95 is not wanted: every threshold that adds loses precision
    en, km = tune(rows, 0.95, per_language=True)
    assert (en.language, km.language) == ("en", "km")
    assert en.chosen is not None and (en.chosen.threshold, en.chosen.added) == (0.9, 1)
    assert en.chosen.recall == pytest.approx(2 / 3, abs=1e-3)
    assert [p.threshold for p in en.curve] == [0.9, 0.8, 0.7] and en.curve[-1].precision == 0.75
    (loose,) = tune(rows[:4], 0.7, per_language=False)
    assert loose.chosen is not None and (loose.chosen.threshold, loose.chosen.recall) == (0.7, 1.0)


def _files(tmp_path: Path) -> tuple[str, str]:
    wl, labelled = tmp_path / "watchlist.yaml", tmp_path / "labelled.jsonl"
    wl.write_text(TOPIC, encoding="utf-8")
    lines = [{"id": i, "lang": "en", "title": t, "text": x, "wanted": w} for i, t, x, w in LABELLED]
    labelled.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(wl), str(labelled)


def test_topics_tune_prints_the_curve_and_the_threshold(tmp_path: Path) -> None:
    pytest.importorskip("static_model", reason="the [semantic] extra is not installed")
    wl, labelled = _files(tmp_path)
    run = cli(["topics", "tune", "trafficking", "--labelled", labelled, "--watchlist", wl, "--json"], {})
    assert run.returncode == 0, run.stderr
    (tuning,) = json.loads(run.stdout)["tunings"]
    assert tuning["query_alone"]["recall"] == 0.5 and tuning["articles"] == 4
    chosen = tuning["chosen"]
    assert 0.6 < chosen["threshold"] < 0.75 and (chosen["precision"], chosen["recall"], chosen["added"]) == (1, 1, 1)
    assert [p["alerted"] for p in tuning["curve"]] == [2, 3, 4]  # boats, then drugs, then rates

    table = cli(["topics", "tune", "trafficking", "--labelled", labelled, "--watchlist", wl], {})
    assert table.returncode == 0, table.stderr
    assert f"threshold {chosen['threshold']:.3f}: precision 1.00 ≥ 0.95, recall 0.50 → 1.00 (1 added)" in table.stdout
    assert f"In the watchlist, under semantic: threshold: {chosen['threshold']:.3f}" in table.stdout

    scored = cli(["topics", "test", "trafficking", "--labelled", labelled, "--watchlist", wl, "--json"], {})
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["overall"]["recall"] == 1.0  # the story without the terms counts


def test_topics_tune_bad_input_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("static_model", reason="the [semantic] extra is not installed")
    wl, labelled = _files(tmp_path)
    for args, message in (
        (["plain"], "'plain' has no `semantic:` key to tune"),
        (["nope"], "'nope' is not a topic of the watchlist"),
    ):
        run = cli(["topics", "tune", *args, "--labelled", labelled, "--watchlist", wl], {})
        assert run.returncode == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_backtest_uses_the_stored_vectors(db_url: str, tmp_path: Path) -> None:
    """The archive's vectors are what backtest compares: an article stored with the vector of the
    story about fishing boats is added although its own text (interest rates) is far from it."""
    pytest.importorskip("static_model", reason="the [semantic] extra is not installed")
    from tasks.semantic import embed_article, load_embedder

    embedder = load_embedder()
    boats = embed_article(LABELLED[1][1], LABELLED[1][2], embedder)
    source = repository.upsert_sources(db_url, [("Coast News", "https://coast.example/rss", [])])["Coast News"]
    when = datetime.now(UTC) - timedelta(days=1)
    records = [
        stored_article(
            source,
            f"https://coast.example/{i}",
            t,
            x,
            published_at=when,
            language="en",
            vector=(boats if i == "rates" else embed_article(t, x, embedder)).data,
            vector_model=embedder.name,
        )
        for i, t, x, _ in LABELLED
    ]
    repository.insert_articles(db_url, records)
    wl, _ = _files(tmp_path)
    run = cli(["backtest", "trafficking", "--since", "7d", "--watchlist", wl, "--db", db_url, "--json"], {})
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert (report["scanned"], report["matched"]) == (4, 3)
    titles = {e["title"]: e for e in report["examples"]}
    assert set(titles) == {LABELLED[0][1], LABELLED[1][1], LABELLED[2][1]}
    assert titles[LABELLED[2][1]]["clauses"] == ["similar in meaning (no term matched)"]
