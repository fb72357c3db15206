"""Stored cosignatures in a real SQLite ledger: written once, read back into the checkpoint note,
and checked against a quorum straight from the database file."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.db import Database, utcnow
from faceledger.errors import VerificationFailed
from faceledger.ledger import Ledger
from faceledger.ledger.cosignature import WitnessKey, sign_cosignature
from faceledger.ledger.cosignature_store import (
    check_database_quorum,
    cosignatures_for,
    latest_cosigned_size,
    matching_checkpoint,
    store_cosignature,
    witnessed_note,
)
from faceledger.ledger.export import latest_signed_checkpoint
from faceledger.ledger.note import parse_checkpoint_note
from tests.unit.ledger.conftest import AppendMany

KEYS = [Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in (1, 2, 3)]
WITNESSES = [WitnessKey.of(f"w{i}.example", k.public_key()) for i, k in enumerate(KEYS, 1)]
STAMP = 1_700_000_000


def _cosign(db: Database, number: int, body: bytes, which: list[int]) -> list[bool]:
    with db.transaction() as session:
        return [
            store_cosignature(
                session.connection(),
                number,
                sign_cosignature(KEYS[i], WITNESSES[i].name, body, STAMP + i),
                utcnow(),
            )
            for i in which
        ]


def test_stored_cosignatures_come_back_in_the_note(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, append_many: AppendMany
) -> None:
    append_many(3, checkpoint=True)
    with db.read() as session:
        cp = latest_signed_checkpoint(session.connection())
    assert cp is not None and cp.tree_size == 3
    assert _cosign(db, cp.number, cp.body(), [1, 0]) == [True, True]
    assert _cosign(db, cp.number, cp.body(), [0]) == [False]  # never stored twice
    with db.read() as session:
        conn = session.connection()
        lines = cosignatures_for(conn, cp.number)
        text = witnessed_note(conn, public_key)
        assert latest_cosigned_size(conn, WITNESSES[0]) == 3
        assert latest_cosigned_size(conn, WITNESSES[2]) == 0
    assert [s.name for s in lines] == ["w1.example", "w2.example"]
    assert lines[0].signature[:8] == STAMP.to_bytes(8, "big")
    assert text is not None
    note = parse_checkpoint_note(text, public_key)
    assert note.others == tuple(lines)
    with db.read() as session:
        assert matching_checkpoint(session.connection(), note) == cp


def test_quorum_straight_from_the_database_file(
    db: Database, db_url: str, public_key: Ed25519PublicKey, append_many: AppendMany
) -> None:
    with pytest.raises(VerificationFailed) as caught:
        check_database_quorum(db_url, public_key, WITNESSES, 1, now=STAMP)
    assert caught.value.details["reason"] == "no_checkpoint"
    append_many(2, checkpoint=True)
    with db.read() as session:
        cp = latest_signed_checkpoint(session.connection())
    assert cp is not None
    _cosign(db, cp.number, cp.body(), [0, 2])
    assert check_database_quorum(db_url, public_key, WITNESSES, 2, now=STAMP) == [
        "w1.example",
        "w3.example",
    ]
    with pytest.raises(VerificationFailed) as caught:
        check_database_quorum(db_url, public_key, WITNESSES, 3, now=STAMP)
    assert caught.value.details["missing"] == ["w2.example"]
    # A newer checkpoint nobody cosigned yet: the quorum is about the latest one.
    append_many(1, checkpoint=True, start=2)
    with pytest.raises(VerificationFailed) as caught:
        check_database_quorum(db_url, public_key, WITNESSES, 1, now=STAMP)
    assert caught.value.details["actual"] == 0


def test_the_store_imports_nothing_from_the_application() -> None:
    code = (
        "import sys, faceledger.ledger.cosignature_store\n"
        "bad = sorted(m for m in sys.modules if m.startswith(("
        "'faceledger.service', 'faceledger.governance', 'faceledger.db', "
        "'faceledger.ledger.log', 'faceledger.ledger.models', 'sqlalchemy.orm')))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
