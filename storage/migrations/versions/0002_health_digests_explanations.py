"""Source health and politeness, digests, match explanations.

Revision ID: 0002_health_digests_explanations
Revises: 0001_initial
Create Date: 2026-11-29

sources: conditional-GET validators, body hash, scheduling and pause state; alerts: digest flag and
retry time; matches: the explanation (spans, sentences); the digests table. The NOT NULL columns get
server defaults so that existing rows are filled (alerts.digest false, the explanations '[]').
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_health_digests_explanations"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)

SOURCE_COLUMNS = (
    "etag",
    "last_modified",
    "body_hash",
    "next_attempt_at",
    "paused_at",
    "pause_notified_at",
    "last_new_at",
)


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite does it in place (batch mode would rebuild the tables).
    op.add_column("sources", sa.Column("etag", sa.Text(), nullable=True))
    op.add_column("sources", sa.Column("last_modified", sa.Text(), nullable=True))
    op.add_column("sources", sa.Column("body_hash", sa.String(length=64), nullable=True))
    op.add_column("sources", sa.Column("next_attempt_at", TIMESTAMP, nullable=True))
    op.add_column("sources", sa.Column("paused_at", TIMESTAMP, nullable=True))
    op.add_column("sources", sa.Column("pause_notified_at", TIMESTAMP, nullable=True))
    op.add_column("sources", sa.Column("last_new_at", TIMESTAMP, nullable=True))

    # sa.false() renders as false on PostgreSQL and 0 on SQLite (no native boolean).
    op.add_column("alerts", sa.Column("digest", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("alerts", sa.Column("next_attempt_at", TIMESTAMP, nullable=True))

    op.add_column("matches", sa.Column("spans", sa.JSON(), server_default="[]", nullable=False))
    op.add_column("matches", sa.Column("sentences", sa.JSON(), server_default="[]", nullable=False))

    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.Column("stories", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_digests_target", "digests", ["target"])
    op.create_index("ix_digests_topic", "digests", ["topic"])


def downgrade() -> None:
    op.drop_index("ix_digests_topic", table_name="digests")
    op.drop_index("ix_digests_target", table_name="digests")
    op.drop_table("digests")
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("sentences")
        batch.drop_column("spans")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("digest")
    with op.batch_alter_table("sources") as batch:
        for name in reversed(SOURCE_COLUMNS):
            batch.drop_column(name)
