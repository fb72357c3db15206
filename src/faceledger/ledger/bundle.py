"""Inclusion-proof bundles: one entry, its proof and a signed checkpoint, checkable alone.

A bundle is a JSON object an auditor (or a defendant's expert) verifies with the public key and
nothing else::

    {"format": "faceledger-inclusion-proof", "version": 1,
     "entry": {<an export entry record, with or without "payload", with "public" if any;
                for envelope version 3 with or without its private fields>},
     "proof": {"leaf_index": <seq>, "tree_size": <n>, "hashes": [<hex>, ...]},
     "checkpoint": {<a checkpoint in JSON form, tree_size n>}}
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import parse_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.merkle import HASH_SIZE, leaf_hash
from faceledger.ledger.proofs import InclusionProof, verify_inclusion
from faceledger.ledger.records import REASON_PRIVATE_HASH_MISMATCH, EntryRecord, parse_record

__all__ = ["BUNDLE_FORMAT", "make_inclusion_bundle", "verify_inclusion_bundle"]

BUNDLE_FORMAT = "faceledger-inclusion-proof"
BUNDLE_VERSION = 1


def make_inclusion_bundle(
    entry: EntryRecord, proof: InclusionProof, checkpoint: Checkpoint
) -> dict[str, Any]:
    """Return the bundle (JSON-ready) for ``entry`` proven against ``checkpoint``."""
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "entry": entry.to_dict(),
        "proof": proof.to_dict(),
        "checkpoint": checkpoint.to_dict(),
    }


def verify_inclusion_bundle(bundle: Mapping[str, Any] | str, public_key: Ed25519PublicKey) -> None:
    """Check a bundle: the checkpoint is signed, the entry hashes right, the proof reaches the root.

    Raises:
        VerificationFailed: naming the failing step in ``details['reason']``.
    """
    data = _load(bundle)
    # (1) The checkpoint is signed by the log's key.
    checkpoint = Checkpoint.from_dict(_object(data, "checkpoint"))
    checkpoint.verify_signature(public_key)
    # (2) The entry is well formed (the export record rules).
    entry_data = _object(data, "entry")
    record = parse_record({**entry_data, "type": "entry"}, 0)
    assert isinstance(record, EntryRecord)
    # (3) The payload, when present, is the one the entry commits to (a version 3 record with a
    # payload always carries its payload_sha256: the parser sees to it).
    if record.payload is not None:
        digest = hashlib.sha256(record.payload).hexdigest()
        if not hmac.compare_digest(digest, record.payload_sha256 or ""):
            raise VerificationFailed(
                f"Entry {record.seq}: the payload does not match its payload_sha256.",
                reason="payload_hash_mismatch",
                seq=record.seq,
                expected=record.payload_sha256,
                actual=digest,
            )
    # (4) A version 3 entry's private fields, when present, hash to its private_sha256.
    try:
        record.check_private()
    except LedgerError as exc:
        raise VerificationFailed(
            exc.message,
            reason=REASON_PRIVATE_HASH_MISMATCH,
            seq=record.seq,
            expected=exc.details.get("expected"),
            actual=exc.details.get("actual"),
        ) from None
    # (5) The leaf hash is the hash of the entry's envelope (public fields included).
    try:
        computed = leaf_hash(record.envelope(check_private=False))
    except LedgerError as exc:
        raise VerificationFailed(
            f"Entry {record.seq} cannot be hashed: {exc.message}",
            reason="malformed",
            seq=record.seq,
        ) from None
    if not hmac.compare_digest(computed.hex(), record.leaf_hash):
        raise VerificationFailed(
            f"Entry {record.seq}: the leaf hash does not match the entry's fields.",
            reason="leaf_hash_mismatch",
            seq=record.seq,
            expected=record.leaf_hash,
            actual=computed.hex(),
        )
    # (6) The proof is about this entry in the checkpoint's tree.
    proof = _object(data, "proof")
    index, size, hashes = proof.get("leaf_index"), proof.get("tree_size"), proof.get("hashes")
    if index != record.seq or size != checkpoint.tree_size:
        raise VerificationFailed(
            "The proof is for another leaf or tree size than the entry and checkpoint.",
            reason="proof_mismatch",
            expected={"leaf_index": record.seq, "tree_size": checkpoint.tree_size},
            actual={"leaf_index": index, "tree_size": size},
        )
    if not isinstance(hashes, list) or not all(_is_hex_hash(h) for h in hashes):
        raise VerificationFailed("The proof hashes are malformed.", reason="malformed")
    # (7) RFC 9162 §2.1.3.2: the path from the leaf reaches the signed root.
    path = [bytes.fromhex(h) for h in hashes]
    verify_inclusion(record.seq, checkpoint.tree_size, computed, path, checkpoint.root_hash)


def _load(bundle: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(bundle, str):
        try:
            bundle = parse_json(bundle)
        except LedgerError as exc:
            raise VerificationFailed(
                f"The bundle is not strict JSON: {exc.message}", reason="malformed"
            ) from None
    if not isinstance(bundle, Mapping):
        raise VerificationFailed("The bundle must be a JSON object.", reason="malformed")
    if bundle.get("format") != BUNDLE_FORMAT or bundle.get("version") != BUNDLE_VERSION:
        raise VerificationFailed(
            f"Not a {BUNDLE_FORMAT} version {BUNDLE_VERSION} bundle.",
            reason="malformed",
            expected=[BUNDLE_FORMAT, BUNDLE_VERSION],
            actual=[bundle.get("format"), bundle.get("version")],
        )
    return bundle


def _object(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name)
    if not isinstance(value, Mapping):
        raise VerificationFailed(f"The bundle has no {name} object.", reason="malformed")
    return value


def _is_hex_hash(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 2 * HASH_SIZE:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True
