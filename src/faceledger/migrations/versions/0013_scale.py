"""scale out: record which vector index answered each search and whether it was approximate;
model versions up to 300 characters (PostgreSQL enforces lengths, and the SFace version string,
which names the runtime and the aligner, is over 100)

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


MODEL_TABLES = {"galleries": True, "templates": False, "evaluations": False, "activations": False}
"""Tables with a model_version column, and whether it is nullable."""


def upgrade() -> None:
    """Add search_runs.indexes (R12: the index of each gallery searched); widen model_version."""
    with op.batch_alter_table("search_runs") as batch:
        batch.add_column(sa.Column("indexes", sa.JSON(), nullable=False, server_default="[]"))
    for table, nullable in MODEL_TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "model_version",
                existing_type=sa.String(100),
                type_=sa.String(300),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    """Drop search_runs.indexes; model_version back to 100 characters."""
    for table, nullable in MODEL_TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "model_version",
                existing_type=sa.String(300),
                type_=sa.String(100),
                existing_nullable=nullable,
            )
    with op.batch_alter_table("search_runs") as batch:
        batch.drop_column("indexes")
