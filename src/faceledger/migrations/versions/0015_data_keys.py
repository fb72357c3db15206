"""data keys: the AES-256 keys that seal probe photos, chips, templates and narratives at rest,
each wrapped under the key-encryption key held outside the database

Existing values stay readable as they are (legacy plaintext, counted by `faceledger doctor`)
until `faceledger keys rotate-data-key` seals them; no column changes type.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from faceledger.db import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create data_keys."""
    op.create_table(
        "data_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_keys")),
    )


def downgrade() -> None:
    """Drop data_keys (sealed values then no longer open: downgrade only an unsealed copy)."""
    op.drop_table("data_keys")
