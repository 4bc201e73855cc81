"""The schema revision this build's code expects, and the error for a database that cannot be
brought to it. Importable without Alembic: opening a database that is already at this revision
(every run but the first after an upgrade) never loads Alembic (0.1 s per process)."""

from __future__ import annotations

# The newest migration in storage/migrations/versions; tests/storage/test_migrations.py checks that it
# is Alembic's head, so a new migration cannot be forgotten here.
SCHEMA_REVISION = "0012_search_index_detail_none"
VERSION_TABLE = "alembic_version"


class MigrationError(RuntimeError):
    """The database cannot be brought to the requested revision; nothing was changed."""
