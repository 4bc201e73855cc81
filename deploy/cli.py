"""The `newswatch` command: run the monitor once, serve its schedule, check the config."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

# No pretty tracebacks: they print local variables, and locals may hold secrets.
app = typer.Typer(
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    help="newswatch: news monitoring with alerts, on Prefect.",
    no_args_is_help=True,
    add_completion=False,
)


def esc(value: object) -> str:
    """Text from outside (titles, URLs, errors) printed literally, never read as rich markup."""
    return rich_escape(str(value))


err = Console(stderr=True, soft_wrap=True)  # messages name files and URLs: never break them
out = Console(soft_wrap=True)

SourcesOpt = Annotated[Path | None, typer.Option("--sources", help="sources.yaml (default: deploy/sources.yaml).")]
WatchlistOpt = Annotated[
    Path | None, typer.Option("--watchlist", help="watchlist.yaml (default: deploy/watchlist.yaml).")
]

DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: NEWSWATCH_DATABASE_URL or SQLite).")]


def _quiet_prefect() -> None:
    # Offline machines: Prefect's telemetry would retry (and log) every 10 s.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _preflight(
    sources_file: Path | None, watchlist_file: Path | None, only: list[str] | None, topics: list[str] | None
) -> None:
    """Fail on bad config or an unusable database before Prefect starts (it takes seconds)."""
    from storage.db import DatabaseError, get_engine
    from tasks.config import ConfigError, load_sources, load_watchlist, select_sources, select_topics
    from tasks.notify import NotifyConfigError, load_senders
    from tasks.settings import load_settings

    settings = load_settings()
    try:
        select_sources(load_sources(sources_file or settings.sources_file).sources, only)
        select_topics(load_watchlist(watchlist_file or settings.watchlist_file).topics, topics)
        if not settings.apprise_secret_block:  # a Secret block needs the Prefect API: checked in the flow
            load_senders(settings)
    except (ConfigError, NotifyConfigError) as exc:
        err.print(f"[bold red]config error[/]\n{esc(exc)}", highlight=False)
        raise typer.Exit(2) from None
    try:
        get_engine(settings.db_url)
    except DatabaseError as exc:
        err.print(f"[bold red]database error[/] {esc(exc)}", highlight=False)
        raise typer.Exit(3) from None


def _print_summary(summary) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="newswatch run" + (" (dry run: nothing sent)" if summary.dry_run else ""))
    table.add_column("")
    table.add_column("count", justify="right")
    rows = [
        ("sources ok", summary.sources_ok),
        ("  not modified", summary.sources_not_modified),
        ("sources failed", summary.sources_failed),
        ("sources not due", summary.sources_not_due),
        ("entries seen", summary.entries_seen),
        ("already stored", summary.already_known),
        ("new articles", summary.new_articles),
        ("duplicates", summary.duplicates),
        ("matches", summary.matches),
        ("alerts sent", summary.alerts_sent),
        ("alerts failed", summary.alerts_failed),
        ("alerts pending", summary.alerts_pending),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    out.print(table)
    for failure in summary.failures:
        out.print(f"[yellow]source failed[/] {esc(failure)}", highlight=False, soft_wrap=True)


@app.command()
def run(
    sources: SourcesOpt = None,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    notify: Annotated[list[str] | None, typer.Option("--notify", help="Apprise URL; repeat for several.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Match and record, send nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Fetch every source now, due or not.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Only these source names or tags.")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Only these topics.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run the monitor once, in this process, on Prefect's ephemeral API (or PREFECT_API_URL).

    Example: newswatch run --notify 'mailto://user:pass@example.org' --only cambodia
    """
    # Secrets travel by environment, never as flow parameters (those are stored by Prefect).
    if db:
        os.environ["NEWSWATCH_DATABASE_URL"] = db
    if notify:
        os.environ["NEWSWATCH_NOTIFY"] = " ".join(notify)
    _preflight(sources, watchlist, only, topic)
    _quiet_prefect()
    from flows.monitor import monitor

    try:
        summary = monitor(
            sources=only or None,
            topics=topic or None,
            dry_run=dry_run,
            force=force,
            sources_file=str(sources) if sources else None,
            watchlist_file=str(watchlist) if watchlist else None,
        )
    except Exception as exc:
        err.print(f"[bold red]run failed[/] {esc(type(exc).__name__)}: {esc(exc)}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(summary.as_dict()))
    else:
        _print_summary(summary)


@app.command()
def check(sources: SourcesOpt = None, watchlist: WatchlistOpt = None, db: DbOpt = None) -> None:
    """Validate sources.yaml, watchlist.yaml, the notifier settings and the database; run nothing.

    Example: newswatch check --sources my-sources.yaml --watchlist my-watchlist.yaml
    """
    if db:
        os.environ["NEWSWATCH_DATABASE_URL"] = db
    _preflight(sources, watchlist, None, None)
    out.print("config ok")


sources_app = typer.Typer(
    help="Sources: their health, testing a URL, adding a site's feed.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(sources_app, name="sources")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@sources_app.callback()
def sources_main(ctx: typer.Context, sources: SourcesOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Without a subcommand: the health of every source (same as `newswatch sources list`)."""
    if ctx.invoked_subcommand is None:
        sources_list(sources=sources, db=db, as_json=as_json)


@sources_app.command("list")
def sources_list(sources: SourcesOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every source's health: status, last success, consecutive failures, next attempt, last error.

    Example: newswatch sources list --json
    """
    from storage import repository
    from storage.db import DatabaseError, get_engine
    from tasks.config import ConfigError, load_sources
    from tasks.health import now_utc
    from tasks.report import HEALTH_COLUMNS, health_table
    from tasks.settings import load_settings

    if db:
        os.environ["NEWSWATCH_DATABASE_URL"] = db
    settings = load_settings()
    try:
        configured = load_sources(sources or settings.sources_file).sources
        get_engine(settings.db_url)
    except ConfigError as exc:
        err.print(f"[bold red]config error[/]\n{esc(exc)}", highlight=False)
        raise typer.Exit(2) from None
    except DatabaseError as exc:
        err.print(f"[bold red]database error[/] {esc(exc)}", highlight=False)
        raise typer.Exit(3) from None
    stored = {h.name: h for h in repository.source_health(settings.db_url)}
    rows = []
    for spec in configured:
        row = stored.get(spec.name)
        rows.append(health_table([row], now_utc())[0] if row else [spec.name, "new", "—", "0", "—", ""])
        if not spec.enabled:
            rows[-1][1] = "disabled"
    if as_json:
        print(json.dumps([dict(zip(HEALTH_COLUMNS, r, strict=True)) for r in rows], ensure_ascii=False))
        return
    table = Table(title=f"sources ({len(rows)})")
    for col in HEALTH_COLUMNS:
        table.add_column(col, overflow="fold")
    colours = {"ok": "green", "failing": "yellow", "paused": "red", "silent": "magenta"}
    for r in rows:
        table.add_row(esc(r[0]), f"[{colours.get(r[1], 'white')}]{r[1]}[/]", *map(esc, r[2:]))
    out.print(table)


@sources_app.command("test")
def sources_test(
    url: Annotated[str, typer.Argument(help="A feed URL, or a site's page to search for its feed.")],
    as_json: JsonOpt = False,
) -> None:
    """Fetch and parse one URL as a run would, and say what was found; stores nothing.

    Example: newswatch sources test https://www.khmertimeskh.com/feed/
    """
    from dataclasses import asdict

    from tasks.fetch import FetchPolicy
    from tasks.probe import probe
    from tasks.settings import load_settings

    report = probe(url, FetchPolicy.from_settings(load_settings()))
    if as_json:
        print(json.dumps(asdict(report), ensure_ascii=False))
    else:
        for key in (
            "final_url",
            "status",
            "content_type",
            "bytes",
            "kind",
            "feed_type",
            "title",
            "encoding",
            "entries",
            "warning",
            "error",
        ):
            value = getattr(report, key)
            if value not in (None, "", 0) or key == "entries":
                out.print(f"[bold]{esc(key)}[/]: {esc(value)}", highlight=False)
        for link in report.feeds_found:
            out.print(f"[bold]feed found[/]: {esc(link)}", highlight=False)
        for entry in report.sample:
            out.print(
                f"  - {esc(entry['published'][:16])}  {esc(entry['title'])}  {esc(entry['url'])}", highlight=False
            )
    if report.error:
        raise typer.Exit(1)


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="A feed URL or a site's page (its feed is discovered).")],
    name: Annotated[str | None, typer.Option("--name", help="Source name (default: the feed's title).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeat for several.")] = None,
    interval: Annotated[str | None, typer.Option("--interval", help="Poll interval, e.g. 30m.")] = None,
    sources: SourcesOpt = None,
) -> None:
    """Find the feed of a site (from <link rel="alternate">), check it parses, append it to sources.yaml.

    Example: newswatch sources add https://cambojanews.com --tag cambodia --tag english
    """
    from tasks.config import ConfigError
    from tasks.fetch import FetchPolicy
    from tasks.probe import add_source, probe
    from tasks.settings import load_settings

    settings = load_settings()
    report = probe(url, FetchPolicy.from_settings(settings))
    if report.error or report.kind != "feed":
        err.print(f"[bold red]not added[/] {esc(url)}: {esc(report.error or 'no feed found')}", highlight=False)
        raise typer.Exit(1)
    feed_url = report.final_url or url
    path = Path(sources or settings.sources_file)
    try:
        added = add_source(path, feed_url, name or report.title or feed_url, list(tag or []), interval)
    except ConfigError as exc:
        err.print(f"[bold red]not added[/] {esc(exc)}", highlight=False)
        raise typer.Exit(2) from None
    out.print(
        f"added [bold]{esc(added.name)}[/] ({esc(added.url)}, {esc(report.entries)} entries) to {esc(path)}",
        highlight=False,
    )


alerts_app = typer.Typer(help="Alerts: the outbox, dead letters, retries.", invoke_without_command=True)
app.add_typer(alerts_app, name="alerts")
StatusOpt = Annotated[
    list[str] | None, typer.Option("--status", help="pending, sent, dead or dry_run; repeat for several.")
]


def _open_db(db: str | None) -> str:
    from storage.db import DatabaseError, get_engine
    from tasks.settings import load_settings

    if db:
        os.environ["NEWSWATCH_DATABASE_URL"] = db
    url = load_settings().db_url
    try:
        get_engine(url)
    except DatabaseError as exc:
        err.print(f"[bold red]database error[/] {esc(exc)}", highlight=False)
        raise typer.Exit(3) from None
    return url


@alerts_app.callback()
def alerts_main(
    ctx: typer.Context, status: StatusOpt = None, limit: int = 50, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Without a subcommand: the newest alerts (same as `newswatch alerts list`)."""
    if ctx.invoked_subcommand is None:
        alerts_list(status=status, limit=limit, db=db, as_json=as_json)


@alerts_app.command("list")
def alerts_list(
    status: StatusOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The newest alerts with their status, attempts and last error.

    Example: newswatch alerts list --status dead
    """
    from storage import repository

    rows = repository.list_alerts(_open_db(db), status, limit)
    if as_json:
        print(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, default=str))
        return
    table = Table(title=f"alerts ({len(rows)})")
    for col in ("id", "status", "topic", "title", "target", "attempts", "created (UTC)", "last error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        status_text = r.status + (" (digest)" if r.digest and r.status == "pending" else "")
        table.add_row(
            str(r.id),
            status_text,
            esc(r.topic),
            esc(r.title[:80]),
            esc(r.target_label[:40]),
            str(r.attempts),
            r.created_at.strftime("%Y-%m-%d %H:%M"),
            esc((r.last_error or "")[:120]),
        )
    out.print(table)


@alerts_app.command("retry")
def alerts_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids (default: every dead alert).")] = None,
    now: Annotated[bool, typer.Option("--now/--later", help="Send now, or leave them for the next run.")] = True,
    db: DbOpt = None,
) -> None:
    """Put dead-lettered alerts back in the queue, and (by default) send them now.

    Example: newswatch alerts retry 12 13
    """
    from storage import repository
    from tasks.config import ConfigError, load_watchlist
    from tasks.deliver import deliver
    from tasks.notify import NotifyConfigError, alert_senders, close_all, load_senders
    from tasks.settings import load_settings

    url = _open_db(db)
    revived = repository.retry_alerts(url, ids)
    out.print(f"{esc(revived)} alert(s) back in the queue")
    if not (now and revived):
        return
    settings = load_settings()
    try:
        watchlist = load_watchlist(settings.watchlist_file)
        senders = alert_senders(load_senders(settings))
    except (ConfigError, NotifyConfigError) as exc:
        err.print(f"[bold red]config error[/]\n{esc(exc)}", highlight=False)
        raise typer.Exit(2) from None
    try:
        lease = timedelta(seconds=settings.alert_claim_lease)
        report = deliver(url, senders, watchlist, settings.alert_max_attempts, lease)
    finally:
        close_all(senders)
    out.print(f"sent {esc(report.sent)}, failed {esc(report.failed)}")
    for error in report.errors:
        out.print(f"[yellow]failed[/] {esc(error)}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def digest(
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Only these topics.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Send every waiting digest now, due or not.")] = False,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    notify: Annotated[list[str] | None, typer.Option("--notify", help="Apprise URL; repeat for several.")] = None,
) -> None:
    """Send the digests that are due (the `digest` deployment does this every 15 minutes).

    Example: newswatch digest --force
    """
    if db:
        os.environ["NEWSWATCH_DATABASE_URL"] = db
    if notify:
        os.environ["NEWSWATCH_NOTIFY"] = " ".join(notify)
    _preflight(None, watchlist, None, topic)
    _quiet_prefect()
    from flows.digest import digest as digest_flow

    try:
        report = digest_flow(topics=topic or None, force=force, watchlist_file=str(watchlist) if watchlist else None)
    except Exception as exc:
        err.print(f"[bold red]digest failed[/] {esc(type(exc).__name__)}: {esc(exc)}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"digests sent {esc(report.digests)} ({esc(report.stories)} stories), failed {esc(report.failed)}")


topics_app = typer.Typer(help="Watched topics: list them, test a query.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")


@topics_app.command("list")
def topics_list(watchlist: WatchlistOpt = None, as_json: JsonOpt = False) -> None:
    """Every topic with its mode, targets and queries.

    Example: newswatch topics list
    """
    from tasks.config import ConfigError, load_watchlist
    from tasks.match import topic_queries
    from tasks.settings import load_settings

    try:
        topics = load_watchlist(watchlist or load_settings().watchlist_file).topics
    except ConfigError as exc:
        err.print(f"[bold red]config error[/]\n{esc(exc)}", highlight=False)
        raise typer.Exit(2) from None
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
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=f"topics ({len(rows)})")
    for col in ("topic", "mode", "notify", "queries"):
        table.add_column(col, overflow="fold")
    for r in rows:
        queries = "\n".join(esc(f"[{lang}] {q}") for lang, q in r["queries"].items())
        mode = r["mode"] + (" urgent" if r["urgent"] else "")
        table.add_row(esc(r["topic"]), mode, esc(", ".join(r["notify"])), queries)
    out.print(table)


def _query_topic(query_or_topic: str, watchlist: Path | None):  # type: ignore[no-untyped-def]
    """A topic of the watchlist by name, else the text as an unsaved query."""
    from tasks.config import ConfigError, TopicSpec, load_watchlist
    from tasks.match import compile_topic
    from tasks.settings import load_settings

    try:
        topics = load_watchlist(watchlist or load_settings().watchlist_file).topics
    except ConfigError:
        topics = ()
    named = next((t for t in topics if t.name.casefold() == query_or_topic.casefold()), None)
    try:
        return compile_topic(named or TopicSpec(name="query", query=query_or_topic))
    except ValueError as exc:  # pydantic wraps the query error, caret included
        message = str(exc).split("\n", 1)[1] if "validation error" in str(exc) else str(exc)
        err.print(f"[bold red]invalid query[/]\n{esc(message)}", highlight=False)
        raise typer.Exit(2) from None


@topics_app.command("test")
def topics_test(
    query: Annotated[str, typer.Argument(help="A query, or the name of a topic in the watchlist.")],
    file: Annotated[Path | None, typer.Option("--file", help="An article as a text file (first line: title).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="An article page to fetch and extract.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="The article text itself.")] = None,
    lang: Annotated[str | None, typer.Option("--lang", help="The article's language (default: detected).")] = None,
    watchlist: WatchlistOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Does this query (or topic) match this article, and why. Exit 0 when it matches, 1 when not.

    Example: newswatch topics test 'traffick* ONEAR/3 (women OR children)' --text 'Trafficking of women rose.'
    """
    from tasks.language import detect

    topic = _query_topic(query, watchlist)
    title, body = "", text or ""
    if file is not None:
        lines = file.read_text(encoding="utf-8").splitlines()
        title, body = (lines[0] if lines else ""), "\n".join(lines[1:])
    elif url is not None:
        from tasks.extract import extract
        from tasks.fetch import FetchError, FetchPolicy, fetch, new_session
        from tasks.settings import load_settings

        policy = FetchPolicy.from_settings(load_settings())
        try:
            page = fetch(url, policy, new_session(policy), accept="text/html")
        except FetchError as exc:
            err.print(f"[bold red]fetch failed[/] {esc(exc)}", highlight=False)
            raise typer.Exit(2) from None
        extracted = extract(page.body, page.url)
        if extracted is None:
            err.print(f"[bold red]no article text[/] in {esc(url)}", highlight=False)
            raise typer.Exit(2)
        title, body = extracted.title or "", extracted.text
        lang = lang or extracted.language
    language = lang or detect(f"{title}\n{body}")
    from tasks.match import match

    hit = match(title, body, topic, language=language)
    result = {
        "matches": hit is not None,
        "language": language,
        "clauses": hit.terms if hit else [],
        "words": hit.words if hit else [],
        "field": hit.hit_field if hit else None,
        "sentences": hit.sentences if hit else [],
    }
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    elif hit is None:
        out.print(f"[yellow]no match[/] (language: {esc(language)})", highlight=False)
    else:
        out.print(f"[green]match[/] (language: {esc(language)}) in the {esc(hit.hit_field)}", highlight=False)
        out.print(f"clauses: {esc(', '.join(hit.terms))}", highlight=False)
        out.print(f"words: {esc(', '.join(hit.words))}", highlight=False)
        for sentence in hit.sentences:
            out.print(f"  > {esc(sentence)}", highlight=False)
    if hit is None:
        raise typer.Exit(1)


def _since(since: str) -> datetime:
    """The moment `--since 7d` means; a bad duration exits 2."""
    from tasks.health import now_utc
    from tasks.interval import parse_interval

    try:
        return now_utc() - parse_interval(since)
    except ValueError as exc:
        err.print(f"[bold red]--since[/] {esc(exc)}", highlight=False)
        raise typer.Exit(2) from None


def _print_hits(hits: list[Any]) -> None:
    """Articles a query matched (backtest examples, search results), one with its sentence."""
    for h in hits:
        out.print(f"- [bold]{esc(h.title)}[/] ({esc(h.source)}, {esc(h.published[:10])}) {esc(h.url)}", highlight=False)
        out.print(f"    > {esc(h.sentence)}", highlight=False)


@app.command()
def backtest(
    query: Annotated[str, typer.Argument(help="A topic of the watchlist, or a query not yet saved.")],
    since: Annotated[str, typer.Option("--since", help="How far back: 7d, 30d, 12h.")] = "30d",
    examples: Annotated[int, typer.Option("--examples", help="How many example articles.")] = 10,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a topic or query over the stored archive, alerting no one: matches per day and examples.

    Example: newswatch backtest 'traffick* ONEAR/3 (women OR children)' --since 7d
    """
    from dataclasses import asdict

    from tasks.backtest import backtest as run_backtest

    start = _since(since)
    topic = _query_topic(query, watchlist)
    report = run_backtest(_open_db(db), topic, start, examples)
    if as_json:
        print(json.dumps(asdict(report), ensure_ascii=False))
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
    _print_hits(report.examples)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="A query in the watchlist's language, or a topic's name.")],
    since: Annotated[str, typer.Option("--since", help="How far back: 7d, 30d, 365d.")] = "30d",
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

    from tasks.search import search_archive

    start = _since(since)
    compiled = _query_topic(query, watchlist)
    report = search_archive(_open_db(db), compiled, start, topic, limit)
    if as_json:
        print(json.dumps(asdict(report), ensure_ascii=False))
        return
    how = "through the index" if report.used_index else esc(report.note)
    out.print(f"{len(report.results)} result(s) among {report.candidates} candidate(s), {how}", highlight=False)
    _print_hits(report.results)


@app.command()
def stories(
    since: Annotated[str, typer.Option("--since", help="How far back: 1d, 7d, 30d.")] = "7d",
    limit: Annotated[int, typer.Option("--limit", help="How many stories, newest first.")] = 50,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recent stories with the outlets that carry them and the topics they matched.

    Example: newswatch stories --since 1d
    """
    from storage import repository

    start = _since(since)
    rows = repository.recent_stories(_open_db(db), start, limit)
    if as_json:
        print(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, default=str))
        return
    table = Table(title=f"stories since {since} ({len(rows)})")
    for col in ("story", "title", "articles", "outlets", "topics"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r.story_id), esc(r.title[:90]), str(r.articles), esc(", ".join(r.outlets)), esc(", ".join(r.topics))
        )
    out.print(table)


db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
RevisionOpt = Annotated[str, typer.Option("--revision", help="Target revision (default: head, the newest).")]


def _migrate_call(url: str, fn: Any, *args: Any) -> Any:
    """Run a storage.migrate function; database and migration errors exit 3 with one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import DatabaseError, display_url
    from storage.migrate import MigrationError

    try:
        return fn(url, *args)
    except (DatabaseError, MigrationError, SQLAlchemyError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(f"[bold red]database error[/] {esc(display_url(url))}: {esc(reason)}", highlight=False)
        raise typer.Exit(3) from None


def _db_url(db: str | None) -> str:
    from tasks.settings import load_settings

    if db:
        os.environ["NEWSWATCH_DATABASE_URL"] = db
    return load_settings().db_url


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, revision: RevisionOpt = "head") -> None:
    """Apply the schema migrations (every command also does this on open, up to head).

    A database made before the migrations existed is recognised and adopted first.
    Example: newswatch db upgrade --db postgresql://newswatch@db.internal/newswatch
    """
    from storage.db import display_url
    from storage.migrate import current, upgrade

    url = _db_url(db)
    before = _migrate_call(url, current)
    after = _migrate_call(url, upgrade, revision)
    change = f"already at {after}" if before == after else f"{before or 'no migration history'} -> {after}"
    out.print(f"{esc(display_url(url))}: {esc(change)}", highlight=False)


@db_app.command("current")
def db_current(db: DbOpt = None) -> None:
    """The database's schema revision, and the newest this newswatch knows.

    Example: newswatch db current
    """
    from storage.migrate import current, head

    url = _db_url(db)
    revision = _migrate_call(url, current)
    latest = head()
    note = "(newest)" if revision == latest else f"(newest: {latest})"
    out.print(f"{esc(revision or 'none: empty, or made before the migrations')} {esc(note)}", highlight=False)


@app.command()
def setup(
    block: Annotated[str, typer.Option("--block", help="Name of the Prefect Secret block.")] = "newswatch-apprise",
) -> None:
    """Store this environment's Apprise targets in a Prefect Secret block for the deployments (idempotent).

    Example: NEWSWATCH_APPRISE_CONFIG=apprise.yaml PREFECT_API_URL=http://127.0.0.1:4200/api newswatch setup
    """
    from tasks.notify import NotifyConfigError, save_secret_block
    from tasks.settings import load_settings

    _quiet_prefect()
    try:
        count = save_secret_block(load_settings(), block)
    except NotifyConfigError as exc:
        err.print(f"[bold red]config error[/] {esc(exc)}", highlight=False)
        raise typer.Exit(2) from None
    out.print(
        f"saved {count} Apprise target(s) in the Secret block {esc(block)!s}; start workers and "
        f"`newswatch serve` with NEWSWATCH_APPRISE_SECRET_BLOCK={esc(block)}",
        highlight=False,
    )


@app.command()
def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Keep the demo database (demo.db) in this directory.")
    ] = None,
) -> None:
    """See newswatch work, offline: a built-in sample news site, the full pipeline, the alerts it would send.

    Example: newswatch demo --keep ./demo
    """
    _quiet_prefect()
    from deploy.demo import run_demo

    try:
        summary = run_demo(keep=keep)
    except Exception as exc:
        err.print(f"[bold red]demo failed[/] {esc(type(exc).__name__)}: {esc(exc)}", highlight=False)
        raise typer.Exit(1) from None
    _print_summary(summary)


@app.command()
def serve() -> None:
    """Serve the scheduled deployments to the Prefect server in PREFECT_API_URL (Ctrl-C stops).

    Example: prefect server start & PREFECT_API_URL=http://127.0.0.1:4200/api newswatch serve
    """
    _preflight(None, None, None, None)
    _quiet_prefect()
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            err.print("[yellow]PREFECT_API_URL is not set: deployments go to a temporary server that no UI shows.[/]")
    from deploy.serve import main

    main()


from deploy.cli_archive import register as _register_archive  # noqa: E402

_register_archive(app)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # python -m deploy.cli
    main()
