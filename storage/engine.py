"""Making an engine from a database URL: the URLs people write, normalised, and each backend's
connection settings (SQLite: WAL and a busy timeout; PostgreSQL: a checked pool).

Both storage.db (the process's cached, migrated engines) and storage.migrate (`newswatch db ...`
on a URL) make their engines here, so the settings are the same and neither imports the other.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlmodel import create_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_ATTEMPTS = 200  # x 50 ms


class DatabaseError(RuntimeError):
    """The database cannot be opened or used; the message names it without credentials."""


def normalize_url(url: str) -> str:
    """Accept the URLs people write (postgresql://, postgres://) and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def display_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _configure_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers work while a writer writes; the busy timeout makes a second writer
    # wait instead of failing with "database is locked" (measured: shared NOTES).
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL is a property of the file: only the first connection switches it. The switch needs the
    # database to itself, and SQLite does not always wait for that (several processes opening a
    # new database at once saw "database is locked"): retry for a while.
    for attempt in range(WAL_ATTEMPTS):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def new_engine(url: str) -> Engine:
    """A new engine for a normalised URL (not cached, schema untouched: see storage.db.get_engine)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"invalid database URL {display_url(url)!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder of {display_url(url)}: {exc.strerror}") from None
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise DatabaseError(f"unsupported database {display_url(url)!r}: use sqlite:/// or postgresql://")


__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "DatabaseError", "display_url", "new_engine", "normalize_url"]
