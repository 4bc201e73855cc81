"""Engines for SQLite (a laptop) and PostgreSQL (a team), opened per process from a URL.

Tasks receive the database URL, never an engine or session (Prefect hashes task inputs for
its cache key and cannot hash an engine), and open the engine here; engines are cached so a
process keeps one connection pool per database. How an engine is made (URL, connection
settings) lives in storage.engine, which storage.migrate uses too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError, SQLAlchemyError, StatementError

from storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.engine import DatabaseError, display_url, new_engine, normalize_url
from storage.schema import SCHEMA_REVISION, VERSION_TABLE, MigrationError

# PostgreSQL aborts one of two transactions that wait on each other (deadlock_detected), or one
# that lost a serialization race; either is safe to run again. Writes take their rows in a fixed
# order so that this is rare; the retry is for what ordering cannot rule out (several unique keys).
RETRY_SQLSTATES = {"40P01", "40001"}
WRITE_ATTEMPTS = 4

T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


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
            engine = new_engine(url)
            try:
                if not _at_schema_revision(engine):
                    # Imported here, not at the top: storage.migrate loads Alembic, 0.1 s per process
                    # (measured: `python -X importtime`), and a database already at this build's
                    # revision (every run but the first after an upgrade) never needs it. Not a
                    # cycle: storage.migrate imports storage.engine, never this module.
                    from storage.migrate import ensure_schema

                    ensure_schema(engine)
            except (SQLAlchemyError, MigrationError) as exc:
                engine.dispose()
                reason = one_line(exc)
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


# The SQLSTATE classes of a statement refused for its values, not for the database's state:
# data exceptions (NUL in text, out-of-range dates), integrity (a unique key), program limits
# (an index row over PostgreSQL's 2,704 bytes, a tsvector over 1 MB).
_DATA_SQLSTATE_CLASSES = ("22", "23", "54")
_DATA_SQLITE_ERRORS = ("SQLITE_TOOBIG", "SQLITE_MISMATCH", "SQLITE_RANGE", "SQLITE_CONSTRAINT")


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The driver's own first line about `exc`: never the statement or its parameters (article
    text), which SQLAlchemy's message carries on the lines after."""
    reason = str(getattr(exc, "orig", None) or exc).strip()
    return (reason.splitlines()[0] if reason else type(exc).__name__)[:limit]


def is_data_error(exc: BaseException) -> bool:
    """The statement failed for the values it was given (one row's fault: storing the others
    alone will work), not because the database is down, locked, read-only or full."""
    if isinstance(exc, UnicodeError | ValueError | OverflowError):  # the driver could not bind a value
        return True
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None) or ""
        sqlite_error = getattr(orig, "sqlite_errorname", None) or ""
        return sqlstate.startswith(_DATA_SQLSTATE_CLASSES) or sqlite_error.startswith(_DATA_SQLITE_ERRORS)
    return isinstance(exc, StatementError)  # raised while binding the parameters, before the database


def dialect_insert(conn: Connection, table: Any) -> Any:
    """INSERT into `table` with the connection's dialect's ON CONFLICT clauses available
    (on_conflict_do_nothing / on_conflict_do_update: SQLite and PostgreSQL spell them alike)."""
    # Imported here: the connection's engine loaded its own dialect already, so this costs nothing,
    # and a process on SQLite never loads PostgreSQL's (30 ms, measured with `python -X importtime`).
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)


__all__ = [
    "DatabaseError",
    "dialect_insert",
    "display_url",
    "dispose_all",
    "get_engine",
    "is_data_error",
    "normalize_url",
    "one_line",
    "write",
]
