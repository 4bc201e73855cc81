"""What every `newswatch` command module shares: the consoles, the common options, JSON output,
and the checks that turn bad input into one clear line and an exit code (ExitCode)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape as rich_escape


class ExitCode(IntEnum):
    """newswatch's exit codes (README, "Exit codes"): a cron job tells them apart."""

    OK = 0
    FAILED = 1  # a run that failed, a URL that cannot be fetched, a file that cannot be written
    BAD_INPUT = 2  # a bad config file, option, query or duration
    DATABASE = 3  # a database that cannot be opened, migrated or written
    NO_SOURCE = 4  # a run that completed, but every source it fetched failed
    UNDELIVERED = 5  # a run that completed, but alerts (or digests) could not be delivered


def esc(value: object) -> str:
    """Text from outside (titles, URLs, errors) printed literally, never read as rich markup."""
    return rich_escape(str(value))


# --- how --help reads -------------------------------------------------------------------------
# Typer shows every option's Python type (`--dry-run <bool>`, as if a flag took a value;
# `--notify <list[str]>`) and arguments as `{query}`. Help says what a value is instead: flags
# nothing, options a name (URL, DURATION, FILE), arguments in capitals (QUERY, [QUERY]).
VALUE_NAMES = {
    "--db": "URL",
    "--notify": "URL",
    "--url": "URL",
    "--since": "DURATION",
    "--older-than": "DURATION",
    "--only": "NAME|TAG",
    "--topic": "TOPIC",
    "--tag": "TAG",
    "--lang": "CODE",
    "--by": "NAME",
    "--name": "NAME",
    "--block": "NAME",
    "--status": "STATUS",
    "--revision": "REVISION",
    "--kind": "KIND",
    "--format": "FORMAT",
}


def _option_value(option: Any, ctx: Any) -> str | None:
    if option.is_flag or option.count:
        return None
    if option.metavar is not None:
        return str(option.metavar)
    named = next((VALUE_NAMES[o] for o in option.opts if o in VALUE_NAMES), None)
    if named:
        return named
    described = option.type_descriptor
    if described.is_path:
        return "DIR" if option.name in ("keep",) else "FILE"
    annotation = described.annotation
    inner = (getattr(annotation, "__args__", None) or (annotation,))[0]
    return {int: "N", float: "NUMBER"}.get(inner, "TEXT")


def _argument_usage(argument: Any) -> str:
    name = argument.display_name_raw
    return (name if argument.required else f"[{name}]") + ("..." if argument.nargs != 1 else "")


def _readable_help() -> None:
    from typer.core import TyperArgument, TyperOption

    setattr(TyperOption, "display_type_rich", _option_value)  # noqa: B010
    setattr(TyperArgument, "display_type_rich", lambda self, ctx: None)  # noqa: B010  (the name says it)
    setattr(TyperArgument, "display_name_raw", property(lambda self: str(self.metavar or self.name).upper()))  # noqa: B010
    setattr(TyperArgument, "_usage_display_name", _argument_usage)  # noqa: B010


_readable_help()

err = Console(stderr=True, soft_wrap=True)  # messages name files and URLs: never break them
out = Console(soft_wrap=True)

SourcesOpt = Annotated[Path | None, typer.Option("--sources", help="sources.yaml (default: deploy/sources.yaml).")]
WatchlistOpt = Annotated[
    Path | None, typer.Option("--watchlist", help="watchlist.yaml (default: deploy/watchlist.yaml).")
]
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (default: NEWSWATCH_DATABASE_URL or SQLite).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def print_json(value: Any) -> None:
    """One JSON document on stdout, for scripts (dates as ISO strings, text unescaped)."""
    print(json.dumps(value, ensure_ascii=False, default=str))


def fail(title: str, message: object, code: int) -> typer.Exit:
    """Print `title message` on one line in red on stderr (a query's caret, if any, on the lines
    below); the caller raises the returned Exit(code)."""
    err.print(f"[bold red]{esc(title)}[/] {esc(message)}", highlight=False)
    return typer.Exit(code)


def quiet_prefect() -> None:
    # Offline machines: Prefect's telemetry would retry (and log) every 10 s.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def use_db(db: str | None) -> None:
    """--db goes to the environment: the flows read it there (a URL may hold a password, never a parameter)."""
    if db:
        os.environ["NEWSWATCH_DATABASE_URL"] = db


def open_db(db: str | None, create: bool = True, write: bool = False) -> str:
    """The database URL of --db or the settings, opened and migrated; exit 3 when it cannot be.
    `create=False` (`check`): a SQLite file still to create is not, but must be creatable.
    `write`: the database must also take writes, as a run's (a read-only file, mount or role
    would otherwise fail the run at its first write, after the fetching)."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import DatabaseError, display_url, get_engine
    from storage.engine import check_creatable, check_writable, sqlite_file
    from tasks.config import load_settings

    use_db(db)
    url = load_settings().db_url
    path = None if create else sqlite_file(url)
    try:
        if path is not None and not path.exists():
            check_creatable(path)
        elif write:
            check_writable(get_engine(url), display_url(url))
        else:
            get_engine(url)
    except DatabaseError as exc:
        raise fail("database error", exc, 3) from None
    except (SQLAlchemyError, ValueError) as exc:  # not even a database URL
        raise fail("database error", f"{display_url(url)}: {exc}", 3) from None
    return url


def preflight(
    sources_file: Path | None,
    watchlist_file: Path | None,
    only: list[str] | None,
    topics: list[str] | None,
    create_db: bool = True,
) -> tuple[int, int, int]:
    """Fail on bad config or a database that cannot be opened, migrated or written before
    Prefect starts (it takes seconds). Returns how many sources, topics and notifier targets
    were found (0 targets: a Secret block). `create_db=False`: see open_db."""
    from tasks.alerting import NotifyConfigError, load_senders
    from tasks.config import ConfigError, load_settings, load_sources, load_watchlist, select_sources, select_topics

    settings = load_settings()
    targets = 0
    try:
        chosen = select_sources(load_sources(sources_file or settings.sources_file).sources, only)
        watched = select_topics(load_watchlist(watchlist_file or settings.watchlist_file).topics, topics)
        if not settings.apprise_secret_block:  # a Secret block needs the Prefect API: checked in the flow
            targets = len(load_senders(settings))
    except (ConfigError, NotifyConfigError) as exc:
        raise fail("config error", exc, 2) from None
    open_db(None, create=create_db, write=True)
    return len(chosen), len(watched), targets


ALL_TIME = datetime(1, 1, 1, tzinfo=UTC)  # `--since all`: before any article's date


def since(value: str) -> datetime:
    """The moment `--since 7d` means (`all`: the whole archive); a bad duration exits 2."""
    from storage.clock import now_utc
    from tasks.common.interval import MAX_SPAN, parse_interval

    if value.strip().lower() == "all":
        return ALL_TIME
    try:
        return now_utc() - parse_interval(value, MAX_SPAN)
    except ValueError as exc:
        raise fail("--since", f"{exc}, or all", 2) from None


def run_failed(what: str, exc: Exception) -> typer.Exit:
    """A flow that raised, in one line: never a traceback, an SQL statement or its parameters.
    A database that refused the run's work is exit 3, like one that cannot be opened."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import DatabaseError, one_line

    if isinstance(exc, SQLAlchemyError | DatabaseError):
        return fail("database error", f"the {what} stopped: {one_line(exc)}", ExitCode.DATABASE)
    return fail(f"{what} failed", f"{type(exc).__name__}: {one_line(exc)}", ExitCode.FAILED)


def run_outcome(summary) -> tuple[ExitCode, str]:  # type: ignore[no-untyped-def]
    """What a completed run's summary means for a script: every source it fetched failed (4),
    or alerts could not be delivered (5; they stay pending for the next run); else 0."""
    fetched = summary.sources_ok + summary.sources_failed
    if summary.sources_failed and not summary.sources_ok:
        return ExitCode.NO_SOURCE, f"every source failed ({summary.sources_failed} of {fetched})"
    if summary.alerts_failed:
        n = summary.alerts_failed
        return ExitCode.UNDELIVERED, f"{n} alert{'s' * (n != 1)} could not be delivered; the next run tries again"
    return ExitCode.OK, ""


def print_summary(summary) -> None:  # type: ignore[no-untyped-def]
    """A monitor run's counts as a table, then each failed source with its reason."""
    from rich.table import Table

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
