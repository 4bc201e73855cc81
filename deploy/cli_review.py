"""The analyst's tools to change a topic safely: `topics test --labelled` (the topic scored on
labelled articles), `backtest TOPIC --against OLD_WATCHLIST` (what a change adds and removes in the
archive) and `topics report` (judged precision per topic and week, from `alerts mark`). Called by
deploy/cli_topics.py, which owns the commands' options."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from deploy.cli_common import DbOpt, JsonOpt, esc, fail, open_db, out, print_json, since

Compile = Callable[[str, Path | None], Any]  # a query or topic name, the watchlist -> a CompiledTopic


def _watchlist(path: Path | None, option: str = "--watchlist"):  # type: ignore[no-untyped-def]
    """The watchlist at `path` (default: the settings'); a bad file exits 2."""
    from tasks.config import ConfigError, load_settings, load_watchlist

    try:
        return load_watchlist(path or load_settings().watchlist_file)
    except ConfigError as exc:
        raise fail("config error", f"{option}: {exc}" if path else exc, 2) from None


def _named(topics: Any, name: str | None) -> Any:
    return next((t for t in topics if name is not None and t.name.casefold() == name.casefold()), None)


def _labels_topic(topic: str | None, query: str | None, labelled: Path, articles: Any, names: list[str]) -> str | None:
    """The topic whose labels count: --topic, a topic named as the query, the file's only
    topic, or the watchlist's only topic (nothing to choose from: exit 2)."""
    if topic is not None or query is not None:
        return topic or next((n for n in names if n.casefold() == (query or "").casefold()), None)
    in_file = sorted({a.topic for a in articles if a.topic})
    if len(in_file) > 1:
        raise fail("--topic", f"{labelled} labels several topics ({', '.join(in_file)}): name one", 2)
    if in_file:
        return in_file[0]
    if len(names) == 1:
        return names[0]
    raise fail("--topic", "name the topic to test (the watchlist has several), or give a query", 2)


def labelled_test(
    query: str | None, topic: str | None, labelled: Path, watchlist: Path | None, json: bool, compiled_topic: Compile
) -> None:
    """`topics test --labelled FILE`: the topic (or query) on every labelled article; `compiled_topic`
    (deploy/cli_topics.py) compiles a query or a topic of the watchlist, or exits 2."""
    from tasks.matching import LabelError, evaluate, labels_for, read_labelled

    try:
        articles = read_labelled(labelled)
    except LabelError as exc:
        raise fail("bad labelled file", exc, 2) from None
    names = [t.name for t in _watchlist(watchlist).topics]
    if topic is not None and topic.casefold() not in {n.casefold() for n in names}:
        raise fail("--topic", f"{topic!r} is not a topic of the watchlist ({', '.join(names)})", 2)
    label_topic = _labels_topic(topic, query, labelled, articles, names)
    kept, skipped = labels_for(articles, label_topic)
    if label_topic is None and len({a.topic for a in kept if a.topic}) > 1:
        raise fail("--topic", f"{labelled} labels several topics: name the one the query is for", 2)
    if not kept:
        raise fail("bad labelled file", f"{labelled}: no article is labelled for {label_topic}", 2)
    from deploy.cli_tune import named_meaning  # a topic's `semantic:` key counts as in a run

    meaning = named_meaning(query or label_topic, watchlist, None)
    result = evaluate(compiled_topic(query or label_topic or "", watchlist), kept, meaning)
    if json:
        print_json({"file": str(labelled), "labels_for": label_topic, "left_out": skipped, **asdict(result)})
        return
    left = f" ({skipped} labelled for other topics left out)" if skipped else ""
    out.print(f"{esc(result.topic)} on {esc(labelled)}: {len(kept)} labelled article(s){left}", highlight=False)
    _print_scores(result)
    _print_outcomes(result)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print_scores(result: Any) -> None:
    table = Table(title="precision and recall")
    for col in ("language", "articles", "wanted", "alerted", "correct", "precision", "recall"):
        table.add_column(col, justify="left" if col == "language" else "right")
    for lang, s in [*result.per_language.items(), ("all", result.overall)]:
        counts = (s.articles, s.wanted, s.alerted, s.correct)
        table.add_row(esc(lang), *map(str, counts), _ratio(s.precision), _ratio(s.recall))
    out.print(table)


def _why(indent: str, clauses: list[str], indicators: dict[str, list[str]], sentence: str | None) -> None:
    """What fired: the clauses, the indicators (groups, with the text they matched), the sentence."""
    out.print(f"{indent}clauses: {esc(', '.join(clauses))}", highlight=False)
    if indicators:
        quoted = "; ".join(f"{group}: " + ", ".join(f'"{q}"' for q in quotes) for group, quotes in indicators.items())
        out.print(f"{indent}indicators: {esc(quoted)}", highlight=False)
    if sentence:
        out.print(f"{indent}> {esc(sentence)}", highlight=False)


def _print_outcomes(result: Any) -> None:
    out.print(f"[bold]misses[/] ({len(result.misses)}): wanted, not matched", highlight=False)
    for m in result.misses:
        out.print(f"- {esc(m.id)} [{esc(m.lang or '?')}] {esc(m.title)}", highlight=False)
    out.print(f"[bold]false alerts[/] ({len(result.false_alerts)}): matched, not wanted", highlight=False)
    for f in result.false_alerts:
        out.print(f"- {esc(f.id)} [{esc(f.lang or '?')}] {esc(f.title)}", highlight=False)
        _why("    ", f.clauses, f.indicators, f.sentence)


def compare_backtest(
    topic: str, against: Path, since_: str, watchlist: Path | None, db: str | None, json: bool
) -> None:
    """`backtest TOPIC --against OLD_WATCHLIST`: the topic now and as OLD_WATCHLIST has it, over the archive."""
    from tasks.matching import compare_topics, compile_topic

    start = since(since_)
    now_spec = _named(_watchlist(watchlist).topics, topic)
    if now_spec is None:
        raise fail("backtest", f"{topic!r} is not a topic of the watchlist: --against compares a topic's versions", 2)
    before_spec = _named(_watchlist(against, "--against").topics, topic)
    before = compile_topic(before_spec) if before_spec is not None else None
    report = compare_topics(open_db(db), compile_topic(now_spec), before, start)
    if json:
        print_json({"against": str(against), "new_topic": before is None, **asdict(report)})
        return
    new = f" ({esc(against)} does not have it: every match is new)" if before is None else ""
    out.print(
        f"{esc(report.topic)} over {report.scanned} articles since {report.since[:16]}: {report.matched_now} "
        f"match now, {report.matched_before} matched in {esc(against)}{new}",
        highlight=False,
    )
    _print_changes(f"[green]added[/] ({len(report.added)}): match now, did not before", "why now", report.added)
    _print_changes(f"[red]removed[/] ({len(report.removed)}): matched before, do not now", "why before", report.removed)


def _print_changes(title: str, why: str, hits: list[Any]) -> None:
    out.print(title, highlight=False)
    for h in hits:
        out.print(f"- {h.id} [bold]{esc(h.title)}[/] ({esc(h.source)}, {esc(h.published[:10])}) {esc(h.url)}")
        out.print(f"    {why}:", highlight=False)
        _why("      ", h.clauses, h.indicators, h.sentence)


def topics_report(
    weeks: Annotated[int, typer.Option("--weeks", help="How many ISO weeks, this one included.")] = 8,
    topic: Annotated[str | None, typer.Option("--topic", help="One topic only.")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per topic and ISO week: alerts, sent, judged (`alerts mark`) and judged precision.

    An article alerted to several targets counts once. Precision is relevant / judged.

    Example: newswatch topics report --weeks 4
    """
    from storage import repository
    from storage.clock import now_utc
    from tasks.matching import weekly_precision, weeks_back

    if weeks < 1:
        raise fail("--weeks", f"{weeks}: give at least 1", 2)
    start = weeks_back(now_utc(), weeks)
    rows = weekly_precision(repository.alert_outcomes(open_db(db), start, topic))
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    table = Table(title=f"judged alerts since {start.date().isoformat()} ({len(rows)} topic-week(s))")
    for col in ("topic", "week", "alerts", "sent", "judged", "relevant", "precision"):
        table.add_column(col, justify="left" if col in ("topic", "week") else "right")
    for r in rows:
        counts = (r.alerts, r.sent, r.judged, r.relevant)
        table.add_row(esc(r.topic), r.week, *map(str, counts), _ratio(r.precision))
    out.print(table)
