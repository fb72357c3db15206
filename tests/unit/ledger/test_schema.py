"""The migrations build exactly the ORM schema, and the verifier's view of it agrees."""

from __future__ import annotations

import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

import faceledger.ledger
import faceledger.models  # registers every table on Base.metadata
from faceledger.db import Base, Database
from faceledger.ledger import models, tables


def _diff(db: Database) -> list[object]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrations_match_the_orm(db: Database) -> None:
    assert db.current_revision() == db.head_revision()
    assert _diff(db) == []


def test_downgrade_removes_the_ledger_and_upgrade_restores_it(db: Database) -> None:
    command.downgrade(db._alembic_config(), "0001")
    assert not {"ledger_entries", "ledger_state"} & set(inspect(db.engine).get_table_names())
    db.upgrade()
    assert _diff(db) == []


def test_migration_seeds_the_empty_state_row(db: Database) -> None:
    with db.engine.connect() as conn:
        rows = conn.execute(select(tables.state)).mappings().all()
    assert [dict(r) for r in rows] == [
        {
            "id": 1,
            "tree_size": 0,
            "frontier": b"",
            "checkpoint_count": 0,
            "last_checkpoint_size": None,
            "last_checkpoint_at": None,
        }
    ]


def test_core_clauses_name_the_orm_columns() -> None:
    pairs = [
        (tables.entries, models.EntryRow),
        (tables.nodes, models.NodeRow),
        (tables.checkpoints, models.CheckpointRow),
        (tables.state, models.StateRow),
    ]
    for clause, model in pairs:
        orm_table = model.__table__
        assert clause.name == orm_table.name
        assert [c.name for c in clause.columns] == [c.name for c in orm_table.columns]


def test_public_surface_is_lazy_and_complete() -> None:
    exported = set(faceledger.ledger.__all__)
    assert exported == set(faceledger.ledger._EXPORTS)
    for name in exported:
        assert getattr(faceledger.ledger, name) is not None


def test_verifier_imports_nothing_from_the_application() -> None:
    # An auditor runs the verifier alone: no ORM, no service, gallery, governance or db layer.
    code = (
        "import sys, faceledger.ledger.verify, faceledger.ledger.bundle\n"
        "bad = sorted(m for m in sys.modules if m.startswith(("
        "'faceledger.service', 'faceledger.gallery', 'faceledger.governance', "
        "'faceledger.biometrics', 'faceledger.db', 'faceledger.ledger.log', "
        "'faceledger.ledger.models', 'sqlalchemy.orm', 'alembic')))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
