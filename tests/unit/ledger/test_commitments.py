"""Salted commitments and their reveals: the construction, the append guard and the verifier.

The log under test is a blind review: entry 1 commits to a first examiner's marks, entry 3 (the
peer review) reveals them. Tampering is done as in ``test_export_verify``: raw SQL on the SQLite
file, with the payload hash and leaf hash recomputed so that only the reveal check can object.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.db import Database
from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import (
    CanonicalJSONError,
    Commitment,
    Ledger,
    LedgerEntry,
    check_reveal,
    commit,
    commitment_digest,
    make_reveal,
    verify_database,
    verify_export,
)
from faceledger.ledger.canonical import canonical_json
from faceledger.ledger.envelope import envelope_bytes, format_ts
from faceledger.ledger.merkle import leaf_hash

from .conftest import AppendMany
from .tamper import rewrite_payload

MARKS = {"verdict": "candidate", "points": [12, 7], "ok": True}
KAT_SALT = bytes(range(32)).hex()
# SHA-256(b"faceledger-commitment-v1" 0x00 || bytes 0..31 || canonical JSON of MARKS), computed
# once with hashlib and pinned so that any change to the construction shows.
KAT_DIGEST = "fbe004558d90ab02b7f6f6848bf6400dc7dd369a7c0abd5b36e79c0ac7fc982f"


@dataclass
class BlindLog:
    """Entries 0..4; entry 1 commits to ``marks`` and ``notes``, entry 3 reveals ``marks``."""

    entries: list[LedgerEntry]
    marks: Commitment
    notes: Commitment


def _append(db: Database, ledger: Ledger, payload: dict[str, Any]) -> LedgerEntry:
    with db.transaction() as session:
        return ledger.append(
            session,
            actor="examiner",
            action="review.record",
            object_type="review",
            object_id="r-1",
            payload=payload,
        )


@pytest.fixture
def blind_log(db: Database, ledger: Ledger) -> BlindLog:
    marks, notes = commit(MARKS), commit("resembles, different ear shape")
    payloads: list[dict[str, Any]] = [
        {"step": "opened"},
        {"step": "first review", "commitments": {"marks": marks.digest, "notes": notes.digest}},
        {"step": "assigned peer"},
        {"step": "peer review", "reveals": [make_reveal(1, "marks", marks.salt, MARKS)]},
        {"step": "closed"},
    ]
    entries = [_append(db, ledger, payload) for payload in payloads]
    with db.transaction() as session:
        ledger.checkpoint(session)
    return BlindLog(entries, marks, notes)


def _export(db: Database, ledger: Ledger, include_payloads: bool = True) -> list[str]:
    out = io.StringIO()
    with db.read() as session:
        ledger.export(session, out, include_payloads=include_payloads)
    return out.getvalue().splitlines(keepends=True)


def _rewrite_payload(db_url: str, entry: LedgerEntry, payload: dict[str, Any]) -> None:
    """Replace an entry's payload as someone with database access would, hashes recomputed."""
    rewrite_payload(db_url, entry, canonical_json(payload))


# -- the construction -------------------------------------------------------------------------


def test_digest_matches_an_independent_computation() -> None:
    value_bytes = b'{"ok":true,"points":[12,7],"verdict":"candidate"}'  # MARKS, canonical
    expected = hashlib.sha256(
        b"faceledger-commitment-v1\x00" + bytes(range(32)) + value_bytes
    ).hexdigest()
    assert expected == KAT_DIGEST
    assert commitment_digest(KAT_SALT, MARKS) == KAT_DIGEST
    # Key order does not matter: the value is hashed in canonical form.
    assert commitment_digest(KAT_SALT, dict(reversed(list(MARKS.items())))) == KAT_DIGEST


def test_commit_uses_a_fresh_salt_each_time() -> None:
    first, second = commit(MARKS), commit(MARKS)
    for c in (first, second):
        assert len(c.salt) == 64 and bytes.fromhex(c.salt).hex() == c.salt
        assert c.digest == commitment_digest(c.salt, MARKS)
        check_reveal(c.digest, c.salt, MARKS)
    assert first.salt != second.salt
    assert first.digest != second.digest


def test_check_reveal_names_expected_and_actual() -> None:
    with pytest.raises(VerificationFailed) as info:
        check_reveal(KAT_DIGEST, KAT_SALT, {**MARKS, "ok": False})
    details = info.value.details
    assert (details["kind"], details["reason"]) == ("reveal", "reveal_mismatch")
    assert details["expected"] == KAT_DIGEST
    assert details["actual"] == commitment_digest(KAT_SALT, {**MARKS, "ok": False})


@pytest.mark.parametrize(
    "salt",
    ["", "00" * 31, "00" * 33, "AB" * 32, "zz" * 32, " " + "00" * 32],
    ids=["empty", "short", "long", "upper-case", "not-hex", "padded"],
)
def test_malformed_salts(salt: str) -> None:
    with pytest.raises(LedgerError, match="64 lower-case hex"):
        commitment_digest(salt, MARKS)
    with pytest.raises(VerificationFailed) as info:
        check_reveal(KAT_DIGEST, salt, MARKS)
    assert info.value.details["reason"] == "reveal_malformed"


def test_values_without_a_canonical_form_cannot_be_committed() -> None:
    with pytest.raises(CanonicalJSONError):
        commit({"score": 0.5})
    with pytest.raises(VerificationFailed) as info:
        check_reveal(KAT_DIGEST, KAT_SALT, {"score": 0.5})
    assert info.value.details["reason"] == "reveal_malformed"


def test_make_reveal_shape() -> None:
    assert make_reveal(4, "marks", KAT_SALT, MARKS) == {
        "seq": 4,
        "name": "marks",
        "salt": KAT_SALT,
        "value": MARKS,
    }


# -- clean logs -------------------------------------------------------------------------------


def test_commit_and_reveal_verify(
    db: Database, ledger: Ledger, db_url: str, public_key: Ed25519PublicKey, blind_log: BlindLog
) -> None:
    from_db = verify_database(db_url, public_key)
    from_export = verify_export(_export(db, ledger), public_key)
    assert from_db == from_export
    assert (from_db.commitments, from_db.reveals_checked, from_db.reveals_unchecked) == (2, 1, 0)
    assert "Commitments: 2; reveals checked: 1." in from_db.summary()
    assert "not checked" not in from_db.summary()
    # The committing entry shows the digest, never the marks.
    assert json.dumps(MARKS["points"]) not in json.dumps(blind_log.entries[1].payload)


def test_log_without_commitments(
    db_url: str, public_key: Ed25519PublicKey, append_many: AppendMany
) -> None:
    append_many(12, checkpoint=True)
    report = verify_database(db_url, public_key)
    assert (report.commitments, report.reveals_checked, report.reveals_unchecked) == (0, 0, 0)


def test_reserved_words_below_the_top_level_are_ordinary_data(
    db: Database, ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    _append(db, ledger, {"meta": {"commitments": "to the public", "reveals": 3}})
    _append(db, ledger, {"note": '"reveals":[1]', "tags": ["commitments"]})
    report = verify_database(db_url, public_key)
    assert (report.commitments, report.reveals_checked) == (0, 0)


def test_a_commitment_may_be_revealed_again_and_in_the_same_transaction(
    db: Database, ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    c = commit(MARKS)
    with db.transaction() as session:
        for payload in (
            {"commitments": {"marks": c.digest}},
            {"reveals": [make_reveal(0, "marks", c.salt, MARKS)]},
        ):
            ledger.append(
                session, actor="a", action="b", object_type="c", object_id="d", payload=payload
            )
    _append(db, ledger, {"reveals": [make_reveal(0, "marks", c.salt, MARKS)] * 2})
    assert verify_database(db_url, public_key).reveals_checked == 3


# -- exports ----------------------------------------------------------------------------------


def test_public_export_reports_reveals_unchecked(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, blind_log: BlindLog
) -> None:
    report = verify_export(_export(db, ledger, include_payloads=False), public_key)
    assert (report.commitments, report.reveals_checked, report.reveals_unchecked) == (0, 0, 0)
    assert report.payloads_redacted == 5
    assert "Reveals inside the 5 redacted payloads cannot be seen and were not checked." in (
        report.summary()
    )


def test_reveal_of_a_redacted_commitment_is_counted_unchecked(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, blind_log: BlindLog
) -> None:
    lines = _export(db, ledger)
    records = [json.loads(line) for line in lines]
    index = next(i for i, r in enumerate(records) if r.get("seq") == 1 and r["type"] == "entry")
    del records[index]["payload"]  # the payload hash still binds the entry
    report = verify_export([json.dumps(r) + "\n" for r in records], public_key)
    assert (report.reveals_checked, report.reveals_unchecked) == (0, 1)
    assert "1 reveals open commitments in redacted payloads and were not checked." in (
        report.summary()
    )


def _redact(lines: list[str], seqs: set[int]) -> list[str]:
    records = [json.loads(line) for line in lines]
    for record in records:
        if record["type"] == "entry" and record["seq"] in seqs:
            del record["payload"]
    return [json.dumps(r) + "\n" for r in records]


def test_partly_redacted_export_tells_unseen_from_absent_commitments(
    db: Database, ledger: Ledger, db_url: str, public_key: Ed25519PublicKey
) -> None:
    c = commit(MARKS)
    entries = [
        _append(db, ledger, payload)
        for payload in ({"n": 0}, {"commitments": {"marks": c.digest}}, {"n": 2}, {"n": 3})
    ]
    # Entry 3 reveals from entries 0, 1 and 2; only 1 made a commitment. (No checkpoint signs
    # the log, so only the reveal checks can object to the rewrite.)
    reveals = [make_reveal(seq, "marks", c.salt, MARKS) for seq in (0, 1, 2)]
    _rewrite_payload(db_url, entries[3], {"reveals": reveals})
    lines = _export(db, ledger)
    # Two runs of redacted entries: 0 (closed) and 2 (the latest): both reveals go unchecked.
    report = verify_export(_redact(lines, {0, 2}), public_key)
    assert (report.reveals_checked, report.reveals_unchecked) == (1, 2)
    # With entry 2's payload visible, its missing commitment is a failure again.
    with pytest.raises(VerificationFailed) as info:
        verify_export(_redact(lines, {0}), public_key)
    details = info.value.details
    assert (details["seq"], details["reason"], details["commitment_seq"]) == (
        3,
        "reveal_unknown_commitment",
        2,
    )


def test_export_with_payloads_checks_reveals(
    db: Database, ledger: Ledger, public_key: Ed25519PublicKey, blind_log: BlindLog
) -> None:
    lines = _export(db, ledger)
    records = [json.loads(line) for line in lines]
    index = next(i for i, r in enumerate(records) if r.get("seq") == 3 and r["type"] == "entry")
    # An edited export must keep payload_sha256 and leaf_hash consistent to get this far.
    payload = {**records[index]["payload"]}
    payload["reveals"] = [{**payload["reveals"][0], "value": {**MARKS, "ok": False}}]
    body = canonical_json(payload)
    entry = blind_log.entries[3]
    sha = hashlib.sha256(body).hexdigest()
    records[index].update(
        payload=payload,
        payload_sha256=sha,
        leaf_hash=leaf_hash(
            envelope_bytes(
                seq=3,
                ts=format_ts(entry.ts),
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                payload_sha256=sha,
            )
        ).hex(),
    )
    with pytest.raises(VerificationFailed) as info:
        verify_export([json.dumps(r) + "\n" for r in records], public_key)
    details = info.value.details
    assert (details["kind"], details["seq"], details["reason"]) == ("entry", 3, "reveal_mismatch")


# -- an attacker with database access ---------------------------------------------------------


Reveals = Callable[[BlindLog], Any]


def _marks(seq: int, value: Any = MARKS, name: str = "marks") -> Reveals:
    return lambda log: [make_reveal(seq, name, log.marks.salt, value)]


# (the peer review's "reveals" at entry 3, reason, commitment_seq in the failure's details)
REVEAL_CASES = [
    pytest.param(_marks(1, {**MARKS, "points": [12, 8]}), "reveal_mismatch", 1, id="changed-mark"),
    pytest.param(
        lambda log: [make_reveal(1, "marks", log.notes.salt, MARKS)],
        "reveal_mismatch",
        1,
        id="wrong-salt",
    ),
    pytest.param(_marks(1, name="notes"), "reveal_mismatch", 1, id="other-commitment"),
    pytest.param(_marks(1, name="verdict"), "reveal_unknown_commitment", 1, id="never-committed"),
    pytest.param(_marks(0), "reveal_unknown_commitment", 0, id="entry-without-commitments"),
    pytest.param(_marks(4), "reveal_not_earlier", 4, id="forward"),
    pytest.param(_marks(3), "reveal_not_earlier", 3, id="itself"),
    pytest.param(_marks(10_000), "reveal_not_earlier", 10_000, id="non-existent"),
    pytest.param(
        lambda log: [*_marks(1)(log), make_reveal(1, "notes", log.notes.salt, "x")],
        "reveal_mismatch",
        1,
        id="second-reveal-bad",
    ),
    pytest.param(_marks(-1), "reveal_malformed", None, id="negative-seq"),
    pytest.param(_marks(True), "reveal_malformed", None, id="bool-seq"),
    pytest.param(
        lambda log: [make_reveal(1, "marks", "xyz", MARKS)], "reveal_malformed", 1, id="bad-salt"
    ),
    pytest.param(
        lambda log: [{"seq": 1, "name": "marks", "salt": log.marks.salt}],
        "reveal_malformed",
        None,
        id="missing-key",
    ),
    pytest.param(
        lambda log: [{**_marks(1)(log)[0], "by": "x"}], "reveal_malformed", None, id="extra-key"
    ),
    pytest.param(lambda log: _marks(1)(log)[0], "reveal_malformed", None, id="not-a-list"),
]


@pytest.mark.parametrize(("reveals", "reason", "commitment_seq"), REVEAL_CASES)
def test_tampered_reveal_is_caught(
    reveals: Reveals,
    reason: str,
    commitment_seq: int | None,
    db: Database,
    ledger: Ledger,
    db_url: str,
    public_key: Ed25519PublicKey,
    blind_log: BlindLog,
) -> None:
    _rewrite_payload(
        db_url, blind_log.entries[3], {"step": "peer review", "reveals": reveals(blind_log)}
    )
    for verify in (
        lambda: verify_database(db_url, public_key),
        lambda: verify_export(_export(db, ledger), public_key),
    ):
        with pytest.raises(VerificationFailed) as info:
            verify()
        details = info.value.details
        # Reported at the revealing entry, before the checkpoint's root would object.
        assert (details["kind"], details["seq"], details["reason"]) == ("entry", 3, reason)
        assert details.get("commitment_seq") == commitment_seq
        assert info.value.message.startswith("Entry 3: ")
    if reason == "reveal_mismatch":
        assert details["expected"] == blind_log.marks.digest or details["expected"] == (
            blind_log.notes.digest
        )
        assert details["actual"] != details["expected"]


@pytest.mark.parametrize(
    "commitments",
    [{"marks": "AB" * 32}, {"marks": "00"}, {"marks": 7}, {"": "00" * 32}, ["00" * 32], None],
    ids=["upper-case", "short", "number", "empty-name", "list", "null"],
)
def test_malformed_commitment_is_caught(
    commitments: Any,
    db_url: str,
    public_key: Ed25519PublicKey,
    blind_log: BlindLog,
) -> None:
    _rewrite_payload(db_url, blind_log.entries[1], {"commitments": commitments})
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = info.value.details
    assert (details["kind"], details["seq"], details["reason"]) == (
        "entry",
        1,
        "commitment_malformed",
    )


def test_rewritten_commitment_breaks_the_reveal(
    db_url: str, public_key: Ed25519PublicKey, blind_log: BlindLog
) -> None:
    # Replacing the first examiner's marks after the fact means a new digest at entry 1,
    # which the unchanged reveal at entry 3 no longer opens.
    forged = commit({**MARKS, "verdict": "no candidate"})
    _rewrite_payload(
        db_url,
        blind_log.entries[1],
        {
            "step": "first review",
            "commitments": {"marks": forged.digest, "notes": blind_log.notes.digest},
        },
    )
    with pytest.raises(VerificationFailed) as info:
        verify_database(db_url, public_key)
    details = info.value.details
    assert (details["seq"], details["reason"]) == (3, "reveal_mismatch")
    assert details["expected"] == forged.digest


# -- the append guard -------------------------------------------------------------------------


@pytest.mark.parametrize(("reveals", "reason", "commitment_seq"), REVEAL_CASES)
def test_append_refuses_what_the_verifier_would_reject(
    reveals: Reveals,
    reason: str,
    commitment_seq: int | None,
    db: Database,
    ledger: Ledger,
    db_url: str,
    public_key: Ed25519PublicKey,
    blind_log: BlindLog,
) -> None:
    if reason == "reveal_not_earlier" and commitment_seq is not None and commitment_seq < 5:
        # The new entry is 5, for which entries 3 and 4 are earlier: aim two entries further.
        commitment_seq += 2
        reveals = _marks(commitment_seq)
    with pytest.raises(LedgerError) as info:
        _append(db, ledger, {"reveals": reveals(blind_log)})
    assert info.value.details["reason"] == reason
    if commitment_seq is not None:
        assert info.value.details["commitment_seq"] == commitment_seq
    with db.read() as session:
        assert ledger.tree_size(session) == 5
    verify_database(db_url, public_key)


def test_append_refuses_malformed_commitments(db: Database, ledger: Ledger) -> None:
    with pytest.raises(LedgerError) as info:
        _append(db, ledger, {"commitments": {"marks": "not a digest"}})
    assert info.value.details["reason"] == "commitment_malformed"
