"""The analysts' judgments of alerts.

Revision ID: 0008_alert_judgments
Revises: 0007_match_indicators
Create Date: 2026-12-02

judgments: an analyst's word on an alert (`newswatch alerts mark`), relevant or not, with a note,
who and when: one row per (topic, article), so that the alerts of one match to several targets are
judged once and marking again replaces the judgment. A new table: no existing row changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_alert_judgments"
down_revision: str | None = "0007_match_indicators"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "judgments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("judged_by", sa.String(length=200), nullable=False),
        sa.Column("judged_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"]),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic", "article_id", name="uq_judgments_topic_article"),
    )
    op.create_index("ix_judgments_alert_id", "judgments", ["alert_id"])
    op.create_index("ix_judgments_article_id", "judgments", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_judgments_article_id", table_name="judgments")
    op.drop_index("ix_judgments_alert_id", table_name="judgments")
    op.drop_table("judgments")
