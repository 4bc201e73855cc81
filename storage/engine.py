"""Making an engine from a database URL: the URLs people write, normalised, and each backend's
connection settings (SQLite: WAL and a busy timeout; PostgreSQL: a checked pool).

Both storage.db (the process's cached, migrated engines) and storage.migrate (`newswatch db ...`
on a URL) make their engines here, so the settings are the same and neither imports the other.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

from sqlalchemy import event, false, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import create_engine

from storage.models import Source

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


_PASSWORD = re.compile(r"(//[^/?#@:]*):[^/?#@]*@")


def display_url(url: str) -> str:
    """The URL with its password masked, for messages and logs (masked by hand in a URL that
    does not parse: its password is still a password)."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return _PASSWORD.sub(r"\1:***@", url)


def _unparseable(url: str, exc: Exception) -> DatabaseError:
    """Why `url` is no database URL, in one line: a plain path gets the SQLite URL it means."""
    if "://" not in url and re.match(r"[~./]|.*\.(db|sqlite3?)$", url):
        path = Path(url).expanduser().absolute()
        return DatabaseError(f"invalid database URL {url!r}: a path? use sqlite:///{path}")
    reason = (
        "the port is not a number" if isinstance(exc, ValueError) else "expected sqlite:///PATH or postgresql://..."
    )
    written = url.replace("postgresql+psycopg://", "postgresql://", 1)  # as the operator wrote it (normalize_url)
    return DatabaseError(f"invalid database URL {display_url(written)!r}: {reason}")


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
    """A new engine for a normalised URL (not cached, schema untouched: see storage.db.get_engine).
    Its errors never carry a statement's parameters (article text, whoever logs the error)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise _unparseable(url, exc) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder of {display_url(url)}: {exc.strerror}") from None
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            hide_parameters=True,
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, hide_parameters=True)
    raise DatabaseError(f"unsupported database {display_url(url)!r}: use sqlite:/// or postgresql://")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL, memory, or a URL that does not parse)."""
    try:
        parsed = make_url(normalize_url(url))
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    name = parsed.database.removeprefix("file:") if parsed.query.get("uri") else parsed.database
    return Path(name).expanduser()


def check_creatable(path: Path) -> None:
    """Raise DatabaseError unless a run could create the SQLite file `path` and its folders;
    create nothing (`newswatch check`)."""
    folder = path.parent.absolute()
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise DatabaseError(f"cannot create the folder of {path}: {folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseError(f"cannot create {path}: {folder} is not writable")


def check_writable(engine: Engine, shown: str) -> None:
    """Raise DatabaseError when the database refuses writes (a read-only file or mount, a
    PostgreSQL role without UPDATE, a read-only transaction or standby). An UPDATE that
    matches no row still takes SQLite's write lock and PostgreSQL's privilege and read-only
    checks; it is rolled back. `shown`: the URL as messages name it (display_url)."""
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            conn.execute(update(Source).where(false()).values(name=Source.name))
            transaction.rollback()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise DatabaseError(f"cannot write to database {shown}: {reason}") from None


__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "DatabaseError",
    "check_creatable",
    "check_writable",
    "display_url",
    "new_engine",
    "normalize_url",
    "sqlite_file",
]
