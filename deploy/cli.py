"""The `newswatch` command: run the monitor once, serve its schedule, check the config, and
look into sources, alerts, topics and the archive. Each command group lives in its own module
(deploy/cli_*.py, helpers in deploy/cli_common.py); this one assembles the app."""

from __future__ import annotations

import sys

import typer

from deploy import cli_archive, cli_run, cli_topics
from deploy.cli_alerts import alerts_app
from deploy.cli_common import ExitCode, fail
from deploy.cli_db import db_app
from deploy.cli_setup import setup
from deploy.cli_sources import sources_app

# No pretty tracebacks: they print local variables, and locals may hold secrets.
app = typer.Typer(
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    help="newswatch: news monitoring with alerts, on Prefect.\n\nExample: newswatch run --only cambodia",
    no_args_is_help=True,
    add_completion=False,
)

cli_run.register(app)  # run, check, digest
app.add_typer(sources_app, name="sources")
app.add_typer(alerts_app, name="alerts")
cli_topics.register(app)  # topics, backtest, search, stories
app.add_typer(db_app, name="db")
app.command()(setup)
cli_run.register_last(app)  # demo, serve
cli_archive.register(app)  # export, prune


def main() -> None:  # pragma: no cover - console entry point
    from tasks.config import ConfigError

    try:
        sys.exit(app(prog_name="newswatch"))  # `python -m deploy.cli` is newswatch too
    except ConfigError as exc:  # a setting (NEWSWATCH_*) that cannot be used, wherever it was read
        fail("config error", exc, ExitCode.BAD_INPUT)
        sys.exit(ExitCode.BAD_INPUT)


if __name__ == "__main__":  # python -m deploy.cli
    main()
