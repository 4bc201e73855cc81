"""Stories (near-duplicate detection) and article revisions.

Revision ID: 0003_stories_article_revisions
Revises: 0002_health_digests_explanations
Create Date: 2026-11-29

articles: the MinHash signature, the story id and the revision number (existing rows: revision 1);
story_topics: one row per (topic, story), which makes "one story, one alert" hold; article_revisions:
the earlier texts of an article whose page changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_stories_article_revisions"
down_revision: str | None = "0002_health_digests_explanations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("articles", sa.Column("signature", sa.LargeBinary(), nullable=True))
    op.add_column("articles", sa.Column("story_id", sa.Integer(), nullable=True))
    op.add_column("articles", sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
    op.create_index("ix_articles_story_id", "articles", ["story_id"])

    op.create_table(
        "story_topics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["match_id"], ["matches.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic", "story_id", name="uq_story_topics_topic_story"),
    )
    op.create_index("ix_story_topics_story_id", "story_topics", ["story_id"])

    op.create_table(
        "article_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("fetched_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "revision", name="uq_article_revisions_article_revision"),
    )
    op.create_index("ix_article_revisions_article_id", "article_revisions", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_article_revisions_article_id", table_name="article_revisions")
    op.drop_table("article_revisions")
    op.drop_index("ix_story_topics_story_id", table_name="story_topics")
    op.drop_table("story_topics")
    op.drop_index("ix_articles_story_id", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("revision")
        batch.drop_column("story_id")
        batch.drop_column("signature")
