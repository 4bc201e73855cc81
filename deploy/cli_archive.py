"""`newswatch export` and `newswatch prune`: registered on the main app by deploy.cli (register(app))."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from deploy.cli_common import DbOpt, err, fail, open_db, out, print_json


def _duration(option: str, value: str) -> timedelta:
    from tasks.common.interval import MAX_SPAN, parse_interval

    try:
        return parse_interval(value, MAX_SPAN)
    except ValueError as exc:
        raise fail(option, exc, 2) from None


def _cell(value: Any) -> Any:
    """A CSV cell: a list of words or clauses as text ("a; b": JSON in a cell read as a heap of
    doubled quotes), other lists and dicts as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "; ".join(map(str, value))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def counted(n: int, kind: str) -> str:
    """'1 match', '2 matches', '1 article': a count of one of the export KINDS."""
    if n == 1:
        return f"1 {kind.removesuffix('es') if kind.endswith('ches') else kind.removesuffix('s')}"
    return f"{n} {kind}"


def write_rows(rows: Iterator[dict[str, Any]], fmt: str, stream: IO[str]) -> int:
    count = 0
    if fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        return count
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(stream, fieldnames=list(row.keys()))
            writer.writeheader()
        writer.writerow({key: _cell(value) for key, value in row.items()})
        count += 1
    return count


def export(
    kind: Annotated[str, typer.Option("--kind", help="articles, matches or alerts.")] = "articles",
    fmt: Annotated[str, typer.Option("--format", help="jsonl (one JSON object a line) or csv.")] = "jsonl",
    since: Annotated[str | None, typer.Option("--since", help="Only the last 30d, 12h, ... (default: all).")] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Only rows of this topic.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE (default: stdout).")] = None,
    db: DbOpt = None,
) -> None:
    """Export articles, matches or alerts as JSON lines or CSV, streamed: memory stays flat.

    Example: newswatch export --kind matches --format csv --since 30d --topic trafficking -o matches.csv
    """
    from storage.archive import KINDS, export_rows
    from storage.clock import now_utc

    if kind not in KINDS:
        raise fail("--kind", f"{kind!r}: use one of {', '.join(KINDS)}", 2)
    if fmt not in ("jsonl", "csv"):
        raise fail("--format", f"{fmt!r}: use jsonl or csv", 2)
    cutoff = now_utc() - _duration("--since", since) if since else None
    url = open_db(db)
    rows = export_rows(url, kind, cutoff, topic)  # type: ignore[arg-type]
    if output is None:
        count = write_rows(rows, fmt, sys.stdout)
        sys.stdout.flush()
    else:
        try:
            with output.open("w", encoding="utf-8", newline="") as stream:
                count = write_rows(rows, fmt, stream)
        except OSError as exc:
            raise fail("cannot write", f"{output}: {exc.strerror}", 1) from None
    err.print(f"exported {counted(count, kind)}", highlight=False)


def prune(
    older_than: Annotated[str, typer.Option("--older-than", help="Delete articles older than this: 180d, 90d")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")] = False,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the count as JSON.")] = False,
) -> None:
    """Delete old articles with their matches and alerts; a tombstone of each keeps it from coming back.

    Articles with alerts still pending are kept.

    Example: newswatch prune --older-than 180d --dry-run
    """
    from storage.archive import count_prunable
    from storage.archive import prune as prune_articles
    from storage.clock import now_utc

    cutoff = now_utc() - _duration("--older-than", older_than)
    url = open_db(db)
    count = count_prunable(url, cutoff) if dry_run else prune_articles(url, cutoff)
    if as_json:
        print_json({"dry_run": dry_run, "cutoff": cutoff.isoformat(), "articles": count})
    elif dry_run:
        out.print(f"{count} articles older than {older_than} would be pruned", highlight=False)
    else:
        out.print(f"pruned {count} articles older than {older_than}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `export` and `prune` to the newswatch app."""
    app.command("export")(export)
    app.command("prune")(prune)
