"""Backups and the key-encryption key (issue 13, item 3): a KEK file goes into the backup sealed
under the passphrase and comes back 0600; a KEK from the environment is not in the backup, the
manifest says so, and restore refuses, changing nothing, until the same KEK is given."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from faceledger import FaceLedger
from faceledger.config import Settings
from faceledger.errors import ConfigError
from faceledger.gallery.models import Template
from faceledger.gallery.sources import from_folder_tree
from faceledger.service.backup import backup, restore
from faceledger.service.backup_manifest import open_keys, read_manifest
from tests.backends import database_url, on_postgresql
from tests.conftest import ACTOR, GALLERY, make_settings
from tests.fakes import fake_pipeline

PASSPHRASE = "a long backup passphrase"


def _settings(root: Path, name: str, fresh_db: bool = False, **extra: object) -> Settings:
    if fresh_db and on_postgresql():
        extra["database_url"] = database_url(root, name, migrated=False)
    return make_settings(root / name, **extra)


def _unit(settings: Settings, faces_dir: Path) -> None:
    FaceLedger.initialise(settings, ACTOR.ledger_actor).close()
    service = FaceLedger(settings, pipeline=fake_pipeline())
    try:
        service.galleries.enroll(ACTOR, GALLERY, list(from_folder_tree(faces_dir / "people"))[:3])
        service.audit.sign_checkpoint(ACTOR)
        backup(settings, settings.data_dir.parent / "backup", PASSPHRASE)
    finally:
        service.close()


def _templates(settings: Settings) -> int:
    service = FaceLedger(settings, pipeline=fake_pipeline())
    try:
        with service.context.db.read() as session:
            return len(session.scalars(select(Template.embedding)).all())  # opens every one
    finally:
        service.close()


def test_the_kek_file_is_in_the_backup_sealed_and_restored_0600(
    faces_dir: Path, tmp_path: Path
) -> None:
    live = _settings(tmp_path, "live")
    _unit(live, faces_dir)
    kek = (live.data_dir / "keys" / "data-kek").read_bytes()
    manifest, _ = read_manifest(tmp_path / "backup")
    assert manifest.kek == "included" and [k["id"] for k in manifest.data_keys] == [1]
    sealed = (tmp_path / "backup" / "keys.sealed").read_bytes()
    assert kek.strip() not in sealed
    files, _ = open_keys(sealed, PASSPHRASE)
    assert files["data-kek"] == kek
    restored = _settings(tmp_path, "restored", fresh_db=True)
    restore(restored, tmp_path / "backup", PASSPHRASE)
    path = restored.data_dir / "keys" / "data-kek"
    assert path.read_bytes() == kek and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _templates(restored) == 3


def test_an_environment_kek_is_not_in_the_backup_and_restore_needs_it(
    faces_dir: Path, tmp_path: Path
) -> None:
    value = base64.b64encode(os.urandom(32)).decode()
    live = _settings(tmp_path, "live", data_kek=value)
    _unit(live, faces_dir)
    assert not (live.data_dir / "keys" / "data-kek").exists()  # no file made: the env holds it
    manifest, _ = read_manifest(tmp_path / "backup")
    assert manifest.kek == "not included: it comes from the environment (FACELEDGER_DATA_KEK)"
    target = _settings(tmp_path, "restored", fresh_db=True)
    for wrong in ({}, {"data_kek": base64.b64encode(os.urandom(32)).decode()}):
        settings = target.replace(**wrong)
        with pytest.raises(ConfigError) as refused:
            restore(settings, tmp_path / "backup", PASSPHRASE)
        assert "Nothing was changed" in refused.value.message
        assert "FACELEDGER_DATA_KEK" in refused.value.message
        assert not (target.data_dir / "faceledger.db").exists()
        assert not (target.data_dir / "keys").exists()
    restored = target.replace(data_kek=value)
    restore(restored, tmp_path / "backup", PASSPHRASE)
    assert _templates(restored) == 3


def test_a_fake_kms_hook_wraps_the_data_keys(faces_dir: Path, tmp_path: Path) -> None:
    from tests.unit.at_rest.test_sealing import fake_kms  # the FAKE KMS script (not a KMS)

    live = _settings(tmp_path, "live", data_kek_command=fake_kms(tmp_path))
    _unit(live, faces_dir)
    assert not (live.data_dir / "keys" / "data-kek").exists()
    assert _templates(live) == 3
    manifest, _ = read_manifest(tmp_path / "backup")
    assert manifest.kek.startswith("not included: a KMS hook")
    assert base64.b64decode(manifest.data_keys[0]["wrapped"]).startswith(b"FAKEKMS")
    broken = live.replace(data_kek_command=f"{fake_kms(tmp_path)} --broken")
    with pytest.raises(ConfigError, match="refused to unwrap a data key"):
        FaceLedger(broken, pipeline=fake_pipeline())
