"""Tile math of C2SP tlog-tiles: path encoding, which tiles exist for a size, bundles, and the
tile tree against the RFC 9162 reference hashes."""

from __future__ import annotations

import pytest

from faceledger.errors import InvalidInput, LedgerError, VerificationFailed
from faceledger.ledger.merkle import (
    CompactRange,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    root_from_leaves,
)
from faceledger.ledger.tiles import (
    Tile,
    TileTree,
    bundles_for_size,
    decode_bundle,
    encode_bundle,
    encode_index,
    parse_tile_path,
    root_from_partial_tiles,
    split_tile,
    tiles_for_size,
)


@pytest.mark.parametrize(
    ("index", "encoded"),
    [
        (0, "000"),
        (5, "005"),
        (255, "255"),
        (256, "256"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_index_encoding_follows_the_spec(index: int, encoded: str) -> None:
    assert encode_index(index) == encoded


@pytest.mark.parametrize(
    ("tile", "path"),
    [
        (Tile(0, 0, 256), "tile/0/000"),
        (Tile(0, 255, 256), "tile/0/255"),
        (Tile(0, 256, 256), "tile/0/256"),
        (Tile(1, 1234067, 256), "tile/1/x001/x234/067"),
        (Tile(0, 1, 44), "tile/0/001.p/44"),
        (Tile(2, 1234067, 1), "tile/2/x001/x234/067.p/1"),
        (Tile(63, 0, 255), "tile/63/000.p/255"),
        (Tile(0, 0, 256, entries=True), "tile/entries/000"),
        (Tile(0, 1234, 7, entries=True), "tile/entries/x001/234.p/7"),
    ],
)
def test_tile_paths_round_trip(tile: Tile, path: str) -> None:
    assert tile.path == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(
    "path",
    [
        "tile/0",
        "tiles/0/000",
        "/tile/0/000",
        "tile/00/000",  # leading zero in the level
        "tile/64/000",  # level out of range
        "tile/-1/000",
        "tile/0/0",  # not 3 digits
        "tile/0/0000",
        "tile/0/001/002",  # all but the last element start with x
        "tile/0/x001",  # the last one does not
        "tile/0/x000/001",  # not canonical: 1 is 001
        "tile/0/000.p",  # no width
        "tile/0/000.p/0",
        "tile/0/000.p/256",  # a full tile has no .p suffix
        "tile/0/000.p/07",
        "tile/0/000.p/1/2",
        "tile/0/000/",
        "tile/entries/000.p/",
        "tile/entries",
        "tile/0/abc",
    ],
)
def test_bad_paths_are_refused_with_a_reason(path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_tile_path(path)
    assert caught.value.details["reason"] == "bad_tile_path"
    assert "not a tlog-tiles path" in caught.value.message


def test_tiles_cannot_be_built_outside_the_spec() -> None:
    with pytest.raises(LedgerError):
        Tile(0, 0, 0)
    with pytest.raises(LedgerError):
        Tile(0, 0, 257)
    with pytest.raises(LedgerError):
        Tile(64, 0, 1)
    with pytest.raises(LedgerError):
        Tile(1, 0, 1, entries=True)
    with pytest.raises(LedgerError):
        encode_index(-1)


def _full(level: int, count: int) -> list[Tile]:
    return [Tile(level, i, 256) for i in range(count)]


@pytest.mark.parametrize(
    ("size", "tiles"),
    [
        (0, []),
        (1, [Tile(0, 0, 1)]),
        (255, [Tile(0, 0, 255)]),
        (256, [Tile(0, 0, 256), Tile(1, 0, 1)]),  # the spec's own example
        (257, [Tile(0, 0, 256), Tile(0, 1, 1), Tile(1, 0, 1)]),
        (65536 + 3, [*_full(0, 256), Tile(0, 256, 3), Tile(1, 0, 256), Tile(2, 0, 1)]),
        # The spec's example: 273 full level-0 tiles, a partial of 112, one full level-1 tile,
        # a partial level-1 tile of 17 and a partial level-2 tile of 1.
        (
            70000,
            [*_full(0, 273), Tile(0, 273, 112), Tile(1, 0, 256), Tile(1, 1, 17), Tile(2, 0, 1)],
        ),
    ],
)
def test_which_tiles_a_tree_size_has(size: int, tiles: list[Tile]) -> None:
    assert tiles_for_size(size) == tiles
    bundles = bundles_for_size(size)
    assert bundles == [Tile(0, t.index, t.width, entries=True) for t in tiles if t.level == 0]
    assert sum(b.width for b in bundles) == size
    # Every tile fits the tree, and the next one up in width does not.
    for tile in tiles:
        assert tile.fits(size)
        if not tile.full:
            assert not Tile(tile.level, tile.index, tile.width + 1).fits(size)


def test_tiles_of_smaller_sizes_still_fit_a_larger_tree() -> None:
    assert Tile(0, 1, 44).fits(300)  # the partial of size 300 ...
    assert Tile(0, 1, 44).fits(600)  # ... is a prefix of the full tile of size 600
    assert not Tile(0, 2, 1).fits(512)
    assert not Tile(1, 0, 2).fits(511)


def test_tile_leaf_ranges() -> None:
    assert Tile(0, 3, 256).leaves == (768, 1024)
    assert Tile(1, 1, 17).leaves == (65536, 65536 + 17 * 256)
    assert Tile(2, 0, 1).leaves == (0, 65536)
    assert Tile(0, 273, 112, entries=True).leaves == (69888, 70000)


def test_bundle_encoding_is_uint16_length_prefixed() -> None:
    tile = Tile(0, 0, 3, entries=True)
    entries = [b"", b"ab", b"x" * 300]
    data = encode_bundle(entries)
    assert data == b"\x00\x00" + b"\x00\x02ab" + b"\x01\x2c" + b"x" * 300
    assert decode_bundle(data, tile) == entries


def test_bundle_encoding_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(LedgerError):
        encode_bundle([])
    with pytest.raises(LedgerError):
        encode_bundle([b"a"] * 257)
    with pytest.raises(LedgerError):
        encode_bundle([b"a" * 65536])
    assert len(encode_bundle([b"a" * 65535])) == 65537


@pytest.mark.parametrize(
    ("data", "width", "reason"),
    [
        (b"\x00\x02ab\x00\x01", 2, "truncated_bundle"),  # ends inside the second entry
        (b"\x00\x02ab\x00", 2, "truncated_bundle"),  # ends inside a length
        (b"\x00\x02ab", 2, "truncated_bundle"),  # one entry short
        (b"\x00\x02ab\x00\x01c!", 2, "malformed_bundle"),  # a byte left over
        (b"", 1, "truncated_bundle"),
    ],
)
def test_bad_bundles_are_refused(data: bytes, width: int, reason: str) -> None:
    tile = Tile(0, 4, width, entries=True)
    with pytest.raises(VerificationFailed) as caught:
        decode_bundle(data, tile)
    assert caught.value.details["reason"] == reason
    assert caught.value.details["tile"] == tile.path


def test_hash_tiles_split_into_hashes_or_are_refused() -> None:
    tile = Tile(0, 0, 2)
    assert split_tile(b"a" * 32 + b"b" * 32, tile) == [b"a" * 32, b"b" * 32]
    with pytest.raises(VerificationFailed) as caught:
        split_tile(b"a" * 63, tile)
    assert caught.value.details["reason"] == "malformed_tile"


def _leaves(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def test_small_trees_by_hand() -> None:
    d = _leaves(3)
    tree = TileTree()
    assert tree.extend(leaf_hash(x) for x in d) == []
    [(tile, data)] = tree.partial_tiles()
    assert tile == Tile(0, 0, 3)
    assert data == leaf_hash(d[0]) + leaf_hash(d[1]) + leaf_hash(d[2])
    expected = node_hash(node_hash(leaf_hash(d[0]), leaf_hash(d[1])), leaf_hash(d[2]))
    assert tree.root() == expected == root_from_leaves(d)


def test_a_full_tile_is_hashed_into_the_level_above() -> None:
    d = _leaves(257)
    tree = TileTree()
    completed = tree.extend(leaf_hash(x) for x in d[:256])
    assert [t for t, _ in completed] == [Tile(0, 0, 256)]
    assert completed[0][1] == b"".join(leaf_hash(x) for x in d[:256])
    assert tree.partial_tiles() == [(Tile(1, 0, 1), root_from_leaves(d[:256]))]
    assert tree.root() == root_from_leaves(d[:256])
    tree.append(leaf_hash(d[256]))
    assert tree.partial_tiles() == [
        (Tile(0, 1, 1), leaf_hash(d[256])),
        (Tile(1, 0, 1), root_from_leaves(d[:256])),
    ]
    assert tree.root() == root_from_leaves(d)


def test_the_tile_tree_of_70000_leaves_matches_the_reference() -> None:
    hashes = [leaf_hash(x) for x in _leaves(70000)]
    tree = TileTree()
    tiles = dict(tree.extend(hashes))
    tiles.update(tree.partial_tiles())
    assert sorted(tiles) == sorted(tiles_for_size(70000))
    # A tile's hash i of level l is MTH(D[(n * 256 + i) * 256**l : ...]).
    assert tiles[Tile(0, 7, 256)][32 * 5 : 32 * 6] == hashes[7 * 256 + 5]
    assert tiles[Tile(1, 0, 256)][32 * 3 : 32 * 4] == root_from_leaf_hashes(hashes[768:1024])
    assert tiles[Tile(1, 1, 17)][32 * 16 :] == root_from_leaf_hashes(hashes[69632:69888])
    assert tiles[Tile(2, 0, 1)] == root_from_leaf_hashes(hashes[:65536])
    assert tiles[Tile(0, 273, 112)] == b"".join(hashes[69888:])
    assert tree.root() == root_from_leaf_hashes(hashes)


def test_the_root_from_partial_tiles_for_every_size_up_to_600() -> None:
    reference = CompactRange()
    tree = TileTree()
    assert tree.root() == reference.root()  # the empty tree
    for data in _leaves(600):
        reference.append(leaf_hash(data))
        tree.append(leaf_hash(data))
        assert tree.root() == reference.root(), tree.size


def test_the_root_needs_the_right_partial_tiles() -> None:
    hashes = [leaf_hash(x) for x in _leaves(300)]
    tree = TileTree()
    tree.extend(hashes)
    partial = {tile.level: split_tile(data, tile) for tile, data in tree.partial_tiles()}
    assert root_from_partial_tiles(300, partial) == root_from_leaf_hashes(hashes)
    with pytest.raises(LedgerError):
        root_from_partial_tiles(300, {1: partial[1]})  # level 0 left out
    with pytest.raises(LedgerError):
        root_from_partial_tiles(301, partial)  # a width that does not fit the size
