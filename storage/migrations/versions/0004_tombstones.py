"""Tombstones of pruned articles.

Revision ID: 0004_tombstones
Revises: 0003_stories_article_revisions
Create Date: 2026-11-29

tombstones: the canonical URL and content hash of every article `newswatch prune` removed, so that
ingest never stores a pruned article again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_tombstones"
down_revision: str | None = "0003_stories_article_revisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tombstones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("pruned_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("canonical_url", name="uq_tombstones_canonical_url"),
    )
    op.create_index("ix_tombstones_content_hash", "tombstones", ["content_hash"])


def downgrade() -> None:
    op.drop_index("ix_tombstones_content_hash", table_name="tombstones")
    op.drop_table("tombstones")
