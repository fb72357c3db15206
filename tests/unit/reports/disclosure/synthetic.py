"""A small real ledger holding one request's life (submit, search, two reviews with a salted
commitment and its reveal, release, a lead use) and the deployment gate's entries behind its
threshold, for the disclosure packet's unit tests. The payloads follow the shapes the service
writes (printed from a full lifecycle in tests/integration/governance/test_disclosure.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.db import Database
from faceledger.ledger import Ledger, generate_keys, load_public_key, load_signing_key
from faceledger.ledger.commitments import commit, make_reveal
from faceledger.ledger.records import EntryRecord
from faceledger.reports.disclosure import (
    Document,
    Packet,
    PacketHeader,
    build_packet,
    evaluation_document,
    summary_text,
)
from faceledger.service.disclosures import ACTION_NAMES
from faceledger.service.ledger_actions import LedgerAction as A
from tests.backends import database_url

REQUEST_ID = 7
CASE = "BPD-24-123"
SUMMARY: dict[str, Any] = {
    "version": 1,
    "dataset": {"name": "SYNTHETIC-for-tests", "fingerprint": "e" * 64},
    "fte": {"photos": 100, "failed": 1, "rate": 0.01},
    "one_to_n": {
        "rank1": 0.985,
        "rank1_ci": [0.97, 0.995],
        "fnir_at_fpir": {"0.003": {"fnir": 0.04, "ci": [0.03, 0.05]}},
    },
    "one_to_one": {"eer": 0.012, "eer_ci": [0.01, 0.014]},
    "demographics": {
        "label_source": "predicted",
        "max_fmr_ratio": 1.8,
        "max_fnmr_ratio": 1.4,
        "unbounded_ratios": [],
        "columns": {
            "sex_id": {
                "groups": [
                    {"group": "female", "fmr": 0.0012, "fnmr": 0.02},
                    {"group": "male", "fmr": 0.0009, "fnmr": 0.03},
                ],
                "fmr_ratio": {"value": 1.33, "worst": "female", "best": "male", "note": ""},
                "fnmr_ratio": {"value": 1.5, "worst": "male", "best": "female", "note": ""},
            }
        },
    },
    "notes": ["SYNTHETIC: measured on nothing"],
}
MODEL = {"name": "SYNTHETIC-embedder", "version": "1", "sha256": "1" * 64}
MARKS = [
    {"candidate_id": 31, "outcome": "possible_lead", "note": ""},
    {"candidate_id": 32, "outcome": "not_match", "note": "different ears"},
]


@dataclass
class Built:
    """The ledger's pieces a packet is made of, and the key that checks it."""

    public_key: Ed25519PublicKey
    proven: list[Any]
    checkpoint: Any
    documents: list[Document]

    def packet(self, **header: Any) -> Packet:
        """The packet of these pieces (header fields may be changed)."""
        fields = {
            "request_id": REQUEST_ID,
            "case_number": CASE,
            "produced_at": "2026-01-02T03:04:05.000000Z",
            "produced_by": "user:aud-one",
            "recipient": "Defence counsel for R. v. Doe, docket 24-123",
            "purpose": "discovery",
            "system_name": "faceledger",
            "system_version": "0.1.0",
            "log_id": "test-log",
            "caveat": "investigative lead only — not probable cause for arrest",
            **header,
        }
        names = [
            {
                "fact": "candidate.0",
                "candidate_id": 31,
                "rank": 1,
                "external_id": "B-1",
                "display_name": "Jane Roe",
            },
            {
                "fact": "candidate.1",
                "candidate_id": 32,
                "rank": 2,
                "external_id": "B-2",
                "display_name": "John Poe",
            },
        ]
        return build_packet(
            PacketHeader(**fields),
            self.checkpoint,
            self.proven,
            self.documents,
            ACTION_NAMES,
            names,
        )


def build(tmp: Path, *, calibrated: bool = True, searched: bool = True) -> Built:
    """A ledger in ``tmp`` with one request's entries; returns the pieces of its packet."""
    keys = generate_keys(tmp / "keys")
    db = Database(database_url(tmp, "ledger.db", migrated=True))
    clock = [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)]

    def now() -> dt.datetime:
        clock[0] += dt.timedelta(seconds=1)
        return clock[0]

    ledger = Ledger(load_signing_key(keys.private_key_path), "test-log", 0, 0, clock=now)
    rid = str(REQUEST_ID)
    try:
        with db.transaction() as s:

            def add(action: str, otype: str, oid: str, payload: dict[str, Any]) -> Any:
                return ledger.append(
                    s,
                    actor="user:x",
                    action=action,
                    object_type=otype,
                    object_id=oid,
                    payload=payload,
                )

            add(A.SYSTEM_INIT, "system", "faceledger", {"schema": "x"})
            digest = summary_text(SUMMARY)
            sha = hashlib.sha256(digest.encode()).hexdigest()
            evaluation = add(
                A.MODEL_EVALUATION,
                "evaluation",
                "4",
                {
                    "evaluation_id": 4,
                    "model": MODEL,
                    "dataset": "SYNTHETIC-for-tests",
                    "dataset_fingerprint": "e" * 64,
                    "summary_sha256": sha,
                    "figures": {
                        "rank1_micro": 985000,
                        "fte_micro": 10000,
                        "label_source": "predicted",
                    },
                },
            )
            add(
                A.MODEL_ACTIVATE,
                "gallery",
                "booking",
                {
                    "activation_id": 2,
                    "evaluation_id": 4,
                    "gallery": "booking",
                    "gallery_size": 900,
                    "target_fpir_nano": 3000000,
                    "threshold_micro": 1000000,
                    "model": MODEL,
                },
            )
            add(A.REQUEST_SUBMIT, "request", "99", {"case_number": "OTHER"})  # another request
            add(
                A.REQUEST_SUBMIT,
                "request",
                rid,
                {
                    "request_id": REQUEST_ID,
                    "case_number": CASE,
                    "requester": "det-a",
                    "agency": "boston-pd",
                    "offence": {"code": "armed_robbery", "severity": "violent_felony"},
                    "legal_basis": {
                        "kind": "court_order",
                        "court": "Suffolk Superior Court",
                        "order_id": "SUCR-24-123",
                        "judge": "Hon. A. Judge",
                        "issued_on": "2026-01-01",
                        "expires_on": "2026-02-01",
                    },
                    "probe": {"sha256": "a" * 64, "source": "still_photo", "face_index": 0},
                    "attestation": {
                        "attested": True,
                        "purpose": "criminal_investigation",
                        "text": "t",
                    },
                    "galleries": ["booking"],
                    "max_candidates": 2,
                    "filing_deadline": None,
                    "decision": {"allowed": True, "failures": []},
                    "state": "approved",
                },
            )
            if searched:
                threshold = {
                    "gallery": "booking",
                    "gallery_size": 912,
                    "distance_micro": 998000,
                    "model": MODEL["name"],
                    "calibrated": calibrated,
                    "evaluation_id": 4 if calibrated else None,
                    "activation_id": 2 if calibrated else None,
                    "target_fpir_nano": 3000000 if calibrated else None,
                    "within_measured_range": True if calibrated else None,
                    "one_to_one": False,
                }
                add(
                    A.REQUEST_SEARCH,
                    "request",
                    rid,
                    {
                        "request_id": REQUEST_ID,
                        "operator": "ex-one",
                        "models": {"embedder": MODEL},
                        "galleries": ["booking"],
                        "thresholds": [threshold],
                        "max_candidates": 2,
                        "candidate_count": 2,
                        "threshold_micro": 998000,
                        "candidates": [
                            {
                                "rank": 1,
                                "gallery": "booking",
                                "subject_id": 5,
                                "template_id": 50,
                                "distance_micro": 812345,
                                "similarity_micro": 593827,
                                "within_threshold": True,
                            },
                            {
                                "rank": 2,
                                "gallery": "booking",
                                "subject_id": 6,
                                "template_id": 60,
                                "distance_micro": 1284648,
                                "similarity_micro": 357676,
                                "within_threshold": False,
                            },
                        ],
                    },
                )
                record = {"marks": MARKS, "possible_leads": [31]}
                sealed = commit(record)
                first = add(
                    A.REQUEST_REVIEW_FIRST,
                    "request",
                    rid,
                    {
                        "reviewer": "ex-two",
                        "candidate_count": 2,
                        "commitments": {"marks": sealed.digest},
                    },
                )
                add(
                    A.REQUEST_REVIEW_PEER,
                    "request",
                    rid,
                    {
                        "reviewer": "rev-one",
                        **record,
                        "reveals": [make_reveal(first.seq, "marks", sealed.salt, record)],
                    },
                )
                add(
                    A.REQUEST_RELEASE,
                    "request",
                    rid,
                    {"released_candidate_ids": [31], "caveat": "investigative lead only"},
                )
                add(
                    A.REQUEST_LEAD_USE,
                    "request",
                    rid,
                    {"candidate_id": 31, "use": "arrest", "corroboration_ref": "Lab report 24-77"},
                )
            checkpoint = ledger.checkpoint(s)
            entries = []
            for e in ledger.query(s, limit=1000):
                if (e.object_type == "request" and e.object_id == rid) or e.action in (
                    A.MODEL_EVALUATION,
                    A.MODEL_ACTIVATE,
                ):
                    if not calibrated and e.object_type != "request":
                        continue
                    proof = ledger.inclusion_proof(s, e.seq, checkpoint.tree_size)
                    entries.append((EntryRecord.from_entry(e), proof))
            documents = []
            if calibrated:
                documents.append(evaluation_document(evaluation.seq, evaluation.payload, digest))
    finally:
        db.dispose()
    return Built(load_public_key(keys.public_key_path), entries, checkpoint, documents)
