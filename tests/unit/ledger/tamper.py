"""Tampering as someone with write access to the database file would: the tests' one way to
rewrite a ledger entry behind the ledger's back."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

from faceledger.ledger import LedgerEntry
from faceledger.ledger.merkle import leaf_hash


def rewrite_payload(
    db_path: Path, entry: LedgerEntry, body: bytes, *, recompute_hashes: bool = True
) -> None:
    """Replace ``entry``'s stored payload with ``body``; with ``recompute_hashes`` also its
    payload hash and leaf hash, as a careful attacker would (only the signed roots then
    disagree), else the payload alone."""
    with closing(sqlite3.connect(db_path)) as conn:
        if not recompute_hashes:
            conn.execute(
                "UPDATE ledger_entries SET payload = ? WHERE seq = ?", (body.decode(), entry.seq)
            )
        else:
            sha = hashlib.sha256(body).hexdigest()
            # The entry's own envelope with the new hash: any version (3 hashes it into
            # private_sha256 with the stored salt).
            envelope = dataclasses.replace(entry, payload_sha256=sha).envelope()
            conn.execute(
                "UPDATE ledger_entries SET payload = ?, payload_sha256 = ?, leaf_hash = ? "
                "WHERE seq = ?",
                (body.decode(), sha, leaf_hash(envelope).hex(), entry.seq),
            )
        conn.commit()
