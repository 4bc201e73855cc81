"""Alembic environment, configured from code: no alembic.ini.

storage.migrate builds the Config and runs the migrations on a connection it opened (inside one
transaction, holding the migration lock) and put in config.attributes["connection"]. The
`alembic` command line is not the way in: `newswatch db upgrade` is.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Drafts say sa.String(length=200) and sa.DateTime(timezone=True), not SQLModel's wrappers."""
    if type_ == "type" and isinstance(obj, TypeDecorator) and type(obj).__module__.startswith("sqlmodel"):
        return f"sa.{obj.impl_instance!r}"
    return False


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run the migrations through storage.migrate (`newswatch db upgrade`), not alembic")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations_online()
