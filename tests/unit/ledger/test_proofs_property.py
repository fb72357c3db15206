"""Property tests: every proof for trees up to 1,000 leaves verifies; a damaged one never does.

Trees live in memory here (the DB-backed log is held to these in test_log.py). Each proof is
checked three ways: it equals RFC 9162's recursive definition, the library's verifier accepts it,
and RFC 9162's step-by-step verifier (tests/unit/ledger/reference.py) agrees on every verdict.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faceledger.errors import VerificationFailed
from faceledger.ledger.merkle import CompactRange, leaf_hash
from faceledger.ledger.proofs import (
    build_consistency_proof,
    build_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)

from .reference import (
    MemoryTree,
    rfc_path,
    rfc_proof,
    rfc_verify_consistency,
    rfc_verify_inclusion,
)

MAX_SIZE = 1000
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.lru_cache(maxsize=1)
def _big_tree() -> MemoryTree:
    # One tree of MAX_SIZE leaves; a tree of size n is its first n leaves, so every size shares it.
    return MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(MAX_SIZE)])


@functools.lru_cache(maxsize=MAX_SIZE + 1)
def _root(size: int) -> bytes:
    return _big_tree().root(size)


def _flip(proof: tuple[bytes, ...], element: int, bit: int) -> list[bytes]:
    damaged = list(proof)
    h = bytearray(damaged[element])
    h[bit // 8] ^= 1 << (bit % 8)
    damaged[element] = bytes(h)
    return damaged


def _inclusion_ok(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    try:
        verify_inclusion(index, size, leaf, proof, root)
    except VerificationFailed:
        return False
    return True


def _consistency_ok(size1: int, size2: int, proof: list[bytes], r1: bytes, r2: bytes) -> bool:
    try:
        verify_consistency(size1, size2, proof, r1, r2)
    except VerificationFailed:
        return False
    return True


@st.composite
def tree_and_leaf(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return size, draw(st.integers(0, size - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(2, MAX_SIZE))
    return draw(st.integers(1, new - 1)), new


@FAST
@given(tree_and_leaf())
def test_inclusion_proofs_verify(case: tuple[int, int]) -> None:
    size, index = case
    tree = _big_tree()
    proof = build_inclusion_proof(index, size, tree.read)
    assert list(proof.hashes) == rfc_path(index, tree.leaves[:size])
    leaf, root = tree.leaves[index], _root(size)
    verify_inclusion(index, size, leaf, proof.hashes, root)
    assert rfc_verify_inclusion(index, size, leaf, proof.hashes, root)


@FAST
@given(tree_and_leaf(), st.data())
def test_damaged_inclusion_proofs_never_verify(case: tuple[int, int], data: st.DataObject) -> None:
    size, index = case
    tree = _big_tree()
    proof = build_inclusion_proof(index, size, tree.read).hashes
    leaf, root = tree.leaves[index], _root(size)
    probes: list[tuple[int, int, list[bytes], bytes]] = []
    if proof:
        element = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        probes.append((index, size, _flip(proof, element, bit), root))
    if size > 1:
        other = data.draw(st.integers(0, size - 2), label="other index")
        probes.append((other + (other >= index), size, list(proof), root))
    # A wrong size comes with that size's (signed) root, as it would from a checkpoint.
    wrong_size = data.draw(st.integers(index + 1, MAX_SIZE).filter(lambda n: n != size))
    probes.append((index, wrong_size, list(proof), _root(wrong_size)))
    for i, n, p, r in probes:
        assert not _inclusion_ok(i, n, leaf, p, r), (i, n)
        assert not rfc_verify_inclusion(i, n, leaf, p, r), (i, n)


@FAST
@given(two_sizes())
def test_consistency_proofs_verify(sizes: tuple[int, int]) -> None:
    old, new = sizes
    tree = _big_tree()
    proof = build_consistency_proof(old, new, tree.read)
    assert list(proof.hashes) == rfc_proof(old, tree.leaves[:new])
    verify_consistency(old, new, proof.hashes, _root(old), _root(new))
    assert rfc_verify_consistency(old, new, _root(old), _root(new), proof.hashes)


@FAST
@given(two_sizes(), st.data())
def test_damaged_consistency_proofs_never_verify(
    sizes: tuple[int, int], data: st.DataObject
) -> None:
    old, new = sizes
    proof = build_consistency_proof(old, new, _big_tree().read).hashes
    element = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(st.integers(0, 255), label="bit")
    wrong_old = data.draw(st.integers(1, new - 1).filter(lambda m: m != old), label="old")
    wrong_new = data.draw(st.integers(old + 1, MAX_SIZE).filter(lambda n: n != new), label="new")
    probes = [
        (old, new, _flip(proof, element, bit)),
        (wrong_old, new, list(proof)),
        (old, wrong_new, list(proof)),
    ]
    for m, n, p in probes:
        assert not _consistency_ok(m, n, p, _root(m), _root(n)), (m, n)
        assert not rfc_verify_consistency(m, n, _root(m), _root(n), p), (m, n)


@FAST
@given(st.integers(0, MAX_SIZE))
def test_compact_range_matches_reference_root(size: int) -> None:
    tree = _big_tree()
    compact = CompactRange()
    completed = []
    for leaf in tree.leaves[:size]:
        completed.extend(compact.append(leaf))
    assert compact.root() == _root(size)
    assert len(compact.hashes) == size.bit_count()
    # Every interior node the range reports is the stored complete subtree of that name.
    assert all(tree.nodes[(level, i)] == h for level, i, h in completed)
    restored = CompactRange.from_bytes(size, compact.to_bytes())
    assert restored.root() == compact.root()


@pytest.mark.parametrize(("size", "count"), [(1, 0), (3, 1), (5, 1), (7, 2)])
def test_compact_range_rejects_wrong_hash_count(size: int, count: int) -> None:
    with pytest.raises(ValueError):
        CompactRange(size, [b"\x00" * 32] * count)
