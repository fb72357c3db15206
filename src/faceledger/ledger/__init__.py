"""The tamper-evident ledger: an RFC 6962 / RFC 9162 Merkle log with Ed25519-signed checkpoints.

Formats, each defined once: canonical JSON in :mod:`.canonical`, the hashed entry envelope in
:mod:`.envelope`, signed checkpoints in :mod:`.checkpoint`, the JSON Lines export in
:mod:`.records`, inclusion-proof bundles in :mod:`.bundle`, salted commitments and their
reveals in :mod:`.commitments`. :mod:`.verify` is the auditor's verifier and needs nothing from
the rest of the application.

Names load on first use, so importing the verifier does not import the ORM or the application's
database layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faceledger.ledger.bundle import verify_inclusion_bundle
    from faceledger.ledger.canonical import CanonicalJSONError, canonical_json
    from faceledger.ledger.checkpoint import Checkpoint
    from faceledger.ledger.commitments import (
        Commitment,
        check_reveal,
        commit,
        commitment_digest,
        make_reveal,
    )
    from faceledger.ledger.envelope import LedgerEntry
    from faceledger.ledger.keys import (
        PRIVATE_KEY_FILE,
        PUBLIC_KEY_FILE,
        LedgerKeys,
        default_log_id,
        generate_keys,
        key_id,
        load_public_key,
        load_signing_key,
        public_key_pem,
    )
    from faceledger.ledger.log import Ledger
    from faceledger.ledger.merkle import EMPTY_ROOT, leaf_hash, node_hash, root_from_leaves
    from faceledger.ledger.proofs import (
        ConsistencyProof,
        InclusionProof,
        verify_consistency,
        verify_inclusion,
    )
    from faceledger.ledger.records import ExportHeader
    from faceledger.ledger.verify import VerifyReport, verify_database, verify_export

_EXPORTS = {
    "CanonicalJSONError": "faceledger.ledger.canonical",
    "Checkpoint": "faceledger.ledger.checkpoint",
    "Commitment": "faceledger.ledger.commitments",
    "ConsistencyProof": "faceledger.ledger.proofs",
    "EMPTY_ROOT": "faceledger.ledger.merkle",
    "ExportHeader": "faceledger.ledger.records",
    "InclusionProof": "faceledger.ledger.proofs",
    "Ledger": "faceledger.ledger.log",
    "LedgerEntry": "faceledger.ledger.envelope",
    "LedgerKeys": "faceledger.ledger.keys",
    "PRIVATE_KEY_FILE": "faceledger.ledger.keys",
    "PUBLIC_KEY_FILE": "faceledger.ledger.keys",
    "VerifyReport": "faceledger.ledger.verify",
    "canonical_json": "faceledger.ledger.canonical",
    "check_reveal": "faceledger.ledger.commitments",
    "commit": "faceledger.ledger.commitments",
    "commitment_digest": "faceledger.ledger.commitments",
    "default_log_id": "faceledger.ledger.keys",
    "generate_keys": "faceledger.ledger.keys",
    "key_id": "faceledger.ledger.keys",
    "leaf_hash": "faceledger.ledger.merkle",
    "load_public_key": "faceledger.ledger.keys",
    "load_signing_key": "faceledger.ledger.keys",
    "make_reveal": "faceledger.ledger.commitments",
    "node_hash": "faceledger.ledger.merkle",
    "public_key_pem": "faceledger.ledger.keys",
    "root_from_leaves": "faceledger.ledger.merkle",
    "verify_consistency": "faceledger.ledger.proofs",
    "verify_database": "faceledger.ledger.verify",
    "verify_export": "faceledger.ledger.verify",
    "verify_inclusion": "faceledger.ledger.proofs",
    "verify_inclusion_bundle": "faceledger.ledger.bundle",
}

__all__ = [
    "EMPTY_ROOT",
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "CanonicalJSONError",
    "Checkpoint",
    "Commitment",
    "ConsistencyProof",
    "ExportHeader",
    "InclusionProof",
    "Ledger",
    "LedgerEntry",
    "LedgerKeys",
    "VerifyReport",
    "canonical_json",
    "check_reveal",
    "commit",
    "commitment_digest",
    "default_log_id",
    "generate_keys",
    "key_id",
    "leaf_hash",
    "load_public_key",
    "load_signing_key",
    "make_reveal",
    "node_hash",
    "public_key_pem",
    "root_from_leaves",
    "verify_consistency",
    "verify_database",
    "verify_export",
    "verify_inclusion",
    "verify_inclusion_bundle",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'faceledger.ledger' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
