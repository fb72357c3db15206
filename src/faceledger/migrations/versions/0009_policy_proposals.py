"""policy proposals: a profile change needs a second admin; custom profile files by reference

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import faceledger.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_state") as batch:
        batch.add_column(sa.Column("profile_ref", sa.String(length=1000), nullable=True))
    op.create_table(
        "policy_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_name", sa.String(length=100), nullable=False),
        sa.Column("profile_sha256", sa.String(length=64), nullable=False),
        sa.Column("profile_ref", sa.String(length=1000), nullable=True),
        sa.Column("unsafe", sa.Boolean(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", faceledger.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"], ["users.id"], name="fk_policy_proposals_proposed_by_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name="fk_policy_proposals_decided_by_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_policy_proposals"),
    )


def downgrade() -> None:
    op.drop_table("policy_proposals")
    with op.batch_alter_table("policy_state") as batch:
        batch.drop_column("profile_ref")
