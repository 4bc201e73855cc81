"""Engines for SQLite (a laptop) and PostgreSQL (a team), opened per process from a URL.

Tasks receive the database URL, never an engine or session (Prefect hashes task inputs for
its cache key and cannot hash an engine), and open the engine here; engines are cached so a
process keeps one connection pool per database.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlmodel import create_engine

from storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.schema import SCHEMA_REVISION, VERSION_TABLE, MigrationError

SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_ATTEMPTS = 200  # x 50 ms

# PostgreSQL aborts one of two transactions that wait on each other (deadlock_detected), or one
# that lost a serialization race; either is safe to run again. Writes take their rows in a fixed
# order so that this is rare; the retry is for what ordering cannot rule out (several unique keys).
RETRY_SQLSTATES = {"40P01", "40001"}
WRITE_ATTEMPTS = 4

T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


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


def _create(url: str) -> Engine:
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


def _at_schema_revision(engine: Engine) -> bool:
    """The database records exactly this build's revision (read without Alembic)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return False
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [SCHEMA_REVISION]


def get_engine(url: str) -> Engine:
    """The process's engine for `url`, its schema migrated to this build's (storage.migrate)."""
    url = normalize_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            try:
                if not _at_schema_revision(engine):
                    from storage.migrate import ensure_schema  # Alembic, only when there is work for it

                    ensure_schema(engine)
            except (SQLAlchemyError, MigrationError) as exc:
                engine.dispose()
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
                raise DatabaseError(f"cannot open database {display_url(url)}: {reason}") from None
            _engines[url] = engine
        return engine


def dispose_all() -> None:
    """Close every pool (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def write(db_url: str, work: Callable[[Connection], T]) -> T:
    """Run `work` in one transaction and return its result; run it again, in a new transaction,
    when PostgreSQL aborted it to break a deadlock with another run. `work` must keep its state
    inside (a retry starts from nothing: the first attempt was rolled back)."""
    engine = get_engine(db_url)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                return work(conn)
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) not in RETRY_SQLSTATES or attempt == WRITE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
