"""`newswatch sources import|export`: sources moved between newswatch and feed readers as OPML
(Miniflux, FreshRSS, ...), or printed as sources.yaml. Registered on `newswatch sources` by
deploy/cli_sources.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from deploy.cli_common import JsonOpt, SourcesOpt, esc, fail, out, print_json


def _unique_names(entries: list[dict[str, object]], taken: set[str]) -> None:
    """Names are keys in sources.yaml: a second "News" becomes "News (host)", then "News 2"..."""
    from urllib.parse import urlsplit

    for entry in entries:
        name = str(entry["name"])
        if name.casefold() in taken:
            name = f"{name} ({urlsplit(str(entry['url'])).hostname})"
        base, n = name, 2
        while name.casefold() in taken:
            name, n = f"{base} {n}", n + 1
        entry["name"] = name
        taken.add(name.casefold())


def sources_import(
    file: Annotated[Path, typer.Argument(help="An OPML file, as feed readers export their subscriptions.")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag for every imported source; repeat.")] = None,
    sources: SourcesOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an OPML file's sources to sources.yaml (its comments kept); folders become tags.

    A URL already listed (or listed twice in the file) is refused and reported.

    Example: newswatch sources import subscriptions.opml --tag imported
    """
    from tasks.config import ConfigError, load_settings, load_sources, read_opml
    from tasks.ingest import append_sources

    path = Path(sources or load_settings().sources_file)
    try:
        read = read_opml(file, list(tag or []))
        current = load_sources(path).sources if path.exists() else ()
        listed = {s.url for s in current}
        new = [e for e in read.entries if e["url"] not in listed]
        refused = [str(e["url"]) for e in read.entries if e["url"] in listed] + read.duplicates
        _unique_names(new, {s.name.casefold() for s in current})
        added = append_sources(path, new)
    except ConfigError as exc:
        raise fail("not imported", exc, 2) from None
    if as_json:
        print_json({"added": [s.name for s in added], "refused": refused, "skipped": read.skipped, "file": str(path)})
        return
    out.print(f"imported {len(added)} sources into {esc(path)}", highlight=False)
    for url in refused:
        out.print(f"  refused, already listed: {esc(url)}", highlight=False)
    for reason in read.skipped:
        out.print(f"  skipped: {esc(reason)}", highlight=False)


def sources_export(
    fmt: Annotated[
        Literal["opml", "yaml"], typer.Option("--format", help="opml (for feed readers) or yaml (sources.yaml).")
    ] = "opml",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")] = None,
    sources: SourcesOpt = None,
) -> None:
    """Print every source as OPML (folders by first tag, page sources as FreshRSS's HTML+XPath) or as YAML.

    Example: newswatch sources export --format opml -o sources.opml
    """
    import yaml

    from tasks.config import ConfigError, load_settings, load_sources, write_opml

    try:
        specs = load_sources(sources or load_settings().sources_file).sources
    except ConfigError as exc:
        raise fail("config error", exc, 2) from None
    if fmt == "opml":
        text = write_opml(specs)
    else:
        items = [s.model_dump(mode="json", exclude_defaults=True) for s in specs]
        text = yaml.safe_dump({"sources": items}, allow_unicode=True, sort_keys=False, width=1000)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {len(specs)} sources to {esc(output)}", highlight=False)
