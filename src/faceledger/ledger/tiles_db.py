"""The tiles (:mod:`faceledger.ledger.tiles`) of the log in a database: read for serving, and
written to a directory that anyone can mirror.

The tiles are those of the latest **signed** checkpoint's tree: entries appended since are not
published until a checkpoint covers them. The hash tiles come from what the tree stores (leaf
hashes in ``ledger_entries.leaf_hash``, the complete subtrees of height ``8 * l`` in
``ledger_nodes``); the entry bundles from the envelopes of the public export's records
(:func:`faceledger.ledger.export.iter_records` without payloads), each checked against its
stored leaf hash before it is published. So the tiles carry exactly what the public export
carries.

Uses SQLAlchemy Core only (through :mod:`faceledger.ledger.tables`), like the verifier.
"""

from __future__ import annotations

import importlib
import itertools
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, create_engine, make_url, select
from sqlalchemy.exc import SQLAlchemyError

from faceledger.errors import LedgerError, NotFound, VerificationFailed
from faceledger.ledger.canonical import parse_json
from faceledger.ledger.checkpoint import Checkpoint
from faceledger.ledger.export import iter_records, latest_signed_checkpoint
from faceledger.ledger.merkle import HASH_SIZE, leaf_hash
from faceledger.ledger.note import (
    NoteSignature,
    checkpoint_note,
    parse_checkpoint_note,
)
from faceledger.ledger.records import EntryRecord
from faceledger.ledger.rotation import KEY_ROTATE_ACTION, verify_rotation
from faceledger.ledger.tables import entries, nodes
from faceledger.ledger.tiles import TILE_WIDTH, Tile, encode_bundle, tiles_for_size
from faceledger.ledger.tiles_verify import CHECKPOINT_PATH

__all__ = [
    "TilesExport",
    "export_database_tiles",
    "export_tiles",
    "latest_signed_checkpoint",
    "read_bundle",
    "read_bundles",
    "read_checkpoint_note",
    "read_hash_tile",
]

_COSIGNATURE_STORE = "faceledger.ledger.cosignature_store"


@dataclass(frozen=True)
class TilesExport:
    """What :func:`export_tiles` wrote: the checkpoint's tree, and how many tile and bundle
    files were written anew and how many were already there unchanged."""

    directory: Path
    checkpoint: int
    tree_size: int
    root_hash: str
    written: int
    unchanged: int

    def summary(self) -> str:
        """Return one line for people."""
        return (
            f"Tiles of checkpoint {self.checkpoint} (tree size {self.tree_size}, root "
            f"{self.root_hash}) in {self.directory}: {self.written} files written, "
            f"{self.unchanged} unchanged."
        )


def read_checkpoint_note(conn: Connection, log_key: Ed25519PublicKey) -> tuple[Checkpoint, str]:
    """Return the latest signed checkpoint and its note (``/checkpoint``): the log's signature
    line, then the witnesses' cosignatures stored for it, if any.

    Raises:
        NotFound: if no checkpoint was signed yet.
        LedgerError: if the ledger tables cannot be read.
    """
    latest = latest_signed_checkpoint(conn)
    if latest is None:
        raise NotFound("No checkpoint has been signed yet, so the log has no tiles.")
    signer = keys_in_force(conn, log_key, latest)[-1]
    return latest, checkpoint_note(latest, signer, _cosignatures(conn, latest.number))


def keys_in_force(
    conn: Connection, first: Ed25519PublicKey, cp: Checkpoint
) -> list[Ed25519PublicKey]:
    """Return the keys that signed the log up to ``cp``, first to last: ``first`` (the log's
    first key), then each key a ``ledger.key_rotate`` entry below its size hands over to, each
    announcement checked against the key before it. The last one signs ``cp``.

    Raises:
        VerificationFailed: ``bad_rotation`` for an announcement the key in force did not sign.
    """
    chain = [first]
    rows = conn.execute(
        select(entries.c.seq, entries.c.public)
        .where(entries.c.action == KEY_ROTATE_ACTION, entries.c.seq < cp.tree_size)
        .order_by(entries.c.seq)
    )
    for seq, public in rows:
        fields = parse_json(public) if public is not None else None
        chain.append(verify_rotation(fields, chain[-1], cp.log_id, seq=int(seq)))
    return chain


def read_hash_tile(conn: Connection, tile: Tile, size: int) -> bytes:
    """Return hash tile ``tile`` of the tree of ``size`` entries, from the stored tree.

    Raises:
        NotFound: if that tree has no such tile (it lies beyond the tree).
        LedgerError: if the stored tree lacks hashes it should have, or ``tile`` is an entry
            bundle.
    """
    if tile.entries:
        raise LedgerError(f"{tile.path} is an entry bundle, not a hash tile.")
    _require_fit(tile, size)
    first, stop = tile.first_node, tile.first_node + tile.width
    query: Any
    if tile.level == 0:
        query = (
            select(entries.c.seq, entries.c.leaf_hash)
            .where(entries.c.seq >= first, entries.c.seq < stop)
            .order_by(entries.c.seq)
        )
    else:
        query = (
            select(nodes.c.idx, nodes.c.hash)
            .where(nodes.c.level == tile.node_level, nodes.c.idx >= first, nodes.c.idx < stop)
            .order_by(nodes.c.idx)
        )
    hashes: list[bytes] = []
    for position, (index, value) in enumerate(conn.execute(query), start=first):
        try:
            digest = bytes.fromhex(value) if tile.level == 0 else bytes(value)
        except (TypeError, ValueError):
            digest = b""
        if index != position or len(digest) != HASH_SIZE:
            break
        hashes.append(digest)
    if len(hashes) != tile.width:
        raise LedgerError(
            f"The stored tree lacks hash {first + len(hashes)} of level {tile.node_level}, which "
            f"{tile.path} needs; run `faceledger ledger verify`.",
            tile=tile.path,
        )
    return b"".join(hashes)


def read_bundle(conn: Connection, tile: Tile, size: int) -> bytes:
    """Return entry bundle ``tile`` of the tree of ``size`` entries.

    Raises:
        NotFound: if that tree has no such bundle.
        LedgerError: if an entry is missing or no longer hashes to its stored leaf hash.
    """
    return read_bundles(conn, [tile], size)[0]


def read_bundles(conn: Connection, tiles: Sequence[Tile], size: int) -> list[bytes]:
    """Return entry bundles ``tiles`` (in increasing index order) of the tree of ``size``
    entries, in one pass over the log (reading the entries costs the same for one bundle as
    for the run that follows it, so a server reads ahead).

    Raises:
        NotFound: if that tree lacks one of them.
        LedgerError: if an entry is missing or no longer hashes to its stored leaf hash, or
            the tiles are not entry bundles in increasing order.
    """
    for tile in tiles:
        _require_fit(tile, size)
    if (
        not tiles
        or any(not t.entries for t in tiles)
        or any(a.index >= b.index for a, b in itertools.pairwise(tiles))
    ):
        raise LedgerError("read_bundles takes entry bundles in increasing index order.")
    start, stop = tiles[0].leaves[0], tiles[-1].leaves[1]
    envelopes = list(_envelopes(conn, start, stop))
    return [encode_bundle(envelopes[t.leaves[0] - start : t.leaves[1] - start]) for t in tiles]


def export_tiles(conn: Connection, directory: Path, log_key: Ed25519PublicKey) -> TilesExport:
    """Write the checkpoint and every tile and entry bundle of the latest signed checkpoint's
    tree under ``directory``, in the tlog-tiles layout, so that it can be served as static
    files.

    Run again into the same directory it brings it up to date: full tiles and bundles already
    there are kept (they never change; a different one is refused), partial ones are written
    next to those of earlier sizes (which clients holding an older checkpoint still need), and
    the checkpoint is replaced last. Every file is written atomically (a temporary file, then a
    rename), so a reader never sees half a file or a checkpoint ahead of its tiles.

    Raises:
        NotFound: if no checkpoint was signed yet.
        LedgerError: if ``directory`` holds another log's tiles, a newer checkpoint or a full
            hash tile that differs from the log's (found before anything is written), a full
            bundle that differs, or the ledger tables are damaged (found while the bundles are
            written: the checkpoint is then left as it was, so the directory still serves the
            tree it served).
    """
    latest, note = read_checkpoint_note(conn, log_key)
    _check_existing_checkpoint(directory, keys_in_force(conn, log_key, latest), latest)
    size = latest.tree_size
    hash_tiles = tiles_for_size(size)
    # Before writing anything: the full hash tiles already there must be this log's.
    for tile in hash_tiles:
        if tile.full and (directory / tile.path).is_file():
            _check_immutable(directory, tile, read_hash_tile(conn, tile, size))
    writer = _Writer(directory)
    bundle: list[bytes] = []
    for seq, envelope in enumerate(_envelopes(conn, 0, size)):
        bundle.append(envelope)
        if len(bundle) == TILE_WIDTH or seq == size - 1:
            writer.put(Tile(0, seq // TILE_WIDTH, len(bundle), entries=True), encode_bundle(bundle))
            bundle = []
    for tile in hash_tiles:
        writer.put(tile, read_hash_tile(conn, tile, size))
    # Last, so that a reader never finds a checkpoint whose tiles are not all there yet.
    _write_atomic(directory / CHECKPOINT_PATH, note.encode("utf-8"))
    return TilesExport(
        directory=directory,
        checkpoint=latest.number,
        tree_size=size,
        root_hash=latest.root_hash.hex(),
        written=writer.written,
        unchanged=writer.unchanged,
    )


def export_database_tiles(url: str, directory: Path, log_key: Ed25519PublicKey) -> TilesExport:
    """:func:`export_tiles` from the database at SQLAlchemy ``url``.

    Raises:
        NotFound, LedgerError: as :func:`export_tiles`; LedgerError also if the database
            cannot be opened or has no ledger tables.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise LedgerError(f"No SQLite database file at {path!r}.", url=url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            return export_tiles(conn, directory, log_key)
    except SQLAlchemyError as exc:
        raise LedgerError(
            f"Cannot read the ledger tables: {type(exc).__name__}. Is this a faceledger "
            "database (run `faceledger init`)?",
            url=parsed.render_as_string(hide_password=True),
        ) from None
    finally:
        engine.dispose()


def _envelopes(conn: Connection, start: int, stop: int) -> Iterator[bytes]:
    # The public export's records, so that the leaf data is exactly what it carries; each is
    # checked against its stored leaf hash, so no tile is published the tree contradicts.
    expected = start
    for record in iter_records(conn, include_payloads=False):
        if not isinstance(record, EntryRecord):
            continue
        if record.seq >= stop:
            break
        if record.seq < start:
            continue
        envelope = record.envelope()
        if record.seq != expected or leaf_hash(envelope).hex() != record.leaf_hash:
            raise LedgerError(
                f"Ledger entry {expected} is missing or no longer hashes to its leaf hash; run "
                "`faceledger ledger verify`.",
                seq=expected,
            )
        expected += 1
        yield envelope
    if expected != stop:
        raise LedgerError(
            f"Ledger entry {expected} is missing; run `faceledger ledger verify`.", seq=expected
        )


def _require_fit(tile: Tile, size: int) -> None:
    if not tile.fits(size):
        raise NotFound(
            f"{tile.path} is not in the log's tree at its latest signed checkpoint (size {size}).",
            tile=tile.path,
            tree_size=size,
        )


def _cosignatures(conn: Connection, number: int) -> Sequence[NoteSignature]:
    # The witness cosignature store is optional: without it the note has the log's line only.
    try:
        module = importlib.import_module(_COSIGNATURE_STORE)
    except ModuleNotFoundError as exc:
        if exc.name != _COSIGNATURE_STORE:
            raise
        return ()
    reader = getattr(module, "cosignatures_for", None)
    if reader is None:
        return ()
    return tuple(reader(conn, number))


def _check_existing_checkpoint(
    directory: Path, log_keys: Sequence[Ed25519PublicKey], latest: Checkpoint
) -> None:
    path = directory / CHECKPOINT_PATH
    if not path.exists():
        return
    old = None
    for key in reversed(log_keys):  # signed by this log's key then in force (rotations)
        try:
            old = parse_checkpoint_note(path.read_bytes(), key)
            break
        except VerificationFailed:
            continue
    if old is None:
        raise LedgerError(
            f"{directory} holds the tiles of another log (its checkpoint is not signed by this "
            "log's key); export into an empty directory.",
            directory=str(directory),
        ) from None
    if old.log_id != latest.log_id or old.tree_size > latest.tree_size:
        raise LedgerError(
            f"{directory} holds a checkpoint of log {old.log_id!r} at size {old.tree_size}, "
            f"newer than this log's latest ({latest.log_id!r}, size {latest.tree_size}); "
            "refusing to roll the mirror back.",
            directory=str(directory),
        )


class _Writer:
    """Writes tile files, keeping the full ones already there (they never change)."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.written, self.unchanged = directory, 0, 0

    def put(self, tile: Tile, data: bytes) -> None:
        if tile.full and _check_immutable(self.directory, tile, data):
            self.unchanged += 1
            return
        _write_atomic(self.directory / tile.path, data)
        self.written += 1


def _check_immutable(directory: Path, tile: Tile, data: bytes) -> bool:
    """True if full ``tile`` is already there as ``data``; raise if it is there but differs."""
    path = directory / tile.path
    if not path.is_file():
        return False
    if path.read_bytes() != data:
        raise LedgerError(
            f"{path} differs from the log's {tile.path}, and full tiles never change: the "
            "directory mirrors a different history of this log, or was damaged. Export into "
            "an empty directory.",
            tile=tile.path,
        )
    return True


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    except OSError as exc:
        raise LedgerError(f"Cannot write {path}: {exc.strerror or exc}.", path=str(path)) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)  # mirrored files are public
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise LedgerError(f"Cannot write {path}: {exc.strerror or exc}.", path=str(path)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
