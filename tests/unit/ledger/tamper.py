"""Tampering as someone with write access to the database file would: the tests' one way to
rewrite a ledger entry behind the ledger's back."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

from faceledger.ledger import LedgerEntry
from faceledger.ledger.envelope import envelope_bytes, format_ts
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
            envelope = envelope_bytes(
                seq=entry.seq,
                ts=format_ts(entry.ts),
                actor=entry.actor,
                action=entry.action,
                object_type=entry.object_type,
                object_id=entry.object_id,
                payload_sha256=sha,
                public=entry.public,
            )
            conn.execute(
                "UPDATE ledger_entries SET payload = ?, payload_sha256 = ?, leaf_hash = ? "
                "WHERE seq = ?",
                (body.decode(), sha, leaf_hash(envelope).hex(), entry.seq),
            )
        conn.commit()
