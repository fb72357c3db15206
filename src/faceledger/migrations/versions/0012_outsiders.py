"""verifiable by outsiders: pseudonymous envelope fields (version 3), redactable payloads,
witness cosignatures, retention bookkeeping

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import faceledger.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the envelope version 3 columns, make payloads redactable, add cosignatures."""
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("salt", sa.String(32), nullable=True))
        batch.add_column(sa.Column("actor_ref", sa.String(32), nullable=True))
        batch.add_column(sa.Column("object_ref", sa.String(32), nullable=True))
        batch.add_column(sa.Column("redacted_by", sa.Integer(), nullable=True))
        batch.alter_column("payload", existing_type=sa.Text(), nullable=True)
    op.create_table(
        "ledger_cosignatures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("checkpoint_number", sa.Integer(), nullable=False),
        sa.Column("witness_name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(8), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("received_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.UniqueConstraint(
            "checkpoint_number", "witness_name", "key_hash", name="uq_cosignature_witness"
        ),
    )
    op.create_index(
        "ix_ledger_cosignatures_checkpoint_number", "ledger_cosignatures", ["checkpoint_number"]
    )
    with op.batch_alter_table("search_requests") as batch:
        batch.add_column(sa.Column("purged_at", faceledger.db.UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("ledger_redacted_at", faceledger.db.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    """Drop what :func:`upgrade` added (payloads already redacted stay empty strings)."""
    with op.batch_alter_table("search_requests") as batch:
        batch.drop_column("ledger_redacted_at")
        batch.drop_column("purged_at")
    op.drop_index("ix_ledger_cosignatures_checkpoint_number", table_name="ledger_cosignatures")
    op.drop_table("ledger_cosignatures")
    op.execute("UPDATE ledger_entries SET payload = '' WHERE payload IS NULL")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.alter_column("payload", existing_type=sa.Text(), nullable=False)
        batch.drop_column("redacted_by")
        batch.drop_column("object_ref")
        batch.drop_column("actor_ref")
        batch.drop_column("salt")
