"""`newswatch sources`: the health of every source, testing a URL, adding a site's feed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from deploy.cli_common import DbOpt, JsonOpt, SourcesOpt, esc, fail, open_db, out, print_json, use_db

sources_app = typer.Typer(
    help="Sources: their health, testing a URL, adding a site's feed.",
    invoke_without_command=True,
    no_args_is_help=False,
)


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
    from storage.clock import now_utc
    from tasks.config import ConfigError, load_settings, load_sources
    from tasks.report import HEALTH_COLUMNS, health_table

    use_db(db)
    try:
        configured = load_sources(sources or load_settings().sources_file).sources
    except ConfigError as exc:
        raise fail("config error", exc, 2, newline=True) from None
    url = open_db(None)
    stored = {h.name: h for h in repository.source_health(url)}
    rows = []
    for spec in configured:
        row = stored.get(spec.name)
        rows.append(health_table([row], now_utc())[0] if row else [spec.name, "new", "—", "0", "—", ""])
        if not spec.enabled:
            rows[-1][1] = "disabled"
    if as_json:
        print_json([dict(zip(HEALTH_COLUMNS, r, strict=True)) for r in rows])
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

    from tasks.config import load_settings
    from tasks.ingest import IngestOptions, probe

    report = probe(url, IngestOptions.from_settings(load_settings()))
    if as_json:
        print_json(asdict(report))
    else:
        keys = ("final_url", "status", "content_type", "bytes", "kind", "feed_type", "title", "encoding", "entries")
        for key in (*keys, "warning", "error"):
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
    as_json: Annotated[bool, typer.Option("--json", help="Print the added source as JSON.")] = False,
) -> None:
    """Find the feed of a site (from <link rel="alternate">), check it parses, append it to sources.yaml.

    Example: newswatch sources add https://cambojanews.com --tag cambodia --tag english
    """
    from tasks.config import ConfigError, load_settings
    from tasks.ingest import IngestOptions, add_source, probe

    settings = load_settings()
    report = probe(url, IngestOptions.from_settings(settings))
    if report.error or report.kind != "feed":
        raise fail("not added", f"{url}: {report.error or 'no feed found'}", 1)
    feed_url = report.final_url or url
    path = Path(sources or settings.sources_file)
    try:
        added = add_source(path, feed_url, name or report.title or feed_url, list(tag or []), interval)
    except ConfigError as exc:
        raise fail("not added", exc, 2) from None
    if as_json:
        print_json({"name": added.name, "url": added.url, "entries": report.entries, "file": str(path)})
        return
    out.print(
        f"added [bold]{esc(added.name)}[/] ({esc(added.url)}, {esc(report.entries)} entries) to {esc(path)}",
        highlight=False,
    )
