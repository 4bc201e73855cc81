"""`newswatch topics tune TOPIC --labelled FILE`: a semantic topic's threshold chosen on labelled
articles (the analysts' judgments, `alerts export-labelled`, or bench/relevance/articles.jsonl),
with the precision/recall curve; `newswatch topics fit TOPIC --labelled FILE`: a topic's weighted
indicators (`score:`) fitted on them; and the model the other analyst tools score `semantic:` with."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from deploy.cli_common import DbOpt, JsonOpt, WatchlistOpt, esc, fail, open_db, out, print_json


def topic_meaning(topic: Any, db_url: str | None) -> Any:
    """The topic's semantic method with the configured model (None: no `semantic:` key); exit 2
    when the model cannot be loaded (the message says how to install it)."""
    if getattr(topic, "semantic", None) is None:
        return None
    from tasks.config import load_settings
    from tasks.matching import meaning_of
    from tasks.semantic import SHIPPED, EmbedderUnavailable, cached_embedder, model_choice

    try:
        embedder = cached_embedder(model_choice(load_settings().embed_model) or SHIPPED)
    except EmbedderUnavailable as exc:
        raise fail("semantic model", exc, 2) from None
    return meaning_of(topic, embedder, db_url)


def named_meaning(name: str | None, watchlist: Path | None, db_url: str | None) -> Any:
    """The semantic method of the watchlist's topic called `name` (None: no such topic, or it has
    no `semantic:` key: a query not yet saved matches by its terms alone)."""
    from tasks.config import ConfigError, load_settings, load_watchlist

    try:
        topics = load_watchlist(watchlist or load_settings().watchlist_file).topics
    except ConfigError:
        return None
    spec = next((t for t in topics if name is not None and t.name.casefold() == name.casefold()), None)
    return topic_meaning(spec, db_url)


def topic_and_labels(command: str, topic: str, labelled: Path, watchlist: Path | None) -> tuple[Any, list[Any]]:
    """The watchlist's topic called `topic` and the articles of `labelled` labelled for it; exit 2
    on a bad file or an unknown topic."""
    from tasks.config import ConfigError, load_settings, load_watchlist
    from tasks.matching import LabelError, labels_for, read_labelled

    try:
        topics = load_watchlist(watchlist or load_settings().watchlist_file).topics
        articles = read_labelled(labelled)
    except (ConfigError, LabelError) as exc:
        raise fail("bad input", exc, 2) from None
    spec = next((t for t in topics if t.name.casefold() == topic.casefold()), None)
    if spec is None:
        raise fail(command, f"{topic!r} is not a topic of the watchlist", 2)
    return spec, labels_for(articles, spec.name)[0]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print_tuning(t: Any) -> None:
    from tasks.matching import sampled

    alone = t.query_alone
    out.print(
        f"[bold]{esc(t.language)}[/]: {t.articles} articles, {t.wanted} wanted; the query alone: "
        f"precision {_ratio(alone.precision)}, recall {_ratio(alone.recall)}",
        highlight=False,
    )
    table = Table()
    for col in ("threshold", "alerts", "added", "precision", "recall"):
        table.add_column(col, justify="right")
    for p in sampled(t.curve, t.chosen):
        mark = " ←" if p == t.chosen else ""
        row = (f"{p.threshold:.3f}{mark}", str(p.alerted), str(p.added), _ratio(p.precision), _ratio(p.recall))
        table.add_row(*row)
    out.print(table)
    if t.chosen is None:
        out.print(f"  no threshold keeps precision ≥ {t.target:.2f} while adding an article", highlight=False)
    else:
        c = t.chosen
        out.print(
            f"  threshold {c.threshold:.3f}: precision {_ratio(c.precision)} ≥ {t.target:.2f}, "
            f"recall {_ratio(alone.recall)} → {_ratio(c.recall)} ({c.added} added)",
            highlight=False,
        )


def topics_tune(
    topic: Annotated[str, typer.Argument(help="A topic of the watchlist with a `semantic:` key.")],
    labelled: Annotated[Path, typer.Option("--labelled", help="Labelled articles (JSON lines).")],
    precision: Annotated[
        float, typer.Option("--precision", min=0.0, max=1.0, help="The precision to keep (default 0.95).")
    ] = 0.95,
    per_language: Annotated[
        bool, typer.Option("--per-language", help="A threshold for each language of the file.")
    ] = False,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Choose a semantic topic's threshold: the lowest at which its alerts (query matches plus the
    articles close in meaning) keep the precision on labelled articles; prints the curve.

    Example: newswatch topics tune human-trafficking --labelled judged.jsonl --precision 0.9
    """
    from tasks.matching import compile_topic, score_articles, tune

    spec, kept = topic_and_labels("topics tune", topic, labelled, watchlist)
    if spec.semantic is None:
        raise fail("topics tune", f"{topic!r} has no `semantic:` key to tune", 2)
    if not kept:
        raise fail("bad labelled file", f"{labelled}: no article is labelled for {spec.name}", 2)
    stored = spec.semantic.stored_references() != ([], [])
    meaning = topic_meaning(spec, open_db(db) if db or stored else None)
    results = tune(score_articles(compile_topic(spec), meaning, kept), precision, per_language)
    if as_json:
        print_json({"topic": spec.name, "file": str(labelled), "tunings": [asdict(t) for t in results]})
        return
    out.print(f"{esc(spec.name)} on {esc(labelled)}: {len(kept)} labelled article(s)", highlight=False)
    for t in results:
        _print_tuning(t)
    chosen = {t.language: f"{t.chosen.threshold:.3f}" for t in results if t.chosen}
    if chosen:
        each = "{" + ", ".join(f"{k}: {v}" for k, v in chosen.items()) + "}"
        value = each if per_language else chosen[results[0].language]
        out.print(f"In the watchlist, under semantic: threshold: {value}", highlight=False)


def topics_fit(
    topic: Annotated[str, typer.Argument(help="A topic of the watchlist.")],
    labelled: Annotated[Path, typer.Option("--labelled", help="Labelled articles (JSON lines).")],
    feature: Annotated[
        list[str] | None,
        typer.Option("--feature", help="A clause to weigh besides the topic's groups, e.g. '@held NEAR/4 @premises'."),
    ] = None,
    precision: Annotated[
        float, typer.Option("--precision", min=0.0, max=1.0, help="The precision to keep (default 0.95).")
    ] = 0.95,
    words: Annotated[
        bool,
        typer.Option("--words", help="Also weigh the English words and word pairs of the labelled articles."),
    ] = False,
    watchlist: WatchlistOpt = None,
) -> None:
    """Fit a topic's weighted indicators (its `score:` key) on labelled articles: weights for the
    groups (and --feature clauses, and with --words the words and two-word phrases the articles
    use) that separate wanted from unwanted articles, and the lowest score that keeps the
    precision with the query's matches; prints the block to paste.

    Example: newswatch topics fit human-trafficking --labelled judged.jsonl --feature '@held NEAR/4 @premises'
    """
    import yaml

    from tasks.matching import MIN_WEIGHT, FitUnavailable, features_of, fit_score, phrase_features
    from tasks.query import QuerySyntaxError

    spec, kept = topic_and_labels("topics fit", topic, labelled, watchlist)
    extra = [*(feature or ()), *(phrase_features(kept) if words else ())]
    try:
        fitted = fit_score(spec, kept, features_of(spec, extra), precision, MIN_WEIGHT if words else 0.0)
    except QuerySyntaxError as exc:
        raise fail("--feature", exc, 2) from None
    except (ValueError, FitUnavailable) as exc:
        raise fail("topics fit", f"{labelled}: {exc}", 2) from None
    if fitted is None:
        raise fail("topics fit", f"no threshold keeps precision {precision:.2f} on {labelled}", 1)
    out.print(
        f"# {esc(spec.name)} on {len(kept)} labelled articles ({fitted.wanted} wanted): out of fold, with the "
        f"query, recall {fitted.recall:.2f} and precision {fitted.precision:.2f}. In the topic:",
        highlight=False,
    )
    print(yaml.safe_dump({"score": fitted.spec.model_dump()}, allow_unicode=True, sort_keys=False), end="")
