"""Tiles across a key rotation: the checkpoint note is signed by the key in force, and a
verifier holding only the log's first key follows the announcement in the entry bundles."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.db import Database
from faceledger.errors import VerificationFailed
from faceledger.ledger import Ledger, key_id
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.envelope import parse_ts
from faceledger.ledger.note import checkpoint_note, parse_checkpoint_note, read_checkpoint_note
from faceledger.ledger.tiles_db import export_tiles
from faceledger.ledger.tiles_verify import verify_tiles

from .conftest import AppendMany


def _rotate(db: Database, ledger: Ledger) -> Ed25519PrivateKey:
    new_key = Ed25519PrivateKey.generate()
    with db.transaction() as session:
        ledger.rotate_key(session, new_key, actor="local:admin")
    return new_key


def test_tiles_after_a_rotation_verify_with_the_first_key(
    tmp_path: Path,
    db: Database,
    ledger: Ledger,
    append_many: AppendMany,
    public_key: Ed25519PublicKey,
) -> None:
    append_many(300, checkpoint=True)
    new_key = _rotate(db, ledger)
    append_many(20, checkpoint=True, start=300)
    with db.engine.connect() as conn:
        export_tiles(conn, tmp_path / "tiles", public_key)
    report = verify_tiles(tmp_path / "tiles", public_key)
    assert report.tree_size == 321  # 300, the announcement, 20
    assert report.keys == (key_id(public_key), key_id(new_key))
    # The note is signed by the new key, not the first one.
    assert "after 1 key rotation" in report.summary()


def test_a_checkpoint_still_signed_by_the_old_key_after_a_rotation_is_refused(
    tmp_path: Path,
    db: Database,
    ledger: Ledger,
    append_many: AppendMany,
    public_key: Ed25519PublicKey,
    signing_key: Ed25519PrivateKey,
) -> None:
    append_many(10, checkpoint=True)
    _rotate(db, ledger)
    with db.engine.connect() as conn:
        export_tiles(conn, tmp_path / "tiles", public_key)
    # Re-sign the published checkpoint with the retired key: its signature line no longer
    # matches the key the log handed over to.
    path = tmp_path / "tiles" / "checkpoint"
    unsigned, _ = read_checkpoint_note(path.read_bytes())
    old_signed = sign_checkpoint(
        signing_key,
        number=0,
        log_id=unsigned.log_id,
        tree_size=unsigned.tree_size,
        root_hash=unsigned.root_hash,
        timestamp=parse_ts(unsigned.timestamp_text),
    )
    path.write_text(checkpoint_note(old_signed, public_key))
    assert parse_checkpoint_note(path.read_bytes(), public_key).tree_size == unsigned.tree_size
    with pytest.raises(VerificationFailed) as caught:
        verify_tiles(tmp_path / "tiles", public_key)
    assert caught.value.details["reason"] == "bad_signature"
