"""The tiles verifier on tiled logs built by the pure functions (synthetic envelopes), intact
and tampered: each damage is refused with its own reason, naming the tile or entry."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json
from faceledger.ledger.checkpoint import sign_checkpoint
from faceledger.ledger.merkle import root_from_leaves
from faceledger.ledger.note import checkpoint_note
from faceledger.ledger.tiles import TileTree, bundles_for_size, encode_bundle
from faceledger.ledger.tiles_verify import verify_tiles

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
LOG_ID = "example.org/tiles"
STAMP = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)


def envelope(seq: int) -> bytes:
    """Leaf data shaped like a ledger envelope: canonical JSON naming its own seq."""
    return canonical_json({"v": 1, "seq": seq, "action": "synthetic.entry", "n": seq * 7})


def write_tree(
    directory: Path,
    leaves: list[bytes],
    *,
    key: Ed25519PrivateKey = KEY,
    size: int | None = None,
    root: bytes | None = None,
) -> bytes:
    """Write ``leaves`` as a tiled log under ``directory`` with a checkpoint signed by ``key``
    (for ``size`` and ``root`` if given, else the tree's own); return the tree's root."""
    tree = TileTree()
    for bundle in bundles_for_size(len(leaves)):
        start, end = bundle.leaves
        _write(directory / bundle.path, encode_bundle(leaves[start:end]))
        for tile, data in tree.extend(_leaf_hashes(leaves[start:end])):
            _write(directory / tile.path, data)
    for tile, data in tree.partial_tiles():
        _write(directory / tile.path, data)
    cp = sign_checkpoint(
        key,
        number=0,
        log_id=LOG_ID,
        tree_size=len(leaves) if size is None else size,
        root_hash=tree.root() if root is None else root,
        timestamp=STAMP,
    )
    _write(directory / "checkpoint", checkpoint_note(cp, key.public_key()).encode())
    return tree.root()


def _leaf_hashes(leaves: list[bytes]) -> list[bytes]:
    from faceledger.ledger.merkle import leaf_hash

    return [leaf_hash(x) for x in leaves]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


SMALL = 600  # bundles 000, 001, 002.p/88; a partial level-1 tile of width 2


@pytest.fixture
def small(tmp_path: Path) -> Path:
    write_tree(tmp_path / "small", [envelope(i) for i in range(SMALL)])
    return tmp_path / "small"


@pytest.fixture(scope="module")
def big_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """70,000 entries: full level-0 and level-1 tiles, partial tiles at levels 0, 1 and 2."""
    directory = tmp_path_factory.mktemp("big") / "tiles"
    # The smallest canonical envelope keeps the 70,000 checks quick.
    root = write_tree(directory, [b'{"seq":%d}' % i for i in range(70000)])
    return directory, root


def _refused(directory: Path) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as caught:
        verify_tiles(directory, KEY.public_key())
    return caught.value


def _edit(path: Path, change: Callable[[bytes], bytes]) -> None:
    path.write_bytes(change(path.read_bytes()))


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_an_intact_small_tree_verifies(small: Path) -> None:
    report = verify_tiles(small, KEY.public_key())
    leaves = [envelope(i) for i in range(SMALL)]
    assert report.tree_size == SMALL == report.entries_checked
    assert report.root_hash == root_from_leaves(leaves).hex()
    assert report.bundles_checked == 3
    assert report.tiles_checked == 4  # tile/0/000, tile/0/001, tile/0/002.p/88, tile/1/000.p/2
    assert report.log_id == LOG_ID
    assert report.note.tree_size == SMALL and report.note.others == ()
    assert str(SMALL) in report.summary()


def test_an_empty_tree_verifies(tmp_path: Path) -> None:
    write_tree(tmp_path, [])
    report = verify_tiles(tmp_path, KEY.public_key())
    assert (report.tree_size, report.tiles_checked, report.bundles_checked) == (0, 0, 0)


def test_the_big_tree_verifies_and_a_flipped_level_1_full_tile_is_found(
    big_template: tuple[Path, bytes], tmp_path: Path
) -> None:
    template, root = big_template
    report = verify_tiles(template, KEY.public_key())
    assert report.root_hash == root.hex()
    assert (report.entries_checked, report.bundles_checked) == (70000, 274)
    assert report.tiles_checked == 273 + 1 + 1 + 1 + 1
    copy = tmp_path / "tiles"
    shutil.copytree(template, copy)
    _edit(copy / "tile/1/000", lambda data: _flip(data, 32 * 200 + 5))
    error = _refused(copy)
    assert error.details["reason"] == "tile_hash_mismatch"
    assert error.details["tile"] == "tile/1/000"
    assert error.details["position"] == 200
    assert "entries 51200 to 51455" in error.message


def test_a_flipped_byte_in_an_entry_bundle_is_found(small: Path) -> None:
    # Inside a string, so the entry stays canonical JSON: only the hashes can tell.
    path = small / "tile/entries/001"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"synthetic.entry", b"synthetic.entrY", 1))
    error = _refused(small)
    assert error.details["reason"] == "tile_hash_mismatch"
    assert error.details["tile"] == "tile/0/001"
    assert error.details["position"] == 0


def test_a_renumbered_entry_is_found(small: Path) -> None:
    path = small / "tile/entries/001"
    path.write_bytes(path.read_bytes().replace(b'"seq":300', b'"seq":301', 1))
    error = _refused(small)
    assert error.details["reason"] == "seq_mismatch"
    assert (error.details["seq"], error.details["expected"], error.details["actual"]) == (
        300,
        300,
        301,
    )


def test_an_entry_that_is_not_a_canonical_envelope_is_found(small: Path) -> None:
    path = small / "tile/entries/000"
    data = path.read_bytes()
    # The first entry's opening brace becomes a space: same length, no longer canonical.
    path.write_bytes(data[:2] + b" " + data[3:])
    error = _refused(small)
    assert error.details["reason"] == "malformed_entry"
    assert error.details["seq"] == 0


def test_a_flipped_byte_in_a_level_0_tile_is_found(small: Path) -> None:
    _edit(small / "tile/0/000", lambda data: _flip(data, 32 * 17))
    error = _refused(small)
    assert error.details["reason"] == "tile_hash_mismatch"
    assert error.details["tile"] == "tile/0/000"
    assert error.details["position"] == 17
    assert error.details["expected"] != error.details["actual"]


def test_a_flipped_byte_in_a_level_1_tile_is_found(small: Path) -> None:
    _edit(small / "tile/1/000.p/2", lambda data: _flip(data, 40))
    error = _refused(small)
    assert error.details["reason"] == "tile_hash_mismatch"
    assert error.details["tile"] == "tile/1/000.p/2"
    assert error.details["position"] == 1


def test_a_missing_tile_is_found(small: Path) -> None:
    (small / "tile/0/001").unlink()
    error = _refused(small)
    assert error.details["reason"] == "missing_tile"
    assert error.details["tile"] == "tile/0/001"


def test_a_missing_bundle_is_found(small: Path) -> None:
    (small / "tile/entries/002.p/88").unlink()
    error = _refused(small)
    assert (error.details["reason"], error.details["tile"]) == (
        "missing_tile",
        "tile/entries/002.p/88",
    )


def test_a_truncated_bundle_is_found(small: Path) -> None:
    _edit(small / "tile/entries/002.p/88", lambda data: data[:-10])
    error = _refused(small)
    assert error.details["reason"] == "truncated_bundle"
    assert error.details["tile"] == "tile/entries/002.p/88"
    assert (error.details["expected"], error.details["actual"]) == (88, 87)


def test_a_bundle_with_bytes_left_over_is_found(small: Path) -> None:
    _edit(small / "tile/entries/000", lambda data: data + b"\x00")
    assert _refused(small).details["reason"] == "malformed_bundle"


def test_a_short_tile_and_a_long_tile_are_found(small: Path) -> None:
    _edit(small / "tile/0/001", lambda data: data[:-1])
    error = _refused(small)
    assert (error.details["reason"], error.details["tile"]) == ("malformed_tile", "tile/0/001")
    _edit(small / "tile/0/001", lambda data: data + b"\x00\x00")
    assert _refused(small).details["reason"] == "too_large"


def test_a_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path, [envelope(i) for i in range(10)], key=OTHER_KEY)
    error = _refused(tmp_path)
    assert error.details["reason"] == "bad_signature"
    assert error.details["kind"] == "checkpoint"


def test_a_checkpoint_larger_than_the_tiles_is_refused(tmp_path: Path) -> None:
    leaves = [envelope(i) for i in range(SMALL)]
    write_tree(tmp_path, leaves, size=SMALL + 100, root=root_from_leaves(leaves))
    error = _refused(tmp_path)
    assert error.details["reason"] == "missing_tile"
    assert error.details["tile"] == "tile/entries/002.p/188"


def test_a_checkpoint_with_another_root_is_refused(tmp_path: Path) -> None:
    write_tree(tmp_path, [envelope(i) for i in range(SMALL)], root=b"\x07" * 32)
    error = _refused(tmp_path)
    assert error.details["reason"] == "root_mismatch"
    assert error.details["expected"] == (b"\x07" * 32).hex()


def test_a_missing_or_garbled_checkpoint_is_refused(small: Path) -> None:
    (small / "checkpoint").write_text("not a note\n")
    assert _refused(small).details["reason"] == "malformed"
    (small / "checkpoint").unlink()
    error = _refused(small)
    assert (error.details["reason"], error.details["tile"]) == ("missing_tile", "checkpoint")


def test_a_source_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError):
        verify_tiles(tmp_path / "absent", KEY.public_key())


def test_the_tiles_verifier_imports_nothing_from_the_application() -> None:
    code = (
        "import sys, faceledger.ledger.tiles_verify\n"
        "bad = sorted(m for m in sys.modules if m.startswith(("
        "'faceledger.service', 'faceledger.gallery', 'faceledger.governance', "
        "'faceledger.biometrics', 'faceledger.db', 'faceledger.ledger.log', "
        "'faceledger.ledger.models', 'faceledger.api', 'sqlalchemy', 'alembic')))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
