"""scale out: record which vector index answered each search and whether it was approximate

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add search_runs.indexes (R12: the index of each gallery searched)."""
    with op.batch_alter_table("search_runs") as batch:
        batch.add_column(sa.Column("indexes", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    """Drop search_runs.indexes."""
    with op.batch_alter_table("search_runs") as batch:
        batch.drop_column("indexes")
