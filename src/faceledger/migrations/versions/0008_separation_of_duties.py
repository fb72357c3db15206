"""separation of duties: account creators, the searched face, one review per stage, commitments

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_users_created_by_id_users", "users", ["created_by_id"], ["id"])
    with op.batch_alter_table("search_requests") as batch:
        batch.add_column(sa.Column("face_index", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("commitment_salt", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_reviews_request_id", ["request_id", "stage"])


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_constraint("uq_reviews_request_id", type_="unique")
        batch.drop_column("commitment_salt")
    with op.batch_alter_table("search_requests") as batch:
        batch.drop_column("face_index")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_created_by_id_users", type_="foreignkey")
        batch.drop_column("created_by_id")
