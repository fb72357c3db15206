"""The ledger through HTTP: queries with filters and pages, checkpoints, proofs, exports that
an outsider verifies with the public key alone, and a tampered ledger named by /ledger/verify.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import text

from faceledger.ledger import (
    Checkpoint,
    load_public_key,
    verify_export,
    verify_inclusion_bundle,
)
from faceledger.ledger.envelope import envelope_bytes, private_sha256
from faceledger.ledger.merkle import leaf_hash
from tests.integration.api.conftest import ApiUnit, error_of


def test_entries_filter_and_page(unit: ApiUnit) -> None:
    everything = unit.call("auditor", "GET", "/ledger/entries", params={"limit": 500}).json()
    assert everything["total"] == unit.ledger_size() == len(everything["items"])
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs)

    pages = [
        unit.call("auditor", "GET", "/ledger/entries", params={"limit": 7, "offset": o}).json()
        for o in range(0, everything["total"] + 7, 7)
    ]
    assert all(p["total"] == everything["total"] and p["limit"] == 7 for p in pages)
    assert [e["seq"] for p in pages for e in p["items"]] == seqs

    creates = unit.call(
        "auditor", "GET", "/ledger/entries", params={"action": "user.create", "limit": 2}
    ).json()
    # root, the bootstrap supervisor, six personas and the second examiner
    assert creates["total"] == 9 and len(creates["items"]) == 2
    by_root = unit.call(
        "auditor",
        "GET",
        "/ledger/entries",
        params={"actor": "user:root", "object_type": "user", "object_id": "ex-smith"},
    ).json()
    assert {e["action"] for e in by_root["items"]} == {"user.create"}
    # Whoever created an account may not approve it or certify its training (R2).
    by_second = unit.call(
        "auditor",
        "GET",
        "/ledger/entries",
        params={"actor": "user:sup-boot", "object_type": "user", "object_id": "ex-smith"},
    ).json()
    assert {e["action"] for e in by_second["items"]} == {"user.approve", "user.certify_training"}
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    later = unit.call("auditor", "GET", "/ledger/entries", params={"since": future}).json()
    assert later == {"items": [], "total": 0, "limit": 50, "offset": 0}
    until = unit.call("auditor", "GET", "/ledger/entries", params={"until": future}).json()
    assert until["total"] == everything["total"]


def test_entry_fields_rebuild_the_leaf_hash(unit: ApiUnit) -> None:
    entry = unit.call("auditor", "GET", "/ledger/entries", params={"limit": 1}).json()["items"][0]
    assert entry["version"] == 3  # a unit made today writes pseudonymous envelopes
    private = private_sha256(
        actor=entry["actor"],
        object_id=entry["object_id"],
        payload_sha256=entry["payload_sha256"],
        salt=entry["salt"],
    )
    assert private == entry["private_sha256"]
    envelope = envelope_bytes(
        seq=entry["seq"],
        ts=entry["ts"],
        action=entry["action"],
        object_type=entry["object_type"],
        actor_ref=entry["actor_ref"],
        object_ref=entry["object_ref"],
        private_sha256=private,
        public=entry["public"],
    )
    assert leaf_hash(envelope).hex() == entry["leaf_hash"]


def test_checkpoint_proof_export_and_public_key(unit: ApiUnit) -> None:
    signed = unit.call("auditor", "POST", "/ledger/checkpoints")
    assert signed.status_code == 201, signed.text
    latest = unit.call("supervisor", "GET", "/ledger/checkpoints/latest")
    assert latest.json() == signed.json()

    key = unit.call(None, "GET", "/ledger/public-key")
    assert key.status_code == 200 and key.text.startswith("-----BEGIN PUBLIC KEY-----")
    public_key = load_public_key(key.content)
    checkpoint = Checkpoint.from_dict(latest.json())
    checkpoint.verify_signature(public_key)

    proof = unit.call("auditor", "GET", "/ledger/entries/3/proof").json()
    verify_inclusion_bundle(proof, public_key)
    redacted = unit.call("auditor", "GET", "/ledger/entries/3/proof", params={"public": "true"})
    assert redacted.json()["entry"].get("payload") is None
    verify_inclusion_bundle(redacted.json(), public_key)

    full = unit.call("auditor", "GET", "/ledger/export")
    assert full.status_code == 200
    assert full.headers["content-type"].startswith("application/jsonl")
    assert full.headers["cache-control"] == "no-store"
    lines = full.text.splitlines()
    assert int(full.headers["x-ledger-tree-size"]) == unit.ledger_size()
    report = verify_export(lines, public_key)
    assert report.payloads_checked == report.tree_size

    public = unit.call("auditor", "GET", "/ledger/export", params={"public": "true"})
    assert "ledger-public.jsonl" in public.headers["content-disposition"]
    records = [json.loads(line) for line in public.text.splitlines()]
    assert not any(r.get("payload") for r in records)
    report = verify_export(public.text.splitlines(), public_key)
    assert report.payloads_redacted == report.tree_size


def test_verify_names_the_first_tampered_entry(unit: ApiUnit) -> None:
    assert unit.call("auditor", "POST", "/ledger/verify").status_code == 200
    edit = text("UPDATE ledger_entries SET actor = :actor WHERE seq = 5")
    with unit.service.context.db.transaction() as session:  # someone with database access edits
        actor = session.scalar(text("SELECT actor FROM ledger_entries WHERE seq = 5"))
        session.execute(edit, {"actor": "user:nobody"})
    try:
        details = error_of(
            unit.call("auditor", "POST", "/ledger/verify"), 422, "verification_failed"
        )
        assert details["seq"] == 5 and "expected" in details and "actual" in details
    finally:
        with unit.service.context.db.transaction() as session:
            session.execute(edit, {"actor": actor})
    assert unit.call("auditor", "POST", "/ledger/verify").status_code == 200
