"""Article text extraction quality and speed on the scrapinghub article-extraction-benchmark pages.

    .venv/bin/python bench/extract_quality.py [--limit N]

Corpus: ../shared/corpora/scrapinghub-aeb (181 news pages `html/<id>.html.gz`, `ground-truth.json`
with `articleBody` per id, `output/*.json` published extractors' predictions). Every contestant
runs on the same pages (sorted by id; the first N with --limit):

- newswatch: tasks.ingest.extract(html bytes, url), its text ("" when it returns None);
- trafilatura.extract(html str, include_comments=False): the call the benchmark's own
  extractors/run_trafilatura.py makes, i.e. the extractor newswatch wraps, as published;
- trafilatura.extract(html str) with every default (include_comments=True);
- trafilatura.extract(html str, include_comments=False, fast=True);
- newswatch's own call with fast=True (load_html, bare_extraction(url, with_metadata,
  include_comments=False, fast=True), tasks.common.text.clean, "" below 100 chars): what switching
  extract() to fast=True would give;
- every output/*.json file re-scored with our metric (a sanity check of the metric against the
  README's published figures, e.g. trafilatura 2.0.0 F1 0.958; comparable only on all 181 pages).

Metric: the benchmark's own (see the comment above `tokens`): 4-word shingle tp/fp/fn per page,
normalized per page, precision and recall averaged over pages, F1 of the two means, bootstrap
(1,000 seeded resamples) for the uncertainty. Speed: each live contestant runs over all pages
twice in this process, pinned to one core; the second pass is timed per page (perf_counter),
median and p95 ms/page. Prints a table and one JSON line, writes bench/results/extraction.json.
Skips (exit 0) when the corpus is absent. Other code can call evaluate_all(limit).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import gzip
import json
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from bench.reference import in_extractions, machine_reference, reference_line  # noqa: E402
from tasks.ingest import extract as newswatch_extract  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "scrapinghub-aeb"
RESULTS = ROOT / "bench" / "results" / "extraction.json"
SEED = 20240612
N_BOOTSTRAP = 1000
SHINGLE = 4
# README.rst "Results of the latest evaluation": trafilatura 2.0.0 0.958 ± 0.006; used when the
# README cannot be parsed.
PUBLISHED_FALLBACK = {"trafilatura": {"version": "2.0.0", "f1": 0.958, "f1_pm": 0.006}}


# ---------------------------------------------------------------------------------------------
# The benchmark's metric, reimplemented after scrapinghub/article-extraction-benchmark, file
# evaluate.py (functions _tokenize, _ngrams, string_shingle_matching, metrics_from_tp_fp_fns,
# precision_score, recall_score, get_accuracy, and the bootstrap in evaluate/print_metrics_diff).
# Tokens are \w+ runs, case kept (IGNORECASE on \w changes nothing); shingles are 4 consecutive
# tokens; a text of 1-3 tokens is one shorter shingle; an empty text has none.
# Note: the older evaluate.py reported ± as 1.96 * stdev of the bootstrap, the current one (which
# produced the README table) reports the plain stdev. We report both.
# ---------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)

Counts = tuple[float, float, float]


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    words = tokens(text)
    if not words:
        return Counter()
    if len(words) < n:
        return Counter([tuple(words)])
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def page_counts(true: str, pred: str) -> Counts:
    """(tp, fp, fn) over shingles of one page, divided by their sum so every page weighs the same."""
    want, got = shingles(true), shingles(pred)
    tp = fp = fn = 0.0
    for key in want.keys() | got.keys():
        t, p = want.get(key, 0), got.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total > 0 else (tp, fp, fn)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    if tp == 0 and fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == 0 and fn == 0:
        return 1.0
    if tp == 0 and fn == 0:
        return 0.0
    return tp / (tp + fn)


def _mean(values: list[float]) -> float:
    # The original raises on an empty list (no page with any predicted/true shingle); only a
    # tiny --limit with an extractor that finds nothing can get here.
    return statistics.fmean(values) if values else 0.0


def prf(counts: list[Counts]) -> dict[str, float]:
    precision = _mean([precision_score(*c) for c in counts if c[0] + c[1] > 0])
    recall = _mean([recall_score(*c) for c in counts if c[0] + c[2] > 0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def resamples(n: int) -> Iterator[list[int]]:
    """The same seeded bootstrap index lists for every caller, so contestants are resampled alike."""
    rnd = random.Random(SEED)
    for _ in range(N_BOOTSTRAP):
        yield [rnd.randint(0, n - 1) for _ in range(n)]


def bootstrap(counts: list[Counts], exact: list[float]) -> dict[str, float]:
    draws: dict[str, list[float]] = {"f1": [], "precision": [], "recall": [], "accuracy": []}
    for idx in resamples(len(counts)):
        for key, value in prf([counts[i] for i in idx]).items():
            draws[key].append(value)
        draws["accuracy"].append(_mean([exact[i] for i in idx]))
    out = {}
    for key, values in draws.items():
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        out[f"{key}_sd"] = sd
        out[f"{key}_ci95"] = 1.96 * sd
    return out


def paired_difference(a: list[Counts], b: list[Counts]) -> dict[str, float]:
    """F1(a) - F1(b) on all pages, and the bootstrap of the difference over the same resamples."""
    diffs = [prf([a[i] for i in idx])["f1"] - prf([b[i] for i in idx])["f1"] for idx in resamples(len(a))]
    sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    return {
        "diff": prf(a)["f1"] - prf(b)["f1"],
        "bootstrap_mean": statistics.fmean(diffs),
        "sd": sd,
        "ci95": 1.96 * sd,
    }


def score(truth: list[str], predicted: list[str]) -> dict:
    counts = [page_counts(t, p) for t, p in zip(truth, predicted, strict=True)]
    exact = [float(tokens(t) == tokens(p)) for t, p in zip(truth, predicted, strict=True)]
    return {
        **prf(counts),
        "accuracy": _mean(exact),
        **bootstrap(counts, exact),
        "empty": sum(not tokens(p) for p in predicted),
        "_counts": counts,
    }


# ---------------------------------------------------------------------------------------------
# Corpus and contestants
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    id: str
    url: str
    html: bytes  # as fetched: what newswatch gets
    text: str  # decoded as the benchmark's runners read it (gzip.open(..., "rt", encoding="utf8"))
    truth: str


def load_pages(limit: int | None) -> list[Page]:
    truth = json.loads((CORPUS / "ground-truth.json").read_text(encoding="utf8"))
    pages = []
    for page_id in sorted(truth)[:limit]:
        raw = gzip.decompress((CORPUS / "html" / f"{page_id}.html.gz").read_bytes())
        text = raw.decode("utf8", errors="replace")
        pages.append(Page(page_id, truth[page_id].get("url", ""), raw, text, truth[page_id].get("articleBody") or ""))
    return pages


def load_published() -> dict[str, tuple[str | None, dict[str, str]]]:
    """output/<name>.json -> (version or None, {id: articleBody}); some files wrap the mapping
    as {"version": ..., "output": {...}}."""
    out = {}
    for path in sorted((CORPUS / "output").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf8"))
        version = None
        if isinstance(data.get("output"), dict):
            version, data = data.get("version"), data["output"]
        out[path.stem] = (version, {k: (v or {}).get("articleBody") or "" for k, v in data.items()})
    return out


_README_ROW = re.compile(r"^\s{4}(\S+)\s+(\S+(?: \d{4})?)\s+([01]\.\d{3}) ± ([01]\.\d{3})\s+([01]\.\d{3}) ±")


def published_figures() -> dict[str, dict]:
    """name -> {version, f1, f1_pm} from README.rst: the latest evaluation, then the block of
    earlier results that were not re-run (the first mention of a name wins)."""
    figures: dict[str, dict] = {}
    readme = CORPUS / "README.rst"
    if readme.exists():
        block = 0
        for line in readme.read_text(encoding="utf8").splitlines():
            if line.startswith("Results of the") or line.startswith("Earlier results"):
                block += 1
            if block > 2:
                break
            if m := _README_ROW.match(line):
                figures.setdefault(m[1], {"version": m[2], "f1": float(m[3]), "f1_pm": float(m[4])})
    for name, fig in PUBLISHED_FALLBACK.items():
        figures.setdefault(name, fig)
    return figures


def newswatch(page: Page) -> str:
    result = newswatch_extract(page.html, page.url)
    return result.text if result is not None else ""


def trafilatura_benchmark_call(page: Page) -> str:
    return trafilatura.extract(page.text, include_comments=False) or ""


def trafilatura_defaults(page: Page) -> str:
    return trafilatura.extract(page.text) or ""


def trafilatura_fast(page: Page) -> str:
    return trafilatura.extract(page.text, include_comments=False, fast=True) or ""


def newswatch_pipeline_call(page: Page) -> str:
    """extract() as the monitor calls it when the feed gives the title and date: no page metadata."""
    result = newswatch_extract(page.html, page.url, metadata=False)
    return result.text if result is not None else ""


LIVE: dict[str, Callable[[Page], str]] = {
    "newswatch extract()": newswatch,
    "trafilatura.extract (benchmark call)": trafilatura_benchmark_call,
    "trafilatura.extract (all defaults)": trafilatura_defaults,
    "trafilatura.extract fast=True": trafilatura_fast,
    "newswatch extract(metadata=False)": newswatch_pipeline_call,
}
NEWSWATCH, WRAPPED, DEFAULTS, FAST, PIPELINE = LIVE


@contextlib.contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one CPU for the measurement, then give the caller its CPUs back."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    core = min(before)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)


def run_live(fn: Callable[[Page], str], pages: list[Page]) -> tuple[list[str], list[float], int]:
    """Two passes; the second one's outputs and per-page times (ms). Exceptions count as ""."""
    errors = 0
    texts: list[str] = []
    times: list[float] = []
    for timed in (False, True):
        gc.collect()
        texts, times, errors = [], [], 0
        for page in pages:
            t0 = time.perf_counter()
            try:
                text = fn(page)
            except Exception:  # a crash scores as an empty prediction, and is counted
                text = ""
                errors += 1
            elapsed = (time.perf_counter() - t0) * 1000
            if timed:
                times.append(elapsed)
            texts.append(text)
    return texts, times, errors


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def evaluate_all(limit: int | None = None) -> dict:
    """Score every contestant on the first `limit` pages (all 181 when None). Raises
    FileNotFoundError when the corpus is absent."""
    if not (CORPUS / "ground-truth.json").exists():
        raise FileNotFoundError(CORPUS / "ground-truth.json")
    started = time.perf_counter()
    pages = load_pages(limit)
    truth = [p.truth for p in pages]
    figures = published_figures()
    rows: list[dict] = []
    counts: dict[str, list[Counts]] = {}
    with one_core() as core:
        for name, fn in LIVE.items():
            texts, times, errors = run_live(fn, pages)
            scored = score(truth, texts)
            counts[name] = scored.pop("_counts")
            rows.append(
                {
                    "name": name,
                    "kind": "live",
                    "version": trafilatura.__version__,
                    **scored,
                    "errors": errors,
                    "ms_median": statistics.median(times),
                    "ms_p95": p95(times),
                }
            )
    for name, (version, predicted) in load_published().items():
        scored = score(truth, [predicted.get(p.id, "") for p in pages])
        counts[f"output/{name}.json"] = scored.pop("_counts")
        fig = figures.get(name)
        rows.append(
            {
                "name": f"output/{name}.json",
                "kind": "published",
                "version": version,
                **scored,
                "published_version": fig["version"] if fig else None,
                "published_f1": fig["f1"] if fig else None,
                "published_f1_pm": fig["f1_pm"] if fig else None,
            }
        )
    by_name = {r["name"]: r for r in rows}
    vs_wrapped = paired_difference(counts[NEWSWATCH], counts[WRAPPED])
    fast_call = paired_difference(counts[FAST], counts[WRAPPED])
    pipeline = paired_difference(counts[PIPELINE], counts[WRAPPED])
    sanity = by_name["output/trafilatura.json"]
    verdict = {
        "newswatch_f1_ge_wrapped_trafilatura_f1": by_name[NEWSWATCH]["f1"] >= by_name[WRAPPED]["f1"],
        "newswatch_minus_wrapped_f1": vs_wrapped,
        "fast_minus_default_f1_extract_call": fast_call,
        # "loses" = lower F1 on these pages; "significantly" = the 95% interval lies below 0.
        "fast_loses_f1": fast_call["diff"] < 0,
        "fast_loses_f1_significantly": fast_call["diff"] + fast_call["ci95"] < 0,
        "pipeline_call_minus_wrapped_f1": pipeline,
        "pipeline_call_f1_ge_wrapped": by_name[PIPELINE]["f1"] >= by_name[WRAPPED]["f1"],
        "pipeline_call_speedup_vs_wrapped": by_name[WRAPPED]["ms_median"] / by_name[PIPELINE]["ms_median"],
    }
    return {
        "corpus": str(CORPUS),
        "pages": len(pages),
        "limit": limit,
        "trafilatura": trafilatura.__version__,
        "bootstrap": {"resamples": N_BOOTSTRAP, "seed": SEED},
        "core": core,
        "rows": rows,
        "metric_sanity": {
            "file": "output/trafilatura.json",
            "version": sanity["version"],
            "ours_f1": sanity["f1"],
            "ours_f1_sd": sanity["f1_sd"],
            "published_f1": sanity["published_f1"],
            "published_f1_pm": sanity["published_f1_pm"],
            "match_3dp": sanity["published_f1"] is not None
            and round(sanity["f1"], 3) == sanity["published_f1"]
            and len(pages) == 181,
        },
        "verdict": verdict,
        "seconds": time.perf_counter() - started,
    }


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def print_report(res: dict) -> None:
    print(f"{res['pages']} pages of {res['corpus']}; trafilatura {res['trafilatura']}; core {res['core']}")
    print(f"± is 1.96 x stdev over {N_BOOTSTRAP} bootstrap resamples (the README's ± is the plain stdev: sd column)")
    head = (
        f"{'contestant':38} {'version':>8} {'F1':>6} {'±95%':>6} {'sd':>6} {'prec':>6} {'recall':>6} "
        f"{'exact':>6} {'empty':>5} {'pub F1':>13} {'ms med':>7} {'ms p95':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in res["rows"]:
        pub = "-" if r.get("published_f1") is None else f"{r['published_f1']:.3f} ({r['published_version']})"
        print(
            f"{r['name']:38} {str(r['version'] or '-')[:8]:>8} {r['f1']:6.3f} {r['f1_ci95']:6.3f} {r['f1_sd']:6.3f} "
            f"{r['precision']:6.3f} {r['recall']:6.3f} {r['accuracy']:6.3f} {r['empty']:5d} {pub:>13} "
            f"{_fmt(r.get('ms_median'), '7.1f'):>7} {_fmt(r.get('ms_p95'), '7.1f'):>7}"
        )
    s = res["metric_sanity"]
    print(
        f"\nmetric sanity: our F1 on {s['file']} ({s['version']}) = {s['ours_f1']:.4f} ± {s['ours_f1_sd']:.3f} (sd); "
        f"README: {_fmt(s['published_f1'])} ± {_fmt(s['published_f1_pm'])}; "
        f"{'matches' if s['match_3dp'] else 'DOES NOT MATCH (or not all 181 pages)'}"
    )
    v = res["verdict"]
    d = v["newswatch_minus_wrapped_f1"]
    print(
        f"verdict: newswatch F1 >= wrapped trafilatura F1: {str(v['newswatch_f1_ge_wrapped_trafilatura_f1']).lower()} "
        f"(difference {d['diff']:+.4f} ± {d['ci95']:.4f}, paired bootstrap 95%)"
    )
    d = v["fast_minus_default_f1_extract_call"]
    print(
        f"verdict: fast=True minus default F1, trafilatura.extract call: {d['diff']:+.4f} ± {d['ci95']:.4f}; "
        f"fast=True loses F1: {str(v['fast_loses_f1']).lower()} "
        f"(significantly: {str(v['fast_loses_f1_significantly']).lower()})"
    )
    d = v["pipeline_call_minus_wrapped_f1"]
    print(
        f"verdict: the monitor's call (fast, no page metadata) minus wrapped F1: {d['diff']:+.4f} ± {d['ci95']:.4f}; "
        f">= wrapped: {str(v['pipeline_call_f1_ge_wrapped']).lower()}; "
        f"median speed-up over the wrapped call: {v['pipeline_call_speedup_vs_wrapped']:.2f}x"
    )
    ref = res["reference"]
    ratios = ", ".join(
        f"{r['name']} {r['ms_median_in_extractions']:.2f}" for r in res["rows"] if "ms_median_in_extractions" in r
    )
    print(f"{reference_line(ref)}; median time per page in reference extractions: {ratios}")
    print(f"run time {res['seconds']:.1f} s")


def _rounded(obj: object) -> object:
    if isinstance(obj, float):
        return round(obj, 5)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (sorted by id)")
    args = parser.parse_args()
    if not (CORPUS / "ground-truth.json").exists():
        print(f"skipped: corpus absent ({CORPUS})")
        return 0
    res = _rounded(evaluate_all(args.limit))
    assert isinstance(res, dict)
    res["reference"] = reference = machine_reference()  # in the same run (bench/reference.py)
    for row in res["rows"]:
        if row.get("ms_median") is not None:
            row["ms_median_in_extractions"] = round(in_extractions(row["ms_median"] / 1000, reference), 2)
    print_report(res)
    print(json.dumps(res))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
