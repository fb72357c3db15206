"""Redacting stored payloads: only the payload goes, the log still verifies, bad seqs fail
whole."""

from __future__ import annotations

import io
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from faceledger.db import Database
from faceledger.errors import InvalidInput, LedgerError, NotFound
from faceledger.ledger import Ledger, verify_database, verify_export
from faceledger.ledger.redaction import REDACT_ACTION, redact_payloads
from faceledger.ledger.tables import entries
from tests.unit.ledger.conftest import AppendMany


def _rows(db: Database) -> dict[int, dict[str, Any]]:
    with db.read() as session:
        return {
            row.seq: dict(row) for row in session.connection().execute(select(entries)).mappings()
        }


def _append_redact(db: Database, ledger: Ledger, seqs: list[int]) -> int:
    with db.transaction() as session:
        entry = ledger.append(
            session,
            actor="local:test",
            action=REDACT_ACTION,
            object_type="request",
            object_id="1",
            payload={"seqs": seqs, "reason": "retention"},
            public={"reason": "retention", "entries": len(seqs)},
        )
        return entry.seq


def test_only_the_payload_goes_and_the_log_still_verifies(
    db: Database, db_url: str, ledger: Ledger, append_many: AppendMany, public_key: Ed25519PublicKey
) -> None:
    append_many(5)
    before = _rows(db)
    redactor = _append_redact(db, ledger, [1, 3])
    with db.transaction() as session:
        assert redact_payloads(session.connection(), [3, 1, 1], redactor) == 2
        ledger.checkpoint(session)
    after = _rows(db)
    assert len(after) == 6  # nothing deleted
    for seq in (1, 3):
        assert after[seq]["payload"] is None and after[seq]["redacted_by"] == redactor
        # Everything else of the row is as it was.
        unchanged = {k: v for k, v in after[seq].items() if k not in ("payload", "redacted_by")}
        assert unchanged == {
            k: v for k, v in before[seq].items() if k not in ("payload", "redacted_by")
        }
    for seq in (0, 2, 4):
        assert after[seq] == before[seq]
    assert after[redactor]["payload"] is not None

    report = verify_database(db_url, public_key)
    assert report.tree_size == 6
    with db.read() as session:
        out = io.StringIO()
        ledger.export(session, out)
    lines = out.getvalue().splitlines()
    assert verify_export(lines, public_key).tree_size == 6
    # The redacted entries' lines carry no payload, the others do.
    import json

    by_seq = {d["seq"]: d for d in map(json.loads, lines) if d.get("type") == "entry"}
    assert "payload" not in by_seq[1] and "payload" not in by_seq[3]
    assert by_seq[2]["payload"]["n"] == 2


def test_redacting_again_changes_nothing(
    db: Database, ledger: Ledger, append_many: AppendMany
) -> None:
    append_many(3)
    first = _append_redact(db, ledger, [0])
    with db.transaction() as session:
        assert redact_payloads(session.connection(), [0], first) == 1
    second = _append_redact(db, ledger, [0, 1])
    with db.transaction() as session:
        # Entry 0 keeps the redaction that removed its payload; only 1 is new.
        assert redact_payloads(session.connection(), [0, 1], second) == 1
    rows = _rows(db)
    assert rows[0]["redacted_by"] == first and rows[1]["redacted_by"] == second


@pytest.mark.parametrize(
    ("seqs", "error", "message"),
    [
        ([1, 99, 98], NotFound, "Ledger entries 98, 99 do not exist"),
        ([1, 3], InvalidInput, "can only redact earlier entries, not 3"),
        ([-1], NotFound, "Ledger entries -1 do not exist"),
    ],
)
def test_bad_seqs_change_nothing(
    db: Database,
    ledger: Ledger,
    append_many: AppendMany,
    seqs: list[int],
    error: type[Exception],
    message: str,
) -> None:
    append_many(3)
    redactor = _append_redact(db, ledger, [1])
    before = _rows(db)
    with pytest.raises(error, match=message), db.transaction() as session:
        redact_payloads(session.connection(), seqs, redactor)
    assert _rows(db) == before


def test_the_recorder_must_be_a_redact_entry(
    db: Database, ledger: Ledger, append_many: AppendMany
) -> None:
    append_many(3)
    before = _rows(db)
    with pytest.raises(LedgerError, match=r"only a 'ledger\.redact' entry"), db.transaction() as s:
        redact_payloads(s.connection(), [0], 2)
    with pytest.raises(NotFound, match="Ledger entry 9 does not exist"), db.transaction() as s:
        redact_payloads(s.connection(), [0], 9)
    assert _rows(db) == before


def test_nothing_to_redact_is_no_work(db: Database) -> None:
    with db.transaction() as session:
        assert redact_payloads(session.connection(), [], 5) == 0


def test_the_service_names_the_same_action() -> None:
    from faceledger.service.ledger_actions import LedgerAction

    assert LedgerAction.LEDGER_REDACT.value == REDACT_ACTION
