"""The log as C2SP tlog-tiles (``c2sp.org/tlog-tiles``): tile paths, which tiles exist, and
the tile tree, as pure functions.

A tiled log serves, next to its ``<prefix>/checkpoint`` (a signed note,
:mod:`faceledger.ledger.note`), two kinds of static resources:

* **Hash tiles** at ``<prefix>/tile/<L>/<N>[.p/<W>]``: the *n*-th tile of level *l* is the
  run of Merkle tree hashes ``MTH(D[(n * 256 + i) * 256**l : (n * 256 + i + 1) * 256**l])``
  for *i* from 0 to 255, concatenated (32 bytes each). So a level-0 tile holds leaf hashes and
  a level-*l* tile holds the hashes of complete subtrees of height ``8 * l``: in the terms of
  :mod:`faceledger.ledger.merkle`, the nodes ``(8 * l, n * 256 + i)``. Each hash of a level
  ``l + 1`` tile is the root of one *full* tile of level ``l``.
* **Entry bundles** at ``<prefix>/tile/entries/<N>[.p/<W>]``: the leaf data of the entries of
  level-0 tile *N*, each as a big-endian uint16 length and then the bytes. Our leaf data is the
  entry's canonical envelope (:mod:`faceledger.ledger.envelope`), whose RFC 6962 leaf hash
  ``SHA-256(0x00 || envelope)`` is the matching hash of the level-0 tile.

``<L>`` is decimal (0-63) without leading zeros; ``<N>`` is written in zero-padded 3-digit
path elements, all but the last prefixed by ``x`` (1234067 is ``x001/x234/067``). A full tile
has 256 hashes (8,192 bytes). The rightmost tile of each level may be *partial*: for a tree of
size *s* the partial tile of level *l* has ``floor(s / 256**l) mod 256`` hashes, carries the
suffix ``.p/<W>`` with that width, is never hashed into the level above, and is not served
when empty. A tree of 70,000 entries has 273 full level-0 tiles and one partial of width 112,
one full level-1 tile and a partial one of width 17, and a partial level-2 tile of width 1.

The root of a tree of size *s* needs only its partial tiles (:func:`root_from_partial_tiles`):
every complete subtree of the RFC 9162 decomposition of ``[0, s)`` at height ``8 * l + r``
(``r < 8``) is the Merkle tree hash of ``2**r`` consecutive hashes of the partial tile of
level *l*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from faceledger.errors import InvalidInput, LedgerError, VerificationFailed
from faceledger.ledger.merkle import HASH_SIZE, fold_subtrees, node_hash, perfect_subtrees

__all__ = [
    "MAX_ENTRY_BYTES",
    "MAX_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Tile",
    "TileTree",
    "bundles_for_size",
    "decode_bundle",
    "encode_bundle",
    "encode_index",
    "parse_tile_path",
    "root_from_partial_tiles",
    "split_tile",
    "tiles_for_size",
]

TILE_HEIGHT = 8
"""Levels of the Merkle tree one tile spans (tlog-tiles fixes it at 8)."""
TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile, and entries in a full bundle: 256."""
MAX_LEVEL = 63
"""Highest tile level a path may name."""
MAX_ENTRY_BYTES = 0xFFFF
"""Longest leaf data a bundle can carry (its length prefix is a uint16)."""

_ELEMENT = re.compile(r"x?\d{3}")
_DECIMAL = re.compile(r"0|[1-9]\d*")


@dataclass(frozen=True, order=True)
class Tile:
    """One tile: ``level`` (0-63), ``index`` within the level, ``width`` (1-256 hashes or
    entries). ``entries`` marks the entry bundle of level-0 tile ``index`` instead of a hash
    tile (then ``level`` is 0)."""

    level: int
    index: int
    width: int
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL or self.index < 0:
            raise LedgerError(f"No tile at level {self.level}, index {self.index}.")
        if not 0 < self.width <= TILE_WIDTH:
            raise LedgerError(f"A tile is 1 to {TILE_WIDTH} wide, not {self.width}.")
        if self.entries and self.level:
            raise LedgerError("Entry bundles exist at level 0 only.")

    @property
    def full(self) -> bool:
        """True for a full tile (256 hashes or entries)."""
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """The path under the log's prefix: ``tile/<L>/<N>[.p/<W>]`` or
        ``tile/entries/<N>[.p/<W>]``."""
        head = "tile/entries" if self.entries else f"tile/{self.level}"
        tail = "" if self.full else f".p/{self.width}"
        return f"{head}/{encode_index(self.index)}{tail}"

    @property
    def node_level(self) -> int:
        """The Merkle tree level of this tile's hashes (``8 * level``)."""
        return TILE_HEIGHT * self.level

    @property
    def first_node(self) -> int:
        """The index, within :attr:`node_level`, of this tile's first hash."""
        return self.index * TILE_WIDTH

    @property
    def leaves(self) -> tuple[int, int]:
        """The half-open range of entries ``[start, end)`` this tile's hashes cover."""
        span = 1 << self.node_level
        return self.first_node * span, (self.first_node + self.width) * span

    def fits(self, size: int) -> bool:
        """True if a tree of ``size`` entries has every hash (or entry) of this tile: its full
        tiles, its partial tile, and the partial tiles of smaller sizes the full ones replace."""
        return self.first_node + self.width <= size >> self.node_level

    def byte_length(self) -> int:
        """The exact size of a hash tile: 32 bytes per hash."""
        return self.width * HASH_SIZE


def encode_index(index: int) -> str:
    """Return a tile index as tlog-tiles path elements: 3 digits each, all but the last with
    an ``x`` prefix (``1234067`` is ``x001/x234/067``; ``5`` is ``005``).

    Raises:
        LedgerError: for a negative index.
    """
    if index < 0:
        raise LedgerError(f"A tile index is not negative, got {index}.")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def parse_tile_path(path: str) -> Tile:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (no leading slash).

    Only the canonical spelling is accepted (no leading zeros in ``L`` or ``W``, no surplus
    ``x000`` elements, ``W`` below 256), so each tile has exactly one path.

    Raises:
        InvalidInput: naming what is wrong with the path.
    """
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise _bad_path(path, "it does not start with tile/<level>/ or tile/entries/")
    entries = parts[1] == "entries"
    level = 0
    if not entries:
        if not _DECIMAL.fullmatch(parts[1]) or int(parts[1]) > MAX_LEVEL:
            raise _bad_path(path, f"the level must be 0-{MAX_LEVEL} without leading zeros")
        level = int(parts[1])
    elements = parts[2:]
    width = TILE_WIDTH
    if len(elements) >= 2 and elements[-2].endswith(".p"):
        width_text = elements[-1]
        if not _DECIMAL.fullmatch(width_text) or not 0 < int(width_text) < TILE_WIDTH:
            raise _bad_path(path, f"a partial width must be 1-{TILE_WIDTH - 1}")
        width = int(width_text)
        elements = [*elements[:-2], elements[-2][: -len(".p")]]
    for position, element in enumerate(elements):
        last = position == len(elements) - 1
        if not _ELEMENT.fullmatch(element) or element.startswith("x") == last:
            raise _bad_path(
                path, "the index must be 3-digit elements, each but the last starting with x"
            )
    index = int("".join(e.lstrip("x") for e in elements))
    tile = Tile(level, index, width, entries)
    if tile.path != path:
        raise _bad_path(path, f"the canonical spelling is {tile.path}")
    return tile


def tiles_for_size(size: int) -> list[Tile]:
    """Return every hash tile of a tree of ``size`` entries: per level, from level 0 up, the
    full tiles in index order and then the partial one, if not empty.

    Raises:
        LedgerError: for a negative size.
    """
    if size < 0:
        raise LedgerError(f"A tree size is not negative, got {size}.")
    tiles: list[Tile] = []
    level, count = 0, size  # count: hashes at this level (complete subtrees of height 8L)
    while count:
        full, rest = divmod(count, TILE_WIDTH)
        tiles.extend(Tile(level, index, TILE_WIDTH) for index in range(full))
        if rest:
            tiles.append(Tile(level, full, rest))
        level, count = level + 1, full
    return tiles


def bundles_for_size(size: int) -> list[Tile]:
    """Return the entry bundles of a tree of ``size`` entries, in order.

    Raises:
        LedgerError: for a negative size.
    """
    if size < 0:
        raise LedgerError(f"A tree size is not negative, got {size}.")
    full, rest = divmod(size, TILE_WIDTH)
    bundles = [Tile(0, index, TILE_WIDTH, entries=True) for index in range(full)]
    if rest:
        bundles.append(Tile(0, full, rest, entries=True))
    return bundles


def encode_bundle(entries: Sequence[bytes]) -> bytes:
    """Return an entry bundle: each entry as a big-endian uint16 length, then its bytes.

    Raises:
        LedgerError: for no entry, more than 256, or an entry longer than 65,535 bytes.
    """
    if not 0 < len(entries) <= TILE_WIDTH:
        raise LedgerError(f"A bundle holds 1 to {TILE_WIDTH} entries, not {len(entries)}.")
    out = bytearray()
    for data in entries:
        if len(data) > MAX_ENTRY_BYTES:
            raise LedgerError(
                f"Leaf data of {len(data)} bytes does not fit an entry bundle (at most "
                f"{MAX_ENTRY_BYTES})."
            )
        out += len(data).to_bytes(2, "big")
        out += data
    return bytes(out)


def decode_bundle(data: bytes, tile: Tile) -> list[bytes]:
    """Split entry bundle ``tile`` into its ``tile.width`` entries.

    Raises:
        VerificationFailed: ``reason='truncated_bundle'`` if the bytes end inside an entry or
            hold fewer entries than the width; ``reason='malformed_bundle'`` if bytes are left
            over after the last entry.
    """
    entries: list[bytes] = []
    offset, end = 0, len(data)
    while offset < end and len(entries) < tile.width:
        if offset + 2 > end:
            break
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > end:
            break
        entries.append(data[offset : offset + length])
        offset += length
    if len(entries) < tile.width:
        raise VerificationFailed(
            f"The entry bundle {tile.path} is truncated: it holds {len(entries)} whole entries "
            f"of the {tile.width} its width says.",
            reason="truncated_bundle",
            kind="tile",
            tile=tile.path,
            expected=tile.width,
            actual=len(entries),
        )
    if offset != end:
        raise VerificationFailed(
            f"The entry bundle {tile.path} has {end - offset} bytes after its last entry.",
            reason="malformed_bundle",
            kind="tile",
            tile=tile.path,
            expected=offset,
            actual=end,
        )
    return entries


def split_tile(data: bytes, tile: Tile) -> list[bytes]:
    """Split hash tile ``tile`` into its 32-byte hashes.

    Raises:
        VerificationFailed: ``reason='malformed_tile'`` unless it is exactly ``32 * width``
            bytes.
    """
    if len(data) != tile.byte_length():
        raise VerificationFailed(
            f"The tile {tile.path} is {len(data)} bytes, not the {tile.byte_length()} of "
            f"{tile.width} hashes.",
            reason="malformed_tile",
            kind="tile",
            tile=tile.path,
            expected=tile.byte_length(),
            actual=len(data),
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def root_from_partial_tiles(size: int, partial: Mapping[int, Sequence[bytes]]) -> bytes:
    """Return the Merkle tree hash of a tree of ``size`` entries from its partial tiles alone.

    ``partial`` maps a level to the hashes of that level's partial tile (levels without one
    may be left out). Each complete subtree of ``[0, size)`` (RFC 9162 §2.1.1, largest first)
    at height ``8 * l + r`` is rebuilt from ``2**r`` consecutive hashes of the level-*l*
    partial tile, then they are folded right to left (module doc).

    Raises:
        LedgerError: if a partial tile is missing or has the wrong width for ``size``.
    """
    for level, hashes in partial.items():
        expected = (size >> (TILE_HEIGHT * level)) % TILE_WIDTH
        if len(hashes) != expected:
            raise LedgerError(
                f"The partial tile of level {level} has {len(hashes)} hashes; a tree of size "
                f"{size} needs {expected}."
            )
    subtrees: list[bytes] = []
    for height, index in perfect_subtrees(0, size):
        level, rest = divmod(height, TILE_HEIGHT)
        # The partial tile of this level starts after its level's full tiles.
        first = (index << rest) - ((size >> (TILE_HEIGHT * (level + 1))) << TILE_HEIGHT)
        run = list(partial.get(level, ()))[first : first + (1 << rest)]
        if len(run) != 1 << rest:
            raise LedgerError(f"The partial tile of level {level} is missing for size {size}.")
        subtrees.append(_perfect_root(run))
    return fold_subtrees(subtrees)


class TileTree:
    """Builds the tiles of a tree as its leaf hashes arrive in order, holding only one row of
    at most 255 hashes per level.

    :meth:`append` returns the full tiles a leaf completes; :meth:`partial_tiles` the partial
    ones of the tree so far, and :meth:`root` its Merkle tree hash.
    """

    __slots__ = ("_rows", "size")

    def __init__(self) -> None:
        self.size = 0
        self._rows: list[list[bytes]] = [[]]

    def append(self, leaf_hash: bytes) -> list[tuple[Tile, bytes]]:
        """Add the next leaf hash; return ``(tile, tile bytes)`` of each full tile it
        completes, level 0 first.

        Raises:
            LedgerError: if ``leaf_hash`` is not 32 bytes.
        """
        if len(leaf_hash) != HASH_SIZE:
            raise LedgerError(f"A leaf hash is {HASH_SIZE} bytes, not {len(leaf_hash)}.")
        completed: list[tuple[Tile, bytes]] = []
        self.size += 1
        level, value = 0, leaf_hash
        while True:
            row = self._rows[level]
            row.append(value)
            if len(row) < TILE_WIDTH:
                break
            index = (self.size >> (TILE_HEIGHT * (level + 1))) - 1
            completed.append((Tile(level, index, TILE_WIDTH), b"".join(row)))
            value = _perfect_root(row)
            row.clear()
            level += 1
            if level == len(self._rows):
                self._rows.append([])
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[tuple[Tile, bytes]]:
        """:meth:`append` each hash; return every full tile completed, in order."""
        completed: list[tuple[Tile, bytes]] = []
        for value in leaf_hashes:
            completed.extend(self.append(value))
        return completed

    def partial_tiles(self) -> list[tuple[Tile, bytes]]:
        """Return ``(tile, tile bytes)`` of the partial tile of each level that has one."""
        tiles = []
        for level, row in enumerate(self._rows):
            if row:
                index = self.size >> (TILE_HEIGHT * (level + 1))
                tiles.append((Tile(level, index, len(row)), b"".join(row)))
        return tiles

    def root(self) -> bytes:
        """Return the Merkle tree hash of the leaves so far."""
        return root_from_partial_tiles(self.size, dict(enumerate(self._rows)))


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    # The Merkle tree hash of a power-of-two run of hashes: pair them up level by level.
    layer = list(hashes)
    while len(layer) > 1:
        layer = [node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def _bad_path(path: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"{path!r} is not a tlog-tiles path: {why}.", path=path[:200], reason="bad_tile_path"
    )
