"""Engines for SQLite (a laptop) and PostgreSQL (a team), opened per process from a URL.

Tasks receive the database URL, never an engine or session (Prefect hashes task inputs for
its cache key and cannot hash an engine), and open the engine here; engines are cached so a
process keeps one connection pool per database. How an engine is made (URL, connection
settings) lives in storage.engine, which storage.migrate uses too.
"""

from __future__ import annotations

import functools
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

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
P = ParamSpec("P")

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


class StorageError(DatabaseError):
    """A database error that left a newswatch task or flow, in one line: the operation, the
    driver's first line, its class and SQLSTATE. SQLAlchemy's own message quotes the statement
    over several lines (and its parameters, unless hidden), and Prefect logs a failed task run's
    exception with its traceback: "Task run failed with exception: OperationalError(...)"."""


PROJECT = Path(__file__).resolve().parent.parent


def _where(exc: BaseException) -> str:
    """The project's innermost call that met `exc` (`storage/repository/matches.py:120 in
    record_match`): the traceback Prefect logs ends where the StorageError is raised."""
    ours = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).is_relative_to(PROJECT)]
    ours = [f for f in ours if ".venv" not in Path(f.filename).relative_to(PROJECT).parts]
    if not ours:
        return ""
    frame = ours[-1]
    return f" at {Path(frame.filename).relative_to(PROJECT)}:{frame.lineno} in {frame.name}"


def describe(exc: BaseException) -> str:
    """The database error in one line: `disk full (OperationalError, SQLSTATE 53100) at
    storage/repository/matches.py:120 in record_match`."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    code = f"{type(exc).__name__}{f', SQLSTATE {sqlstate}' if sqlstate else ''}"
    return f"{one_line(exc)} ({code}){_where(exc)}"


def storage_errors(operation: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a task or flow body: a database error leaves it as a StorageError naming
    `operation`, raised from None so that neither its message nor the traceback Prefect logs
    carries the statement (the chained SQLAlchemy error would be printed in full)."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return fn(*args, **kwargs)
            except SQLAlchemyError as exc:
                raise StorageError(f"{operation}: {describe(exc)}") from None

        return guarded

    return decorate


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
    "describe",
    "one_line",
    "storage_errors",
    "StorageError",
    "write",
]
