"""Exports and the auditor's verifier, including an attacker with write access to the database.

Every tamper test edits the database with raw SQL (tests/rawsql.py, on either backend), as
someone with database access would, and asserts that verification names the first failing entry
or checkpoint and the reason.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.db import Database
from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import Checkpoint, Ledger, LedgerEntry, verify_database, verify_export
from faceledger.ledger.envelope import envelope_bytes, format_ts
from faceledger.ledger.merkle import leaf_hash
from tests import rawsql

from .conftest import AppendMany
from .tamper import rewrite_payload


@dataclass
class SignedLog:
    """28 entries; checkpoints #0 at 10, #1 at 20, #2 at 25; entries 25..27 not yet signed."""

    entries: list[LedgerEntry]
    checkpoints: list[Checkpoint]
    snapshot: str  # the URL of a copy of the database taken right after checkpoint #1


def _attack(db_url: str, sql: str, **params: Any) -> None:
    assert rawsql.execute(db_url, sql, **params) > 0, f"the attack changed nothing: {sql}"


@pytest.fixture
def signed_log(db: Database, ledger: Ledger, tmp_path: Path, append_many: AppendMany) -> SignedLog:
    entries = append_many(10, checkpoint=True)
    entries += append_many(10, start=10, checkpoint=True)
    snapshot = rawsql.snapshot(db, tmp_path)
    entries += append_many(5, start=20, checkpoint=True)
    entries += append_many(3, start=25)
    with db.read() as session:
        checkpoints = ledger.checkpoints(session)
    assert [cp.tree_size for cp in checkpoints] == [10, 20, 25]
    return SignedLog(entries, checkpoints, snapshot)


def _export(db: Database, ledger: Ledger, include_payloads: bool = True) -> list[str]:
    out = io.StringIO()
    with db.read() as session:
        ledger.export(session, out, include_payloads=include_payloads)
    return out.getvalue().splitlines(keepends=True)


def _failure(excinfo: pytest.ExceptionInfo[VerificationFailed]) -> dict[str, Any]:
    return excinfo.value.details


# -- clean logs -------------------------------------------------------------------------------


def test_clean_log_verifies_from_database_and_export(
    db: Database, ledger: Ledger, db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    from_db = verify_database(db_url, public_key)
    from_export = verify_export(_export(db, ledger), public_key)
    assert from_db == from_export
    assert from_db.tree_size == 28
    assert from_db.checkpoints == 3
    assert from_db.latest_checkpoint == 2
    assert (from_db.signed_size, from_db.unsigned_entries) == (25, 3)
    assert from_db.payloads_checked == 28
    assert from_db.log_id == "test-log"
    with db.read() as session:
        assert from_db.root_hash == ledger.root(session).hex()
    assert "3 entries are newer than the latest checkpoint" in from_db.summary()


def test_export_format(db: Database, ledger: Ledger, signed_log: SignedLog) -> None:
    lines = _export(db, ledger)
    assert lines == _export(db, ledger)  # deterministic
    records = [json.loads(line) for line in lines]
    assert records[0] == {
        "type": "header",
        "format": "faceledger-ledger-export",
        "version": 1,
        "tree_size": 28,
        "checkpoints": 3,
        "payloads": "included",
    }
    kinds = [(r["type"], r.get("seq", r.get("number"))) for r in records[1:]]
    # Each checkpoint follows the entry that completes its tree.
    assert kinds.index(("checkpoint", 0)) == kinds.index(("entry", 9)) + 1
    assert kinds.index(("checkpoint", 2)) == kinds.index(("entry", 24)) + 1
    assert kinds[-1] == ("entry", 27)
    entry = records[1]
    assert entry["payload"] == {"n": 0, "note": "entry 0", "tags": ["a", "b"]}
    assert entry["leaf_hash"] == signed_log.entries[0].leaf_hash
    first_cp = next(r for r in records if r["type"] == "checkpoint")
    assert "consistency_proof" not in first_cp
    second_cp = next(r for r in records if r.get("number") == 1)
    assert len(second_cp["consistency_proof"]) > 0


def test_redacted_export_still_verifies(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    lines = _export(db, ledger, include_payloads=False)
    assert all('"payload"' not in line for line in lines)
    assert json.loads(lines[0])["payloads"] == "redacted"
    report = verify_export(lines, public_key)
    assert (report.payloads_checked, report.payloads_redacted) == (0, 28)


def test_empty_ledger_verifies(db: Database, ledger: Ledger, public_key: Ed25519PublicKey) -> None:
    report = verify_export(_export(db, ledger), public_key)
    assert (report.tree_size, report.checkpoints, report.latest_checkpoint) == (0, 0, None)
    assert "No checkpoint" in report.summary()


def test_trusted_checkpoint_that_the_log_extends(
    db: Database, ledger: Ledger, db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    trusted = Checkpoint.from_json(signed_log.checkpoints[1].to_json())  # as saved by an auditor
    report = verify_database(db_url, public_key, trusted)
    assert report.trusted_size == 20
    assert verify_export(_export(db, ledger), public_key, trusted).trusted_size == 20


# -- an attacker with database access ---------------------------------------------------------


def test_changed_payload_byte(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    _attack(db_url, "UPDATE ledger_entries SET payload = replace(payload, '7', '8') WHERE seq = 7")
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["kind"], details["seq"], details["reason"]) == (
        "entry",
        7,
        "payload_hash_mismatch",
    )
    assert details["actual"] != details["expected"]
    assert _failure(info)["expected"] == signed_log.entries[7].payload_sha256
    assert "Entry 7" in info.value.message


def test_changed_payload_with_recomputed_hashes_is_caught_by_the_signed_root(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    payload = b'{"n":7,"note":"nothing happened","tags":["a","b"]}'
    rewrite_payload(db_url, signed_log.entries[7], payload)
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["kind"], details["checkpoint"], details["reason"]) == (
        "checkpoint",
        0,
        "root_mismatch",
    )
    assert details["expected"] == signed_log.checkpoints[0].root_hash.hex()


def test_deleted_entry(db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog) -> None:
    _attack(db_url, "DELETE FROM ledger_entries WHERE seq = 12")
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["seq"], details["reason"]) == (12, "missing_entries")
    assert (details["expected"], details["actual"]) == (12, 13)


def test_swapped_entries(db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog) -> None:
    # Renumber: 3 -> 4 and 4 -> 3, so the rows trade places in the log.
    _attack(db_url, "UPDATE ledger_entries SET seq = -1 WHERE seq = 3")
    _attack(db_url, "UPDATE ledger_entries SET seq = 3 WHERE seq = 4")
    _attack(db_url, "UPDATE ledger_entries SET seq = 4 WHERE seq = -1")
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["seq"], details["reason"]) == (3, "leaf_hash_mismatch")
    assert details["expected"] == signed_log.entries[4].leaf_hash


def test_truncated_tail(db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog) -> None:
    _attack(db_url, "DELETE FROM ledger_entries WHERE seq >= 22")
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["kind"], details["checkpoint"], details["reason"]) == (
        "checkpoint",
        2,
        "missing_entries",
    )
    assert (details["expected"], details["actual"]) == (25, 22)


def test_truncated_unsigned_tail_is_caught_by_the_state_row(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    _attack(db_url, "DELETE FROM ledger_entries WHERE seq >= 26")
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["kind"], details["seq"], details["reason"]) == ("log", 26, "missing_entries")


def test_checkpoint_resigned_with_another_key(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    forged = Ed25519PrivateKey.generate().sign(signed_log.checkpoints[1].body())
    _attack(db_url, "UPDATE ledger_checkpoints SET signature = :sig WHERE number = 1", sig=forged)
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["kind"], details["checkpoint"], details["reason"]) == (
        "checkpoint",
        1,
        "bad_signature",
    )


def test_rollback_to_an_older_copy_is_caught_by_a_trusted_checkpoint(
    db: Database,
    tmp_path: Path,
    db_url: str,
    public_key: Ed25519PublicKey,
    signed_log: SignedLog,
) -> None:
    trusted_file = tmp_path / "trusted-checkpoint.json"
    trusted_file.write_text(signed_log.checkpoints[2].to_json())  # the auditor's last visit
    rawsql.restore(signed_log.snapshot, db)  # the operator restores an older backup
    # On its own the old copy is a perfectly good log...
    assert verify_database(db_url, public_key).tree_size == 20
    # ...but not one that contains what the auditor already saw.
    trusted = Checkpoint.from_json(trusted_file.read_text())
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key, trusted)
    details = _failure(info)
    assert (details["kind"], details["checkpoint"], details["reason"]) == (
        "trusted_checkpoint",
        2,
        "rolled_back",
    )
    assert (details["expected"], details["actual"]) == (25, 20)
    assert "rolled back" in info.value.message


def test_rewritten_history_is_caught_by_a_trusted_checkpoint(
    db: Database,
    ledger: Ledger,
    db_url: str,
    public_key: Ed25519PublicKey,
    signed_log: SignedLog,
    append_many: AppendMany,
) -> None:
    trusted = signed_log.checkpoints[2]
    rawsql.restore(signed_log.snapshot, db)
    # The operator rolls back and appends different entries, re-signing with the real key.
    with db.transaction() as session:
        for i in range(8):
            ledger.append(
                session, actor="x", action="y", object_type="z", object_id=str(i), payload={}
            )
        ledger.checkpoint(session)
    assert verify_database(db_url, public_key).tree_size == 28
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key, trusted)
    details = _failure(info)
    assert (details["kind"], details["reason"]) == (
        "trusted_checkpoint",
        "inconsistent_with_trusted",
    )
    assert details["expected"] == trusted.root_hash.hex()


def test_trusted_checkpoint_from_another_key(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    cp = signed_log.checkpoints[0]
    forged = Ed25519PrivateKey.generate().sign(cp.body())
    other = Checkpoint(cp.number, cp.log_id, cp.tree_size, cp.root_hash, cp.timestamp, forged)
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key, other)
    assert (_failure(info)["kind"], _failure(info)["reason"]) == (
        "trusted_checkpoint",
        "bad_signature",
    )


def test_damaged_subtree_hashes_break_the_consistency_proofs(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    # Node (3, 0) covers leaves 0..7; the proof from size 10 to 20 uses it.
    _attack(
        db_url, "UPDATE ledger_nodes SET hash = :zero WHERE level = 3 AND idx = 0", zero=bytes(32)
    )
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["checkpoint"], details["reason"]) == (1, "consistency_proof_failed")


def test_missing_subtree_hashes(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    _attack(db_url, "DELETE FROM ledger_nodes WHERE level = 3 AND idx = 0")
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["checkpoint"], details["reason"]) == (1, "consistency_proof_missing")
    assert "missing" in info.value.message


def test_deleted_checkpoint(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    _attack(db_url, "DELETE FROM ledger_checkpoints WHERE number = 1")
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = _failure(info)
    assert (details["checkpoint"], details["reason"]) == (1, "checkpoint_missing")


def test_changed_unsigned_entry_is_caught_by_the_state_row(
    db_url: str, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    e = signed_log.entries[26]
    envelope = envelope_bytes(
        seq=26,
        ts=format_ts(e.ts),
        actor="someone-else",
        action=e.action,
        object_type=e.object_type,
        object_id=e.object_id,
        payload_sha256=e.payload_sha256,
    )
    _attack(
        db_url,
        "UPDATE ledger_entries SET actor = 'someone-else', leaf_hash = :leaf WHERE seq = 26",
        leaf=leaf_hash(envelope).hex(),
    )
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    assert _failure(info)["reason"] == "state_mismatch"


def test_verify_database_needs_an_existing_file(
    tmp_path: Path, public_key: Ed25519PublicKey
) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(LedgerError, match="No SQLite database"):
        verify_database(f"sqlite:///{missing}", public_key)
    assert not missing.exists()


# -- a tampered export file -------------------------------------------------------------------


def _edit(lines: list[str], index: int, **changes: Any) -> list[str]:
    record = json.loads(lines[index])
    record.update(changes)
    return [*lines[:index], json.dumps(record) + "\n", *lines[index + 1 :]]


def _line_of(lines: list[str], kind: str, number: int) -> int:
    key = "seq" if kind == "entry" else "number"
    return next(
        i
        for i, line in enumerate(lines)
        if json.loads(line)["type"] == kind and json.loads(line).get(key) == number
    )


def test_export_edits_are_caught(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    lines = _export(db, ledger)
    e5 = _line_of(lines, "entry", 5)
    cp1 = _line_of(lines, "checkpoint", 1)
    proof = json.loads(lines[cp1])["consistency_proof"]
    bad_proof = ["0" * 64, *proof[1:]]
    no_proof = {k: v for k, v in json.loads(lines[cp1]).items() if k != "consistency_proof"}
    cases: list[tuple[list[str], dict[str, Any]]] = [
        (_edit(lines, e5, payload={"n": 6}), {"seq": 5, "reason": "payload_hash_mismatch"}),
        (_edit(lines, e5, action="gallery.delete"), {"seq": 5, "reason": "leaf_hash_mismatch"}),
        ([*lines[:e5], *lines[e5 + 1 :]], {"seq": 5, "reason": "missing_entries"}),
        (
            [*lines[:e5], lines[e5 + 1], lines[e5], *lines[e5 + 2 :]],
            {"seq": 5, "reason": "missing_entries"},
        ),
        (_edit(lines, cp1, tree_size=19), {"checkpoint": 1, "reason": "bad_signature"}),
        (
            _edit(lines, cp1, consistency_proof=bad_proof),
            {"checkpoint": 1, "reason": "consistency_proof_failed"},
        ),
        (
            [*lines[:cp1], json.dumps(no_proof) + "\n", *lines[cp1 + 1 :]],
            {"checkpoint": 1, "reason": "consistency_proof_missing"},
        ),
        (lines[:-1], {"kind": "log", "reason": "missing_entries", "seq": 27}),
        (_edit(lines, 0, checkpoints=4), {"kind": "log", "reason": "checkpoint_count_mismatch"}),
        (lines[1:], {"kind": "log", "reason": "malformed"}),
        ([], {"kind": "log", "reason": "malformed"}),
        ([lines[0], lines[0]], {"kind": "log", "reason": "malformed"}),
        ([*lines[:3], "{oops\n", *lines[3:]], {"kind": "line", "line": 4, "reason": "malformed"}),
        (_edit(lines, e5, ts="yesterday"), {"kind": "line", "line": e5 + 1, "reason": "malformed"}),
        (
            _edit(lines, e5, payload={"score": 0.5}),
            {"kind": "line", "line": e5 + 1, "reason": "malformed"},
        ),
        (_edit(lines, 0, version=2), {"kind": "line", "line": 1, "reason": "malformed"}),
    ]
    for tampered, expected in cases:
        with pytest.raises(VerificationFailed) as info:
            verify_export(tampered, public_key)
        details = _failure(info)
        assert {k: details.get(k) for k in expected} == expected, info.value.message


def test_blank_lines_are_ignored(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, signed_log: SignedLog
) -> None:
    lines = _export(db, ledger)
    assert verify_export(["\n", *lines, "\n", "   \n"], public_key).tree_size == 28
