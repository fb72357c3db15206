"""Tiles from a real ledger in the suite's database: what is read for serving and written to a
directory equals the tree the verifiers rebuild, re-exports only add, and nothing is written
over another log's or a different history's tiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import update

from faceledger.db import Database
from faceledger.errors import LedgerError, NotFound
from faceledger.ledger import Ledger
from faceledger.ledger.note import parse_checkpoint_note
from faceledger.ledger.tables import entries
from faceledger.ledger.tiles import Tile, TileTree, bundles_for_size, decode_bundle, tiles_for_size
from faceledger.ledger.tiles_db import (
    TilesExport,
    export_database_tiles,
    export_tiles,
    latest_signed_checkpoint,
    read_bundle,
    read_bundles,
    read_checkpoint_note,
    read_hash_tile,
)
from faceledger.ledger.tiles_verify import verify_tiles
from faceledger.ledger.verify import verify_database
from tests import rawsql
from tests.backends import database_url
from tests.unit.ledger.conftest import AppendMany


def _export(db: Database, directory: Path, key: Ed25519PublicKey) -> TilesExport:
    with db.engine.connect() as conn, conn.begin():
        return export_tiles(conn, directory, key)


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _expected_paths(size: int) -> set[str]:
    return {"checkpoint"} | {t.path for t in tiles_for_size(size) + bundles_for_size(size)}


def test_nothing_is_exported_before_a_checkpoint(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    append_many(5)
    with pytest.raises(NotFound):
        _export(db, tmp_path / "tiles", public_key)
    assert not (tmp_path / "tiles").exists()


def test_the_exported_tree_is_the_verified_ledger(
    db: Database,
    db_url: str,
    append_many: AppendMany,
    public_key: Ed25519PublicKey,
    tmp_path: Path,
) -> None:
    append_many(300, checkpoint=True)
    result = _export(db, tmp_path / "tiles", public_key)
    assert (result.tree_size, result.checkpoint, result.unchanged) == (300, 0, 0)
    assert result.written == len(_expected_paths(300)) - 1  # every tile and bundle
    assert set(_files(tmp_path / "tiles")) == _expected_paths(300)
    tiles = verify_tiles(tmp_path / "tiles", public_key)
    database = verify_database(db_url, public_key)
    assert (tiles.tree_size, tiles.root_hash) == (database.tree_size, database.root_hash)
    assert tiles.root_hash == result.root_hash
    assert tiles.note.others == ()  # no witness has cosigned


def test_served_tiles_equal_the_tiles_rebuilt_from_the_bundles(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey
) -> None:
    append_many(520, checkpoint=True)
    with db.engine.connect() as conn, conn.begin():
        latest, note = read_checkpoint_note(conn, public_key)
        assert parse_checkpoint_note(note, public_key).root_hash == latest.root_hash
        bundles = bundles_for_size(520)
        leaves = [e for b in bundles for e in decode_bundle(read_bundle(conn, b, 520), b)]
        assert read_bundles(conn, bundles, 520) == [read_bundle(conn, b, 520) for b in bundles]
        stored = {t: read_hash_tile(conn, t, 520) for t in tiles_for_size(520)}
        # A partial tile of an earlier size is a prefix of the tile that replaced it.
        assert read_hash_tile(conn, Tile(0, 1, 10), 520) == stored[Tile(0, 1, 256)][: 32 * 10]
        with pytest.raises(NotFound):
            read_hash_tile(conn, Tile(0, 2, 9), 520)
        with pytest.raises(NotFound):
            read_bundle(conn, Tile(0, 3, 1, entries=True), 520)
    from faceledger.ledger.merkle import leaf_hash

    tree = TileTree()
    rebuilt = dict(tree.extend(leaf_hash(x) for x in leaves))
    rebuilt.update(tree.partial_tiles())
    assert rebuilt == stored
    assert tree.root() == latest.root_hash


def test_entries_after_the_latest_checkpoint_are_not_published(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    append_many(300, checkpoint=True)
    append_many(50, start=300)  # not signed yet
    with db.engine.connect() as conn, conn.begin():
        latest = latest_signed_checkpoint(conn)
    assert latest is not None and latest.tree_size == 300
    result = _export(db, tmp_path / "tiles", public_key)
    assert result.tree_size == 300
    assert set(_files(tmp_path / "tiles")) == _expected_paths(300)


def test_a_re_export_keeps_full_tiles_and_adds_the_new_ones(
    db: Database,
    db_url: str,
    append_many: AppendMany,
    public_key: Ed25519PublicKey,
    tmp_path: Path,
) -> None:
    directory = tmp_path / "tiles"
    append_many(300, checkpoint=True)
    _export(db, directory, public_key)
    full = directory / "tile/0/000"
    inode = full.stat().st_ino
    before = _files(directory)
    append_many(300, start=300, checkpoint=True)
    result = _export(db, directory, public_key)
    after = _files(directory)
    # Kept: the full tile and bundle (never rewritten), and the partials of size 300, which a
    # client holding that checkpoint still fetches.
    assert full.stat().st_ino == inode
    assert result.unchanged == 2
    assert {"tile/0/001.p/44", "tile/entries/001.p/44", "tile/1/000.p/1"} <= set(after)
    assert all(after[path] == data for path, data in before.items() if path != "checkpoint")
    assert set(after) == _expected_paths(600) | set(before)
    assert not list(directory.rglob(".tmp-*"))
    report = verify_tiles(directory, public_key)
    assert report.tree_size == 600
    assert report.root_hash == verify_database(db_url, public_key).root_hash


def test_a_directory_of_another_log_is_left_alone(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    directory = tmp_path / "tiles"
    append_many(20, checkpoint=True)
    _export(db, directory, public_key)
    before = _files(directory)
    other_db = Database(database_url(tmp_path, "other.db", migrated=True))
    other_key = Ed25519PrivateKey.generate()
    other = Ledger(other_key, "other-log", 0, 0)
    with other_db.transaction() as session:
        other.append(session, actor="a", action="x.y", object_type="o", object_id="1", payload={})
        other.checkpoint(session)
    try:
        with pytest.raises(LedgerError, match="another log"):
            _export(other_db, directory, other_key.public_key())
    finally:
        other_db.dispose()
    assert _files(directory) == before


def test_a_different_full_tile_stops_the_export_before_anything_is_written(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    directory = tmp_path / "tiles"
    append_many(300, checkpoint=True)
    _export(db, directory, public_key)
    damaged = directory / "tile/0/000"
    damaged.write_bytes(b"\x00" * 8192)
    before = _files(directory)
    append_many(300, start=300, checkpoint=True)
    with pytest.raises(LedgerError, match="full tiles never change"):
        _export(db, directory, public_key)
    assert _files(directory) == before


def test_an_older_copy_of_the_log_does_not_roll_the_mirror_back(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    append_many(10, checkpoint=True)
    old_copy = rawsql.snapshot(db, tmp_path)
    append_many(10, start=10, checkpoint=True)
    directory = tmp_path / "tiles"
    _export(db, directory, public_key)
    before = _files(directory)
    with pytest.raises(LedgerError, match="roll the mirror back"):
        export_database_tiles(old_copy, directory, public_key)
    assert _files(directory) == before


def test_an_entry_changed_in_the_database_is_not_published(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    append_many(30, checkpoint=True)
    with db.transaction() as session:
        session.execute(update(entries).where(entries.c.seq == 12).values(actor="someone else"))
    with pytest.raises(LedgerError) as caught:
        _export(db, tmp_path / "tiles", public_key)
    assert caught.value.details["seq"] == 12
    assert not (tmp_path / "tiles" / "checkpoint").exists()


def test_exporting_from_a_missing_database_is_an_error(
    public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    with pytest.raises(LedgerError, match="No SQLite database"):
        export_database_tiles(f"sqlite:///{tmp_path / 'absent.db'}", tmp_path / "t", public_key)
    assert not (tmp_path / "absent.db").exists()


def test_stored_witness_cosignatures_travel_with_the_checkpoint(
    db: Database, append_many: AppendMany, public_key: Ed25519PublicKey, tmp_path: Path
) -> None:
    import datetime as dt

    from faceledger.ledger.cosignature import WitnessKey, check_quorum, sign_cosignature
    from faceledger.ledger.cosignature_store import store_cosignature

    append_many(40, checkpoint=True)
    witness = Ed25519PrivateKey.generate()
    with db.engine.connect() as conn, conn.begin():
        latest = latest_signed_checkpoint(conn)
        assert latest is not None
        line = sign_cosignature(witness, "witness.example/w1", latest.body(), 1_800_000_000)
        assert store_cosignature(conn, latest.number, line, dt.datetime.now(dt.UTC))
    _export(db, tmp_path / "tiles", public_key)
    report = verify_tiles(tmp_path / "tiles", public_key)
    assert report.note.others == (line,)
    key = WitnessKey.of("witness.example/w1", witness.public_key())
    assert check_quorum(report.note, [key], 1, now=1_800_000_100) == ["witness.example/w1"]
