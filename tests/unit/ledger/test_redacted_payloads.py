"""Payloads redacted in the database (NULL): read as redacted, exported without, still verified.

The redaction itself (and its ``ledger.redact`` entry) is :mod:`faceledger.ledger.redaction`'s;
here the column is set to NULL directly, as any redaction leaves it.
"""

from __future__ import annotations

import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.db import Database
from faceledger.errors import LedgerError
from faceledger.ledger import (
    Ledger,
    commit,
    make_reveal,
    verify_database,
    verify_export,
    verify_inclusion_bundle,
)
from tests import rawsql

from .conftest import FakeClock

KEY = bytes(range(32))


@pytest.fixture(params=["v2", "v3"])
def any_ledger(
    request: pytest.FixtureRequest, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> Ledger:
    pseudonym_key = KEY if request.param == "v3" else None
    return Ledger(signing_key, "test-log", 0, 0, clock=clock, pseudonym_key=pseudonym_key)


def _fill(db: Database, ledger: Ledger, payloads: list[dict[str, object]]) -> None:
    with db.transaction() as session:
        for i, payload in enumerate(payloads):
            ledger.append(
                session,
                actor=f"user:{i}",
                action="request.search",
                object_type="request",
                object_id=str(i),
                payload=payload,
                public={"n": i},
            )
        ledger.checkpoint(session)


def _redact(db_url: str, *seqs: int, by: int = 99) -> None:
    for seq in seqs:
        changed = rawsql.execute(
            db_url,
            "UPDATE ledger_entries SET payload = NULL, redacted_by = :by WHERE seq = :seq",
            by=by,
            seq=seq,
        )
        assert changed == 1, f"no ledger entry {seq} to redact"


def _export(db: Database, ledger: Ledger, include_payloads: bool = True) -> str:
    out = io.StringIO()
    with db.read() as session:
        ledger.export(session, out, include_payloads=include_payloads)
    return out.getvalue()


def test_a_null_payload_reads_as_redacted_and_still_verifies(
    db: Database, any_ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    _fill(db, any_ledger, [{"probe": "sha-0"}, {"probe": "sha-1"}, {"probe": "sha-2"}])
    with db.read() as session:
        before = any_ledger.entry(session, 1)
    _redact(db_url, 1)
    with db.read() as session:
        after = any_ledger.entry(session, 1)
        listed = any_ledger.query(session)
    assert after.payload is None and before.payload == {"probe": "sha-1"}
    assert after.payload_sha256 == before.payload_sha256
    assert after.leaf_hash == before.leaf_hash and after.envelope() == before.envelope()
    assert [e.payload is None for e in listed] == [False, True, False]

    text = _export(db, any_ledger, include_payloads=True)
    entries = [json.loads(line) for line in text.splitlines() if '"type":"entry"' in line]
    assert ["payload" in e for e in entries] == [True, False, True]
    assert entries[1]["payload_sha256"] == before.payload_sha256  # the hash stays
    assert '"payloads":"included"' in text  # the header format is unchanged
    report = verify_export(io.StringIO(text), public_key)
    assert (report.payloads_checked, report.payloads_redacted) == (2, 1)
    report = verify_database(db_url, public_key)
    assert (report.payloads_checked, report.payloads_redacted) == (2, 1)
    public = verify_export(io.StringIO(_export(db, any_ledger, False)), public_key)
    assert public.payloads_redacted == 3


def test_a_redacted_entry_still_has_an_inclusion_bundle(
    db: Database, any_ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    _fill(db, any_ledger, [{"a": 1}, {"b": 2}])
    _redact(db_url, 0)
    with db.read() as session:
        bundle = any_ledger.inclusion_bundle(session, 0, include_payload=True)
    assert "payload" not in bundle["entry"]
    verify_inclusion_bundle(bundle, public_key)


def test_a_reveal_of_a_redacted_commitment_is_refused(
    db: Database, any_ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    marks = commit({"c1": "possible_lead"})
    _fill(db, any_ledger, [{"commitments": {"marks": marks.digest}}])
    _redact(db_url, 0)
    reveal = {"reveals": [make_reveal(0, "marks", marks.salt, {"c1": "possible_lead"})]}
    with db.transaction() as session, pytest.raises(LedgerError, match="redacted") as caught:
        any_ledger.append(
            session, actor="a", action="b", object_type="c", object_id="d", payload=reveal
        )
    assert caught.value.details["commitment_seq"] == 0
    assert caught.value.details["redacted_by"] == 99
    with db.read() as session:
        assert any_ledger.tree_size(session) == 1  # nothing was written
    verify_database(db_url, public_key)
