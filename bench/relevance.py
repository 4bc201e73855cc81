"""Relevance of the human-trafficking topic: precision, recall and F1 on a hand-written set.

    .venv/bin/python bench/relevance.py                          # the measure half
    .venv/bin/python bench/relevance.py --split tune             # tune | measure | all
    .venv/bin/python bench/relevance.py --topic draft.yaml       # add a draft topic as a row

The set is bench/relevance/articles.jsonl (208 short news articles in English, Khmer, Thai and
Vietnamese, each labelled wanted or not by an analyst watching trafficking in persons, forced
labour and scam compounds; bench/relevance/README.md says how it was written and split). Each
method is a topic matched with the project's own code (tasks.matching.match, the article's
language query, then the default one):

- old: the shipped topic as it was before its rewrite, frozen in bench/relevance/old_topic.yaml;
- keywords: the plain OR of words an analyst types first (bench/relevance/keywords.yaml);
- shipped: the topic `human-trafficking` of deploy/watchlist.yaml as it is now;
- every --topic FILE (a watchlist YAML): its topic `--name` (default human-trafficking), or
  its only topic;
- semantic, shipped+semantic (issue #16; with the [semantic] extra, else left out with a line
  saying so): the shipped model's cosine between an article (title + text, int8 as stored)
  and bench/relevance/semantic_topic.yaml (the description, its translations, the examples),
  alone and OR'd with the shipped topic as a run does, at thresholds per language chosen on
  the **tune** half by `newswatch topics tune`'s rule (tasks.matching.tune: the lowest
  threshold keeping precision >= 0.95; a language where none does gets no semantic alerts).

Tune a topic on the tune half; quote the measure half. Prints a table of precision, recall and
F1 per method and language, every miss and false alert by id with the methods that made it,
and one JSON line; writes bench/results/relevance.json.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.reference import write_results  # noqa: E402
from tasks.config import TopicSpec, load_watchlist  # noqa: E402
from tasks.matching import CompiledTopic, LabelledArticle, compile_topic, match  # noqa: E402

SET = ROOT / "bench" / "relevance" / "articles.jsonl"
OLD = ROOT / "bench" / "relevance" / "old_topic.yaml"
KEYWORDS = ROOT / "bench" / "relevance" / "keywords.yaml"
SHIPPED = ROOT / "deploy" / "watchlist.yaml"
RESULTS = ROOT / "bench" / "results" / "relevance.json"
SEMANTIC_TOPIC = ROOT / "bench" / "relevance" / "semantic_topic.yaml"
TARGET_PRECISION = 0.95
TOPIC = "human-trafficking"
LANGS = ("en", "km", "th", "vi")
SPLITS = ("tune", "measure")
FIELDS = {
    "id": str,
    "lang": str,
    "title": str,
    "text": str,
    "wanted": bool,
    "kind": str,
    "says_trafficking": bool,
    "split": str,
}
# The words whose absence says_trafficking records (README: the set).
SAYS_TRAFFICKING = re.compile(
    r"traffick|ជួញដូរ|ค้ามนุษย์|ค้า[\u0e00-\u0e7f]{0,12}มนุษย์|buôn bán người|mua bán người|buôn người", re.IGNORECASE
)


def check(record: dict[str, Any], line: int) -> list[str]:
    """What is wrong with one record of the set (nothing: [])."""
    where = f"{SET.name}:{line}"
    problems = [f"{where}: {k} missing or not {t.__name__}" for k, t in FIELDS.items() if type(record.get(k)) is not t]
    if problems:
        return problems
    if set(record) != set(FIELDS):
        problems.append(f"{where}: unexpected keys {sorted(set(record) - set(FIELDS))}")
    if record["lang"] not in LANGS or not re.fullmatch(rf"{record['lang']}-\d{{3}}", record["id"]):
        problems.append(f"{where}: id {record['id']!r} / lang {record['lang']!r}")
    if record["split"] not in SPLITS:
        problems.append(f"{where}: split {record['split']!r}")
    if not record["title"].strip() or not record["kind"].strip():
        problems.append(f"{where}: empty title or kind")
    words = len(record["text"].split())
    if record["lang"] in ("en", "vi") and not 60 <= words <= 150:
        problems.append(f"{where}: {words} words (60-150)")
    if record["lang"] in ("km", "th") and not 250 <= len(record["text"]) <= 1200:  # written without spaces
        problems.append(f"{where}: {len(record['text'])} characters (250-1200)")
    says = bool(SAYS_TRAFFICKING.search(record["title"] + "\n" + record["text"]))
    if says != record["says_trafficking"]:
        problems.append(f"{where}: says_trafficking is {record['says_trafficking']}, the text says {says}")
    return problems


def load_set(path: Path = SET) -> list[dict[str, Any]]:
    records, problems = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            record = json.loads(line)
            problems += check(record, n)
            records.append(record)
    ids = [r.get("id") for r in records]
    problems += [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise SystemExit("the set is invalid:\n" + "\n".join(problems))
    return records


@dataclass(frozen=True)
class Method:
    name: str
    file: Path
    topic: CompiledTopic


def topic_spec(file: Path, topic: str | None) -> TopicSpec:
    """A topic of a watchlist file: the one named `topic`, else the file's only topic."""
    topics = load_watchlist(file).topics
    chosen = [t for t in topics if t.name == topic] or (list(topics) if len(topics) == 1 else [])
    if not chosen:
        names = ", ".join(t.name for t in topics)
        raise SystemExit(f"{file}: no topic {topic!r} and more than one topic ({names}); pass --name")
    return chosen[0]


def load_method(name: str, file: Path, topic: str | None, with_score: bool = True) -> Method:
    spec = topic_spec(file, topic)
    return Method(name, file, compile_topic(spec if with_score else spec.model_copy(update={"score": None})))


# The clauses of the shipped query that weigh as one indicator, besides its groups (issue #15).
SCORE_FEATURES = ("@held NEAR/4 @premises", "@phones NEAR/3 @seized", "@papers NEAR/6 @withhold",
                  "@promise NEAR/6 @job", "@debt NEAR/10 @costs", "@sell ONEAR/2 @whom",
                  "@coerce ONEAR/5 @coerced-into", "SENTENCE(@trafficking AND @persons)")  # fmt: skip


def shipped_features(spec: TopicSpec, articles: Sequence[LabelledArticle]) -> list[str]:
    """What the shipped score is fitted over: the topic's groups, SCORE_FEATURES, and the words
    and two-word phrases of `articles` (bench/relevance_models.py's "logistic + words" rows too)."""
    from tasks.matching import features_of, phrase_features

    return features_of(spec, [*SCORE_FEATURES, *phrase_features(articles)])


def fit_shipped_score(records: list[dict[str, Any]]) -> str:
    """The shipped topic's `score:` block fitted on the tune half (tasks.matching.fitting), as YAML."""
    import yaml

    from tasks.matching import MIN_WEIGHT, fit_score

    spec = topic_spec(SHIPPED, TOPIC)
    tune_half = [
        LabelledArticle(r["id"], r["lang"], r["title"], r["text"], r["wanted"]) for r in records if r["split"] == "tune"
    ]
    fitted = fit_score(spec, tune_half, shipped_features(spec, tune_half), min_weight=MIN_WEIGHT)
    if fitted is None:
        raise SystemExit("no threshold keeps precision 0.95 on the tune half")
    block = {"score": fitted.spec.model_dump()}
    head = (
        f"# fitted on {fitted.articles} tune articles: out of fold recall {fitted.recall}, precision {fitted.precision}"
    )
    return head + "\n" + yaml.safe_dump(block, allow_unicode=True, sort_keys=False)


def semantic_methods(records: list[dict[str, Any]], shipped: Method) -> dict[str, Any]:
    """The semantic methods' hits on every record ({method: {id: words or None}}), their
    thresholds (chosen on the tune records) and the model's name; {} without the extra."""
    import yaml

    from tasks.config import SemanticSpec, TopicSpec
    from tasks.matching import Scored, meaning_of, tune
    from tasks.semantic import EmbedderUnavailable, article_input, load_embedder, pack, unpack

    try:
        embedder = load_embedder()
    except EmbedderUnavailable as exc:
        print(f"semantic methods left out: {exc}", file=sys.stderr)
        return {}
    refs = yaml.safe_load(SEMANTIC_TOPIC.read_text(encoding="utf-8"))
    examples = (*refs["translations"].values(), *refs["examples"])
    spec = SemanticSpec(description=refs["description"], examples=examples, threshold=1.0)
    meaning = meaning_of(TopicSpec(name=TOPIC, terms=("unused",), semantic=spec), embedder, None)
    assert meaning is not None
    vectors = embedder.embed([article_input(r["title"], r["text"]) for r in records])
    score = {r["id"]: meaning.score(unpack(pack(v))) for r, v in zip(records, vectors, strict=True)}
    query = {r["id"]: match(r["title"], r["text"], shipped.topic, language=r["lang"]) is not None for r in records}
    tune_half = [r for r in records if r["split"] == "tune"]
    out: dict[str, Any] = {"model": embedder.name, "thresholds": {}, "hits": {}}
    for name, with_query in (("semantic", False), ("shipped+semantic", True)):
        rows = [Scored(r["lang"], r["wanted"], with_query and query[r["id"]], score[r["id"]]) for r in tune_half]
        chosen = {t.language: t.chosen.threshold if t.chosen else None for t in tune(rows, TARGET_PRECISION, True)}
        out["thresholds"][name] = chosen

        def alerted(r: dict[str, Any], chosen: dict[str, float | None] = chosen, with_query: bool = with_query) -> bool:
            t = chosen.get(r["lang"])
            return (with_query and query[r["id"]]) or (t is not None and score[r["id"]] >= t)

        out["hits"][name] = {r["id"]: [f"~{score[r['id']]:.3f}"] if alerted(r) else None for r in records}
    return out


def figures(rows: list[tuple[bool, bool]]) -> dict[str, Any]:
    """(wanted, alerted) pairs -> counts, precision, recall, F1 (None where undefined)."""
    tp = sum(w and a for w, a in rows)
    fp = sum(a and not w for w, a in rows)
    fn = sum(w and not a for w, a in rows)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {
        "articles": len(rows),
        "wanted": tp + fn,
        "alerts": tp + fp,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": rounded(precision),
        "recall": rounded(recall),
        "f1": rounded(f1),
    }


def rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def show(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=(*SPLITS, "all"), default="measure", help="which half (default: measure)")
    ap.add_argument("--topic", type=Path, action="append", default=[], help="a watchlist YAML to add as a row")
    ap.add_argument("--name", default=TOPIC, help=f"the topic to take from each --topic file (default {TOPIC})")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON results")
    ap.add_argument("--no-semantic", action="store_true", help="leave out the semantic methods")
    ap.add_argument("--fit-score", action="store_true", help="print the shipped topic's score: fitted on the tune half")
    args = ap.parse_args(argv)

    everything = load_set()
    if args.fit_score:
        print(fit_shipped_score(everything), end="")
        return 0
    records = [r for r in everything if args.split == "all" or r["split"] == args.split]
    methods = [
        load_method("old", OLD, TOPIC),
        load_method("keywords", KEYWORDS, None),
        load_method("shipped", SHIPPED, TOPIC),
        load_method("query alone", SHIPPED, TOPIC, with_score=False),
    ]
    for file in args.topic:
        name = file.stem
        while name in {m.name for m in methods}:
            name += "'"
        methods.append(load_method(name, file, args.name))

    hits: dict[str, dict[str, list[str] | None]] = {}  # method -> id -> words found (None: no alert)
    for m in methods:
        hits[m.name] = {}
        for r in records:
            hit = match(r["title"], r["text"], m.topic, language=r["lang"])
            hits[m.name][r["id"]] = None if hit is None else hit.words
    semantic = semantic_methods(everything, methods[2]) if not args.no_semantic else {}
    for name, by_id in semantic.get("hits", {}).items():
        methods.append(Method(name, SEMANTIC_TOPIC, methods[2].topic))
        hits[name] = by_id

    table: dict[str, dict[str, Any]] = {}
    for m in methods:
        table[m.name] = {}
        for lang in (*LANGS, "all"):
            rows = [(r["wanted"], hits[m.name][r["id"]] is not None) for r in records if lang in ("all", r["lang"])]
            table[m.name][lang] = figures(rows)

    wanted = sum(r["wanted"] for r in records)
    which = "all" if args.split == "all" else f"the {args.split} half"
    print(f"{len(records)} articles ({wanted} wanted): {which} of {rel(SET)}")
    for name, chosen in semantic.get("thresholds", {}).items():
        shown = " ".join(f"{lang} {'-' if t is None else f'{t:.3f}'}" for lang, t in chosen.items())
        print(f"{name} ({semantic['model']}) thresholds, chosen on the tune half: {shown}")
    w = max(len(m.name) for m in methods)
    print(f"{'method':<{w}} {'lang':<4} {'articles':>8} {'wanted':>6} {'alerts':>6} {'TP':>4} {'FP':>4} {'FN':>4}  "
          f"{'precision':>9} {'recall':>6} {'F1':>5}")  # fmt: skip
    for m in methods:
        for lang, f in table[m.name].items():
            print(
                f"{m.name:<{w}} {lang:<4} {f['articles']:>8} {f['wanted']:>6} {f['alerts']:>6} {f['tp']:>4} "
                f"{f['fp']:>4} {f['fn']:>4}  {show(f['precision']):>9} {show(f['recall']):>6} {show(f['f1']):>5}"
            )

    misses = {m.name: [r["id"] for r in records if r["wanted"] and hits[m.name][r["id"]] is None] for m in methods}
    false_alerts = {
        m.name: [
            {"id": r["id"], "words": hits[m.name][r["id"]]}
            for r in records
            if not r["wanted"] and hits[m.name][r["id"]] is not None
        ]
        for m in methods
    }
    print("\nmisses (wanted, no alert), with the methods that missed:")
    for r in records:
        who = [m.name for m in methods if r["id"] in misses[m.name]]
        if who:
            print(f"  {r['id']}  {r['kind']:<26} {' '.join(who):<28} {r['title'][:70]}")
    print("\nfalse alerts (alert, not wanted), with the methods and the words they found:")
    for r in records:
        found = {m.name: hits[m.name][r["id"]] for m in methods}
        who = [f"{name} ({', '.join(words)})" for name, words in found.items() if words is not None]
        if who and not r["wanted"]:
            print(f"  {r['id']}  {r['kind']:<26} {'; '.join(who)}")

    result = {
        "bench": "relevance",
        "set": rel(SET),
        "split": args.split,
        "articles": len(records),
        "wanted": wanted,
        "by_language": {lang: {k: table["old"][lang][k] for k in ("articles", "wanted")} for lang in LANGS},
        "methods": {m.name: {"file": rel(m.file), "topic": m.topic.name} for m in methods},
        "semantic": {k: v for k, v in semantic.items() if k != "hits"},
        "figures": table,
        "misses": misses,
        "false_alerts": false_alerts,
    }
    write_results(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
