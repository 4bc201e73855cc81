"""`newswatch run`, `check`, `digest`, `demo` and `serve`: the commands that run the flows, with
progress bars for the long ones (registered on the main app by deploy.cli)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from deploy.cli_common import (
    DbOpt,
    ExitCode,
    JsonOpt,
    SourcesOpt,
    WatchlistOpt,
    err,
    esc,
    fail,
    out,
    preflight,
    print_json,
    print_summary,
    quiet_prefect,
    run_failed,
    run_outcome,
    use_db,
)

NotifyOpt = Annotated[list[str] | None, typer.Option("--notify", help="Apprise URL; repeat for several.")]
ProgressOpt = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Progress bars on stderr (default: when stderr is a terminal and --json is not given).",
        show_default=False,
    ),
]


@contextlib.contextmanager
def progress_bars(enabled: bool) -> Iterator[None]:
    """Bars for "sources fetched" and "articles extracted", fed by tasks.common.progress from the flow's
    task threads (rich's Progress is thread-safe; totals grow as batches find new entries)."""
    if not enabled:
        yield
        return
    import prefect.main  # noqa: F401  (sets up Prefect's log handlers, which must exist before the bars)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tasks.common import progress

    # Alerts printed on stdout go above the bars only when stdout is the same terminal.
    bars = Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        redirect_stdout=out.is_terminal,
    )
    stages = (progress.SOURCES, progress.ARTICLES)
    ids = {stage: bars.add_task(stage, total=None) for stage in stages}
    totals = dict.fromkeys(stages, 0)
    lock = threading.Lock()

    def listener(stage: str, event: str, n: int) -> None:
        if stage not in ids:
            return
        with lock:  # "expect" adds to a total: read and write as one step
            if event == "expect":
                totals[stage] += n
                bars.update(ids[stage], total=totals[stage])
            elif event == "advance":
                bars.advance(ids[stage], n)

    with bars, _logs_above_bars(), progress.listening(listener):
        yield


class _AboveBars:
    """Stands in for a log handler's rich Console while bars are drawn: renders each line as the
    handler would (its colours), then prints it through the bars' console, above the bars."""

    def __init__(self, original: Any, bars_console: Any) -> None:
        self._original, self._bars_console = original, bars_console

    def print(self, *objects: Any, **kwargs: Any) -> None:
        from rich.text import Text

        with self._original.capture() as captured:
            self._original.print(*objects, **kwargs)
        self._bars_console.print(Text.from_ansi(captured.get().rstrip("\n")), soft_wrap=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


@contextlib.contextmanager
def _logs_above_bars() -> Iterator[None]:
    """Prefect's console log handlers print on their own Console (on stderr): lines written behind
    the bars' back would be erased by the next redraw. While the bars are shown, they go through
    the bars' console instead."""
    import logging

    from rich.console import Console

    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    handlers = {id(h): h for lg in loggers for h in lg.handlers if isinstance(getattr(h, "console", None), Console)}
    swapped = [(h, getattr(h, "console")) for h in handlers.values()]  # noqa: B009
    for handler, console in swapped:
        handler.console = _AboveBars(console, err)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for handler, console in swapped:
            handler.console = console  # type: ignore[attr-defined]


def _show_progress(option: bool | None, as_json: bool) -> bool:
    return option if option is not None else (err.is_terminal and not as_json)


@contextlib.contextmanager
def _stdout_for(as_json: bool) -> Iterator[None]:
    """With --json, stdout holds the JSON alone: alerts printed for want of a notifier go to stderr."""
    if not as_json:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _monitor_run(what: str, as_json: bool, show_progress: bool | None, call: Callable[[], Any]) -> None:
    """Run the monitor flow (`call`) here, with bars if wanted; then its summary, as JSON or a table."""
    try:
        with _stdout_for(as_json), progress_bars(_show_progress(show_progress, as_json)):
            summary = call()
    except Exception as exc:
        raise run_failed(what, exc) from None
    if as_json:
        print_json(summary.as_dict())
    else:
        print_summary(summary)
    code, why = run_outcome(summary)
    if code:
        raise fail(f"{what} incomplete:", why, code)


def _before_flow(
    db: str | None,
    notify: list[str] | None,
    sources: Path | None,
    watchlist: Path | None,
    only: list[str] | None,
    topics: list[str] | None,
) -> None:
    """--db and --notify into the environment, then the config checked, before a flow runs here."""
    # Secrets travel by environment, never as flow parameters (those are stored by Prefect).
    use_db(db)
    if notify:
        os.environ["NEWSWATCH_NOTIFY"] = " ".join(notify)
    preflight(sources, watchlist, only, topics)
    quiet_prefect()


def run(
    sources: SourcesOpt = None,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    notify: NotifyOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Match and record, send nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Fetch every source now, due or not.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Only these source names or tags.")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Only these topics.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    show_progress: ProgressOpt = None,
) -> None:
    """Run the monitor once: on the Prefect server of PREFECT_API_URL, or without one in this process.

    Example: newswatch run --notify 'mailto://user:pass@example.org' --only cambodia
    """
    _before_flow(db, notify, sources, watchlist, only, topic)
    from deploy.runner import monitor_runner

    _monitor_run(
        "run",
        as_json,
        show_progress,
        lambda: monitor_runner()(
            sources=only or None,
            topics=topic or None,
            dry_run=dry_run,
            force=force,
            sources_file=str(sources) if sources else None,
            watchlist_file=str(watchlist) if watchlist else None,
        ),
    )


def check(
    sources: SourcesOpt = None, watchlist: WatchlistOpt = None, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Validate sources.yaml, watchlist.yaml, the notifier settings and the database; run nothing.

    Example: newswatch check --sources my-sources.yaml --watchlist my-watchlist.yaml
    """
    from storage.db import display_url
    from storage.engine import sqlite_file
    from tasks.config import load_settings

    use_db(db)
    n_sources, n_topics, n_targets = preflight(sources, watchlist, None, None, create_db=False)
    settings = load_settings()
    path = sqlite_file(settings.db_url)
    to_create = path is not None and not path.exists()
    if as_json:
        report = {
            "ok": True,
            "sources": n_sources,
            "topics": n_topics,
            "targets": n_targets,  # 0 with a Secret block: it is read by the flow
            "secret_block": settings.apprise_secret_block,
            "database": display_url(settings.db_url),
            "database_exists": not to_create,
        }
        print_json(report)
        return
    out.print(f"config ok (database {esc(path)} does not exist yet: run creates it)" if to_create else "config ok")


def digest(
    topic: Annotated[list[str] | None, typer.Option("--topic", help="Only these topics.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Send every waiting digest now, due or not.")] = False,
    watchlist: WatchlistOpt = None,
    db: DbOpt = None,
    notify: NotifyOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Send the digests that are due (the `digest` deployment does this every 15 minutes).

    Example: newswatch digest --force
    """
    from dataclasses import asdict

    _before_flow(db, notify, None, watchlist, None, topic)
    from deploy.runner import digest_runner

    try:
        with _stdout_for(as_json):
            report = digest_runner()(
                topics=topic or None, force=force, watchlist_file=str(watchlist) if watchlist else None
            )
    except Exception as exc:
        raise run_failed("digest", exc) from None
    if as_json:
        print_json(asdict(report))
    else:
        out.print(f"digests sent {esc(report.digests)} ({esc(report.stories)} stories), failed {esc(report.failed)}")
    if report.failed:
        n = report.failed
        why = f"{n} digest{'s' * (n != 1)} could not be delivered; the next run tries again"
        raise fail("digest incomplete:", why, ExitCode.UNDELIVERED)


def demo(
    keep: Annotated[
        Path | None, typer.Option("--keep", help="Keep the demo database (demo.db) in this directory.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON (alerts go to stderr).")] = False,
    show_progress: ProgressOpt = None,
) -> None:
    """See newswatch work, offline: a built-in sample news site, the full pipeline, the alerts it would send.

    Example: newswatch demo --keep ./demo
    """
    quiet_prefect()
    from deploy.demo import run_demo

    _monitor_run("demo", as_json, show_progress, lambda: run_demo(keep=keep))


def serve() -> None:
    """Serve the scheduled deployments to the Prefect server in PREFECT_API_URL (Ctrl-C stops).

    Example: prefect server start & PREFECT_API_URL=http://127.0.0.1:4200/api newswatch serve
    """
    preflight(None, None, None, None)
    quiet_prefect()
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            err.print("[yellow]PREFECT_API_URL is not set: deployments go to a temporary server that no UI shows.[/]")
    from deploy.serve import main

    main()


def register(app: typer.Typer) -> None:
    """`run` and `check` first (the everyday commands), then `digest`; `demo` and `serve` by register_last."""
    app.command()(run)
    app.command()(check)
    app.command()(digest)


def register_last(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(serve)
