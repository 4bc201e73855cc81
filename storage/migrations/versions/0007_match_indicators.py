"""The indicators of a match.

Revision ID: 0007_match_indicators
Revises: 0006_source_recent_index
Create Date: 2026-12-01

matches.indicators: per group of terms that fired (@means), the text it matched, so that an alert,
a digest, the run report and an export say why a match is one. Not null, with the server default
'{}' so that existing rows (matched before groups, or without any) are filled with no indicators.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_match_indicators"
down_revision: str | None = "0006_source_recent_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite does it in place (batch mode would rebuild the table).
    op.add_column("matches", sa.Column("indicators", sa.JSON(), server_default="{}", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("indicators")
