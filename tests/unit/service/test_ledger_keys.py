"""The service's ledger keys: the pseudonym key of a data directory and signing-key rotation.

Real data directories (SQLite file, key files); a failure inside the rotation's transaction is
made by handing the use case a ledger that fails after announcing.
"""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from faceledger import FaceLedger
from faceledger.config import Settings
from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    Checkpoint,
    Ledger,
    LedgerEntry,
    default_log_id,
    key_id,
    load_public_key,
    load_signing_key,
    verify_database,
)
from faceledger.ledger.keys import STAGED_KEY_FILE, retired_key_path, stage_rotation
from faceledger.ledger.pseudonyms import PSEUDONYM_KEY_FILE, load_pseudonym_key
from faceledger.ledger.rotation import KEY_ROTATE_ACTION
from faceledger.service.ledger_actions import LedgerAction
from faceledger.service.ledger_keys import LedgerKeyUseCases
from tests.conftest import ACTOR


@pytest.fixture
def service(settings: Settings) -> Iterator[FaceLedger]:
    made = FaceLedger.initialise(settings, ACTOR.ledger_actor)
    yield made
    made.close()


def _keys_dir(service: FaceLedger) -> Path:
    return service.context.keys_dir


def _signed_by(cp: Checkpoint, key: Ed25519PrivateKey) -> bool:
    try:
        cp.verify_signature(key.public_key())
    except VerificationFailed:
        return False
    return True


def _entries(service: FaceLedger) -> list[LedgerEntry]:
    with service.context.db.read() as session:
        return service.context.ledger.query(session, limit=1000)


def _checkpoint(service: FaceLedger) -> Checkpoint:
    return service.audit.sign_checkpoint(ACTOR)


def test_the_action_names_agree() -> None:
    assert LedgerAction.LEDGER_KEY_ROTATE == KEY_ROTATE_ACTION


def test_init_makes_the_pseudonym_key_and_writes_v3(service: FaceLedger) -> None:
    path = _keys_dir(service) / PSEUDONYM_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    load_pseudonym_key(path)
    entries = _entries(service)
    assert entries and {e.version for e in entries} == {3}
    assert service.context.ledger.pseudonymous


def test_an_older_data_dir_gets_a_pseudonym_key_on_the_next_start(settings: Settings) -> None:
    FaceLedger.initialise(settings, ACTOR.ledger_actor).close()
    (settings.data_dir / "keys" / PSEUDONYM_KEY_FILE).unlink()  # as before envelope version 3
    reopened = FaceLedger(settings)
    try:
        assert (settings.data_dir / "keys" / PSEUDONYM_KEY_FILE).is_file()
        first = load_pseudonym_key(settings.data_dir / "keys" / PSEUDONYM_KEY_FILE)
        _checkpoint(reopened)
    finally:
        reopened.close()
    again = FaceLedger(settings)  # and keeps it
    try:
        assert load_pseudonym_key(settings.data_dir / "keys" / PSEUDONYM_KEY_FILE) == first
    finally:
        again.close()


def test_rotation_through_the_service(service: FaceLedger, settings: Settings) -> None:
    folder = _keys_dir(service)
    first = load_signing_key(folder / PRIVATE_KEY_FILE)
    anchor_pem = (folder / PUBLIC_KEY_FILE).read_text()
    before = _checkpoint(service)
    log_id = service.context.ledger.log_id
    assert log_id == default_log_id(first)
    assert service.ledger_keys.current_key_id() == key_id(first)

    done = service.ledger_keys.rotate(ACTOR)

    new = load_signing_key(folder / PRIVATE_KEY_FILE)
    assert (done.old_key_id, done.new_key_id) == (key_id(first), key_id(new))
    assert done.entry.action == LedgerAction.LEDGER_KEY_ROTATE
    assert done.entry.actor == ACTOR.ledger_actor and done.entry.version == 3
    assert done.checkpoint.tree_size == done.entry.seq + 1
    assert _signed_by(before, first) and _signed_by(done.checkpoint, new)
    assert key_id(load_signing_key(retired_key_path(folder, first))) == key_id(first)
    assert (folder / PUBLIC_KEY_FILE).read_text() == anchor_pem
    assert not (folder / STAGED_KEY_FILE).exists()
    assert service.ledger_keys.current_key_id() == key_id(new)
    assert _signed_by(_checkpoint(service), new)

    service.close()
    restarted = FaceLedger(settings)
    try:
        assert restarted.context.ledger.log_id == log_id  # not default_log_id(new)
        later = _checkpoint(restarted)
        assert later.log_id == log_id and _signed_by(later, new)
        assert key_id(load_public_key(restarted.public_key_path)) == key_id(first)
        anchor = load_public_key(restarted.public_key_path)
        report = verify_database(settings.db_url, anchor)
        assert report.keys == [key_id(first), key_id(new)]
    finally:
        restarted.close()


class _FailingLedger(Ledger):
    """A ledger whose rotation fails once the announcement is written (a crash stand-in)."""

    def rotate_key(
        self, session: Session, new_key: Ed25519PrivateKey, *, actor: str
    ) -> tuple[LedgerEntry, Checkpoint]:
        super().rotate_key(session, new_key, actor=actor)
        raise RuntimeError("the disk filled up")


def test_a_failure_inside_the_rotation_leaves_the_old_key(service: FaceLedger) -> None:
    folder = _keys_dir(service)
    first = load_signing_key(folder / PRIVATE_KEY_FILE)
    size = len(_entries(service))
    ctx = service.context
    failing = _FailingLedger(
        first,
        ctx.ledger.log_id,
        0,
        0,
        pseudonym_key=load_pseudonym_key(folder / PSEUDONYM_KEY_FILE),
    )
    use_case = LedgerKeyUseCases(dataclasses.replace(ctx, ledger=failing), service.access)
    with pytest.raises(RuntimeError, match="disk"):
        use_case.rotate(ACTOR)
    assert key_id(load_signing_key(folder / PRIVATE_KEY_FILE)) == key_id(first)
    assert sorted(p.name for p in folder.iterdir() if "private" in p.name) == [PRIVATE_KEY_FILE]
    assert len(_entries(service)) == size  # the announcement was rolled back
    assert service.ledger_keys.current_key_id() == key_id(first)
    assert _signed_by(_checkpoint(service), first)
    # A rotation after it works.
    assert service.ledger_keys.rotate(ACTOR).old_key_id == key_id(first)


def test_an_interrupted_rotation_is_refused_until_cleared(service: FaceLedger) -> None:
    folder = _keys_dir(service)
    stale = stage_rotation(folder)  # a rotation that died before its announcement
    with pytest.raises(LedgerError, match="already waiting"):
        service.ledger_keys.rotate(ACTOR)
    assert stale.staged_path.exists()  # never removed behind the admin's back
    stale.staged_path.unlink()
    assert service.ledger_keys.rotate(ACTOR).new_key_id != key_id(stale.new_key)


def test_a_crash_after_the_commit_is_finished_at_the_next_start(
    service: FaceLedger, settings: Settings
) -> None:
    folder = _keys_dir(service)
    staged = stage_rotation(folder)
    with service.context.db.transaction() as session:
        service.context.ledger.rotate_key(session, staged.new_key, actor=ACTOR.ledger_actor)
    service.close()  # ... and the process stops before moving the key in
    assert key_id(load_signing_key(folder / PRIVATE_KEY_FILE)) == key_id(staged.old_key)
    restarted = FaceLedger(settings)
    try:
        assert key_id(load_signing_key(folder / PRIVATE_KEY_FILE)) == key_id(staged.new_key)
        assert key_id(load_signing_key(staged.retired_path)) == key_id(staged.old_key)
        assert not staged.staged_path.exists()
        assert _signed_by(_checkpoint(restarted), staged.new_key)
    finally:
        restarted.close()
