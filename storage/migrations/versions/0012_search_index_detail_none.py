"""SQLite's search index without token positions (FTS5 detail=none).

Revision ID: 0012_search_index_detail_none
Revises: 0011_declared_language
Create Date: 2026-12-06

The index (migration 0005) only narrows the archive to candidates that the query itself then
decides on (storage/search.py), so it needs no positions: storage.search looks a word up as
the AND of its trigrams, and checks words of ASCII letters with LIKE. Storing an article cost
0.945 ms of CPU and 14.9 KB for the index with positions, 0.478 ms and 1.0 KB without
(5,800-character articles, `bench/search_index.py`): the largest cost a run's process could
shed (issue #18 part 4). Still trigrams: Khmer and Thai, written without spaces, stay
searchable through the index. The table is rebuilt from `articles`; the triggers of 0005 name
it and stay. PostgreSQL: nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012_search_index_detail_none"
down_revision: str | None = "0011_declared_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', content_rowid='id', "
    "tokenize='trigram'{detail})"
)


def _recreate(detail: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE IF EXISTS articles_fts")
    op.execute(TABLE.format(detail=detail))
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def upgrade() -> None:
    _recreate(", detail='none'")


def downgrade() -> None:
    _recreate("")
