"""a gallery belongs to one model; evaluations and activations (deployment gate); face choice

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import faceledger.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("galleries") as batch:
        batch.add_column(sa.Column("model_name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("model_version", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("model_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("activation_id", sa.Integer(), nullable=True))
    # Existing galleries belong to the model of their templates (until now only dlib's).
    op.execute(
        """
        UPDATE galleries SET
          model_name = (SELECT t.model_name FROM templates t
                        WHERE t.gallery_id = galleries.id ORDER BY t.id LIMIT 1),
          model_version = (SELECT t.model_version FROM templates t
                           WHERE t.gallery_id = galleries.id ORDER BY t.id LIMIT 1),
          model_sha256 = (SELECT t.model_sha256 FROM templates t
                          WHERE t.gallery_id = galleries.id ORDER BY t.id LIMIT 1)
        """
    )
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("face_choice", sa.JSON(), nullable=True))
    # Template ids are never reused (past candidate lists refer to them): on SQLite that takes
    # AUTOINCREMENT, so the table is rebuilt with it.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "templates", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    with op.batch_alter_table("candidates") as batch:
        batch.alter_column("above_threshold", new_column_name="within_threshold")
    with op.batch_alter_table("search_runs") as batch:
        batch.add_column(sa.Column("thresholds", sa.JSON(), nullable=True))
    # Searches before this revision had one global threshold, already in threshold_micro.
    op.execute("UPDATE search_runs SET thresholds = '[]'")
    with op.batch_alter_table("search_runs") as batch:
        batch.alter_column("thresholds", existing_type=sa.JSON(), nullable=False)
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("dataset", sa.String(length=200), nullable=False),
        sa.Column("dataset_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("summary_sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evaluations"),
    )
    op.create_table(
        "activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gallery_id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=False),
        sa.Column("target_fpir", sa.Float(), nullable=False),
        sa.Column("gallery_size", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("within_measured_range", sa.Boolean(), nullable=False),
        sa.Column("profile_sha256", sa.String(length=64), nullable=False),
        sa.Column("activated_by", sa.String(length=200), nullable=False),
        sa.Column("activated_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gallery_id"],
            ["galleries.id"],
            name="fk_activations_gallery_id_galleries",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["evaluations.id"], name="fk_activations_evaluation_id_evaluations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activations"),
    )
    op.create_index("ix_activations_gallery_id", "activations", ["gallery_id"])


def downgrade() -> None:
    op.drop_index("ix_activations_gallery_id", table_name="activations")
    op.drop_table("activations")
    op.drop_table("evaluations")
    with op.batch_alter_table("search_runs") as batch:
        batch.drop_column("thresholds")
    with op.batch_alter_table("candidates") as batch:
        batch.alter_column("within_threshold", new_column_name="above_threshold")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("face_choice")
    with op.batch_alter_table("galleries") as batch:
        batch.drop_column("activation_id")
        batch.drop_column("model_sha256")
        batch.drop_column("model_version")
        batch.drop_column("model_name")
