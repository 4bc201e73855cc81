"""`newswatch alerts`: the outbox, dead letters, retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from deploy.cli_common import DbOpt, JsonOpt, esc, fail, open_db, out, print_json

alerts_app = typer.Typer(help="Alerts: the outbox, dead letters, retries.", invoke_without_command=True)
StatusOpt = Annotated[
    list[str] | None, typer.Option("--status", help="pending, sent, dead or dry_run; repeat for several.")
]
STATUSES = ("pending", "sent", "dead", "dry_run")


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

    unknown = [s for s in status or [] if s not in STATUSES]
    if unknown:
        raise fail("--status", f"{', '.join(unknown)}: use {', '.join(STATUSES)}", 2)
    rows = repository.list_alerts(open_db(db), status, limit)
    if as_json:
        print_json([r.__dict__ for r in rows])
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
    as_json: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Put dead-lettered alerts back in the queue, and (by default) send them now.

    Example: newswatch alerts retry 12 13
    """
    from storage import repository
    from tasks.alerting import DeliveryReport, NotifyConfigError, alert_senders, close_all, deliver, load_senders
    from tasks.config import ConfigError, load_settings, load_watchlist

    url = open_db(db)
    revived = repository.retry_alerts(url, ids)
    report = DeliveryReport()
    if not as_json:
        out.print(f"{esc(revived)} alert(s) back in the queue")
    if now and revived:
        settings = load_settings()
        try:
            watchlist = load_watchlist(settings.watchlist_file)
            senders = alert_senders(load_senders(settings))
        except (ConfigError, NotifyConfigError) as exc:
            raise fail("config error", exc, 2, newline=True) from None
        try:
            lease = timedelta(seconds=settings.alert_claim_lease)
            report = deliver(url, senders, watchlist, settings.alert_max_attempts, lease)
        finally:
            close_all(senders)
    if as_json:
        print_json({"requeued": revived, "sent": report.sent, "failed": report.failed, "errors": report.errors})
    else:
        if now and revived:
            out.print(f"sent {esc(report.sent)}, failed {esc(report.failed)}")
        for error in report.errors:
            out.print(f"[yellow]failed[/] {esc(error)}", highlight=False)
    if report.failed:
        raise typer.Exit(1)
