"""`newswatch alerts`: the outbox, dead letters, retries; the analysts' judgments (`mark`) and the
judged articles as a labelled file (`export-labelled`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from deploy.cli_common import DbOpt, JsonOpt, esc, fail, open_db, out, print_json

alerts_app = typer.Typer(
    help="Alerts: the outbox, dead letters, retries, judgments.\n\nExample: newswatch alerts --status dead",
    invoke_without_command=True,
)
StatusOpt = Annotated[
    list[str] | None, typer.Option("--status", help="pending, sent, dead or dry_run; repeat for several.")
]
LimitOpt = Annotated[int, typer.Option("--limit", help="How many alerts, newest first.")]
STATUSES = ("pending", "sent", "dead", "dry_run")


def short_label(label: str, width: int = 48) -> str:
    """A target's label for a table column: without Apprise's options (labels stored before
    they were dropped carry them), cut at a `/` rather than mid-word when still too long."""
    label = label.split("?", 1)[0]
    if len(label) <= width:
        return label
    cut = label.rfind("/", 0, width)
    return (label[: cut + 1] if cut > label.find("://") + 3 else label[:width]) + "…"


@alerts_app.callback()
def alerts_main(
    ctx: typer.Context, status: StatusOpt = None, limit: LimitOpt = 50, db: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Without a subcommand: the newest alerts (same as `newswatch alerts list`)."""
    if ctx.invoked_subcommand is None:
        alerts_list(status=status, limit=limit, db=db, as_json=as_json)


@alerts_app.command("list")
def alerts_list(
    status: StatusOpt = None,
    limit: LimitOpt = 50,
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
            esc(short_label(r.target_label)),
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
            raise fail("config error", exc, 2) from None
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


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


@alerts_app.command("mark")
def alerts_mark(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (newswatch alerts list).")],
    relevant: Annotated[bool, typer.Option("--relevant", help="The article was what the topic is for.")] = False,
    not_relevant: Annotated[bool, typer.Option("--not-relevant", help="A false alert.")] = False,
    note: Annotated[str | None, typer.Option("--note", help="Why, in a few words.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who judged it (default: the OS user).")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record your judgment of an alert: relevant or not, with a note. Marking again replaces it;
    an article alerted to several targets is judged once. `topics report` counts the judgments.

    Example: newswatch alerts mark 12 --not-relevant --note 'drug trafficking, not people'
    """
    from dataclasses import asdict

    from storage import repository

    if relevant == not_relevant:
        raise fail("alerts mark", "give one of --relevant and --not-relevant", 2)
    judgment = repository.judge_alert(open_db(db), alert_id, relevant, note, by or _os_user())
    if judgment is None:
        raise fail("alerts mark", f"no alert {alert_id} (newswatch alerts list shows their ids)", 2)
    if as_json:
        print_json(asdict(judgment))
        return
    verdict = "relevant" if relevant else "not relevant"
    out.print(
        f"alert {alert_id} ({esc(judgment.topic)}) marked {verdict} by {esc(judgment.judged_by)}", highlight=False
    )


@alerts_app.command("export-labelled")
def alerts_export_labelled(
    file: Annotated[Path, typer.Argument(help="The JSON lines file to write.")],
    topic: Annotated[str | None, typer.Option("--topic", help="Only this topic's judgments.")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the judged alerts' articles as a labelled file (JSON lines: id, lang, title, text,
    wanted, topic, ...) for `newswatch topics test --labelled`.

    Example: newswatch alerts export-labelled judged.jsonl --topic human-trafficking
    """
    import json

    from storage import repository

    rows = repository.judged_articles(open_db(db), topic)
    try:
        with file.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(_labelled(r), ensure_ascii=False, default=str) + "\n")
    except OSError as exc:
        raise fail("cannot write", f"{file}: {exc.strerror or exc}", 1) from None
    relevant = sum(r.relevant for r in rows)
    if as_json:
        print_json(
            {"file": str(file), "articles": len(rows), "relevant": relevant, "not_relevant": len(rows) - relevant}
        )
        return
    out.print(f"wrote {len(rows)} labelled article(s) to {esc(file)}: {relevant} relevant", highlight=False)


def _labelled(r: Any) -> dict[str, Any]:
    """A judged alert's article as a line of a labelled file (tasks/matching/evaluation.py reads it)."""
    return {
        "id": r.article_id,
        "lang": r.language,
        "title": r.title,
        "text": r.text,
        "wanted": r.relevant,
        "topic": r.topic,
        "alert": r.alert_id,
        "note": r.note,
        "judged_by": r.judged_by,
        "judged_at": r.judged_at.isoformat(),
        "url": r.url,
        "source": r.source_name,
    }
