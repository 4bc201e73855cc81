"""Full-text index over articles, for `newswatch search`.

Revision ID: 0005_search_index
Revises: 0004_tombstones
Create Date: 2026-11-29

SQLite: an FTS5 table with the trigram tokenizer, kept in step with `articles` by triggers.
Trigrams match any substring of three characters or more, so one index serves word prefixes
(traffick*) and scripts written without spaces (Khmer, Thai) alike.
PostgreSQL: a GIN index on the 'simple' text-search vector of title and text.
These live outside the SQLModel metadata (storage.search.FTS_OBJECTS lists them, and
storage.migrate.schema_drift leaves them out).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_search_index"
down_revision: str | None = "0004_tombstones"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]
POSTGRES = [
    "CREATE INDEX ix_articles_fts ON articles USING GIN "
    "(to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(text, '')))",
]


def upgrade() -> None:
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("articles_fts_insert", "articles_fts_delete", "articles_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_articles_fts")
