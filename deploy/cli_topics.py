"""`newswatch topics list|test`, `backtest`, `search` and `stories`: queries tried on one article
or on the stored archive, alerting no one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from deploy.cli_common import DbOpt, JsonOpt, WatchlistOpt, err, esc, fail, open_db, out, print_json, since

topics_app = typer.Typer(
    help="Watched topics: list them, test a query.\n\nExample: newswatch topics test human-trafficking --url URL",
    no_args_is_help=True,
)


@topics_app.command("list")
def topics_list(watchlist: WatchlistOpt = None, as_json: JsonOpt = False) -> None:
    """Every topic with its mode, targets and queries.

    Example: newswatch topics list
    """
    from tasks.config import ConfigError, load_settings, load_watchlist
    from tasks.matching import topic_queries

    try:
        topics = load_watchlist(watchlist or load_settings().watchlist_file).topics
    except ConfigError as exc:
        raise fail("config error", exc, 2) from None
    rows: list[dict[str, Any]] = [
        {
            "topic": t.name,
            "mode": t.mode,
            "notify": list(t.notify) or ["(all)"],
            "urgent": t.urgent,
            "queries": topic_queries(t),
        }
        for t in topics
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"topics ({len(rows)})")
    for col in ("topic", "mode", "notify", "queries"):
        table.add_column(col, overflow="fold")
    for r in rows:
        queries = "\n".join(esc(f"[{lang}] {q}") for lang, q in r["queries"].items())
        mode = r["mode"] + (" urgent" if r["urgent"] else "")
        table.add_row(esc(r["topic"]), mode, esc(", ".join(r["notify"])), queries)
    out.print(table)


def _no_such_topic(name: str, topics: Any) -> str:
    """'no topic NAME in the watchlist', with the topic meant when the name is a near miss."""
    import difflib

    names = {t.name.casefold(): t.name for t in topics}
    close = difflib.get_close_matches(name.casefold(), list(names), n=1, cutoff=0.8)
    return f"no topic {name!r} in the watchlist" + (f" (did you mean {names[close[0]]!r}?)" if close else "")


def query_topic(query_or_topic: str, watchlist: Path | None, must_be_topic: bool = False):  # type: ignore[no-untyped-def]
    """A topic of the watchlist by name, else the text as an unsaved query, which may use the
    watchlist's shared groups (@name) as its topics do. A single word that names no topic (a
    mistyped name, as often as a query) is said to be tested as a query; `must_be_topic`
    (--topic): it exits 2."""
    from tasks.config import ConfigError, TopicSpec, load_settings, load_watchlist
    from tasks.matching import compile_topic

    try:
        loaded = load_watchlist(watchlist or load_settings().watchlist_file)
        topics, groups = loaded.topics, dict(loaded.groups)
    except ConfigError:
        if watchlist is not None:  # named on the command line: it must be right
            raise
        topics, groups = (), {}
    from pydantic import ValidationError

    named = next((t for t in topics if t.name.casefold() == query_or_topic.casefold()), None)
    if named is None and must_be_topic:
        raise fail("topics test", _no_such_topic(query_or_topic, topics), 2)
    if named is None and re.fullmatch(r"[\w-]+", query_or_topic):
        message = f"{_no_such_topic(query_or_topic, topics)}: tested as the query {query_or_topic!r}"
        err.print(esc(message), highlight=False)
    try:
        return compile_topic(named or TopicSpec(name="query", query=query_or_topic, groups=groups))
    except ValidationError as exc:  # pydantic wraps the query's error (position and caret): show that alone
        first = exc.errors()[0]
        raise fail("invalid query", first.get("ctx", {}).get("error") or first["msg"], 2) from None
    except ValueError as exc:
        raise fail("invalid query", exc, 2) from None


def _topic(query: str, watchlist: Path | None, must_be_topic: bool = False):  # type: ignore[no-untyped-def]
    from tasks.config import ConfigError

    try:
        return query_topic(query, watchlist, must_be_topic)
    except ConfigError as exc:
        raise fail("config error", exc, 2) from None


def _article(file: Path | None, url: str | None, text: str | None) -> tuple[str, str, str | None]:
    """(title, body, language) from --file, --url (fetched and read as a run would) or --text; bad
    input exits 2."""
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise fail("cannot read", f"{file}: {getattr(exc, 'strerror', None) or exc}", 2) from None
        return (lines[0] if lines else ""), "\n".join(lines[1:]), None
    if url is None:
        return "", text or "", None
    from tasks.config import load_settings
    from tasks.ingest import IngestOptions, fetch_article

    options = IngestOptions.from_settings(load_settings())
    with options.fetcher() as fetcher:  # as a run fetches it: robots.txt, limits, language rule
        article = fetch_article(url, fetcher, options)
    if not article.fetched:
        raise fail("fetch failed", article.note, 2)
    if article.content.page is None:
        raise fail("no article text", f"in {url} ({article.note})", 2)
    return article.content.page.title or "", article.content.text, article.content.language


@topics_app.command("test")
def topics_test(
    query: Annotated[str | None, typer.Argument(help="A query, or the name of a topic in the watchlist.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="An article as a text file (first line: title).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="An article page to fetch and extract.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="The article text itself.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="The article's language (default: detected).")] = None,
    labelled: Annotated[
        Path | None, typer.Option("--labelled", help="Labelled articles (JSON lines): precision, recall, errors.")
    ] = None,
    topic_name: Annotated[str | None, typer.Option("--topic", help="The topic of the watchlist to test.")] = None,
    watchlist: WatchlistOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Does this query (or topic) match this article, and why. Exit 0 when it matches, 1 when not.
    With --labelled FILE: the topic on every labelled article (cli_review.py).

    Example: newswatch topics test 'traffick* ONEAR/3 (women OR children)' --text 'Trafficking of women rose.'
    """
    from tasks.common.language import detect
    from tasks.matching import match

    if labelled is not None:
        from deploy.cli_review import labelled_test

        return labelled_test(query, topic_name, labelled, watchlist, as_json, _topic)
    if query is None and topic_name is None:
        raise fail("topics test", "give a query or a topic (or --labelled FILE)", 2)
    topic = _topic(query or topic_name or "", watchlist, must_be_topic=query is None)
    title, body, page_lang = _article(file, url, text)
    language = lang or page_lang or detect(f"{title}\n{body}")
    hit = match(title, body, topic, language=language)
    result = {
        "matches": hit is not None,
        "language": language,
        "clauses": hit.terms if hit else [],
        "words": hit.words if hit else [],
        "field": hit.hit_field if hit else None,
        "sentences": hit.sentences if hit else [],
        "indicators": hit.indicators if hit else {},
    }
    if as_json:
        print_json(result)
    elif hit is None:
        out.print(f"[yellow]no match[/] (language: {esc(language or 'not detected')})", highlight=False)
    else:
        shown = esc(language or "not detected")
        out.print(f"[green]match[/] (language: {shown}) in the {esc(hit.hit_field)}", highlight=False)
        out.print(f"clauses: {esc(', '.join(hit.terms))}", highlight=False)
        out.print(f"words: {esc(', '.join(hit.words))}", highlight=False)
        if hit.indicators:
            out.print(f"indicators: {esc(_indicators(hit.indicators))}", highlight=False)
        for sentence in hit.sentences:
            out.print(f"  > {esc(sentence)}", highlight=False)
    if hit is None:
        raise typer.Exit(1)


def _indicators(indicators: dict[str, list[str]]) -> str:
    """Each group that fired with the text it matched: 'means: "passports confiscated"; purpose: "..."'."""
    quoted = {group: ", ".join(f'"{q}"' for q in quotes) for group, quotes in indicators.items()}
    return "; ".join(f"{group}: {quotes}" for group, quotes in quoted.items())


def _print_hits(hits: list[Any]) -> None:
    """Articles a query matched (backtest examples, search results), each with its sentence and
    the indicators (the groups that fired, with the text they matched) when it has them."""
    for h in hits:
        out.print(f"- [bold]{esc(h.title)}[/] ({esc(h.source)}, {esc(h.published[:10])}) {esc(h.url)}", highlight=False)
        if h.indicators:
            out.print(f"    indicators: {esc(_indicators(h.indicators))}", highlight=False)
        out.print(f"    > {esc(h.sentence)}", highlight=False)


def _over_archive(query: str, since_: str, watchlist: Path | None, db: str | None) -> tuple[str, Any, Any]:
    """(database URL, compiled topic, start) for a query over the archive; bad input exits first."""
    start = since(since_)
    return open_db(db), _topic(query, watchlist), start


def backtest(
    query: Annotated[str, typer.Argument(help="A topic of the watchlist, or a query not yet saved.")],
    since_: Annotated[str, typer.Option("--since", help="How far back: 7d, 30d, 12h, or all.")] = "30d",
    examples: Annotated[int, typer.Option("--examples", help="How many example articles.")] = 10,
    against: Annotated[
        Path | None, typer.Option("--against", help="An earlier watchlist: what the topic's change adds and removes.")
    ] = None,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a topic or query over the stored archive, alerting no one: matches per day and examples.
    With --against OLD_WATCHLIST: the articles the topic's change adds and removes (cli_review.py).

    Example: newswatch backtest 'traffick* ONEAR/3 (women OR children)' --since 7d
    """
    from dataclasses import asdict

    from tasks.matching import backtest_topic

    if against is not None:
        from deploy.cli_review import compare_backtest

        return compare_backtest(query, against, since_, watchlist, db, as_json)

    from deploy.cli_tune import named_meaning  # a topic's `semantic:` key, on the stored vectors

    db_url, compiled, start = _over_archive(query, since_, watchlist, db)
    report = backtest_topic(db_url, compiled, start, examples, named_meaning(query, watchlist, db_url))
    if as_json:
        print_json(asdict(report))
        return
    out.print(
        f"{report.matched} of {report.scanned} articles since {report.since[:16]} match {query!r}", highlight=False
    )
    days = Table(title="matches per day")
    days.add_column("day")
    days.add_column("matches", justify="right")
    for day, count in report.per_day.items():
        days.add_row(day, str(count))
    out.print(days)
    if report.per_indicator:
        groups = Table(title="indicators (matched articles each group fired in)")
        groups.add_column("group")
        groups.add_column("matches", justify="right")
        for group, count in report.per_indicator.items():
            groups.add_row(esc(group), str(count))
        out.print(groups)
    _print_hits(report.examples)


def search(
    query: Annotated[str, typer.Argument(help="A query in the watchlist's language, or a topic's name.")],
    since_: Annotated[
        str, typer.Option("--since", help="How far back on the publication date: 7d, 30d, 365d, or all.")
    ] = "30d",
    topic: Annotated[str | None, typer.Option("--topic", help="Only articles that matched this topic.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many results, newest first.")] = 20,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the stored articles with the query language, through the full-text index.

    Example: newswatch search '(official* OR police) NEAR/10 traffick*' --since 90d
    """
    from dataclasses import asdict

    from tasks.matching import search_archive

    report = search_archive(*_over_archive(query, since_, watchlist, db), topic, limit)
    if as_json:
        print_json(asdict(report))
        return
    how = "through the index" if report.used_index else esc(report.note)
    out.print(f"{len(report.results)} result(s) among {report.candidates} candidate(s), {how}", highlight=False)
    _print_hits(report.results)


def stories(
    since_: Annotated[str, typer.Option("--since", help="How far back: 1d, 7d, 30d.")] = "7d",
    limit: Annotated[int, typer.Option("--limit", help="How many stories, newest first.")] = 50,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent stories with the outlets that carry them and the topics they matched.

    Example: newswatch stories --since 1d
    """
    from storage import repository

    start = since(since_)
    rows = repository.recent_stories(open_db(db), start, limit)
    if as_json:
        print_json([r.__dict__ for r in rows])
        return
    table = Table(title=f"stories since {since_} ({len(rows)})")
    for col in ("story", "title", "articles", "outlets", "topics"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.story_id), esc(r.title[:90]), str(r.articles), esc(", ".join(r.outlets)), esc(", ".join(r.topics))
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """`topics`, then the archive's queries: `backtest`, `search`, `stories`."""
    from deploy.cli_review import topics_report
    from deploy.cli_tune import topics_fit, topics_tune

    topics_app.command("report")(topics_report)
    topics_app.command("tune")(topics_tune)
    topics_app.command("fit")(topics_fit)
    app.add_typer(topics_app, name="topics")
    app.command()(backtest)
    app.command()(search)
    app.command()(stories)
