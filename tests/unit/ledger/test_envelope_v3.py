"""Envelope version 3: pseudonyms and a salted private part instead of actor and object id.

Known answers pin the bytes; the rest checks that a pseudonymous ledger writes, reads, exports
and verifies, that the public export names nobody, and that older versions are unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

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
    EntryDraft,
    envelope_bytes,
    format_ts,
    new_salt,
    private_bytes,
    private_sha256,
)
from faceledger.ledger.merkle import leaf_hash
from faceledger.ledger.pseudonyms import actor_ref, object_ref
from faceledger.ledger.records import (
    PRIVATE_FIELDS,
    REASON_PRIVATE_HASH_MISMATCH,
    EntryRecord,
    parse_line,
    record_to_line,
)
from tests import rawsql

from .conftest import FakeClock

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SALT = "00112233445566778899aabbccddeeff"
SHA = "ab" * 32
TS = "2026-01-02T03:04:05.678901Z"
ACTOR, OBJECT_TYPE, OBJECT_ID = "user:ex-one", "request", "42"

# Known answers (computed once, checked below against an independent transcription of the spec).
ACTOR_REF = "7137ba31616a5fb3c000089aa926439f"
OBJECT_REF = "f1677ec1af12e81be794460c8f0eaea4"
PRIVATE_SHA256 = "d78d7aba99a2fb1f49516fc10890ce2356ef55a4f0354f0f856c69089d8eea21"
ENVELOPE = (
    b'{"action":"request.search","actor_ref":"7137ba31616a5fb3c000089aa926439f",'
    b'"object_ref":"f1677ec1af12e81be794460c8f0eaea4","object_type":"request",'
    b'"private_sha256":"d78d7aba99a2fb1f49516fc10890ce2356ef55a4f0354f0f856c69089d8eea21",'
    b'"seq":3,"ts":"2026-01-02T03:04:05.678901Z","v":3}'
)
LEAF = "32b843b2cf68aa0c1f2847a21e48baf4cde85a717dd8772640332413f493725b"
PUBLIC = {"candidates": 3, "legal_basis": "court_order"}
LEAF_WITH_PUBLIC = "5d468c73109e769a5e07c0fe9049a372a63d599bcb7cd6073fe6d13a3d4419af"


def _v3(**changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "seq": 3,
        "ts": TS,
        "action": "request.search",
        "object_type": OBJECT_TYPE,
        "actor_ref": ACTOR_REF,
        "object_ref": OBJECT_REF,
        "private_sha256": PRIVATE_SHA256,
    }
    return envelope_bytes(**(fields | changes))


# -- known answers -----------------------------------------------------------------------------


def test_pseudonyms_known_answers() -> None:
    assert actor_ref(KEY, ACTOR) == ACTOR_REF
    assert object_ref(KEY, OBJECT_TYPE, OBJECT_ID) == OBJECT_REF
    # The spec, transcribed independently.
    mac = hmac.new(KEY, b"faceledger actor\n" + ACTOR.encode(), hashlib.sha256)
    assert mac.digest()[:16].hex() == ACTOR_REF
    mac = hmac.new(KEY, b"faceledger object\nrequest\n42", hashlib.sha256)
    assert mac.digest()[:16].hex() == OBJECT_REF


def test_private_part_known_answer() -> None:
    expected = (
        b'{"actor":"user:ex-one","object_id":"42","payload_sha256":"' + SHA.encode() + b'",'
        b'"salt":"00112233445566778899aabbccddeeff"}'
    )
    made = private_bytes(actor=ACTOR, object_id=OBJECT_ID, payload_sha256=SHA, salt=SALT)
    assert made == expected
    assert hashlib.sha256(expected).hexdigest() == PRIVATE_SHA256
    assert (
        private_sha256(actor=ACTOR, object_id=OBJECT_ID, payload_sha256=SHA, salt=SALT)
        == PRIVATE_SHA256
    )


def test_v3_envelope_known_answer() -> None:
    assert _v3() == ENVELOPE
    assert leaf_hash(ENVELOPE).hex() == LEAF
    assert hashlib.sha256(b"\x00" + ENVELOPE).hexdigest() == LEAF


def test_v3_envelope_with_public_fields_known_answer() -> None:
    envelope = _v3(public=PUBLIC)
    assert envelope == ENVELOPE.replace(
        b',"seq":3', b',"public":{"candidates":3,"legal_basis":"court_order"},"seq":3'
    )
    assert leaf_hash(envelope).hex() == LEAF_WITH_PUBLIC
    assert _v3(public={}) == ENVELOPE  # no public fields: the key is left out, as in v2


def test_v3_envelope_ignores_the_private_fields_and_needs_its_own() -> None:
    assert _v3(actor="someone else", object_id="99", payload_sha256="cd" * 32) == ENVELOPE
    with pytest.raises(LedgerError, match="version 3"):
        _v3(private_sha256=None)
    with pytest.raises(LedgerError, match="version 1 or 2"):
        envelope_bytes(seq=0, ts=TS, action="a", object_type="b")


def test_refs_are_stable_and_differ_per_key_and_name() -> None:
    assert actor_ref(KEY, ACTOR) == actor_ref(KEY, ACTOR)
    assert actor_ref(OTHER_KEY, ACTOR) != ACTOR_REF
    assert object_ref(OTHER_KEY, OBJECT_TYPE, OBJECT_ID) != OBJECT_REF
    assert actor_ref(KEY, "user:ex-two") != ACTOR_REF
    # The type is part of an object's name, and actors and objects live apart.
    assert object_ref(KEY, "user", OBJECT_ID) != OBJECT_REF
    assert object_ref(KEY, "request", "4") != object_ref(KEY, "request\n4", "")
    assert actor_ref(KEY, "x") != object_ref(KEY, "x", "")
    with pytest.raises(LedgerError):
        actor_ref(b"short", ACTOR)


def test_salts_are_fresh_hex() -> None:
    salts = {new_salt() for _ in range(20)}
    assert len(salts) == 20
    assert all(len(s) == 32 and s == s.lower() and bytes.fromhex(s) for s in salts)


def test_draft_with_a_pseudonym_key_makes_a_v3_entry() -> None:
    draft = EntryDraft.new(
        actor=ACTOR,
        action="request.search",
        object_type=OBJECT_TYPE,
        object_id=OBJECT_ID,
        payload={"n": 1},
        public=PUBLIC,
        pseudonym_key=KEY,
    )
    assert (draft.actor_ref, draft.object_ref) == (ACTOR_REF, OBJECT_REF)
    assert draft.salt is not None and len(draft.salt) == 32
    entry = draft.at(3, FakeClock()())
    assert entry.version == 3
    assert entry.private_sha256 == private_sha256(
        actor=ACTOR, object_id=OBJECT_ID, payload_sha256=draft.payload_sha256, salt=draft.salt
    )
    expected = envelope_bytes(
        seq=3,
        ts=format_ts(entry.ts),
        action="request.search",
        object_type=OBJECT_TYPE,
        actor_ref=ACTOR_REF,
        object_ref=OBJECT_REF,
        private_sha256=entry.private_sha256,
        public=PUBLIC,
    )
    assert entry.envelope() == expected
    assert entry.leaf_hash == leaf_hash(expected).hex()
    plain = EntryDraft.new(
        actor=ACTOR, action="a", object_type="b", object_id="c", payload={"n": 1}
    ).at(0, FakeClock()())
    assert plain.version == 1 and plain.actor_ref is None and plain.private_sha256 is None


# -- records -----------------------------------------------------------------------------------


def _record(**changes: Any) -> EntryRecord:
    fields: dict[str, Any] = {
        "seq": 3,
        "ts": TS,
        "actor": ACTOR,
        "action": "request.search",
        "object_type": OBJECT_TYPE,
        "object_id": OBJECT_ID,
        "payload_sha256": SHA,
        "leaf_hash": LEAF,
        "payload": None,
        "actor_ref": ACTOR_REF,
        "object_ref": OBJECT_REF,
        "private_sha256": PRIVATE_SHA256,
        "salt": SALT,
    }
    return EntryRecord(**(fields | changes))


def test_v3_export_lines() -> None:
    full = _record()
    line = record_to_line(full)
    assert json.loads(line) == {
        "type": "entry",
        "seq": 3,
        "ts": TS,
        "action": "request.search",
        "object_type": OBJECT_TYPE,
        "actor_ref": ACTOR_REF,
        "object_ref": OBJECT_REF,
        "private_sha256": PRIVATE_SHA256,
        "leaf_hash": LEAF,
        "actor": ACTOR,
        "object_id": OBJECT_ID,
        "payload_sha256": SHA,
        "salt": SALT,
    }
    assert parse_line(line, 1) == full
    public = _record(actor=None, object_id=None, payload_sha256=None, salt=None)
    line = record_to_line(public)
    assert set(json.loads(line)) == {
        "type",
        "seq",
        "ts",
        "action",
        "object_type",
        "actor_ref",
        "object_ref",
        "private_sha256",
        "leaf_hash",
    }
    assert parse_line(line, 1) == public
    assert public.envelope() == full.envelope() == ENVELOPE
    assert (public.version, public.has_private, full.has_private) == (3, False, True)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"salt": None}, "all of its private fields or none"),
        ({"actor": None}, "all of its private fields or none"),
        ({"actor_ref": "ABC"}, "actor_ref must be 32 lower-case hex"),
        ({"object_ref": ACTOR_REF.upper()}, "object_ref must be 32 lower-case hex"),
        ({"salt": "zz" * 16}, "salt must be 32 lower-case hex"),
        ({"private_sha256": "ab" * 16}, "private_sha256"),
        ({"object_ref": None}, "object_ref"),
    ],
)
def test_malformed_v3_lines(change: dict[str, Any], why: str) -> None:
    data = json.loads(record_to_line(_record()))
    for name, value in change.items():
        if value is None:
            data.pop(name)
        else:
            data[name] = value
    with pytest.raises(VerificationFailed, match=why) as caught:
        parse_line(json.dumps(data), 7)
    assert caught.value.details["reason"] == "malformed"
    assert caught.value.details["line"] == 7


def test_a_v3_payload_needs_the_private_fields() -> None:
    public = _record(actor=None, object_id=None, payload_sha256=None, salt=None)
    data = json.loads(record_to_line(public))
    data["payload"] = {"n": 1}
    with pytest.raises(VerificationFailed, match="must carry its private fields"):
        parse_line(json.dumps(data), 1)


@pytest.mark.parametrize("name", PRIVATE_FIELDS)
def test_check_private_catches_each_changed_private_field(name: str) -> None:
    _record().check_private()  # as recorded
    value = "cd" * 32 if name == "payload_sha256" else ("ff" * 16 if name == "salt" else "other")
    changed = _record(**{name: value})
    with pytest.raises(LedgerError) as caught:
        changed.check_private()
    assert caught.value.details["reason"] == REASON_PRIVATE_HASH_MISMATCH
    assert caught.value.details["expected"] == PRIVATE_SHA256
    # envelope() checks it too (the verifier of today only asks for the envelope) ...
    with pytest.raises(LedgerError):
        changed.envelope()
    # ... unless the caller checked already.
    assert changed.envelope(check_private=False) == ENVELOPE


# -- a pseudonymous ledger ---------------------------------------------------------------------


@pytest.fixture
def v3_ledger(signing_key: Ed25519PrivateKey, clock: FakeClock) -> Ledger:
    return Ledger(signing_key, "test-log", 0, 0, clock=clock, pseudonym_key=KEY)


def _append_requests(db: Database, ledger: Ledger, n: int = 4) -> list[LedgerEntry]:
    out = []
    with db.transaction() as session:
        for i in range(n):
            out.append(
                ledger.append(
                    session,
                    actor=f"user:det-{i % 2}",
                    action="request.submit" if i < 2 else "request.search",
                    object_type="request",
                    object_id=f"CASE-{i % 2}",
                    payload={"case_number": f"CASE-{i % 2}", "i": i},
                    public={"step": i},
                )
            )
        ledger.checkpoint(session)
    return out


def test_v3_ledger_stores_and_reads_back_its_entries(
    db: Database, v3_ledger: Ledger, db_url: str
) -> None:
    appended = _append_requests(db, v3_ledger)
    with db.read() as session:
        read = [v3_ledger.entry(session, e.seq) for e in appended]
        by_actor = v3_ledger.query(session, actor="user:det-0")
    assert read == appended
    assert [e.seq for e in by_actor] == [0, 2]  # the clear columns still serve queries
    assert {e.actor_ref for e in read} == {
        actor_ref(KEY, "user:det-0"),
        actor_ref(KEY, "user:det-1"),
    }
    assert read[0].object_ref == read[2].object_ref == object_ref(KEY, "request", "CASE-0")
    assert len({e.salt for e in read}) == 4
    rows = rawsql.rows(
        db_url, "SELECT salt, actor_ref, object_ref FROM ledger_entries ORDER BY seq"
    )
    assert [tuple(row) for row in rows] == [(e.salt, e.actor_ref, e.object_ref) for e in appended]


def test_a_bare_ledger_still_writes_v1_and_v2(
    db: Database, ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    entries = _append_requests(db, ledger)
    assert {e.version for e in entries} == {2}
    assert (
        rawsql.scalar(
            db_url,
            "SELECT count(*) FROM ledger_entries WHERE salt IS NOT NULL OR actor_ref IS NOT NULL",
        )
        == 0
    )
    out = io.StringIO()
    with db.read() as session:
        ledger.export(session, out, include_payloads=False)
    assert '"actor":"user:det-0"' in out.getvalue()  # versions 1 and 2 name their actor
    verify_database(db_url, public_key)


def _export(db: Database, ledger: Ledger, include_payloads: bool) -> str:
    out = io.StringIO()
    with db.read() as session:
        ledger.export(session, out, include_payloads=include_payloads)
    return out.getvalue()


def test_full_export_round_trips_and_verifies(
    db: Database, v3_ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    appended = _append_requests(db, v3_ledger)
    text = _export(db, v3_ledger, include_payloads=True)
    lines = text.splitlines()
    for line_no, line in enumerate(lines, start=1):
        assert record_to_line(parse_line(line, line_no)) == line + "\n"
    entries = [json.loads(line) for line in lines if '"type":"entry"' in line]
    assert [e["actor"] for e in entries] == [e.actor for e in appended]
    assert [e["private_sha256"] for e in entries] == [e.private_sha256 for e in appended]
    assert all("payload" in e and "salt" in e for e in entries)
    report = verify_export(io.StringIO(text), public_key)
    assert (report.tree_size, report.payloads_checked) == (4, 4)
    assert verify_database(db_url, public_key).root_hash == report.root_hash


def test_public_export_carries_no_private_field_and_verifies(
    db: Database, v3_ledger: Ledger, public_key: Ed25519PublicKey
) -> None:
    _append_requests(db, v3_ledger)
    text = _export(db, v3_ledger, include_payloads=False)
    for secret in ("det-0", "det-1", "CASE-0", "CASE-1", '"actor"', '"object_id"', '"salt"'):
        assert secret not in text
    assert '"payload_sha256"' not in text and '"payload"' not in text
    report = verify_export(io.StringIO(text), public_key)
    assert (report.tree_size, report.payloads_redacted) == (4, 4)


def test_a_changed_actor_in_a_full_export_fails_verification(
    db: Database, v3_ledger: Ledger, public_key: Ed25519PublicKey
) -> None:
    _append_requests(db, v3_ledger)
    text = _export(db, v3_ledger, include_payloads=True)
    forged = text.replace('"actor":"user:det-1"', '"actor":"user:det-9"', 1)
    assert forged != text
    with pytest.raises(VerificationFailed) as caught:
        verify_export(io.StringIO(forged), public_key)
    assert caught.value.details["seq"] == 1
    # Today's verifier reports what envelope() raised as malformed; a verifier that calls
    # check_private() first names the private hash.
    assert caught.value.details["reason"] in ("malformed", REASON_PRIVATE_HASH_MISMATCH)


def test_a_changed_actor_in_the_database_fails_verification(
    db: Database, v3_ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    _append_requests(db, v3_ledger)
    assert rawsql.execute(db_url, "UPDATE ledger_entries SET object_id = 'CASE-7' WHERE seq = 2")
    with pytest.raises(VerificationFailed) as caught:
        verify_database(db_url, public_key)
    assert caught.value.details["seq"] == 2
    assert caught.value.details["reason"] == "leaf_hash_mismatch"


def test_damaged_pseudonym_columns_are_named(
    db: Database, v3_ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    _append_requests(db, v3_ledger)
    assert rawsql.execute(db_url, "UPDATE ledger_entries SET salt = NULL WHERE seq = 1")
    with pytest.raises(VerificationFailed, match="salt, actor_ref or object_ref") as caught:
        verify_database(db_url, public_key)
    assert caught.value.details["seq"] == 1


def test_v1_v2_and_v3_entries_verify_in_one_log(
    db: Database,
    ledger: Ledger,
    v3_ledger: Ledger,
    db_url: str,
    public_key: Ed25519PublicKey,
) -> None:
    old = _append_requests(db, ledger, 2)  # before the unit had a pseudonym key
    new = _append_requests(db, v3_ledger, 3)
    assert [e.version for e in old + new] == [2, 2, 3, 3, 3]
    for include in (True, False):
        report = verify_export(io.StringIO(_export(db, v3_ledger, include)), public_key)
        assert report.tree_size == 5
    assert verify_database(db_url, public_key).checkpoints == 2


def test_v3_inclusion_bundles(
    db: Database, v3_ledger: Ledger, public_key: Ed25519PublicKey
) -> None:
    _append_requests(db, v3_ledger)
    with db.read() as session:
        full = v3_ledger.inclusion_bundle(session, 2)
        public = v3_ledger.inclusion_bundle(session, 2, include_payload=False)
    verify_inclusion_bundle(full, public_key)
    verify_inclusion_bundle(public, public_key)
    assert full["entry"]["actor"] == "user:det-0" and "payload" in full["entry"]
    assert not set(PRIVATE_FIELDS) & set(public["entry"]) and "payload" not in public["entry"]
    forged = json.loads(json.dumps(full))
    forged["entry"]["object_id"] = "CASE-1"
    with pytest.raises(VerificationFailed) as caught:
        verify_inclusion_bundle(forged, public_key)
    assert caught.value.details["reason"] == REASON_PRIVATE_HASH_MISMATCH


def test_from_entry_may_keep_the_private_fields_without_the_payload(
    db: Database, v3_ledger: Ledger
) -> None:
    entry = _append_requests(db, v3_ledger, 1)[0]
    record = EntryRecord.from_entry(entry, include_payload=False, include_private=True)
    assert record.payload is None and record.actor == entry.actor and record.salt == entry.salt
    record.check_private()
    public = EntryRecord.from_entry(entry, include_payload=True, include_private=False)
    assert public.payload is None and public.actor is None  # nothing would check the payload
    assert public.envelope() == record.envelope() == entry.envelope()
