"""The log as C2SP tlog-tiles (``c2sp.org/tlog-tiles``), served from the database on demand at
the server's root, where tiled-log clients look: ``/checkpoint``, ``/tile/<L>/<N>[.p/<W>]`` and
``/tile/entries/<N>[.p/<W>]``.

The same files as ``faceledger ledger tiles export DIR`` writes (:mod:`faceledger.ledger.tiles_db`),
for the tree of the latest signed checkpoint. No login: they carry exactly what the public
export carries, and anyone may mirror and verify them (``faceledger ledger verify --tiles``).

Caching follows the spec: a full tile or bundle never changes and is cached for a year; a
partial one may be dropped once the full one exists, and the checkpoint changes with every
signature, so both get a few seconds. Errors use the one error shape of the API.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, Engine

from faceledger.errors import FaceLedgerError, NotFound
from faceledger.ledger.tiles import TILE_WIDTH, Tile, parse_tile_path
from faceledger.ledger.tiles_db import (
    latest_signed_checkpoint,
    read_bundles,
    read_checkpoint_note,
    read_hash_tile,
)

__all__ = ["IMMUTABLE", "SHORT_LIVED", "tiles_router"]

IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control of a full tile or bundle."""
SHORT_LIVED = "public, max-age=5"
"""Cache-Control of the checkpoint and of partial tiles and bundles."""
# Building a bundle reads the log from its start (the export reader streams from entry 0), so a
# miss reads the next bundles too and keeps the most recent ones (some 30 KB each).
_READ_AHEAD = 32
_CACHED_BUNDLES = 128
_OCTETS = "application/octet-stream"


def tiles_router(engine: Engine, log_key: Ed25519PublicKey) -> APIRouter:
    """Return the routes serving the tiles of the ledger in the database behind ``engine``,
    whose checkpoints ``log_key`` verifies (the key's hash is in the note's signature line)."""
    router = APIRouter(include_in_schema=False)
    bundles = _BundleCache(_CACHED_BUNDLES)

    @router.get("/checkpoint")
    def checkpoint() -> Response:
        """The latest signed checkpoint as a signed note, with its cosignatures."""
        try:
            with engine.connect() as conn, conn.begin():
                _, note = read_checkpoint_note(conn, log_key)
        except FaceLedgerError as exc:
            return _error(exc)
        return Response(
            note,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": SHORT_LIVED},
        )

    @router.get("/tile/{rest:path}")
    def tile(rest: str, request: Request) -> Response:
        """A hash tile or an entry bundle of the latest signed checkpoint's tree."""
        try:
            wanted = parse_tile_path(f"tile/{rest}")
            data = bundles.get(wanted)
            if data is None:
                with engine.connect() as conn, conn.begin():
                    latest = latest_signed_checkpoint(conn)
                    if latest is None:
                        raise NotFound(
                            "No checkpoint has been signed yet, so the log has no tiles."
                        )
                    if wanted.entries:
                        data = bundles.fill(conn, wanted, latest.tree_size)
                    else:
                        data = read_hash_tile(conn, wanted, latest.tree_size)
        except FaceLedgerError as exc:
            return _error(exc)
        headers = {"Cache-Control": IMMUTABLE if wanted.full else SHORT_LIVED}
        if wanted.entries:
            # The spec asks for compressed bundles; envelopes are JSON and shrink several-fold.
            headers["Vary"] = "Accept-Encoding"
            if "gzip" in request.headers.get("accept-encoding", ""):
                data = gzip.compress(data, compresslevel=6, mtime=0)
                headers["Content-Encoding"] = "gzip"
        return Response(data, media_type=_OCTETS, headers=headers)

    return router


class _BundleCache:
    """The most recently served bundles. A tile's content is fixed by its path (level, index
    and width), so an entry never goes stale; one that a newer tree no longer has is not
    served from here because the tree only grows."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[Tile, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tile: Tile) -> bytes | None:
        with self._lock:
            data = self._items.get(tile)
            if data is not None:
                self._items.move_to_end(tile)
            return data

    def fill(self, conn: Connection, tile: Tile, size: int) -> bytes:
        """Read ``tile`` and the full bundles after it (clients fetch them in order), keep
        them, and return ``tile``'s bytes."""
        run = [tile]
        if tile.full:
            for index in range(tile.index + 1, tile.index + _READ_AHEAD):
                following = Tile(0, index, TILE_WIDTH, entries=True)
                if not following.fits(size):
                    break
                run.append(following)
        read = read_bundles(conn, run, size)
        with self._lock:
            for each, data in zip(run, read, strict=True):
                self._items[each] = data
                self._items.move_to_end(each)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return read[0]


def _error(exc: FaceLedgerError) -> Response:
    return JSONResponse(
        exc.to_dict(), status_code=exc.status, headers={"Cache-Control": "no-store"}
    )
