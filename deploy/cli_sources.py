"""`newswatch sources`: the health of every source, testing a URL, adding a site's feed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.table import Table

from deploy.cli_common import DbOpt, JsonOpt, SourcesOpt, esc, fail, open_db, out, print_json, use_db
from deploy.cli_opml import sources_export, sources_import

sources_app = typer.Typer(
    help="Sources: their health, testing a URL, adding a site's feed, sitemap or page, OPML import and export."
    "\n\nExample: newswatch sources test https://www.khmertimeskh.com/feed/",
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
        raise fail("config error", exc, 2) from None
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
    url: Annotated[
        str, typer.Argument(help="A URL (a feed, or a site's page to search for its feed), or a source name.")
    ],
    kind: Annotated[
        str | None, typer.Option("--kind", help="Read the URL as a feed, sitemap or page (selectors guessed).")
    ] = None,
    sources: SourcesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fetch and parse one URL or source (any kind) as a run would, and show the first entries; stores nothing.

    Example: newswatch sources test https://www.khmertimeskh.com/feed/
    """
    from dataclasses import asdict

    from tasks.config import ConfigError, load_settings
    from tasks.ingest import IngestOptions, probe_named

    settings = load_settings()
    if kind not in (None, "feed", "sitemap", "page"):
        raise fail("bad --kind", f"{kind!r}: use feed, sitemap or page", 2)
    try:
        options = IngestOptions.from_settings(settings)
        report = probe_named(url, kind, Path(sources or settings.sources_file), options)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise fail("config error", exc, 2) from None
    if as_json:
        print_json(asdict(report))
    else:
        _print_report(report)
    if report.error:
        raise typer.Exit(1)


def _print_report(report: object) -> None:
    keys = ("final_url", "status", "content_type", "bytes", "kind", "feed_type", "title", "encoding", "entries")
    for key in (*keys, "warning", "error"):
        value = getattr(report, key)
        if value not in (None, "", 0) or key == "entries":
            out.print(f"[bold]{esc(key)}[/]: {esc(value)}", highlight=False)
    for link in getattr(report, "feeds_found", []):
        out.print(f"[bold]feed found[/]: {esc(link)}", highlight=False)
    for name, selector in (getattr(report, "selectors", None) or {}).items():
        out.print(f"[bold]selector {esc(name)}[/]: {esc(selector)}", highlight=False)
    for entry in getattr(report, "sample", []):
        out.print(f"  - {esc(entry['published'][:16])}  {esc(entry['title'])}  {esc(entry['url'])}", highlight=False)


@sources_app.command("add")
def sources_add(
    url: Annotated[str, typer.Argument(help="A site, a feed or a sitemap URL (the kind of source is discovered).")],
    name: Annotated[str | None, typer.Option("--name", help="Source name (default: the feed's title).")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag; repeat for several.")] = None,
    interval: Annotated[str | None, typer.Option("--interval", help="Poll interval, e.g. 30m.")] = None,
    sources: SourcesOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the added source as JSON.")] = False,
) -> None:
    """Find a site's source (its feed, announced feed or news sitemap), check it reads, append it to sources.yaml.

    A site with neither needs a page source: its starter entry is printed, with selectors
    guessed from the page, to check with `newswatch sources test` and paste into sources.yaml.

    Example: newswatch sources add https://cambojanews.com --tag cambodia --tag english
    """
    from tasks.config import ConfigError, load_settings
    from tasks.ingest import IngestOptions, add_source, discover, starter_entry

    settings = load_settings()
    found = discover(url, IngestOptions.from_settings(settings))
    report = found.report
    if found.kind is None or report.error:
        raise fail("not added", f"{url}: {report.error or 'no feed found'}", 1)
    if found.kind == "page" and found.selectors is not None:
        _print_starter(starter_entry(name or urlsplit(url).hostname or url, url, found.selectors), report.entries)
        raise typer.Exit(1)
    path = Path(sources or settings.sources_file)
    try:
        added = add_source(path, found.url, name or report.title or found.url, list(tag or []), interval, found.kind)
    except ConfigError as exc:
        raise fail("not added", exc, 2) from None
    if as_json:
        print_json(
            {"name": added.name, "url": added.url, "kind": added.kind, "entries": report.entries, "file": str(path)}
        )
        return
    out.print(
        f"added [bold]{esc(added.name)}[/] ({esc(added.url)}, kind {added.kind}, {esc(report.entries)} entries)"
        f" to {esc(path)}",
        highlight=False,
    )


def _print_starter(entry: dict[str, object], entries: int) -> None:
    import yaml

    out.print(
        f"not added: no feed and no news sitemap; the site needs a page source. Starter entry ({entries} entries"
        " with these guessed selectors; check them with `newswatch sources test NAME` once in sources.yaml):",
        highlight=False,
    )
    out.print(esc(yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=1000)), highlight=False)


sources_app.command("import")(sources_import)
sources_app.command("export")(sources_export)
