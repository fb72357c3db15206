"""Tampering as someone with write access to the database would: the tests' one way to rewrite
a ledger entry behind the ledger's back (raw SQL through tests/rawsql.py, on either backend)."""

from __future__ import annotations

import dataclasses
import hashlib

from faceledger.ledger import LedgerEntry
from faceledger.ledger.merkle import leaf_hash
from tests import rawsql


def rewrite_payload(
    db_url: str, entry: LedgerEntry, body: bytes, *, recompute_hashes: bool = True
) -> None:
    """Replace ``entry``'s stored payload with ``body`` in the database at ``db_url``; with
    ``recompute_hashes`` also its payload hash and leaf hash, as a careful attacker would (only
    the signed roots then disagree), else the payload alone."""
    if not recompute_hashes:
        changed = rawsql.execute(
            db_url,
            "UPDATE ledger_entries SET payload = :payload WHERE seq = :seq",
            payload=body.decode(),
            seq=entry.seq,
        )
    else:
        sha = hashlib.sha256(body).hexdigest()
        # The entry's own envelope with the new hash: any version (3 hashes it into
        # private_sha256 with the stored salt).
        envelope = dataclasses.replace(entry, payload_sha256=sha).envelope()
        changed = rawsql.execute(
            db_url,
            "UPDATE ledger_entries SET payload = :payload, payload_sha256 = :sha, "
            "leaf_hash = :leaf WHERE seq = :seq",
            payload=body.decode(),
            sha=sha,
            leaf=leaf_hash(envelope).hex(),
            seq=entry.seq,
        )
    assert changed == 1, f"no ledger entry {entry.seq} to rewrite"
