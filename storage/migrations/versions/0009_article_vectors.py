"""Article vectors for semantic matching.

Revision ID: 0009_article_vectors
Revises: 0008_alert_judgments
Create Date: 2026-12-04

articles.vector: the article's embedding as int8 bytes (64 bytes with the shipped model), computed
once by the page workers when the [semantic] extra or an operator's model is present, so that
runs, backtests and `topics test` compare it with a topic's references without embedding it
again; articles.vector_model: the model that made it (a vector is compared only with references
embedded by the same model). Both NULL for older articles and where no model is installed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_article_vectors"
down_revision: str | None = "0008_alert_judgments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite does it in place (batch mode would rebuild the table).
    op.add_column("articles", sa.Column("vector", sa.LargeBinary(), nullable=True))
    op.add_column("articles", sa.Column("vector_model", sa.String(length=100), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): batch mode would rebuild articles and lose the expression
    # index of 0006 (ix_articles_source_recent), which SQLAlchemy cannot reflect.
    op.drop_column("articles", "vector_model")
    op.drop_column("articles", "vector")
