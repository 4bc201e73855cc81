"""`newswatch db upgrade|current`: the schema migrations."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from deploy.cli_common import DbOpt, JsonOpt, esc, fail, out, print_json, use_db

db_app = typer.Typer(help="The database: schema migrations.\n\nExample: newswatch db current", no_args_is_help=True)
RevisionOpt = Annotated[str, typer.Option("--revision", help="Target revision (default: head, the newest).")]


def _migrate_call(url: str, fn: Any, *args: Any) -> Any:
    """Run a storage.migrate function; database and migration errors exit 3 with one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import DatabaseError, display_url
    from storage.migrate import MigrationError

    try:
        return fn(url, *args)
    except (DatabaseError, MigrationError, SQLAlchemyError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise fail("database error", f"{display_url(url)}: {reason}", 3) from None


def _db_url(db: str | None) -> str:
    from tasks.config import load_settings

    use_db(db)
    return load_settings().db_url


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None, revision: RevisionOpt = "head", as_json: JsonOpt = False) -> None:
    """Apply the schema migrations (every command also does this on open, up to head).

    A database made before the migrations existed is recognised and adopted first.

    Example: newswatch db upgrade --db postgresql://newswatch@db.internal/newswatch
    """
    from storage.db import display_url
    from storage.migrate import current, upgrade

    url = _db_url(db)
    before = _migrate_call(url, current)
    after = _migrate_call(url, upgrade, revision)
    if as_json:
        print_json({"database": display_url(url), "before": before, "after": after, "changed": before != after})
        return
    change = f"already at {after}" if before == after else f"{before or 'no migration history'} -> {after}"
    out.print(f"{esc(display_url(url))}: {esc(change)}", highlight=False)


@db_app.command("current")
def db_current(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The database's schema revision, and the newest this newswatch knows.

    Example: newswatch db current
    """
    from storage.db import display_url
    from storage.migrate import current, head

    url = _db_url(db)
    revision = _migrate_call(url, current)
    latest = head()
    if as_json:
        print_json({"database": display_url(url), "revision": revision, "head": latest, "newest": revision == latest})
        return
    note = "(newest)" if revision == latest else f"(newest: {latest})"
    out.print(f"{esc(revision or 'none: empty, or made before the migrations')} {esc(note)}", highlight=False)
