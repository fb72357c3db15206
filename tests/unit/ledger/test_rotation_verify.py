"""The verifier across signing-key rotations: announcements checked against the key in force,
each checkpoint against the key in force at its size, from the auditor's first key alone."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.db import Database
from faceledger.errors import VerificationFailed
from faceledger.ledger import Checkpoint, Ledger, key_id, verify_database, verify_export
from faceledger.ledger.checks import LogChecker
from faceledger.ledger.fastlines import verify_lines
from faceledger.ledger.keys_in_force import KeysInForce
from faceledger.ledger.records import EntryRecord
from faceledger.ledger.rotation import KEY_OBJECT_TYPE, KEY_ROTATE_ACTION, rotation_public

from .conftest import FakeClock
from .fastlog import export_lines, outcome, reference_database, reference_export, sql

LOG = "rotating-log"


def _append(db: Database, ledger: Ledger, n: int, *, checkpoint: bool = False) -> None:
    with db.transaction() as session:
        for i in range(n):
            ledger.append(
                session,
                actor="examiner:1",
                action="search.run",
                object_type="request",
                object_id=f"REQ-{i}",
                payload={"i": i},
                public={"agency": "metro"} if i % 2 else None,
            )
        if checkpoint:
            ledger.checkpoint(session)


def _rotate(db: Database, ledger: Ledger, new_key: Ed25519PrivateKey) -> int:
    with db.transaction() as session:
        entry, _ = ledger.rotate_key(session, new_key, actor="local:admin")
    return entry.seq


def _failure(run: object) -> dict[str, object]:
    with pytest.raises(VerificationFailed) as caught:
        run()  # type: ignore[operator]
    return caught.value.details


@pytest.fixture
def keys() -> list[Ed25519PrivateKey]:
    return [Ed25519PrivateKey.generate() for _ in range(3)]


@pytest.fixture
def rotated(db: Database, keys: list[Ed25519PrivateKey], clock: FakeClock) -> Ledger:
    """Checkpoints #0 (size 3, key 0), #1 (size 4, key 1: its rotation is entry 3), #2 (size 6,
    key 1), #3 (size 7, key 2: rotation entry 6), #4 (size 9, key 2)."""
    ledger = Ledger(keys[0], LOG, 0, 0, clock=clock)
    _append(db, ledger, 3, checkpoint=True)
    assert _rotate(db, ledger, keys[1]) == 3
    _append(db, ledger, 2, checkpoint=True)
    assert _rotate(db, ledger, keys[2]) == 6
    _append(db, ledger, 2, checkpoint=True)
    return ledger


def test_a_rotated_log_verifies_from_the_first_key(
    db: Database, db_url: str, rotated: Ledger, keys: list[Ed25519PrivateKey]
) -> None:
    first = keys[0].public_key()
    ids = [key_id(k) for k in keys]
    from_db = verify_database(db_url, first)
    assert (from_db.tree_size, from_db.checkpoints, from_db.keys) == (9, 5, ids)
    assert from_db == reference_database(db_url, first)
    for include in (True, False):
        lines = export_lines(db, rotated, include)
        report, stats = verify_lines(lines, LogChecker(first, None))
        assert report.keys == ids and report.root_hash == from_db.root_hash
        assert report == reference_export(lines, first)
        assert (stats.fast, stats.exact) == (7, 2)  # the two rotations go to the reference
    assert f"{ids[0]}, then {ids[1]}, then {ids[2]}" in from_db.summary()


def test_a_log_verified_from_a_later_key_fails_at_its_first_checkpoint(
    db_url: str, rotated: Ledger, keys: list[Ed25519PrivateKey]
) -> None:
    details = _failure(lambda: verify_database(db_url, keys[1].public_key()))
    assert (details["kind"], details["checkpoint"], details["reason"]) == (
        "checkpoint",
        0,
        "bad_signature",
    )


def test_a_forged_announcement_is_refused(
    db: Database, db_url: str, keys: list[Ed25519PrivateKey], clock: FakeClock
) -> None:
    # Someone holding a new key, but not the key in force, announces it and signs with it.
    old, new, mallory = keys
    ledger = Ledger(old, LOG, 0, 0, clock=clock)
    _append(db, ledger, 2, checkpoint=True)
    public = rotation_public(mallory, new, LOG)
    public["old_key_id"] = key_id(old)  # claims to rotate away from the key in force
    with db.transaction() as session:
        entry = ledger.append(
            session,
            actor="intruder",
            action=KEY_ROTATE_ACTION,
            object_type=KEY_OBJECT_TYPE,
            object_id=key_id(new),
            payload={},
            public=public,
        )
        Ledger(new, LOG, 0, 0, clock=clock).checkpoint(session)
    for run in (
        lambda: verify_database(db_url, old.public_key()),
        lambda: verify_export(export_lines(db, ledger), old.public_key()),
        lambda: verify_export(export_lines(db, ledger, False), old.public_key()),
    ):
        details = _failure(run)
        assert (details["kind"], details["seq"], details["reason"]) == (
            "entry",
            entry.seq,
            "bad_rotation",
        )
        assert details["expected"] == f"a signature by key {key_id(old)}"
    assert outcome(lambda: verify_database(db_url, old.public_key())) == outcome(
        lambda: reference_database(db_url, old.public_key())
    )


def test_an_announcement_from_another_key_in_force_is_refused(
    db: Database, db_url: str, keys: list[Ed25519PrivateKey], clock: FakeClock
) -> None:
    old, new, mallory = keys
    ledger = Ledger(old, LOG, 0, 0, clock=clock)
    _append(db, ledger, 1, checkpoint=True)
    with db.transaction() as session:
        ledger.append(
            session,
            actor="intruder",
            action=KEY_ROTATE_ACTION,
            object_type=KEY_OBJECT_TYPE,
            object_id=key_id(new),
            payload={},
            public=rotation_public(mallory, new, LOG),  # honest about its signer
        )
    details = _failure(lambda: verify_database(db_url, old.public_key()))
    assert (details["seq"], details["reason"], details["expected"], details["actual"]) == (
        1,
        "bad_rotation",
        key_id(old),
        key_id(mallory),
    )


def test_a_checkpoint_after_the_rotation_signed_by_the_old_key_is_refused(
    db: Database, db_url: str, rotated: Ledger, keys: list[Ed25519PrivateKey]
) -> None:
    with db.read() as session:
        cp2 = rotated.checkpoints(session)[2]  # size 6: after the first rotation (entry 3)
    db.dispose()
    sql(
        db_url,
        "UPDATE ledger_checkpoints SET signature = :signature WHERE number = 2",
        signature=keys[0].sign(cp2.body()),
    )
    details = _failure(lambda: verify_database(db_url, keys[0].public_key()))
    assert (details["kind"], details["checkpoint"], details["reason"]) == (
        "checkpoint",
        2,
        "bad_signature",
    )
    with pytest.raises(VerificationFailed, match=f"key in force at that size is {key_id(keys[1])}"):
        verify_database(db_url, keys[0].public_key())


def test_a_checkpoint_before_the_rotation_signed_by_the_new_key_is_refused(
    db: Database, rotated: Ledger, keys: list[Ed25519PrivateKey]
) -> None:
    lines = export_lines(db, rotated)
    i = next(n for n, line in enumerate(lines) if '"number":0,' in line)
    cp0 = Checkpoint.from_json(lines[i])
    data = json.loads(lines[i])
    data["signature"] = Checkpoint(
        cp0.number,
        cp0.log_id,
        cp0.tree_size,
        cp0.root_hash,
        cp0.timestamp,
        keys[1].sign(cp0.body()),
    ).to_dict()["signature"]
    changed = [*lines[:i], json.dumps(data) + "\n", *lines[i + 1 :]]
    details = _failure(lambda: verify_export(changed, keys[0].public_key()))
    assert (details["checkpoint"], details["reason"]) == (0, "bad_signature")


def test_a_trusted_checkpoint_signed_after_a_rotation(
    db: Database, db_url: str, rotated: Ledger, keys: list[Ed25519PrivateKey]
) -> None:
    with db.read() as session:
        trusted = rotated.checkpoints(session)[3]  # size 7, signed by key 2
    first = keys[0].public_key()
    assert verify_database(db_url, first, trusted).trusted_size == 7
    assert verify_export(export_lines(db, rotated, False), first, trusted).trusted_size == 7
    forged = Checkpoint(
        trusted.number,
        trusted.log_id,
        trusted.tree_size,
        trusted.root_hash,
        trusted.timestamp,
        keys[1].sign(trusted.body()),  # the key in force before, not at its size
    )
    details = _failure(lambda: verify_database(db_url, first, forged))
    assert (details["kind"], details["reason"]) == ("trusted_checkpoint", "bad_signature")


def test_a_rotation_before_any_checkpoint(
    db: Database, keys: list[Ed25519PrivateKey], clock: FakeClock
) -> None:
    # No checkpoint names the log yet when the rotation is read: it is checked at the next one.
    ledger = Ledger(keys[0], LOG, 0, 0, clock=clock)
    _append(db, ledger, 2)
    _rotate(db, ledger, keys[1])
    lines = export_lines(db, ledger)
    report = verify_export(lines, keys[0].public_key())
    assert report.keys == [key_id(keys[0]), key_id(keys[1])]
    # Without that checkpoint nothing says which log the announcement is for.
    header = json.loads(lines[0])
    header["checkpoints"] = 0
    unsigned = [
        json.dumps(header) + "\n",
        *(line for line in lines[1:] if "checkpoint" not in line),
    ]
    details = _failure(lambda: verify_export(unsigned, keys[0].public_key()))
    assert (details["kind"], details["seq"], details["reason"]) == ("entry", 2, "bad_rotation")
    assert outcome(lambda: verify_export(unsigned, keys[0].public_key())) == outcome(
        lambda: reference_export(unsigned, keys[0].public_key())
    )


def test_a_rotation_entry_must_be_about_the_new_key(keys: list[Ed25519PrivateKey]) -> None:
    public = rotation_public(keys[0], keys[1], LOG)
    chain = KeysInForce(keys[0].public_key())

    def record(object_type: str, object_id: str | None) -> EntryRecord:
        return EntryRecord(
            seq=5,
            ts="2026-01-02T03:04:05.000000Z",
            actor="a",
            action=KEY_ROTATE_ACTION,
            object_type=object_type,
            object_id=object_id,
            payload_sha256="0" * 64,
            leaf_hash="0" * 64,
            payload=None,
            public=public,
        )

    for bad in (record("request", key_id(keys[1])), record(KEY_OBJECT_TYPE, "another-key")):
        with pytest.raises(VerificationFailed) as caught:
            chain.rotate(bad, LOG)
        assert caught.value.details["reason"] == "bad_rotation"
    chain.rotate(record(KEY_OBJECT_TYPE, None), LOG)  # a public version 3 record has no id
    assert chain.ids == [key_id(keys[0]), key_id(keys[1])]
    assert key_id(chain.at(5)) == key_id(keys[0]) and key_id(chain.at(6)) == key_id(keys[1])
