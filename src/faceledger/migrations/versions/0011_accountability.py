"""accountability outputs: public ledger fields, request outcome, disclosure status and
described person, disclosure packets, misuse findings, alerts and their deliveries

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import faceledger.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_OUTCOME_FROM_STATE = """
UPDATE search_requests SET outcome = CASE
  WHEN state = 'denied' THEN 'denied'
  WHEN state IN ('no_lead', 'sealed') THEN 'no_lead'
  WHEN state = 'released' THEN 'lead'
  ELSE 'pending' END
"""
# The furthest use of a released lead, in the order of governance.context.Outcome; sealing
# ends a request with no lead whatever was used before (governance.outcomes.after_event).
_OUTCOME_FROM_USES = """
UPDATE search_requests SET outcome = (
  SELECT CASE MAX(CASE use WHEN 'further_investigation' THEN 1 WHEN 'photo_lineup' THEN 2
                           WHEN 'warrant' THEN 3 WHEN 'arrest' THEN 4 ELSE 0 END)
    WHEN 1 THEN 'further_investigation' WHEN 2 THEN 'photo_lineup'
    WHEN 3 THEN 'warrant' WHEN 4 THEN 'arrest' ELSE 'lead' END
  FROM lead_uses WHERE lead_uses.request_id = search_requests.id)
WHERE id IN (SELECT request_id FROM lead_uses) AND state != 'sealed'
"""


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("public", sa.Text(), nullable=True))
    with op.batch_alter_table("search_requests") as batch:
        batch.add_column(
            sa.Column("outcome", sa.String(length=30), nullable=False, server_default="pending")
        )
        batch.add_column(
            sa.Column(
                "disclosure_status",
                sa.String(length=30),
                nullable=False,
                server_default="not_disclosed",
            )
        )
        batch.add_column(
            sa.Column("described_sex", sa.String(length=30), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("described_race", sa.String(length=50), nullable=False, server_default="")
        )
    with op.batch_alter_table("search_runs") as batch:
        batch.add_column(sa.Column("probe_embedding", sa.LargeBinary(), nullable=True))
    op.execute(_OUTCOME_FROM_STATE)
    op.execute(_OUTCOME_FROM_USES)
    with op.batch_alter_table("search_requests") as batch:
        for name in ("outcome", "disclosure_status", "described_sex", "described_race"):
            batch.alter_column(name, server_default=None)
        batch.create_index("ix_search_requests_outcome", ["outcome"])
    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("produced_by_id", sa.Integer(), nullable=True),
        sa.Column("produced_by", sa.String(length=200), nullable=False),
        sa.Column("produced_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.Column("recipient", sa.String(length=300), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("packet_sha256", sa.String(length=64), nullable=False),
        sa.Column("checkpoint_size", sa.Integer(), nullable=False),
        sa.Column("fact_count", sa.Integer(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["search_requests.id"],
            name="fk_disclosures_request_id_search_requests",
        ),
        sa.ForeignKeyConstraint(
            ["produced_by_id"], ["users.id"], name="fk_disclosures_produced_by_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_disclosures"),
    )
    op.create_index("ix_disclosures_request_id", "disclosures", ["request_id"])
    op.create_table(
        "misuse_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=50), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("request_ids", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_misuse_findings"),
        sa.UniqueConstraint("fingerprint", name="uq_misuse_findings_fingerprint"),
    )
    op.create_index("ix_misuse_findings_rule", "misuse_findings", ["rule"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=True),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=False),
        sa.Column("acknowledged_at", faceledger.db.UTCDateTime(), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=False),
        sa.Column("ack_ledger_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["violation_id"], ["violations.id"], name="fk_alerts_violation_id_violations"
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["misuse_findings.id"], name="fk_alerts_finding_id_misuse_findings"
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"], ["users.id"], name="fk_alerts_acknowledged_by_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
    )
    op.create_index("ix_alerts_violation_id", "alerts", ["violation_id"])
    op.create_index("ix_alerts_finding_id", "alerts", ["finding_id"])
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_index("ix_alerts_acknowledged_at", "alerts", ["acknowledged_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", faceledger.db.UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("delivered_at", faceledger.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_deliveries_alert_id_alerts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alert_deliveries"),
    )
    op.create_index("ix_alert_deliveries_alert_id", "alert_deliveries", ["alert_id"])
    op.create_index("ix_alert_deliveries_status", "alert_deliveries", ["status"])
    # Violations recorded before this revision raise their alerts now (R18), unacknowledged.
    op.execute(
        """
        INSERT INTO alerts (source, violation_id, request_id, title, body, created_at,
                            acknowledged_by, ack_note)
        SELECT 'violation', id, request_id, 'Violation: ' || kind, reason, created_at, '', ''
        FROM violations
        """
    )


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_status", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_alert_id", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    for name in ("acknowledged_at", "created_at", "finding_id", "violation_id"):
        op.drop_index(f"ix_alerts_{name}", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_misuse_findings_rule", table_name="misuse_findings")
    op.drop_table("misuse_findings")
    op.drop_index("ix_disclosures_request_id", table_name="disclosures")
    op.drop_table("disclosures")
    with op.batch_alter_table("search_requests") as batch:
        batch.drop_index("ix_search_requests_outcome")
        for name in ("described_race", "described_sex", "disclosure_status", "outcome"):
            batch.drop_column(name)
    with op.batch_alter_table("search_runs") as batch:
        batch.drop_column("probe_embedding")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("public")
