"""Backup and restore (issue 13, item 8): an online snapshot with sealed keys and no index
files, restored into a fresh data directory whose ledger verifies against the backup's trusted
checkpoint; tampered backups, a wrong passphrase and a rollback are refused with nothing
changed. Real SQLite or PostgreSQL (``--db postgresql``: pg_dump / pg_restore), real service;
the face pipeline is the FAKE one of tests/fakes.py (these tests are about files and the
ledger, not faces)."""

from __future__ import annotations

import json
import os
import stat
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from faceledger import FaceLedger
from faceledger.cli import app
from faceledger.config import Settings
from faceledger.errors import Conflict, InvalidInput, VerificationFailed
from faceledger.gallery.models import Template
from faceledger.gallery.sources import from_folder_tree
from faceledger.governance.policy import UnsafeProfileWarning
from faceledger.ledger import Checkpoint, load_public_key, verify_database
from faceledger.ledger.models import EntryRow
from faceledger.service.backup import backup, restore
from faceledger.service.backup_manifest import read_manifest
from tests.backends import copy_data_dir, database_url, on_postgresql
from tests.conftest import ACTOR, GALLERY, make_settings
from tests.fakes import fake_pipeline

PASSPHRASE = "a long backup passphrase"
ENROLLED = 12
PROBE = ("obama", "obama1.jpg")
runner = CliRunner()
# The lab profile (ad hoc searches allowed) warns on every load; it is meant here.
pytestmark = pytest.mark.filterwarnings("ignore::faceledger.governance.policy.UnsafeProfileWarning")


@contextmanager
def lab() -> Iterator[None]:
    """The lab profile (ad hoc searches allowed) warns on every load; it is meant here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafeProfileWarning)
        yield


@pytest.fixture(scope="module")
def lab_template(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab data directory with a few photos enrolled (FAKE pipeline) and one search: a
    gallery, templates and a ledger of some entries."""
    data_dir = tmp_path_factory.mktemp("backup") / "data"
    settings = make_settings(data_dir, policy_profile="lab")
    with lab():
        FaceLedger.initialise(settings, ACTOR.ledger_actor).close()
        service = FaceLedger(settings, pipeline=fake_pipeline())
        try:
            items = list(from_folder_tree(faces_dir / "people"))[:ENROLLED]
            service.galleries.enroll(ACTOR, GALLERY, items)
            service.searches.search(ACTOR, faces_dir / "people" / PROBE[0] / PROBE[1], [GALLERY])
        finally:
            service.close()
    return data_dir


@pytest.fixture
def live(lab_template: Path, tmp_path: Path) -> Settings:
    """Settings of a fresh copy of the lab data directory."""
    return make_settings(copy_data_dir(lab_template, tmp_path / "live"), policy_profile="lab")


def fresh_settings(tmp_path: Path, name: str = "restored") -> Settings:
    """Settings of a new, empty data directory (on PostgreSQL: an empty, unmigrated database)."""
    overrides: dict[str, Any] = {}
    if on_postgresql():
        overrides["database_url"] = database_url(tmp_path, name, migrated=False)
    return make_settings(tmp_path / name, policy_profile="lab", **overrides)


def open_service(settings: Settings) -> FaceLedger:
    with lab():
        return FaceLedger(settings, pipeline=fake_pipeline())


def take_backup(settings: Settings, target: Path) -> None:
    """Sign a checkpoint (as the CLI does) and back up, with the service open."""
    service = open_service(settings)
    try:
        service.audit.sign_checkpoint(ACTOR)
        backup(settings, target, PASSPHRASE)
    finally:
        service.close()


def counts(settings: Settings) -> tuple[int, int]:
    """(ledger entries, templates) of a data directory's database."""
    service = open_service(settings)
    try:
        with service.context.db.read() as session:
            entries = session.scalar(select(func.count()).select_from(EntryRow))
            templates = session.scalar(select(func.count()).select_from(Template))
        return int(entries or 0), int(templates or 0)
    finally:
        service.close()


def search(settings: Settings, faces_dir: Path) -> int:
    """Run an ad hoc search; return how many candidates it found."""
    service = open_service(settings)
    try:
        with lab():
            result = service.searches.search(
                ACTOR, faces_dir / "people" / PROBE[0] / PROBE[1], [GALLERY]
            )
        return sum(len(face.candidates) for face in result.faces)
    finally:
        service.close()


def test_a_backup_holds_no_plaintext_key_and_no_index(live: Settings, tmp_path: Path) -> None:
    assert any((live.data_dir / "index").rglob("*")), "the template should have index files"
    target = tmp_path / "backup"
    take_backup(live, target)

    names = sorted(p.name for p in target.iterdir())
    assert names == [
        "checkpoint.json",
        "database",
        "faceledger.toml",
        "keys.sealed",
        "ledger_public_key.pem",
        "manifest.json",
    ]
    private = (live.data_dir / "keys" / "ledger_private_key.pem").read_bytes()
    secret = b"".join(private.splitlines()[1:-1])  # the base64 body of the PEM
    for path in target.iterdir():
        data = path.read_bytes()
        assert secret not in data and b"PRIVATE KEY" not in data, path.name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    assert "database_url" not in (target / "faceledger.toml").read_text(encoding="utf-8")
    manifest, _ = read_manifest(target)
    assert manifest.dialect == ("postgresql" if on_postgresql() else "sqlite")
    entries, _ = counts(live)
    assert manifest.ledger.tree_size == entries
    assert manifest.ledger.checkpoint_size == entries
    # Nothing half-written is left beside the target.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "live"]


def test_a_restored_copy_verifies_against_the_trusted_checkpoint_and_searches(
    live: Settings, tmp_path: Path, faces_dir: Path
) -> None:
    target = tmp_path / "backup"
    service = open_service(live)
    try:
        service.audit.sign_checkpoint(ACTOR)
        backup(live, target, PASSPHRASE)
        # The service keeps writing after the snapshot: the backup stays as it was.
        with lab():
            service.searches.search(ACTOR, faces_dir / "people" / PROBE[0] / PROBE[1], [GALLERY])
    finally:
        service.close()
    manifest, _ = read_manifest(target)
    before, templates = counts(live)
    assert before > manifest.ledger.tree_size

    restored = fresh_settings(tmp_path)
    report = restore(restored, target, PASSPHRASE)

    assert report.replaced_size == 0
    assert report.verified.tree_size == manifest.ledger.tree_size
    assert report.verified.root_hash == manifest.ledger.root_hash
    keys = restored.data_dir / "keys"
    for key_file in keys.iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600, key_file.name
    assert (keys / "ledger_private_key.pem").read_bytes() == (
        live.data_dir / "keys" / "ledger_private_key.pem"
    ).read_bytes()
    trusted = Checkpoint.from_json((target / "checkpoint.json").read_text(encoding="utf-8"))
    checked = verify_database(
        restored.db_url, load_public_key(keys / "ledger_public_key.pem"), trusted
    )
    assert checked.tree_size == manifest.ledger.tree_size
    assert checked.trusted_size == trusted.tree_size
    # The same through the auditor's command.
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(restored.data_dir),
            "ledger",
            "verify",
            "--database-url",
            restored.db_url,
            "--trusted-checkpoint",
            str(target / "checkpoint.json"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tree_size"] == manifest.ledger.tree_size

    assert not (restored.data_dir / "index").exists()
    assert counts(restored) == (manifest.ledger.tree_size, templates)
    assert search(restored, faces_dir) > 0  # the index is rebuilt from the restored templates
    assert any((restored.data_dir / "index").rglob("*"))


def test_backup_and_restore_through_the_cli(live: Settings, tmp_path: Path) -> None:
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    target = tmp_path / "backup"
    with lab():
        made = runner.invoke(
            app,
            ["-d", str(live.data_dir), "backup", str(target), "--passphrase-file", str(secret)],
        )
    assert made.exit_code == 0, made.output
    assert "backed up" in made.stdout
    restored = fresh_settings(tmp_path)
    if on_postgresql():  # the CLI finds the new database through the directory's config
        restored.data_dir.mkdir()
        config = f'database_url = "{restored.database_url}"\n'
        (restored.data_dir / "faceledger.toml").write_text(config, encoding="utf-8")
    with lab():
        done = runner.invoke(
            app,
            ["-d", str(restored.data_dir), "restore", str(target), "--json"],
            env={"FACELEDGER_BACKUP_PASSPHRASE": PASSPHRASE},
        )
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    entries, _ = counts(live)
    assert shown["verified"]["tree_size"] == entries  # the CLI signed a checkpoint first
    assert shown["verified"]["trusted_size"] == entries
    assert counts(restored)[0] == entries


def test_the_cli_refuses_a_backup_without_a_passphrase(live: Settings, tmp_path: Path) -> None:
    before = counts(live)
    result = runner.invoke(
        app, ["-d", str(live.data_dir), "backup", str(tmp_path / "backup")], env={}
    )
    assert result.exit_code == 2
    assert "FACELEDGER_BACKUP_PASSPHRASE" in result.stderr
    assert not (tmp_path / "backup").exists()
    assert counts(live) == before


def test_a_non_empty_target_is_refused(live: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backup"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InvalidInput, match="is not empty"):
        backup(live, target, PASSPHRASE)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "live"]


def test_a_tampered_database_is_refused(live: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backup"
    take_backup(live, target)
    database = target / "database"
    data = bytearray(database.read_bytes())
    data[len(data) // 2] ^= 0x01
    database.write_bytes(bytes(data))
    restored = fresh_settings(tmp_path)

    with pytest.raises(VerificationFailed, match="database was altered") as caught:
        restore(restored, target, PASSPHRASE)

    assert caught.value.details["file"] == "database"
    assert not (restored.data_dir / "keys").exists()
    assert not (restored.data_dir / "faceledger.db").exists()


def test_a_tampered_manifest_is_refused(live: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backup"
    take_backup(live, target)
    path = target / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["ledger"]["tree_size"] += 1000  # pretend the backup is newer than it is
    path.write_text(json.dumps(manifest), encoding="utf-8")
    restored = fresh_settings(tmp_path)

    with pytest.raises(VerificationFailed, match=r"manifest\.json was altered"):
        restore(restored, target, PASSPHRASE)

    assert not (restored.data_dir / "keys").exists()
    assert not (restored.data_dir / "faceledger.db").exists()


def test_a_wrong_passphrase_is_refused(live: Settings, tmp_path: Path) -> None:
    target = tmp_path / "backup"
    take_backup(live, target)
    restored = fresh_settings(tmp_path)

    with pytest.raises(InvalidInput, match="passphrase does not open"):
        restore(restored, target, "not the passphrase")

    assert not (restored.data_dir / "keys").exists()
    assert not (restored.data_dir / "faceledger.db").exists()


def test_an_older_backup_over_a_newer_ledger_is_refused_naming_the_rollback(
    live: Settings, tmp_path: Path, faces_dir: Path
) -> None:
    target = tmp_path / "backup"
    take_backup(live, target)
    manifest, _ = read_manifest(target)
    search(live, faces_dir)
    search(live, faces_dir)
    before = counts(live)
    newer = before[0] - manifest.ledger.tree_size
    assert newer > 0
    key_before = (live.data_dir / "keys" / "ledger_private_key.pem").read_bytes()

    with pytest.raises(Conflict) as caught:
        restore(live, target, PASSPHRASE)

    assert caught.value.message.startswith(
        f"The backup's ledger has {manifest.ledger.tree_size} entries, the database here has "
        f"{before[0]}: restoring would roll back {newer} entries."
    )
    assert caught.value.details["rollback"] == newer
    assert counts(live) == before
    assert (live.data_dir / "keys" / "ledger_private_key.pem").read_bytes() == key_before
    assert any((live.data_dir / "index").rglob("*")), "index files of the refused target stay"


@pytest.mark.skipif(on_postgresql(), reason="a PostgreSQL backup is restored into an empty db")
def test_a_newer_backup_over_its_own_older_ledger_is_restored(
    live: Settings, tmp_path: Path, faces_dir: Path
) -> None:
    older = copy_data_dir(live.data_dir, tmp_path / "older")
    search(live, faces_dir)
    target = tmp_path / "backup"
    take_backup(live, target)
    older_settings = make_settings(older, policy_profile="lab")
    before = counts(older_settings)[0]

    report = restore(older_settings, target, PASSPHRASE)

    assert report.replaced_size == before
    assert counts(older_settings) == counts(live)
    assert not Path(f"{older_settings.db_url.removeprefix('sqlite:///')}-wal").exists() or (
        os.path.getsize(f"{older_settings.db_url.removeprefix('sqlite:///')}-wal") == 0
    )
