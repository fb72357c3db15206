"""Known-answer tests: the RFC 6962 / Certificate Transparency reference tree.

The eight leaves, the roots of sizes 1..8, the inclusion and consistency proofs are the published
vectors of Certificate Transparency's merkle_tree_test, as kept by transparency-dev/merkle in
``proof/verify_test.go`` (commit 02194e9afb6c1d95b5381350007963aa70fff472). The proof-shape
vectors (which complete subtrees make up each proof element) are from the same repository's
``proof/proof_test.go`` (commit 02a3e2029520f515596d5238c54fb0ac9e19bff4), rewritten from its
``(level, index)`` node ids with each "rehash" group listed left to right. The corruptions in
``_corrupt_*`` mirror ``corruptInclusionProof`` / ``corruptConsistencyProof`` there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from faceledger.errors import VerificationFailed
from faceledger.ledger.merkle import (
    EMPTY_ROOT,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root_from_leaves,
)
from faceledger.ledger.proofs import (
    build_consistency_proof,
    build_inclusion_proof,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

from .reference import MemoryTree

LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]

# ROOTS[n - 1] is the root of the tree of the first n leaves.
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# (leaf index, tree size, proof). The Go file numbers leaves from 1; these are 0-based.
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
TREE = MemoryTree([leaf_hash(d) for d in LEAVES])


def _root(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size - 1])


def _hashes(proof: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in proof]


@pytest.mark.parametrize("size", range(1, 9))
def test_published_roots(size: int) -> None:
    assert root_from_leaves(LEAVES[:size]) == _root(size)
    assert TREE.root(size) == _root(size)


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_from_leaves([]) == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_hash_prefixes() -> None:
    # RFC 6962 §2.1: leaves and nodes are domain-separated by a 0x00 / 0x01 prefix.
    assert leaf_hash(b"") == _root(1)
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")) == _root(2)


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_published_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    built = build_inclusion_proof(index, size, TREE.read)
    assert [h.hex() for h in built.hashes] == proof
    leaf = leaf_hash(LEAVES[index])
    assert root_from_inclusion_proof(index, size, leaf, _hashes(proof)) == _root(size)
    verify_inclusion(index, size, leaf, _hashes(proof), _root(size))


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_published_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    built = build_consistency_proof(old, new, TREE.read)
    assert [h.hex() for h in built.hashes] == proof
    verify_consistency(old, new, _hashes(proof), _root(old), _root(new))


def _extend(proof: list[bytes], *more: bytes) -> list[bytes]:
    return [*proof, *more]


def _corrupt_inclusion(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> Iterator[tuple[str, int, int, list[bytes], bytes, bytes]]:
    yield "index - 1", index - 1, size, proof, root, leaf
    yield "index + 1", index + 1, size, proof, root, leaf
    yield "index ^ 2", index ^ 2, size, proof, root, leaf
    yield "size * 2", index, size * 2, proof, root, leaf
    yield "size / 2", index, size // 2, proof, root, leaf
    yield "wrong leaf", index, size, proof, root, b"WrongLeaf"
    yield "empty root", index, size, proof, EMPTY_ROOT, leaf
    yield "random root", index, size, proof, SOME_HASH, leaf
    yield "trailing garbage", index, size, _extend(proof, b""), root, leaf
    yield "trailing root", index, size, _extend(proof, root), root, leaf
    yield "preceding garbage", index, size, [b"", *proof], root, leaf
    yield "preceding root", index, size, [root, *proof], root, leaf
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 8]) + flipped[i][1:]
        yield f"proof[{i}] bit 3 flipped", index, size, flipped, root, leaf
    if proof:
        yield "removed component", index, size, proof[:-1], root, leaf
    if len(proof) > 1:
        yield "inserted component", index, size, [proof[0], SOME_HASH, *proof[1:]], root, leaf


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_corrupted_inclusion_proofs_fail(index: int, size: int, proof: list[str]) -> None:
    leaf = leaf_hash(LEAVES[index])
    for desc, i, n, p, root, lh in _corrupt_inclusion(
        index, size, _hashes(proof), _root(size), leaf
    ):
        with pytest.raises(VerificationFailed):
            verify_inclusion(i, n, lh, p, root)
            pytest.fail(f"verified a corrupted proof: {desc}")


def _corrupt_consistency(
    old: int, new: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> Iterator[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    yield "old - 1", old - 1, new, root1, root2, proof
    yield "old + 1", old + 1, new, root1, root2, proof
    yield "old ^ 2", old ^ 2, new, root1, root2, proof
    yield "new * 2", old, new * 2, root1, root2, proof
    yield "new / 2", old, new // 2, root1, root2, proof
    yield "wrong root1", old, new, b"WrongRoot", root2, proof
    yield "wrong root2", old, new, root1, b"WrongRoot", proof
    yield "swapped roots", old, new, root2, root1, proof
    yield "empty proof", old, new, root1, root2, []
    yield "trailing garbage", old, new, root1, root2, _extend(proof, b"")
    yield "trailing root1", old, new, root1, root2, _extend(proof, root1)
    yield "trailing root2", old, new, root1, root2, _extend(proof, root2)
    yield "preceding garbage", old, new, root1, root2, [b"", *proof]
    yield "preceding root1", old, new, root1, root2, [root1, *proof]
    yield "preceding root2", old, new, root1, root2, [root2, *proof]
    yield "preceding proof[0]", old, new, root1, root2, [proof[0], *proof]
    yield "truncated", old, new, root1, root2, proof[:-1]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 16]) + flipped[i][1:]
        yield f"proof[{i}] bit 4 flipped", old, new, root1, root2, flipped


@pytest.mark.parametrize(("old", "new", "proof"), [c for c in CONSISTENCY if c[2]])
def test_corrupted_consistency_proofs_fail(old: int, new: int, proof: list[str]) -> None:
    probes = _corrupt_consistency(old, new, _root(old), _root(new), _hashes(proof))
    for desc, m, n, root1, root2, p in probes:
        with pytest.raises(VerificationFailed):
            verify_consistency(m, n, p, root1, root2)
            pytest.fail(f"verified a corrupted proof: {desc}")


@pytest.mark.parametrize(
    ("size1", "size2", "root1", "root2", "proof", "ok"),
    [
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
        (0, 5, EMPTY_ROOT, SOME_HASH, [], True),  # every tree extends the empty tree
        (0, 5, SOME_HASH, SOME_HASH, [], False),  # ...but its root is SHA-256 of nothing
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, SOME_HASH, SOME_HASH, [], True),
        (1, 1, SOME_HASH, EMPTY_ROOT, [], False),
        (1, 1, SOME_HASH, SOME_HASH, [EMPTY_ROOT], False),
        (1, 0, SOME_HASH, SOME_HASH, [], False),  # time travel to the past
        (2, 1, SOME_HASH, SOME_HASH, [], False),
        (1, 2, SOME_HASH, EMPTY_ROOT, [], False),  # empty proof
    ],
)
def test_consistency_edge_cases(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes], ok: bool
) -> None:
    if ok:
        verify_consistency(size1, size2, proof, root1, root2)
    else:
        with pytest.raises(VerificationFailed):
            verify_consistency(size1, size2, proof, root1, root2)


def test_failure_details_name_expected_and_actual() -> None:
    leaf = leaf_hash(LEAVES[0])
    with pytest.raises(VerificationFailed) as info:
        verify_inclusion(0, 8, leaf, _hashes(INCLUSION[1][2]), SOME_HASH)
    assert info.value.details["reason"] == "root_mismatch"
    assert info.value.details["expected"] == SOME_HASH.hex()
    assert info.value.details["actual"] == ROOTS[7]
    with pytest.raises(VerificationFailed) as info:
        verify_inclusion(0, 8, leaf, [], _root(8))
    assert info.value.details["reason"] == "wrong_proof_size"
    assert (info.value.details["expected"], info.value.details["actual"]) == (3, 0)


Tiling = list[list[tuple[int, int]]]

# (index, size, complete subtrees of each proof element, bottom-up): proof_test.go TestInclusion.
INCLUSION_SHAPES: list[tuple[int, int, Tiling]] = [
    (0, 1, []),
    (0, 2, [[(0, 1)]]),
    (1, 2, [[(0, 0)]]),
    (1, 3, [[(0, 0)], [(0, 2)]]),
    (0, 7, [[(0, 1)], [(1, 1)], [(1, 2), (0, 6)]]),
    (1, 7, [[(0, 0)], [(1, 1)], [(1, 2), (0, 6)]]),
    (2, 7, [[(0, 3)], [(1, 0)], [(1, 2), (0, 6)]]),
    (3, 7, [[(0, 2)], [(1, 0)], [(1, 2), (0, 6)]]),
    (4, 7, [[(0, 5)], [(0, 6)], [(2, 0)]]),
    (5, 7, [[(0, 4)], [(0, 6)], [(2, 0)]]),
    (6, 7, [[(1, 2)], [(2, 0)]]),
    (2, 4, [[(0, 3)], [(1, 0)]]),
    (3, 5, [[(0, 2)], [(1, 0)], [(0, 4)]]),
    (3, 6, [[(0, 2)], [(1, 0)], [(1, 2)]]),
    (4, 6, [[(0, 5)], [(2, 0)]]),
    (10, 15, [[(0, 11)], [(1, 4)], [(1, 6), (0, 14)], [(3, 0)]]),
    (24, 31, [[(0, 25)], [(1, 13)], [(1, 14), (0, 30)], [(3, 2)], [(4, 0)]]),
    (
        81,
        95,
        [[(0, 80)], [(1, 41)], [(2, 21)], [(2, 22), (1, 46), (0, 94)], [(4, 4)], [(6, 0)]],
    ),
]

# (old size, new size, tiling): proof_test.go TestConsistency.
CONSISTENCY_SHAPES: list[tuple[int, int, Tiling]] = [
    (1, 2, [[(0, 1)]]),
    (1, 4, [[(0, 1)], [(1, 1)]]),
    (1, 6, [[(0, 1)], [(1, 1)], [(1, 2)]]),
    (2, 3, [[(0, 2)]]),
    (2, 8, [[(1, 1)], [(2, 1)]]),
    (3, 7, [[(0, 2)], [(0, 3)], [(1, 0)], [(1, 2), (0, 6)]]),
    (4, 7, [[(1, 2), (0, 6)]]),
    (5, 7, [[(0, 4)], [(0, 5)], [(0, 6)], [(2, 0)]]),
    (6, 7, [[(1, 2)], [(0, 6)], [(2, 0)]]),
    (7, 8, [[(0, 6)], [(0, 7)], [(1, 2)], [(2, 0)]]),
    *((n, n, []) for n in (1, 2, 3, 4, 5, 7, 8)),
    (2, 4, [[(1, 1)]]),
    (3, 5, [[(0, 2)], [(0, 3)], [(1, 0)], [(0, 4)]]),
    (3, 6, [[(0, 2)], [(0, 3)], [(1, 0)], [(1, 2)]]),
    (4, 6, [[(1, 2)]]),
    (1, 7, [[(0, 1)], [(1, 1)], [(1, 2), (0, 6)]]),
    (10, 15, [[(1, 4)], [(1, 5)], [(1, 6), (0, 14)], [(3, 0)]]),
    (24, 31, [[(3, 2)], [(2, 6), (1, 14), (0, 30)], [(4, 0)]]),
    (
        81,
        95,
        [
            [(0, 80)],
            [(0, 81)],
            [(1, 41)],
            [(2, 21)],
            [(2, 22), (1, 46), (0, 94)],
            [(4, 4)],
            [(6, 0)],
        ],
    ),
]


@pytest.mark.parametrize(("index", "size", "tiling"), INCLUSION_SHAPES)
def test_inclusion_proof_shapes(index: int, size: int, tiling: Tiling) -> None:
    assert [perfect_subtrees(a, b) for a, b in inclusion_ranges(index, size)] == tiling


@pytest.mark.parametrize(("old", "new", "tiling"), CONSISTENCY_SHAPES)
def test_consistency_proof_shapes(old: int, new: int, tiling: Tiling) -> None:
    assert [perfect_subtrees(a, b) for a, b in consistency_ranges(old, new)] == tiling


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (8, 7), (-1, 3)])
def test_impossible_proof_requests(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        inclusion_ranges(index, size)
