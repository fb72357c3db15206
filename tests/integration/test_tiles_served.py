"""The tiled log of a real `faceledger serve` process and of `faceledger ledger tiles export`:
the same bytes both ways, verified from the URL and from the directory, and equal to what the
database verifier finds at the latest checkpoint."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.config import Settings
from faceledger.errors import VerificationFailed
from faceledger.ledger import load_public_key
from faceledger.ledger.note import parse_checkpoint_note
from faceledger.ledger.tiles import Tile, bundles_for_size, decode_bundle, tiles_for_size
from faceledger.ledger.tiles_db import export_database_tiles
from faceledger.ledger.tiles_fetch import HttpSource
from faceledger.ledger.tiles_verify import verify_tiles
from faceledger.ledger.verify import verify_database
from faceledger.server import prepare
from tests.conftest import ACTOR, make_settings
from tests.integration.conftest import RunningServer, start_server, stop_server

ENTRIES = 300


@dataclass
class TiledLog:
    server: RunningServer
    settings: Settings
    key: Ed25519PublicKey
    size: int


@pytest.fixture(scope="module")
def tiled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TiledLog]:
    """A data directory with a few hundred entries under a signed checkpoint, served by a
    real `faceledger serve` on a free loopback port (due jobs off, so nothing appends)."""
    data_dir = tmp_path_factory.mktemp("tiles") / "data"
    settings = make_settings(data_dir)
    service = prepare(settings, ACTOR.ledger_actor).service
    try:
        with service.context.db.transaction() as session:
            for i in range(ENTRIES):
                service.context.ledger.append(
                    session,
                    actor="user:tester",
                    action="test.entry",
                    object_type="probe",
                    object_id=f"p-{i}",
                    payload={"n": i},
                    public={"n": i % 7},
                )
        size = service.audit.sign_checkpoint(ACTOR).tree_size
        key = load_public_key(service.public_key_path)
    finally:
        service.close()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FACELEDGER_JOBS_EVERY_SECONDS", "0")
        server = start_server(data_dir)
    try:
        yield TiledLog(server, settings, key, size)
    finally:
        stop_server(server)


def _export(log: TiledLog, directory: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("faceledger")
    command = ["ledger", "tiles", "export", str(directory)]
    return subprocess.run(
        [str(script), "--data-dir", str(log.settings.data_dir), *command],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_served_and_the_exported_tiles_are_the_same_verified_tree(
    tiled: TiledLog, tmp_path: Path
) -> None:
    assert tiled.size > ENTRIES
    done = _export(tiled, tmp_path / "mirror")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"tree size {tiled.size}" in done.stdout
    over_http = verify_tiles(tiled.server.url, tiled.key)
    from_dir = verify_tiles(tmp_path / "mirror", tiled.key)
    database = verify_database(tiled.settings.db_url, tiled.key)
    assert database.signed_size == database.tree_size == tiled.size  # nothing unsigned
    for report in (over_http, from_dir):
        assert (report.tree_size, report.root_hash) == (database.tree_size, database.root_hash)
        assert report.entries_checked == tiled.size
        assert report.tiles_checked == len(tiles_for_size(tiled.size))
    assert over_http.note.body == from_dir.note.body
    # Byte for byte: every path the tree has is the same file on the server and in DIR.
    paths = ["checkpoint"] + [t.path for t in tiles_for_size(tiled.size)]
    paths += [b.path for b in bundles_for_size(tiled.size)]
    with httpx.Client(base_url=tiled.server.url, timeout=30) as client:
        for path in paths:
            served = client.get(f"/{path}")
            assert served.status_code == 200, path
            assert served.content == (tmp_path / "mirror" / path).read_bytes(), path


def test_the_checkpoint_is_a_signed_note_that_is_not_cached_for_long(tiled: TiledLog) -> None:
    answer = httpx.get(f"{tiled.server.url}/checkpoint", timeout=30)  # no login
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=5"
    note = parse_checkpoint_note(answer.content, tiled.key)
    assert note.tree_size == tiled.size


def test_full_tiles_are_immutable_and_partial_ones_short_lived(tiled: TiledLog) -> None:
    partial = tiled.size % 256
    with httpx.Client(base_url=tiled.server.url, timeout=30) as client:
        full = client.get("/tile/0/000")
        assert full.status_code == 200 and len(full.content) == 8192
        assert full.headers["content-type"] == "application/octet-stream"
        assert full.headers["cache-control"] == "public, max-age=31536000, immutable"
        last = client.get(f"/tile/0/001.p/{partial}")
        assert last.status_code == 200 and len(last.content) == 32 * partial
        assert last.headers["cache-control"] == "public, max-age=5"
        upper = client.get("/tile/1/000.p/1")
        assert upper.status_code == 200 and len(upper.content) == 32
        bundle = client.get("/tile/entries/000", headers={"Accept-Encoding": "gzip"})
        assert bundle.status_code == 200
        assert bundle.headers["content-encoding"] == "gzip"
        assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(decode_bundle(bundle.content, Tile(0, 0, 256, entries=True))) == 256
        plain = client.get("/tile/entries/000", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == bundle.content


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/tile/0/002", 404, "not in the log's tree"),  # beyond the signed tree
        ("/tile/0/001", 404, "not in the log's tree"),  # full tile not complete yet
        ("/tile/entries/005.p/3", 404, "not in the log's tree"),
        ("/tile/0/0001", 400, "not a tlog-tiles path"),
        ("/tile/0/x000/001", 400, "canonical spelling is tile/0/001"),
        ("/tile/entries/000.p/256", 400, "partial width"),
        ("/tile/99/000", 400, "level"),
    ],
)
def test_unknown_and_bad_paths_are_refused_clearly(
    tiled: TiledLog, path: str, status: int, words: str
) -> None:
    answer = httpx.get(f"{tiled.server.url}{path}", timeout=30)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == ("not_found" if status == 404 else "invalid_input")
    assert words in error["message"]


def test_the_tiles_command_refuses_a_directory_of_another_history(
    tiled: TiledLog, tmp_path: Path
) -> None:
    mirror = tmp_path / "mirror"
    export_database_tiles(tiled.settings.db_url, mirror, tiled.key)
    (mirror / "tile/0/000").write_bytes(b"\x01" * 8192)
    again = _export(tiled, mirror)
    assert again.returncode == 2
    assert "full tiles never change" in again.stdout + again.stderr


def test_a_tile_the_server_lacks_is_reported_missing_by_the_http_source(tiled: TiledLog) -> None:
    source = HttpSource(tiled.server.url)
    try:
        with pytest.raises(VerificationFailed) as caught:
            source.read("tile/0/999", 8192)
        assert (caught.value.details["reason"], caught.value.details["tile"]) == (
            "missing_tile",
            "tile/0/999",
        )
        with pytest.raises(VerificationFailed) as long:
            source.read("tile/0/000", 100)
        assert long.value.details["reason"] == "too_large"
    finally:
        source.close()
