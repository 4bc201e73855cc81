"""The benchmark harness itself runs end to end at a tiny scale, so a change cannot silently
break the figures the README quotes (bench/pipeline.py at full scale is run by hand)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(600)
def test_pipeline_bench_runs_every_phase_and_checks_its_alerts(tmp_path: Path) -> None:
    results = ROOT / "bench" / "results" / "pipeline.json"
    results.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "bench" / "pipeline.py"), "--sites", "8", "--entries", "3"]
    cmd += ["--naive-sites", "2", "--publish", "4", "--serve-runs", "2", "--warm-runs", "2", "--match-share", "0.25"]
    cmd += ["--new-match-share", "1.0", "--fail-share", "0.25", "--port-base", "26500"]
    cmd += ["--phases", "naive,plain,floor,cold,semantic,warm,incremental,serve", "--repeat", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=580, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(results.read_text())
    cold = r["cold"]
    assert cold["expected_matches"] >= 1 and cold["alerted"] == cold["expected_matches"], cold
    assert cold["alerted_twice"] == 0 and cold["missed"] == []
    assert cold["output"]["sources_failed"] >= 1  # the failing hosts failed, and the run went on
    assert r["plain"]["output"]["sent"] == cold["output"]["alerts_sent"]
    # The floor fetched and extracted the pages the cold run stored from pages (issue #18 part 4).
    floor = r["floor"]["output"]
    assert floor["fetched"] == floor["extracted"] == floor["requests"]["pages"] == cold["output"]["new_articles"]
    v = r["verdicts"]
    assert v["cold_vs_floor_cpu_per_article"] > 1 and "cold_vs_floor_cpu_per_article" in v["met"]
    # --repeat 2: two floor and cold pairs, alternated; the verdict is the median pair's ratio.
    pairs = r["pairs"]
    assert len(pairs) == 2 and pairs[-1]["cold_cpu_ms"] == pytest.approx(1000 * cold["cpu_s"] / floor["fetched"])
    assert v["cold_vs_floor_cpu_per_article"] == pytest.approx((pairs[0]["ratio"] + pairs[1]["ratio"]) / 2)
    assert "floor and cold pairs" in done.stdout
    assert r["warm"]["pages_fetched"] == 0 and r["warm"]["output"]["new_articles"] == 0
    assert r["warm"]["runs"] == 2 and len(r["warm"]["walls_s"]) == 2
    assert len(r["warm"]["empty_flow_walls_s"]) == 2 and r["warm"]["empty_flow_wall_s"] > 0
    assert round(r["warm"]["wall_s"], 2) in r["warm"]["walls_s"]  # the median run
    inc = r["incremental"]
    assert inc["matching"] >= 1 and inc["alerted"] == inc["matching"], inc
    assert inc["time_to_alert_s"]["after_run_start_max"] > 0
    assert r["serve"]["runs"] == 2 and len(r["serve"]["serve_rss_mb"]) == 2
    assert set(r["verdicts"]["met"]) >= {"warm_pages_fetched", "time_to_alert_s", "cold_peak_rss_mb"}
    if "semantic" in r:  # the [semantic] extra is installed: the cold run again with the model on
        assert r["semantic"]["output"]["new_articles"] == cold["output"]["new_articles"]
        assert r["semantic"]["warm"]["cpu_s"] > 0 and "semantic_cpu_per_article_growth" in r["verdicts"]
    assert "naive" in done.stdout and "targets met" in done.stdout


def test_health_bench_compares_the_two_rhythm_queries_on_both_backends() -> None:
    results = ROOT / "bench" / "results" / "health.json"
    results.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "bench" / "health.py"), "--sizes", "300,3000", "--sources", "40"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]  # it asserts that both queries return the same rows
    rows = json.loads(results.read_text())["rows"]
    measured = {(r["backend"], r["articles"]) for r in rows}
    assert measured >= {("sqlite", 300), ("sqlite", 3000)}
    if os.environ.get("CI"):  # PostgreSQL runs there: its figures must not be skipped
        assert ("postgresql", 3000) in measured, done.stderr[-2000:]
    assert all(r["windowed_s"] > 0 and r["source_health_s"] > 0 for r in rows)


def test_extraction_bench_calls_newswatch_extract_without_errors() -> None:
    """Each newswatch row must run the project's own extract(): a renamed import once made
    every call fail and the table printed F1 0.000 without failing."""
    corpus = ROOT.parent / "shared" / "corpora" / "scrapinghub-aeb"
    if not corpus.exists():
        pytest.skip(f"corpus absent: {corpus}")
    results = ROOT / "bench" / "results" / "extraction.json"
    results.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "bench" / "extract_quality.py"), "--limit", "6"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {r["name"]: r for r in json.loads(results.read_text())["rows"]}
    ours = [r for name, r in rows.items() if name.startswith("newswatch")]
    assert ours and all(r["errors"] == 0 and r["f1"] > 0.5 for r in ours), ours


def test_sitemap_bench_polls_the_outlet_and_finds_every_new_story() -> None:
    results = ROOT / "bench" / "results" / "sitemap.json"
    results.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "bench" / "sitemap.py"), "--archives", "5", "--urls", "500", "--news", "4"]
    cmd += ["--new", "3", "--quiet-polls", "1", "--min-gap", "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    r = json.loads(results.read_text())
    assert r["new_published"] == 6 and r["new_missed"] == 0 and r["quiet_requests_max"] <= 5
    assert {row["outlet"] for row in r["rows"]} == {"news sitemap", "archives only"}


def test_search_index_bench_stores_the_same_articles_under_each_index(tmp_path: Path) -> None:
    """bench/search_index.py: every variant stores every article, and the shipped index costs
    more than none (the figure issue #18 part 4 quotes)."""
    out = tmp_path / "search_index.json"
    cmd = [sys.executable, str(ROOT / "bench" / "search_index.py"), "--sites", "1", "--batches", "2", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    r = json.loads(out.read_text())
    assert r["articles"] == 40 and r["text_chars"] > 1000
    ms = r["cpu_ms_per_article"]
    assert set(ms) == {"shipped", "trigram with positions", "unicode61", "unicode61 detail=none", "none"}
    assert ms["trigram with positions"] > ms["none"] > 0
    size = r["bytes_per_article"]
    assert size["trigram with positions"] > size["shipped"] > size["none"] > 0


@pytest.mark.timeout(300)
def test_emm_day_bench_runs_intervals_in_one_and_two_processes() -> None:
    """bench/emm_day.py at a tiny scale: every interval's new articles stored, every matching one
    alerted (its latency measured), database growth counted, the day extrapolated per mode."""
    results = ROOT / "bench" / "results" / "emm_day.json"
    results.unlink(missing_ok=True)
    cmd = [sys.executable, str(ROOT / "bench" / "emm_day.py"), "--sources", "12", "--per-interval", "6"]
    cmd += ["--intervals", "1", "--backends", "sqlite", "--modes", "local,split", "--backlog", "0"]
    cmd += ["--new-match-share", "0.5", "--fail-share", "0", "--port-base", "26600", "--no-reference"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(results.read_text())
    rows = {row["mode"]: row for row in r["intervals"]}
    assert set(rows) == {"local", "split"}
    for row in rows.values():
        assert row["new_articles"] == 6 and row["exit_codes"] in ([0], [0, 0]), row
        assert row["matching"] >= 1 and row["alerted"] == row["matching"], row
        assert 0 < row["alert_p50_s"] <= row["alert_p95_s"] and row["newswatch_bytes"] > 0, row
    assert len(rows["split"]["exit_codes"]) == 2
    day = r["days"]["sqlite/local"]
    assert day["emm"]["cpu_hours"] > 0 and day["emm"]["retention_days_under_100gb"] > 0
    assert "day sqlite/split" in done.stdout


def test_mutation_bench_lists_its_modules_without_running_mutmut() -> None:
    """bench/mutation.py is never run in CI (minutes of CPU a module): its options and its
    module list only, so the script cannot rot unseen."""
    cmd = [sys.executable, str(ROOT / "bench" / "mutation.py"), "--list"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "tasks/ingest/canonical.py  <-  tests/ingest/test_canonical.py" in done.stdout
    for path in done.stdout.split():
        if path.startswith(("tasks/", "storage/", "tests/")) and "*" not in path:
            file = path.split("::")[0]  # a test file, or one test of it (file::name)
            assert (ROOT / file).exists(), path  # every module and test file it names exists
    helped = subprocess.run([*cmd[:2], "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert helped.returncode == 0 and "--modules" in helped.stdout


def test_emm_day_counts_the_source_health_table_at_its_stores_per_day_not_per_run() -> None:
    """The first interval of a bench stores the newswatch-sources table and the next ones do not
    (it is stored by time: tasks/report.py); its cost per day is its size at its stores a day."""
    from dataclasses import replace

    from bench.emm_day import RUNS_PER_DAY, Interval, prefect_run_bytes
    from tasks.report import sources_table_gap

    first = Interval("postgres", "prefect", 0, 10, 10, 10, 1.0, 1.0, 0.0, 1.0, 1.0, 0, 0, None, None, None, 1, 0, 0.0)
    rows = [
        replace(first, prefect_bytes=3_000_000, prefect_table_bytes=1_300_000),  # 400 KB besides the table
        replace(first, index=1, prefect_bytes=400_000, prefect_table_bytes=0),
    ]
    per_day = 86400 / sources_table_gap(1_300_000).total_seconds()
    assert 1.5 < per_day < 2.5
    assert prefect_run_bytes(rows) == pytest.approx(400_000 + 2 * 1_300_000 * per_day / RUNS_PER_DAY)
    # The first run's one-time rows are left out when there are later runs.
    third = replace(first, index=2, prefect_bytes=500_000, prefect_table_bytes=0)
    assert prefect_run_bytes([replace(rows[0], prefect_bytes=9_000_000), rows[1], third]) == pytest.approx(
        450_000 + 2 * 1_300_000 * per_day / RUNS_PER_DAY
    )
    # A small table may be stored every run: counted every run.
    small = [replace(first, prefect_bytes=420_000, prefect_table_bytes=10_000)]
    assert prefect_run_bytes(small) == pytest.approx(420_000)
    assert prefect_run_bytes([replace(first, prefect_bytes=None)]) is None
