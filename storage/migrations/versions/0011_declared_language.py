"""The language an article's page or feed declared, where its text overruled it.

Revision ID: 0011_declared_language
Revises: 0010_host_slots
Create Date: 2026-12-05

articles.declared_language: about 2% of real pages declare the wrong language (English pages
saying de, German ones en; scrapinghub-aeb: 4 of 181). The text's confident reading now files
such an article (tasks.common.language.read_language) and the declaration is kept here, so an
operator can see both. NULL where the declaration stood, there was none, and for older rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_declared_language"
down_revision: str | None = "0010_host_slots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite does it in place (batch mode would rebuild the table).
    op.add_column("articles", sa.Column("declared_language", sa.String(length=20), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35): batch mode would rebuild articles and lose 0006's
    # expression index, which SQLAlchemy cannot reflect.
    op.drop_column("articles", "declared_language")
