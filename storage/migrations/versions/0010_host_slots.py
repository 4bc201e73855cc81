"""Per-host politeness shared by every process on the database.

Revision ID: 0010_host_slots
Revises: 0009_article_vectors
Create Date: 2026-12-04

host_slots: one row per host (host:port) with the earliest moment the next request to it may start
and the requests in flight (token -> lease expiry, JSON), taken under the row's lock by every
worker that fetches (storage/hostslots.py). A new table: no existing row changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_host_slots"
down_revision: str | None = "0009_article_vectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "host_slots",
        sa.Column("host", sa.String(length=300), nullable=False),
        sa.Column("next_start", sa.Float(), nullable=False),
        sa.Column("leases", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("host"),
    )


def downgrade() -> None:
    op.drop_table("host_slots")
