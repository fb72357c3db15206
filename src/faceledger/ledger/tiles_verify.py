"""The tiles verifier: checks a tiled log (``c2sp.org/tlog-tiles``) in a directory or at a URL
against the log's public key, recomputing every hash from the entries.

It imports only the ledger's pure modules, :mod:`faceledger.errors`, the standard library,
``cryptography`` and ``httpx``, so an auditor or a mirror runs it without the application.

The steps, in order (the first failure raises
:class:`~faceledger.errors.VerificationFailed` with a ``reason`` code, ``kind`` = checkpoint,
tile or entry, the ``tile`` path or entry ``seq``, and ``expected`` = what the verifier
recomputed or what the checkpoint commits to vs ``actual`` = what the source served):

  (T1) ``checkpoint`` is a note (``c2sp.org/tlog-checkpoint``) of this log's format
       (``malformed``);
  (T2) every entry bundle of the checkpoint's tree size exists (``missing_tile``) and holds
       exactly its width of uint16 length-prefixed entries (``truncated_bundle``,
       ``malformed_bundle``);
  (T3) each entry is a canonical JSON object (``malformed_entry``) whose ``"seq"`` is its
       index in the log (``seq_mismatch``), as the export verifier's E1/E3 require; a
       ``ledger.key_rotate`` entry's announcement verifies with the key in force
       (``bad_rotation``, :func:`faceledger.ledger.rotation.verify_rotation`) and its new key
       takes over, starting from the auditor's key (the log's first);
  (T4) every hash tile of that size, level 0 and up, full and partial, exists, is exactly
       32 bytes per hash (``malformed_tile``) and equals the tile recomputed from the leaf
       hashes ``SHA-256(0x00 || entry)`` (``tile_hash_mismatch``, naming the first differing
       hash);
  (T5) the root rebuilt from the partial tiles equals the checkpoint's root
       (``root_mismatch``);
  (T6) the checkpoint carries a valid signature by the key in force at its size
       (:func:`faceledger.ledger.note.parse_checkpoint_note`: ``bad_signature``). It comes
       last because the entries name the keys.

Cosignatures are left to the caller: :attr:`TilesReport.note` holds the other signature lines.
"""

from __future__ import annotations

import hmac
from collections import deque
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from faceledger.errors import LedgerError, VerificationFailed
from faceledger.ledger.canonical import canonical_json, parse_json
from faceledger.ledger.keys import key_id
from faceledger.ledger.merkle import HASH_SIZE, leaf_hash
from faceledger.ledger.note import (
    MAX_NOTE_BYTES,
    CheckpointNote,
    parse_checkpoint_note,
    read_checkpoint_note,
)
from faceledger.ledger.rotation import KEY_ROTATE_ACTION, verify_rotation
from faceledger.ledger.tiles import (
    MAX_ENTRY_BYTES,
    TILE_WIDTH,
    Tile,
    TileTree,
    bundles_for_size,
    decode_bundle,
    split_tile,
    tiles_for_size,
)
from faceledger.ledger.tiles_fetch import TileSource, open_source

__all__ = ["CHECKPOINT_PATH", "TilesReport", "verify_tiles"]

CHECKPOINT_PATH = "checkpoint"
"""Where a tiled log keeps its checkpoint, under its prefix."""
_PREFETCH = 8  # resources read ahead, so a remote log is not fetched one round trip at a time


@dataclass(frozen=True)
class TilesReport:
    """What a successful tiles verification covered. ``root_hash`` is hex, as in
    :class:`~faceledger.ledger.checks.VerifyReport`."""

    location: str
    log_id: str
    tree_size: int
    root_hash: str
    tiles_checked: int
    bundles_checked: int
    entries_checked: int
    note: CheckpointNote
    keys: tuple[str, ...] = ()
    """The ids of the signing keys in force along the log, first to last (rotations)."""

    def summary(self) -> str:
        """Return a one-paragraph account for people."""
        return (
            f"Verified the tiles of log {self.log_id} at {self.location}: {self.entries_checked} "
            f"entries in {self.bundles_checked} bundles and {self.tiles_checked} hash tiles "
            f"recomputed; tree size {self.tree_size}, root hash {self.root_hash}, signed by "
            f"the log's key {self.keys[-1] if self.keys else ''}".rstrip()
            + (f" (after {len(self.keys) - 1} key rotation(s))." if len(self.keys) > 1 else ".")
        )


def verify_tiles(source: str | Path | TileSource, public_key: Ed25519PublicKey) -> TilesReport:
    """Verify the tiled log at ``source`` (a directory, an ``http(s)://`` prefix, or an open
    :class:`~faceledger.ledger.tiles_fetch.TileSource`) against the log's ``public_key``.

    Returns:
        The report, with the parsed checkpoint note (its cosignature lines unverified).

    Raises:
        VerificationFailed: at the first failing step (module doc).
        LedgerError: if ``source`` is neither a URL nor an existing directory.
    """
    opened = open_source(source) if isinstance(source, str | Path) else source
    try:
        return _verify(opened, public_key)
    finally:
        if opened is not source:
            opened.close()


def _verify(source: TileSource, key: Ed25519PublicKey) -> TilesReport:
    # (T1) the checkpoint, read now and its signature checked last (T6)
    text = source.read(CHECKPOINT_PATH, MAX_NOTE_BYTES)
    unsigned, _ = read_checkpoint_note(text)
    size = unsigned.tree_size
    in_force, key_ids = key, [key_id(key)]
    tree = TileTree()
    hash_tiles = bundles = 0
    expected: dict[Tile, bytes] = {}  # recomputed tiles not compared yet
    with ThreadPoolExecutor(max_workers=_PREFETCH, thread_name_prefix="tiles") as pool:
        reads = _read_ahead(pool, source, _reading_order(size))
        try:
            for tile, data in reads:
                if tile.entries:
                    # (T2) the bundle, (T3) its entries
                    entries = decode_bundle(data, tile)
                    for offset, entry in enumerate(entries):
                        seq = tile.leaves[0] + offset
                        envelope = _check_entry(entry, seq, tile)
                        if envelope.get("action") == KEY_ROTATE_ACTION:
                            in_force = verify_rotation(
                                envelope.get("public"), in_force, unsigned.log_id, seq=seq
                            )
                            key_ids.append(key_id(in_force))
                    expected.update(tree.extend(leaf_hash(entry) for entry in entries))
                    bundles += 1
                    continue
                # (T4) a hash tile, against the one recomputed from the bundles read so far;
                # the partial tiles come last, after every bundle.
                if tile not in expected:
                    expected.update(tree.partial_tiles())
                _compare_tile(tile, expected.pop(tile), data)
                hash_tiles += 1
        finally:
            reads.close()
    # (T5) the root
    root = tree.root()
    if not hmac.compare_digest(root, unsigned.root_hash):
        raise _fail(
            "checkpoint",
            "root_mismatch",
            f"The tiles rebuild a tree of size {size} whose root is not the checkpoint's: the "
            "checkpoint does not sign these tiles.",
            unsigned.root_hash.hex(),
            root.hex(),
        )
    # (T6) the signature, by the key in force after every rotation in the tree
    note = parse_checkpoint_note(text, in_force)
    return TilesReport(
        location=source.location,
        log_id=note.log_id,
        tree_size=size,
        root_hash=root.hex(),
        tiles_checked=hash_tiles,
        bundles_checked=bundles,
        entries_checked=tree.size,
        note=note,
        keys=tuple(key_ids),
    )


def _reading_order(size: int) -> list[Tile]:
    """Every resource of the tree, in the order the checks need it: each bundle, then the full
    hash tiles its leaves complete (level 0 first), and at the end the partial hash tiles."""
    completed_by: dict[int, list[Tile]] = {}
    partial: list[Tile] = []
    for tile in tiles_for_size(size):
        if tile.full:
            last_bundle = (tile.leaves[1] - 1) // TILE_WIDTH
            completed_by.setdefault(last_bundle, []).append(tile)
        else:
            partial.append(tile)
    order: list[Tile] = []
    for bundle in bundles_for_size(size):
        order.append(bundle)
        order.extend(completed_by.get(bundle.index, ()))
    return order + partial


def _read_ahead(
    pool: ThreadPoolExecutor, source: TileSource, order: Sequence[Tile]
) -> Generator[tuple[Tile, bytes]]:
    # Keeps a few reads in flight and yields them in order; a failed read raises when reached.
    pending: deque[tuple[Tile, Future[bytes]]] = deque()
    queue = iter(order)
    try:
        while True:
            while len(pending) < _PREFETCH:
                tile = next(queue, None)
                if tile is None:
                    break
                pending.append((tile, pool.submit(source.read, tile.path, _limit(tile))))
            if not pending:
                return
            tile, future = pending.popleft()
            yield tile, future.result()
    finally:
        for _, future in pending:
            future.cancel()


def _limit(tile: Tile) -> int:
    if tile.entries:
        return tile.width * (2 + MAX_ENTRY_BYTES)
    return tile.byte_length()


def _check_entry(data: bytes, seq: int, tile: Tile) -> dict[str, Any]:
    where = {"seq": seq, "tile": tile.path}
    try:
        parsed: Any = parse_json(data)
        canonical = canonical_json(parsed) if isinstance(parsed, dict) else None
    except LedgerError:
        canonical = None
    if canonical != data:
        raise _fail(
            "entry",
            "malformed_entry",
            f"Entry {seq} in {tile.path} is not a ledger envelope: not a JSON object in "
            "canonical form.",
            "a canonical JSON object",
            data[:120].decode("utf-8", "replace"),
            **where,
        )
    found = parsed.get("seq")
    if isinstance(found, bool) or found != seq:
        raise _fail(
            "entry",
            "seq_mismatch",
            f"Entry {seq} in {tile.path} says it is entry {found!r}: the entries were moved, "
            "dropped or renumbered.",
            seq,
            found,
            **where,
        )
    envelope: dict[str, Any] = parsed
    return envelope


def _compare_tile(tile: Tile, expected: bytes, served: bytes) -> None:
    hashes = split_tile(served, tile)
    if hmac.compare_digest(expected, served):
        return
    for position, value in enumerate(hashes):
        want = expected[position * HASH_SIZE : (position + 1) * HASH_SIZE]
        if not hmac.compare_digest(want, value):
            start, end = tile.leaves
            span = (end - start) // tile.width
            raise _fail(
                "tile",
                "tile_hash_mismatch",
                f"Hash {position} of {tile.path} (entries {start + position * span} to "
                f"{start + (position + 1) * span - 1}) is not the hash of the entries served.",
                want.hex(),
                value.hex(),
                tile=tile.path,
                position=position,
            )


def _fail(
    kind: str, reason: str, message: str, expected: Any, actual: Any, **where: Any
) -> VerificationFailed:
    return VerificationFailed(
        message, kind=kind, reason=reason, expected=expected, actual=actual, **where
    )
