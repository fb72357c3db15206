"""Inclusion and consistency proofs: building them from stored subtrees, and verifying them.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 in the form Trillian (transparency-dev/merkle
``proof/verify.go``) and sigstore-python (``_internal/merkle.py``) use, and keeps their helper
names (``_decomp_inclusion_proof``, ``_inner_proof_size``, ``_chain_inner``,
``_chain_inner_right``, ``_chain_border_right``) so the two can be read side by side. Every digest
comparison is constant-time. Verifiers return None or raise
:class:`~faceledger.errors.VerificationFailed` with ``expected`` and ``actual`` in its details.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from faceledger.errors import VerificationFailed
from faceledger.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    NodeId,
    consistency_ranges,
    fold_subtrees,
    inclusion_ranges,
    node_hash,
    perfect_subtrees,
)

__all__ = [
    "ConsistencyProof",
    "InclusionProof",
    "NodeReader",
    "build_consistency_proof",
    "build_inclusion_proof",
    "root_from_consistency_proof",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]

# Given node ids, return their hashes (every id asked for must be present).
NodeReader = Callable[[Sequence[NodeId]], Mapping[NodeId, bytes]]


@dataclass(frozen=True)
class InclusionProof:
    """PATH(leaf_index, D[tree_size]): sibling hashes from the leaf up (RFC 9162 §2.1.3)."""

    leaf_index: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: ``{"leaf_index", "tree_size", "hashes": [hex, ...]}``."""
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "hashes": [h.hex() for h in self.hashes],
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4)."""

    old_size: int
    new_size: int
    hashes: tuple[bytes, ...]

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: ``{"old_size", "new_size", "hashes": [hex, ...]}``."""
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "hashes": [h.hex() for h in self.hashes],
        }


def _hashes_of_ranges(ranges: Iterable[tuple[int, int]], read: NodeReader) -> tuple[bytes, ...]:
    tilings = [perfect_subtrees(start, end) for start, end in ranges]
    # One read for the whole proof: O(log n) nodes.
    found = read(sorted({node for tiling in tilings for node in tiling}))
    return tuple(fold_subtrees([found[node] for node in tiling]) for tiling in tilings)


def build_inclusion_proof(index: int, size: int, read: NodeReader) -> InclusionProof:
    """Build the inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Raises:
        ValueError: unless 0 <= index < size.
    """
    return InclusionProof(index, size, _hashes_of_ranges(inclusion_ranges(index, size), read))


def build_consistency_proof(old_size: int, new_size: int, read: NodeReader) -> ConsistencyProof:
    """Build the consistency proof between tree sizes ``old_size`` <= ``new_size``.

    Raises:
        ValueError: unless 0 <= old_size <= new_size.
    """
    ranges = consistency_ranges(old_size, new_size)
    return ConsistencyProof(old_size, new_size, _hashes_of_ranges(ranges, read))


def _fail(message: str, reason: str, expected: object, actual: object) -> VerificationFailed:
    return VerificationFailed(message, reason=reason, expected=expected, actual=actual)


def _verify_match(calculated: bytes, given: bytes, what: str) -> None:
    """Compare in constant time; ``expected`` is the hash given, ``actual`` the one computed."""
    if not hmac.compare_digest(calculated, given):
        raise _fail(
            f"The {what} computed does not match the one given.",
            "root_mismatch",
            given.hex(),
            calculated.hex(),
        )


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise _fail(f"The {what} is not a SHA-256 hash.", "bad_hash_size", HASH_SIZE, len(value))


def _decomp_inclusion_proof(index: int, size: int) -> tuple[int, int]:
    """Split the proof of leaf ``index`` in a tree of ``size`` into (inner, border) lengths.

    The split is where the paths to ``index`` and to ``size - 1`` diverge: below it the proof
    runs through complete subtrees, above it along the tree's right border.
    """
    inner = _inner_proof_size(index, size)
    border = (index >> inner).bit_count()
    return inner, border


def _inner_proof_size(index: int, size: int) -> int:
    return (index ^ (size - 1)).bit_length()


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Hash ``seed`` up through ``proof`` (lowest level first); bit i of ``index`` says the side."""
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like :func:`_chain_inner` but only through left siblings: the subtree's earlier version."""
    for i, h in enumerate(proof):
        if (index >> i) & 1 == 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    """Hash ``seed`` up the right border, where every proof hash is a left sibling."""
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """Return the root that ``proof`` implies for leaf ``index`` of a tree of ``size``.

    Raises:
        VerificationFailed: if the index is out of range or the proof has the wrong length.
    """
    # (1) The leaf must be in the tree.
    if not 0 <= index < size:
        raise _fail(
            f"Leaf index {index} is not in a tree of size {size}.",
            "index_out_of_range",
            f"0 <= index < {size}",
            index,
        )
    _check_hash(leaf_hash, "leaf hash")
    # (2) The proof length is fixed by index and size alone.
    inner, border = _decomp_inclusion_proof(index, size)
    if len(proof) != inner + border:
        raise _fail(
            "The inclusion proof has the wrong number of hashes.",
            "wrong_proof_size",
            inner + border,
            len(proof),
        )
    for h in proof:
        _check_hash(h, "proof element")
    # (3) Chain through the complete subtrees, then (4) up the right border.
    res = _chain_inner(leaf_hash, proof[:inner], index)
    return _chain_border_right(res, proof[inner:])


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf with ``leaf_hash`` is at ``index`` in the tree of ``size`` and ``root``.

    Raises:
        VerificationFailed: naming why (``details['reason']``), with expected vs actual.
    """
    _check_hash(root, "root hash")
    _verify_match(root_from_inclusion_proof(index, size, leaf_hash, proof), root, "root hash")


def root_from_consistency_proof(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes
) -> bytes:
    """Check ``proof`` against ``root1`` and return the root of size ``size2`` it implies.

    Raises:
        VerificationFailed: if the sizes are impossible, the proof has the wrong length, or the
            proof does not reproduce ``root1``.
    """
    _check_hash(root1, "first root hash")
    for h in proof:
        _check_hash(h, "proof element")
    # (1) Sizes: a log never shrinks.
    if size2 < size1 or size1 < 0:
        raise _fail(
            f"A tree of size {size1} cannot grow into one of size {size2}.",
            "size_decreased",
            f">= {size1}",
            size2,
        )
    # (2) Equal sizes: nothing to prove, the roots must simply be the same.
    if size1 == size2:
        if proof:
            raise _fail("Equal tree sizes need an empty proof.", "wrong_proof_size", 0, len(proof))
        return root1
    # (3) Every tree extends the empty tree, so no proof from it says anything about root2.
    if size1 == 0:
        raise _fail(
            "A consistency proof from the empty tree does not determine the new root.",
            "meaningless_proof",
            "size1 > 0",
            0,
        )
    if not proof:
        raise _fail("The consistency proof is empty.", "wrong_proof_size", ">= 1", 0)

    # (4) The proof is a suffix of the inclusion proof of leaf size1-1 in the tree of size2,
    # shifted up to the level of the largest complete subtree ending at size1.
    inner, border = _decomp_inclusion_proof(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    # (5) That subtree's hash is proof[0], unless size1 is a power of two: then it is root1.
    if size1 == 1 << shift:
        seed, start = root1, 0
    else:
        seed, start = proof[0], 1
    if len(proof) != start + inner + border:
        raise _fail(
            "The consistency proof has the wrong number of hashes.",
            "wrong_proof_size",
            start + inner + border,
            len(proof),
        )
    rest = proof[start:]
    mask = (size1 - 1) >> shift
    # (6) Rebuild root1 from the left-hand hashes only...
    hash1 = _chain_inner_right(seed, rest[:inner], mask)
    hash1 = _chain_border_right(hash1, rest[inner:])
    _verify_match(hash1, root1, "first root hash")
    # (7) ...and root2 from all of them.
    hash2 = _chain_inner(seed, rest[:inner], mask)
    return _chain_border_right(hash2, rest[inner:])


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1``/``root1`` is a prefix of the tree of ``size2``/``root2``.

    From size 0 the proof must be empty and ``root1`` must be the empty-tree root (every tree
    extends the empty tree); from equal sizes the proof must be empty and the roots equal.

    Raises:
        VerificationFailed: naming why (``details['reason']``), with expected vs actual.
    """
    _check_hash(root2, "second root hash")
    if size1 == 0 and size2 >= 0 and not proof:
        _check_hash(root1, "first root hash")
        _verify_match(EMPTY_ROOT, root1, "root of the empty tree")
        if size2 == 0:
            _verify_match(EMPTY_ROOT, root2, "root of the empty tree")
        return
    _verify_match(root_from_consistency_proof(size1, size2, proof, root1), root2, "second root")
