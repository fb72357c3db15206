"""Signing-key rotation: the key files' dance, the announcing entry and who signs afterwards."""

from __future__ import annotations

import base64
import io
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from faceledger.db import Database
from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    Checkpoint,
    Ledger,
    LedgerKeys,
    key_id,
    load_public_key,
    load_signing_key,
    public_key_pem,
    verify_database,
    verify_export,
)
from faceledger.ledger.keys import (
    STAGED_KEY_FILE,
    complete_rotation,
    discard_rotation,
    recover_rotation,
    retired_key_path,
    rotate_keys,
    signing_keys,
    stage_rotation,
)
from faceledger.ledger.rotation import (
    KEY_OBJECT_TYPE,
    KEY_ROTATE_ACTION,
    announcement_message,
    raw_key_b64,
    rotation_public,
    verify_rotation,
)

from .conftest import FakeClock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _same_key(a: Ed25519PrivateKey, b: Ed25519PrivateKey) -> bool:
    return key_id(a) == key_id(b)


# -- the key files -----------------------------------------------------------------------------


def test_rotate_keys_moves_the_files(keys: LedgerKeys) -> None:
    folder = keys.private_key_path.parent
    anchor_pem = keys.public_key_path.read_text()
    first = load_signing_key(keys.private_key_path)
    old, new = rotate_keys(folder)
    assert _same_key(old, first) and not _same_key(new, first)
    assert _same_key(load_signing_key(keys.private_key_path), new)
    retired = retired_key_path(folder, old)
    assert retired.name == f"ledger_private_key.{key_id(old)}.retired.pem"
    assert _same_key(load_signing_key(retired), old)
    assert _mode(retired) == _mode(keys.private_key_path) == 0o600
    assert keys.public_key_path.read_text() == anchor_pem  # the anchor stays the first key
    assert not (folder / STAGED_KEY_FILE).exists()
    # Rotations chain, each retiring its predecessor.
    older, newest = rotate_keys(folder)
    assert _same_key(older, new)
    assert _same_key(load_signing_key(retired_key_path(folder, new)), new)
    assert _same_key(load_signing_key(keys.private_key_path), newest)


def test_a_staged_key_is_not_in_force_and_can_be_discarded(keys: LedgerKeys) -> None:
    folder = keys.private_key_path.parent
    first = load_signing_key(keys.private_key_path)
    staged = stage_rotation(folder)
    assert _same_key(staged.old_key, first)
    assert _mode(staged.staged_path) == 0o600
    assert _same_key(load_signing_key(keys.private_key_path), first)
    assert {key_id(k) for k in signing_keys(folder)} == {key_id(first), key_id(staged.new_key)}
    with pytest.raises(LedgerError, match="already waiting"):
        stage_rotation(folder)  # one rotation at a time
    discard_rotation(staged)
    assert not staged.staged_path.exists() and not staged.retired_path.exists()
    assert _same_key(load_signing_key(keys.private_key_path), first)
    assert [key_id(k) for k in signing_keys(folder)] == [key_id(first)]


def test_completing_again_after_a_crash_between_the_steps(keys: LedgerKeys) -> None:
    folder = keys.private_key_path.parent
    staged = stage_rotation(folder)
    os.link(keys.private_key_path, staged.retired_path)  # step 2 stopped after the link
    complete_rotation(staged)
    assert _same_key(load_signing_key(keys.private_key_path), staged.new_key)
    assert _same_key(load_signing_key(staged.retired_path), staged.old_key)


def test_recover_rotation_finishes_only_an_announced_key(keys: LedgerKeys) -> None:
    folder = keys.private_key_path.parent
    staged = stage_rotation(folder)
    assert not recover_rotation(folder, None)  # never rotated: left alone
    assert not recover_rotation(folder, "0123456789abcdef")  # another key announced
    assert staged.staged_path.exists()
    assert _same_key(load_signing_key(keys.private_key_path), staged.old_key)
    assert recover_rotation(folder, key_id(staged.new_key))
    assert _same_key(load_signing_key(keys.private_key_path), staged.new_key)
    assert _same_key(load_signing_key(staged.retired_path), staged.old_key)
    assert not recover_rotation(folder, key_id(staged.new_key))  # nothing left to do


# -- the announcement --------------------------------------------------------------------------


def test_announcement_fields_and_their_check() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    public = rotation_public(old, new, "log-a")
    raw = base64.b64decode(public["new_key"])
    assert len(raw) == 32 and public["new_key"] == raw_key_b64(new)
    assert (public["new_key_id"], public["old_key_id"]) == (key_id(new), key_id(old))
    message = b"faceledger key rotation v1\nlog-a\n" + public["new_key"].encode() + b"\n"
    assert announcement_message("log-a", public["new_key"]) == message
    old.public_key().verify(base64.b64decode(public["announcement"]), message)
    got = verify_rotation(public, old.public_key(), "log-a", seq=4)
    assert key_id(got) == key_id(new)


@pytest.mark.parametrize(
    "tamper",
    ["other_log", "wrong_in_force", "new_key_swapped", "bad_base64", "missing", "new_key_id"],
)
def test_bad_announcements_are_refused(tamper: str) -> None:
    old, new, other = (Ed25519PrivateKey.generate() for _ in range(3))
    public: dict[str, str] = rotation_public(old, new, "log-a")
    in_force, log_id = old.public_key(), "log-a"
    if tamper == "other_log":
        log_id = "log-b"
    elif tamper == "wrong_in_force":
        in_force = other.public_key()
    elif tamper == "new_key_swapped":
        public["new_key"], public["new_key_id"] = raw_key_b64(other), key_id(other)
    elif tamper == "bad_base64":
        public["announcement"] = "not base64!"
    elif tamper == "missing":
        del public["announcement"]
    else:
        public["new_key_id"] = key_id(other)
    with pytest.raises(VerificationFailed) as caught:
        verify_rotation(public, in_force, log_id, seq=9)
    assert caught.value.details["reason"] == "bad_rotation"
    assert caught.value.details["seq"] == 9


# -- the ledger --------------------------------------------------------------------------------


def _append(db: Database, ledger: Ledger, n: int, *, checkpoint: bool = False) -> None:
    with db.transaction() as session:
        for i in range(n):
            ledger.append(
                session, actor="a", action="x.y", object_type="t", object_id=str(i), payload={}
            )
        if checkpoint:
            ledger.checkpoint(session)


def _checkpoints(db: Database, ledger: Ledger) -> list[Checkpoint]:
    with db.read() as session:
        return ledger.checkpoints(session)


def _signed_by(cp: Checkpoint, key: Ed25519PrivateKey) -> bool:
    try:
        cp.verify_signature(key.public_key())
    except VerificationFailed:
        return False
    return True


def test_rotate_key_announces_and_signs_with_the_new_key(
    db: Database, ledger: Ledger, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    _append(db, ledger, 3, checkpoint=True)
    new_key = Ed25519PrivateKey.generate()
    with db.transaction() as session:
        entry, cp = ledger.rotate_key(session, new_key, actor="local:admin")
        assert ledger.signing_key_id(session) == key_id(new_key)
    assert (entry.seq, entry.action, entry.object_type) == (3, KEY_ROTATE_ACTION, KEY_OBJECT_TYPE)
    assert entry.object_id == key_id(new_key)
    verify_rotation(entry.public, signing_key.public_key(), "test-log", seq=entry.seq)
    assert cp.tree_size == 4 and cp.log_id == "test-log" and _signed_by(cp, new_key)
    clock.advance(seconds=5)
    _append(db, ledger, 2, checkpoint=True)
    signed = _checkpoints(db, ledger)
    assert [_signed_by(c, signing_key) for c in signed] == [True, False, False]
    assert [_signed_by(c, new_key) for c in signed] == [False, True, True]
    assert {c.log_id for c in signed} == {"test-log"}  # the log id does not change
    assert key_id(ledger.public_key or new_key.public_key()) == key_id(new_key)


def test_an_automatic_checkpoint_during_the_rotation_is_the_new_keys(
    db: Database, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    ledger = Ledger(signing_key, "test-log", 2, 0, clock=clock)  # one every 2 entries
    _append(db, ledger, 1)
    new_key = Ed25519PrivateKey.generate()
    with db.transaction() as session:
        entry, cp = ledger.rotate_key(session, new_key, actor="local:admin")
    assert cp.tree_size == entry.seq + 1 == 2 and _signed_by(cp, new_key)
    assert len(_checkpoints(db, ledger)) == 1  # not signed twice


def test_a_rolled_back_rotation_leaves_the_old_key_in_force(
    db: Database, ledger: Ledger, signing_key: Ed25519PrivateKey
) -> None:
    _append(db, ledger, 2, checkpoint=True)
    with pytest.raises(RuntimeError), db.transaction() as session:
        ledger.rotate_key(session, Ed25519PrivateKey.generate(), actor="local:admin")
        raise RuntimeError("the transaction fails after the announcement")
    with db.read() as session:
        assert ledger.tree_size(session) == 2
        assert ledger.signing_key_id(session) == key_id(signing_key)
    _append(db, ledger, 1, checkpoint=True)
    assert all(_signed_by(c, signing_key) for c in _checkpoints(db, ledger))


def test_rotating_to_the_key_in_force_is_refused(
    db: Database, ledger: Ledger, signing_key: Ed25519PrivateKey
) -> None:
    _append(db, ledger, 1)
    with pytest.raises(LedgerError, match="already signs"), db.transaction() as session:
        ledger.rotate_key(session, signing_key, actor="local:admin")
    with pytest.raises(LedgerError, match="no signing key"), db.transaction() as session:
        Ledger(None, "test-log").rotate_key(session, signing_key, actor="local:admin")


def test_another_process_picks_up_the_rotated_key(
    db: Database, keys: LedgerKeys, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    folder = keys.private_key_path.parent
    rotating = Ledger(signing_key, "test-log", 0, 0, clock=clock)
    # Started before the rotation: it holds only the old key, and can reload from the folder.
    other = Ledger(
        signing_key, "test-log", 0, 0, clock=clock, key_loader=lambda: signing_keys(folder)
    )
    stale = Ledger(signing_key, "test-log", 0, 0, clock=clock)
    _append(db, rotating, 1)
    staged = stage_rotation(folder)
    with db.transaction() as session:
        rotating.rotate_key(session, staged.new_key, actor="local:admin")
    # Before the files move, the staged key is found; after, the key in force.
    _append(db, other, 1, checkpoint=True)
    complete_rotation(staged)
    _append(db, other, 1, checkpoint=True)
    assert [_signed_by(c, staged.new_key) for c in _checkpoints(db, other)] == [True] * 3
    with pytest.raises(LedgerError, match="does not hold that key") as caught:
        _append(db, stale, 1, checkpoint=True)
    assert caught.value.details["key_id"] == key_id(staged.new_key)
    # An automatic checkpoint waits instead of failing the write.
    auto = Ledger(signing_key, "test-log", 1, 0, clock=clock)
    _append(db, auto, 1)
    assert len(_checkpoints(db, auto)) == 3


def test_the_log_id_survives_a_rotation(
    db: Database, keys: LedgerKeys, signing_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    folder = keys.private_key_path.parent
    first = Ledger(signing_key, "", 0, 0, clock=clock)  # the default log id: the first key's
    _append(db, first, 1, checkpoint=True)
    staged = stage_rotation(folder)
    with db.transaction() as session:
        first.rotate_key(session, staged.new_key, actor="local:admin")
    complete_rotation(staged)
    # What a restarted service does: the stored log id, else the anchor's; not the new key's.
    with db.read() as session:
        stored = Ledger.stored_log_id(session)
    anchor = load_public_key(folder / PUBLIC_KEY_FILE)
    assert stored == first.log_id == f"faceledger/{key_id(anchor)}"
    assert Ledger(staged.new_key, "", 0, 0).log_id != stored  # why it must be passed
    restarted = Ledger(load_signing_key(folder / PRIVATE_KEY_FILE), stored, 0, 0, clock=clock)
    _append(db, restarted, 1, checkpoint=True)
    assert {c.log_id for c in _checkpoints(db, restarted)} == {stored}
    with db.read() as session:
        assert restarted.signing_key_id(session) == key_id(staged.new_key)


@pytest.mark.parametrize("pseudonymous", [False, True], ids=["v1", "v3"])
def test_a_rotated_log_verifies_from_the_first_key(
    db: Database,
    signing_key: Ed25519PrivateKey,
    public_key: Ed25519PublicKey,
    clock: FakeClock,
    db_url: str,
    pseudonymous: bool,
) -> None:
    pseudonym_key = bytes(32) if pseudonymous else None
    ledger = Ledger(signing_key, "test-log", 0, 0, clock=clock, pseudonym_key=pseudonym_key)
    _append(db, ledger, 2, checkpoint=True)
    keys = [Ed25519PrivateKey.generate() for _ in range(2)]
    for key in keys:
        with db.transaction() as session:
            ledger.rotate_key(session, key, actor="local:admin")
        _append(db, ledger, 1, checkpoint=True)
    chain = [key_id(signing_key), *(key_id(k) for k in keys)]
    for include_payloads in (False, True):
        out = io.StringIO()
        with db.read() as session:
            ledger.export(session, out, include_payloads=include_payloads)
        report = verify_export(io.StringIO(out.getvalue()), public_key)
        assert report.keys == chain and report.checkpoints == 5
    assert verify_database(db_url, public_key).keys == chain
    # Only the first key verifies it: the auditor never needs the later ones in advance.
    with pytest.raises(VerificationFailed):
        verify_database(db_url, keys[0].public_key())
    assert public_key_pem(public_key) == public_key_pem(signing_key)
