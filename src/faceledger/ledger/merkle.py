"""The Merkle tree of RFC 6962 / RFC 9162 §2.1: hashes, tree heads, and where proofs come from.

Hashing is exactly RFC 9162 §2.1.1 with SHA-256::

    leaf hash  = SHA-256(0x00 || leaf data)
    node hash  = SHA-256(0x01 || left child hash || right child hash)
    MTH({})    = SHA-256()                      (the empty string)

A tree of any size is stored as its *complete subtrees*: the node ``(level, index)`` is the hash
of the perfect subtree over leaves ``[index * 2**level, (index + 1) * 2**level)``. Such a node
never changes once its last leaf is appended, so the log writes each one exactly once. Every
tree head and every proof element for any past tree size is a fold of ``O(log n)`` of these
nodes, which is how the database-backed log answers without loading the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "NodeId",
    "consistency_ranges",
    "fold_subtrees",
    "inclusion_ranges",
    "largest_power_of_two_below",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root_from_leaf_hashes",
    "root_from_leaves",
]

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256

# (level, index): the perfect subtree over leaves [index << level, (index + 1) << level).
NodeId = tuple[int, int]
# A half-open leaf range [start, end) whose Merkle tree hash is one proof element.
LeafRange = tuple[int, int]


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the RFC 6962 hash of one leaf."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the RFC 6962 hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (``n`` > 1), RFC 9162's k."""
    if n < 2:
        raise ValueError(f"no power of two below {n} splits a tree")
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """Return MTH(D[n]) for raw leaf data, by the recursive definition of RFC 9162 §2.1.1.

    This is the reference the tests hold every faster path to.
    """
    return root_from_leaf_hashes([leaf_hash(d) for d in leaves])


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle tree hash of a list of leaf hashes (recursive RFC definition)."""
    n = len(hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hashes[0]
    k = largest_power_of_two_below(n)
    return node_hash(root_from_leaf_hashes(hashes[:k]), root_from_leaf_hashes(hashes[k:]))


def perfect_subtrees(start: int, end: int) -> list[NodeId]:
    """Return the complete subtrees that tile ``[start, end)``, left to right, largest first.

    For the ranges RFC 9162 proofs use (``start`` a multiple of a power of two at least
    ``end - start``) folding them right to left (:func:`fold_subtrees`) gives MTH(D[start:end]).
    """
    nodes: list[NodeId] = []
    while start < end:
        # The biggest aligned block that starts here and still fits.
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length()
        while (1 << level) > end - start:
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Combine complete-subtree hashes (left to right, largest first) into one tree hash."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[LeafRange]:
    """Return the leaf ranges whose tree hashes form PATH(index, D[size]), bottom-up.

    RFC 9162 §2.1.3.1: split at k, the largest power of two below n; recurse into the half that
    holds the leaf and append the tree hash of the other half.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    ranges: list[LeafRange] = []
    start, end = 0, size
    while end - start > 1:
        k = largest_power_of_two_below(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start = start + k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[LeafRange]:
    """Return the leaf ranges whose tree hashes form PROOF(m, D[n]) (RFC 9162 §2.1.4.1).

    Empty when ``old_size`` is 0 or equal to ``new_size``.
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    ranges: list[LeafRange] = []
    # SUBPROOF(m, D[start:end], b), unrolled; ``complete`` is b.
    m, start, end, complete = old_size, 0, new_size, True
    while m != end - start:
        k = largest_power_of_two_below(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m, start, complete = m - k, start + k, False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


class CompactRange:
    """The complete subtrees covering leaves ``[0, size)``: enough to append and to give the root.

    There is one hash per set bit of ``size``, largest subtree first (Trillian's compact range
    for a tree prefix). Appending a leaf merges equal-sized subtrees and reports the nodes that
    became complete.
    """

    __slots__ = ("_hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a compact range of size {size} has {size.bit_count()} hashes")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("compact range hashes must be 32 bytes")
        self.size = size
        self._hashes = list(hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> CompactRange:
        """Rebuild from :meth:`to_bytes` output."""
        if len(data) % HASH_SIZE:
            raise ValueError("compact range bytes are not a whole number of hashes")
        return cls(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])

    def to_bytes(self) -> bytes:
        """Return the subtree hashes concatenated, largest subtree first."""
        return b"".join(self._hashes)

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The complete-subtree hashes, largest subtree first."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; return the ``(level, index, hash)`` of interior nodes it completed.

        Level-0 nodes (the leaf itself) are not included.
        """
        completed: list[tuple[int, int, bytes]] = []
        index, acc, level = self.size, leaf, 0
        # Each set low bit of the old size is a left sibling waiting for this subtree.
        while (index >> level) & 1:
            acc = node_hash(self._hashes.pop(), acc)
            level += 1
            completed.append((level, index >> level, acc))
        self._hashes.append(acc)
        self.size += 1
        return completed

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append many leaf hashes at once; the same tree as :meth:`append` of each, in order.

        It works level by level: the new nodes of one level are hashed in pairs into the next,
        taking in the waiting left sibling (a hash of the range) where the old size has that
        bit set, and leaving the odd last node as the range's subtree of that level. One pass
        of list work per level instead of a loop of Python calls per leaf.
        """
        if not leaves:
            return
        old, new = self.size, self.size + len(leaves)
        kept = self._hashes
        row = list(leaves)
        tail: list[bytes] = []  # the new range's subtrees, smallest first
        level = 0
        while row:
            if (old >> level) & 1:
                # A complete left sibling waits in the old range: the smallest hash left there.
                row.insert(0, kept.pop())
            if (new >> level) & 1:
                tail.append(row.pop())
            row = [
                _sha256(NODE_PREFIX + left + right).digest()
                for left, right in zip(row[0::2], row[1::2], strict=True)
            ]
            level += 1
        kept.extend(reversed(tail))
        self.size = new

    def root(self) -> bytes:
        """Return the Merkle tree hash of leaves ``[0, size)``."""
        return fold_subtrees(self._hashes)
