"""Public fields: small non-personal facts committed in the envelope (envelope version 2).

They survive payload redaction, travel in every export and bundle, and every verifier checks
them: changing one is caught like a changed payload hash, naming the entry.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from faceledger.db import Database
from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import (
    Ledger,
    LedgerEntry,
    verify_database,
    verify_export,
    verify_inclusion_bundle,
)
from faceledger.ledger.envelope import (
    PUBLIC_MAX_BYTES,
    EntryDraft,
    canonical_public,
    envelope_bytes,
    format_ts,
)
from faceledger.ledger.merkle import leaf_hash
from faceledger.ledger.models import EntryRow
from tests import rawsql

from .conftest import FakeClock

SHA = "ab" * 32
TS = "2026-01-02T03:04:05.678901Z"
FIELDS: dict[str, Any] = {
    "seq": 3,
    "ts": TS,
    "actor": "examiner:7",
    "action": "search.run",
    "object_type": "probe",
    "object_id": "abc",
    "payload_sha256": SHA,
}
PUBLIC: dict[str, Any] = {
    "offence_class": "serious_violent",
    "agency": "Springfield PD",
    "legal_basis": "court_order",
    "candidates": 12,
}


def _sorted_json(obj: Any) -> bytes:
    """An independent canonical form for these ASCII-keyed, float-free test objects."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _leaf(envelope: bytes) -> str:
    return hashlib.sha256(b"\x00" + envelope).hexdigest()


# -- the envelope ------------------------------------------------------------------------------


def test_v1_envelope_is_unchanged_without_public_fields() -> None:
    known = (
        b'{"action":"search.run","actor":"examiner:7","object_id":"abc","object_type":"probe",'
        b'"payload_sha256":"' + SHA.encode() + b'","seq":3,"ts":"2026-01-02T03:04:05.678901Z",'
        b'"v":1}'
    )
    assert known == _sorted_json({**FIELDS, "v": 1})
    assert envelope_bytes(**FIELDS) == known
    assert envelope_bytes(**FIELDS, public=None) == known
    assert envelope_bytes(**FIELDS, public={}) == known
    assert leaf_hash(envelope_bytes(**FIELDS)).hex() == _leaf(known)


def test_v2_envelope_commits_the_public_fields() -> None:
    envelope = envelope_bytes(**FIELDS, public=PUBLIC)
    expected = _sorted_json({**FIELDS, "v": 2, "public": PUBLIC})
    assert envelope == expected
    assert b'"v":2' in envelope
    assert (
        b'"public":{"agency":"Springfield PD","candidates":12,"legal_basis":"court_order",'
        b'"offence_class":"serious_violent"}' in envelope
    )
    assert json.loads(envelope)["public"] == PUBLIC
    # Another value, another leaf.
    changed = envelope_bytes(**FIELDS, public={**PUBLIC, "candidates": 13})
    assert leaf_hash(changed) != leaf_hash(envelope)


def test_canonical_public_rules() -> None:
    assert canonical_public(None) is None
    assert canonical_public({}) is None
    assert canonical_public({"b": [True, None], "a": "é"}) == '{"a":"é","b":[true,null]}'.encode()
    exact = {"note": "x" * (PUBLIC_MAX_BYTES - len(b'{"note":""}'))}
    assert len(canonical_public(exact) or b"") == PUBLIC_MAX_BYTES
    with pytest.raises(LedgerError, match="more than the 2000 allowed"):
        canonical_public({"note": exact["note"] + "x"})


@pytest.mark.parametrize(
    ("public", "message"),
    [
        ({"ratio": 0.5}, r"Float at \$\.public\.ratio"),
        ({"nested": {"ratio": 1.0}}, r"Float at \$\.public\.nested\.ratio"),
        (["agency", "x"], "must be a JSON object"),
        ("agency=x", "must be a JSON object"),
        ({1: "x"}, "is not a string"),
        ({"note": "x" * PUBLIC_MAX_BYTES}, "more than the 2000 allowed"),
        ({"big": 2**60}, "safe range"),
    ],
)
def test_invalid_public_fields_cannot_be_enveloped(public: Any, message: str) -> None:
    with pytest.raises(LedgerError, match=message):
        envelope_bytes(**FIELDS, public=public)
    with pytest.raises(LedgerError, match=message):
        EntryDraft.new(
            actor="a", action="b", object_type="c", object_id="d", payload={}, public=public
        )


def test_public_as_deep_as_the_envelope_allows() -> None:
    # The nesting limit is checked where the fields sit in the envelope, so a draft that
    # passes can always be hashed.
    deep: Any = "x"
    for _ in range(70):
        deep = [deep]
    with pytest.raises(LedgerError, match="nested deeper"):
        canonical_public({"deep": deep})


def test_draft_and_entry_carry_public_fields(clock: FakeClock) -> None:
    draft = EntryDraft.new(
        actor="examiner:7",
        action="search.run",
        object_type="probe",
        object_id="abc",
        payload={"n": 1},
        public=PUBLIC,
    )
    assert draft.public_bytes == _sorted_json(PUBLIC)
    entry = draft.at(3, clock.now)
    assert entry.public == PUBLIC
    expected = _sorted_json(
        {**FIELDS, "payload_sha256": draft.payload_sha256, "v": 2, "public": PUBLIC}
    )
    assert entry.envelope() == expected
    assert entry.leaf_hash == _leaf(expected)
    # The old constructor call (no public) still works and means a v1 entry.
    plain = LedgerEntry(
        entry.seq,
        entry.ts,
        entry.actor,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.payload,
        entry.payload_sha256,
        entry.leaf_hash,
    )
    assert plain.public is None
    assert json.loads(plain.envelope())["v"] == 1


# -- the database-backed log -------------------------------------------------------------------


def _append(
    db: Database, ledger: Ledger, clock: FakeClock, public: Mapping[str, Any] | None, n: int = 0
) -> LedgerEntry:
    clock.advance(seconds=1)
    with db.transaction() as session:
        return ledger.append(
            session,
            actor="examiner:7",
            action="search.run",
            object_type="probe",
            object_id=f"case-{n}",
            payload={"n": n, "subject": "S000123"},
            public=public,
        )


def test_append_and_read_back(db: Database, ledger: Ledger, clock: FakeClock) -> None:
    with_public = _append(db, ledger, clock, PUBLIC, 0)
    without = _append(db, ledger, clock, None, 1)
    empty = _append(db, ledger, clock, {}, 2)
    assert with_public.public == PUBLIC
    assert json.loads(with_public.envelope())["v"] == 2
    assert without.public is None and empty.public is None
    assert json.loads(without.envelope())["v"] == json.loads(empty.envelope())["v"] == 1
    with db.read() as session:
        assert ledger.entry(session, 0) == with_public
        assert ledger.entry(session, 1) == without
        assert ledger.entry(session, 2) == empty
        assert ledger.query(session) == [with_public, without, empty]
        assert [r.public for r in session.scalars(select(EntryRow).order_by(EntryRow.seq))] == [
            _sorted_json(PUBLIC).decode(),
            None,
            None,
        ]
        for entry in (with_public, without, empty):
            assert entry.leaf_hash == leaf_hash(entry.envelope()).hex()


@pytest.mark.parametrize(
    "public",
    [
        {"ratio": 0.5},
        ["court_order"],
        {1: "court_order"},
        {"note": "x" * (PUBLIC_MAX_BYTES + 1)},
    ],
    ids=["float", "not-a-mapping", "int-key", "too-large"],
)
def test_invalid_public_is_refused_and_nothing_written(
    db: Database, ledger: Ledger, clock: FakeClock, public: Any
) -> None:
    with pytest.raises(LedgerError), db.transaction() as session:
        ledger.append(
            session,
            actor="a",
            action="b",
            object_type="c",
            object_id="d",
            payload={},
            public=public,
        )
    with db.read() as session:
        assert ledger.tree_size(session) == 0
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 0


# -- exports and the verifier ------------------------------------------------------------------


LEGAL_BASES = ["court_order", "warrant", "exigent"]


def _public_for(i: int) -> dict[str, Any] | None:
    # Every third entry has no public fields (a v1 envelope) among v2 ones.
    if i % 3 == 2:
        return None
    return {"agency": "Springfield PD", "legal_basis": LEGAL_BASES[i % 3], "candidates": i}


@pytest.fixture
def mixed_log(db: Database, ledger: Ledger, clock: FakeClock) -> list[LedgerEntry]:
    """12 entries, two thirds with public fields, signed at 8 and 12."""
    entries = []
    for i in range(12):
        entries.append(_append(db, ledger, clock, _public_for(i), i))
        if i in (7, 11):
            with db.transaction() as session:
                ledger.checkpoint(session)
    return entries


def _export(db: Database, ledger: Ledger, include_payloads: bool) -> list[str]:
    out = io.StringIO()
    with db.read() as session:
        ledger.export(session, out, include_payloads=include_payloads)
    return out.getvalue().splitlines(keepends=True)


def _entry_records(lines: list[str]) -> list[dict[str, Any]]:
    return [r for r in map(json.loads, lines) if r["type"] == "entry"]


def test_public_export_without_payloads_carries_public_and_verifies(
    db: Database,
    ledger: Ledger,
    db_url: str,
    public_key: Ed25519PublicKey,
    mixed_log: list[LedgerEntry],
) -> None:
    for include_payloads in (True, False):
        lines = _export(db, ledger, include_payloads)
        records = _entry_records(lines)
        assert [r.get("public") for r in records] == [_public_for(i) for i in range(12)]
        assert all(("payload" in r) is include_payloads for r in records)
        assert all("public" not in r for r in records if r["seq"] % 3 == 2)  # absent, not null
        report = verify_export(lines, public_key)
        assert report.tree_size == 12 and report.checkpoints == 2
    assert verify_database(db_url, public_key) == verify_export(
        _export(db, ledger, True), public_key
    )
    # An outsider's transparency count, from the payload-less export alone.
    public_lines = _export(db, ledger, False)
    counts = Counter(
        r["public"]["legal_basis"] for r in _entry_records(public_lines) if "public" in r
    )
    assert counts == {"court_order": 4, "warrant": 4}
    assert "S000123" not in "".join(public_lines)


def _tampered(lines: list[str], seq: int, change: Any) -> list[str]:
    out = []
    for line in lines:
        record = json.loads(line)
        if record["type"] == "entry" and record["seq"] == seq:
            change(record)
            line = json.dumps(record) + "\n"
        out.append(line)
    return out


def _set(key: str, value: Any) -> Any:
    def change(record: dict[str, Any]) -> None:
        record.setdefault("public", {})[key] = value

    return change


def _drop_public(record: dict[str, Any]) -> None:
    del record["public"]


@pytest.mark.parametrize("include_payloads", [True, False], ids=["full", "public"])
@pytest.mark.parametrize(
    ("seq", "change"),
    [
        (4, _set("agency", "Shelbyville PD")),
        (4, _set("candidates", 40)),
        (4, _set("extra", "x")),
        (4, _drop_public),
        (5, _set("legal_basis", "court_order")),  # public fields added to a v1 entry
    ],
    ids=["changed-text", "changed-count", "added-key", "removed", "added-to-v1"],
)
def test_tampered_public_field_in_an_export_names_the_entry(
    db: Database,
    ledger: Ledger,
    public_key: Ed25519PublicKey,
    mixed_log: list[LedgerEntry],
    include_payloads: bool,
    seq: int,
    change: Any,
) -> None:
    lines = _tampered(_export(db, ledger, include_payloads), seq, change)
    with pytest.raises(VerificationFailed) as info:
        verify_export(lines, public_key)
    details = info.value.details
    assert (details["kind"], details["seq"], details["reason"]) == (
        "entry",
        seq,
        "leaf_hash_mismatch",
    )
    assert details["expected"] == mixed_log[seq].leaf_hash
    assert f"Entry {seq}" in info.value.message


def test_malformed_public_field_in_an_export(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, mixed_log: list[LedgerEntry]
) -> None:
    lines = _export(db, ledger, False)
    oversized = _tampered(lines, 4, _set("note", "x" * PUBLIC_MAX_BYTES))
    with pytest.raises(VerificationFailed) as info:
        verify_export(oversized, public_key)
    assert (info.value.details["seq"], info.value.details["reason"]) == (4, "malformed")
    for bad in ([], {}, "court_order"):

        def replace(record: dict[str, Any], bad: Any = bad) -> None:
            record["public"] = bad

        with pytest.raises(VerificationFailed) as info:
            verify_export(_tampered(lines, 4, replace), public_key)
        assert info.value.details["reason"] == "malformed"
    floated = [line.replace('"candidates":4', '"candidates":4.0') for line in lines]
    assert floated != lines
    with pytest.raises(VerificationFailed) as info:
        verify_export(floated, public_key)
    assert info.value.details["reason"] == "malformed"


def _attack(db_url: str, sql: str, **params: Any) -> None:
    assert rawsql.execute(db_url, sql, **params) == 1, f"the attack changed nothing: {sql}"


@pytest.mark.parametrize(
    ("seq", "text"),
    [
        (4, '{"agency":"Shelbyville PD","candidates":4,"legal_basis":"warrant"}'),
        (4, None),
        (5, '{"legal_basis":"court_order"}'),
    ],
    ids=["changed", "removed", "added-to-v1"],
)
def test_tampered_public_column_names_the_entry(
    db_url: str,
    public_key: Ed25519PublicKey,
    mixed_log: list[LedgerEntry],
    seq: int,
    text: str | None,
) -> None:
    _attack(db_url, "UPDATE ledger_entries SET public = :text WHERE seq = :seq", text=text, seq=seq)
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = info.value.details
    assert (details["kind"], details["seq"], details["reason"]) == (
        "entry",
        seq,
        "leaf_hash_mismatch",
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"candidates":4, "agency":"Springfield PD","legal_basis":"warrant"}',  # not canonical
        '{"agency":"Springfield PD"',  # not JSON
        '{"candidates":4.0}',  # a float
        "{}",  # the ledger stores NULL for none
        '["warrant"]',
    ],
    ids=["not-canonical", "not-json", "float", "empty", "not-an-object"],
)
def test_damaged_public_column_names_the_entry(
    db_url: str,
    public_key: Ed25519PublicKey,
    mixed_log: list[LedgerEntry],
    text: str,
) -> None:
    _attack(db_url, "UPDATE ledger_entries SET public = :text WHERE seq = 4", text=text)
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = info.value.details
    assert (details["kind"], details["seq"], details["reason"]) == ("entry", 4, "unreadable")


def test_changed_public_with_recomputed_leaf_is_caught_by_the_signed_root(
    db_url: str, public_key: Ed25519PublicKey, mixed_log: list[LedgerEntry]
) -> None:
    e = mixed_log[4]
    public = {**(e.public or {}), "legal_basis": "court_order"}
    envelope = envelope_bytes(
        seq=e.seq,
        ts=format_ts(e.ts),
        actor=e.actor,
        action=e.action,
        object_type=e.object_type,
        object_id=e.object_id,
        payload_sha256=e.payload_sha256,
        public=public,
    )
    _attack(
        db_url,
        "UPDATE ledger_entries SET public = :public, leaf_hash = :leaf WHERE seq = 4",
        public=_sorted_json(public).decode(),
        leaf=leaf_hash(envelope).hex(),
    )
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = info.value.details
    assert (details["kind"], details["checkpoint"], details["reason"]) == (
        "checkpoint",
        0,
        "root_mismatch",
    )


# -- inclusion bundles -------------------------------------------------------------------------


def test_inclusion_bundle_with_public_fields(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, mixed_log: list[LedgerEntry]
) -> None:
    with db.read() as session:
        full = ledger.inclusion_bundle(session, 4)
        redacted = ledger.inclusion_bundle(session, 4, include_payload=False)
        plain = ledger.inclusion_bundle(session, 5, include_payload=False)
    assert full["entry"]["public"] == redacted["entry"]["public"] == _public_for(4)
    assert "payload" not in redacted["entry"]
    assert "public" not in plain["entry"]
    for bundle in (full, redacted, plain):
        verify_inclusion_bundle(bundle, public_key)
        verify_inclusion_bundle(json.dumps(bundle), public_key)

    def damaged(bundle: dict[str, Any], change: Any) -> dict[str, Any]:
        copy: dict[str, Any] = json.loads(json.dumps(bundle))
        change(copy["entry"])
        return copy

    cases = [
        (damaged(redacted, _set("agency", "Shelbyville PD")), "leaf_hash_mismatch"),
        (damaged(full, _set("candidates", 99)), "leaf_hash_mismatch"),
        (damaged(redacted, _drop_public), "leaf_hash_mismatch"),
        (damaged(plain, _set("legal_basis", "warrant")), "leaf_hash_mismatch"),
        (damaged(redacted, _set("note", "x" * PUBLIC_MAX_BYTES)), "malformed"),
    ]
    for case, reason in cases:
        with pytest.raises(VerificationFailed) as info:
            verify_inclusion_bundle(case, public_key)
        assert info.value.details["reason"] == reason
        assert info.value.details.get("seq") == case["entry"]["seq"]
