"""Schema migrations: every database reaches the schema of this build through Alembic.

    upgrade(db, revision="head") -> str   apply the migrations up to `revision`; returns the revision now current
    ensure_schema(db) -> str              what opening a database does: empty or older -> head
    current(db) -> str | None             the database's revision (None: no migration history)
    downgrade(db, revision) -> str        undo migrations down to `revision`
    stamp(db, revision) -> str            record a revision without running anything (manual repairs)
    schema_drift(db) -> list[str]         how the database differs from the models ([]: in sync)

`db` is a database URL or an Engine: storage.db passes its own. A URL is opened with
storage.engine, as storage.db opens it, so that the connection settings are the same; this module
never imports storage.db (which imports this one when a database needs migrating).

A database that has our tables but no migration history was made by create_all (builds before the
migrations): its columns are compared with each revision's, and it is stamped with the one it
matches before upgrading. One that matches none is left alone, with an error saying how it differs.

Migrations run in one transaction holding a lock (PostgreSQL: an advisory lock; SQLite: the write
lock), so that processes starting at once migrate once and the others wait and find it done.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, Engine, Index, Table, create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import Constraint
from sqlmodel import SQLModel

from storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.engine import new_engine, normalize_url
from storage.schema import VERSION_TABLE, MigrationError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: one migration at a time per PostgreSQL database.
_PG_LOCK_KEY = int.from_bytes(b"nwmigrat", "big")
# Alembic keeps the running migration in module globals (alembic.context, alembic.op): one at a time
# per process too, whatever the database.
_process_lock = threading.RLock()

Schema = dict[str, frozenset[str]]  # table -> column names


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration (no alembic.ini); env.py runs the migrations on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision: the schema of storage/models.py."""
    revision = _script().get_current_head()
    if revision is None:  # pragma: no cover - the versions folder ships with the package
        raise MigrationError(f"no migrations found in {MIGRATIONS_DIR}")
    return revision


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [script.revision for script in reversed(list(_script().walk_revisions()))]


# --- connections ---------------------------------------------------------------------------------


@contextmanager
def _engine(db: str | Engine) -> Iterator[Engine]:
    if isinstance(db, Engine):
        yield db
        return
    engine = new_engine(normalize_url(db))
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that holds the database's migration lock; committed at the end."""
    with _process_lock, engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        foreign_keys = False
        if sqlite:
            # Batch migrations rebuild tables (copy, drop, rename): enforced foreign keys would make
            # dropping the old copy fail or cascade. The pragma does nothing inside a transaction.
            foreign_keys = bool(conn.exec_driver_sql("PRAGMA foreign_keys").scalar())
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
            # Take the write lock now (waiting up to the busy timeout), not at the first write:
            # a second process waits here and then sees the migrated schema.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            yield conn
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if foreign_keys:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


# --- adopting databases made by create_all ------------------------------------------------------


def _schema(conn: Connection, tables: frozenset[str] | None = None) -> Schema:
    inspector = inspect(conn)
    names = set(inspector.get_table_names()) - {VERSION_TABLE}
    if tables is not None:
        names &= tables
    return {name: frozenset(col["name"] for col in inspector.get_columns(name)) for name in names}


def _pairs(schema: Schema) -> frozenset[tuple[str, str]]:
    return frozenset((table, column) for table, columns in schema.items() for column in columns)


@cache
def _snapshots() -> tuple[tuple[str, Schema], ...]:
    """(revision, its tables and columns), newest first: each revision applied to a scratch SQLite database."""
    snapshots = []
    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        with _process_lock, engine.begin() as conn:
            config = alembic_config(conn)
            for revision in revisions():
                command.upgrade(config, revision)
                snapshots.append((revision, _schema(conn)))
    finally:
        engine.dispose()
    return tuple(reversed(snapshots))


def _known_tables() -> frozenset[str]:
    return frozenset(table for _, schema in _snapshots() for table in schema)


def _detect(conn: Connection) -> str:
    """The revision whose tables and columns the database has (columns we never made are ignored)."""
    snapshots = _snapshots()
    known = frozenset().union(*(_pairs(schema) for _, schema in snapshots))
    actual = _pairs(_schema(conn, _known_tables())) & known
    for revision, schema in snapshots:
        if _pairs(schema) == actual:
            return revision
    revision, schema = min(snapshots, key=lambda item: len(_pairs(item[1]) ^ actual))
    missing = sorted(f"{t}.{c}" for t, c in _pairs(schema) - actual)
    unexpected = sorted(f"{t}.{c}" for t, c in actual - _pairs(schema))
    raise MigrationError(
        "the database has newswatch tables but no migration history, and its columns match no revision; "
        f"the nearest is {revision}: missing {_some(missing)}; unexpected {_some(unexpected)}. "
        "Nothing was changed: back it up, bring it to one revision by hand, then record it with "
        "storage.migrate.stamp(url, revision)."
    )


def _some(names: list[str], limit: int = 12) -> str:
    if not names:
        return "none"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


# --- the API ------------------------------------------------------------------------------------


def _apply(conn: Connection, revision: str) -> str:
    config = alembic_config(conn)
    now = _current(conn)
    if now is None:
        tables = set(inspect(conn).get_table_names()) - {VERSION_TABLE}
        if tables and tables & _known_tables():  # (an empty database needs no snapshots)
            adopted = _detect(conn)
            command.stamp(config, adopted)
            log.warning("database without migration history (made by create_all): matches %s, stamped", adopted)
    elif now not in revisions():
        raise MigrationError(
            f"the database is at revision {now}, which this newswatch does not know: a newer version migrated it"
        )
    elif revision not in ("head", "heads"):
        try:
            target = _script().get_revision(revision)
        except CommandError:
            target = None  # a relative or unknown revision: Alembic says what is wrong with it
        if target is not None and target.revision != now and target.revision in _ancestors(now):
            raise MigrationError(f"the database is at {now}, past {target.revision}: that would be a downgrade")
    try:
        command.upgrade(config, revision)
    except CommandError as exc:
        raise MigrationError(f"cannot upgrade to {revision!r}: {exc}") from None
    return _current(conn) or "base"


def _ancestors(revision: str) -> set[str]:
    return {script.revision for script in _script().iterate_revisions(revision, "base")}


def upgrade(db: str | Engine, revision: str = "head") -> str:
    """Migrate up to `revision`, adopting a database made by create_all; returns the revision now current."""
    with _engine(db) as engine:
        target = head() if revision in ("head", "heads") else revision
        with engine.connect() as conn:
            if _current(conn) == target:  # the usual case: no lock, no writes
                return target
        with _locked(engine) as conn:
            return _apply(conn, revision)


def ensure_schema(db: str | Engine) -> str:
    """Bring the database to the schema of this build (head): for every process that opens it."""
    return upgrade(db, "head")


def current(db: str | Engine) -> str | None:
    """The revision the database is at; None when it has no migration history (empty, or made by create_all)."""
    with _engine(db) as engine, engine.connect() as conn:
        return _current(conn)


def downgrade(db: str | Engine, revision: str) -> str:
    """Undo migrations down to `revision` ("base": drop everything); returns the revision now current."""
    with _engine(db) as engine, _locked(engine) as conn:
        try:
            with _unreflectable_index_ignored():  # batch mode reflects the articles table on SQLite
                command.downgrade(alembic_config(conn), revision)
        except CommandError as exc:
            raise MigrationError(f"cannot downgrade to {revision!r}: {exc}") from None
        return _current(conn) or "base"


def stamp(db: str | Engine, revision: str) -> str:
    """Record that the database is at `revision` without running any migration (after a repair by hand)."""
    with _engine(db) as engine, _locked(engine) as conn:
        try:
            command.stamp(alembic_config(conn), revision, purge=True)
        except CommandError as exc:
            raise MigrationError(f"cannot stamp {revision!r}: {exc}") from None
        return _current(conn) or "base"


def schema_drift(db: str | Engine) -> list[str]:
    """How the database's schema differs from the models (Alembic autogenerate); empty when in sync."""
    with _engine(db) as engine, engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "version_table": VERSION_TABLE,
                "include_name": _in_the_models,
                "include_object": lambda obj, name, kind, *_: _in_the_models(name, kind, obj),
            },
        )
        with _unreflectable_index_ignored():  # Alembic cannot compare the index we leave out
            return [_describe(diff) for diff in compare_metadata(context, SQLModel.metadata)]


@contextmanager
def _unreflectable_index_ignored() -> Iterator[None]:
    """SQLAlchemy warns on every reflection of articles on SQLite that it cannot reflect the
    expression index of migration 0006; it is known and checked elsewhere (see below)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index '?ix_articles_source_recent")
        yield


def _in_the_models(name: str | None, kind: str, _parent: Any) -> bool:
    """Whether schema_drift compares this object. The full-text index (migration 0005) lives
    outside the models: not drift. Nor is the expression index of migration 0006, which Alembic
    cannot reflect on SQLite (it warned on every check); tests/storage/test_repository.py checks that the
    health query uses it."""
    return not (name or "").startswith(("articles_fts", "ix_articles_fts", "ix_articles_source_recent"))


def _describe(diff: Any) -> str:
    if isinstance(diff, list):  # column changes come as a list of ("modify_...", ...) tuples
        return "; ".join(_describe(item) for item in diff)
    op, *args = diff
    if op.startswith("modify_"):  # (op, schema, table, column, existing, old, new)
        _schema_name, table, column, _existing, old, new = args
        return f"{op} {table}.{column}: {old!r} -> {new!r}"
    named = [_name(arg) for arg in args if isinstance(arg, Column | Table | Index | Constraint)]
    return " ".join([op, *(named or [str(arg) for arg in args if arg is not None])])


def _name(obj: Column[Any] | Table | Index | Constraint) -> str:
    if isinstance(obj, Column):
        return f"{obj.table.name}.{obj.name}" if isinstance(obj.table, Table) else obj.name
    if isinstance(obj, Table):
        return obj.name
    table = obj.table.name if isinstance(obj.table, Table) else "?"
    columns = ", ".join(column.name for column in getattr(obj, "columns", ()))
    return f"{obj.name or '(unnamed)'} on {table}({columns})"


__all__: Sequence[str] = (
    "MigrationError",
    "alembic_config",
    "current",
    "downgrade",
    "ensure_schema",
    "head",
    "revisions",
    "schema_drift",
    "stamp",
    "upgrade",
)
