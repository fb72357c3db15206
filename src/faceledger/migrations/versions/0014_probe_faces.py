"""probe faces cached at filing: the boxes (and landmarks) of every face detected in a probe,
stored once with the probe so that no read of a crop runs detection again

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add probe_images.faces (nullable: probes filed earlier are detected on their next use)."""
    with op.batch_alter_table("probe_images") as batch:
        batch.add_column(sa.Column("faces", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop probe_images.faces."""
    with op.batch_alter_table("probe_images") as batch:
        batch.drop_column("faces")
