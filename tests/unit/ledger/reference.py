"""Test-only references: an in-memory tree, and RFC 9162's algorithms transcribed literally.

Nothing here is used by the library; the tests hold the library to these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from faceledger.ledger.merkle import (
    NodeId,
    largest_power_of_two_below,
    node_hash,
    root_from_leaf_hashes,
)


class MemoryTree:
    """Every complete subtree of a list of leaf hashes, kept in a dict (the DB's table in RAM)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = list(leaves)
        self.nodes: dict[NodeId, bytes] = {(0, i): h for i, h in enumerate(leaves)}
        level, width = 0, len(leaves)
        while width > 1:
            for i in range(width // 2):
                left, right = self.nodes[(level, 2 * i)], self.nodes[(level, 2 * i + 1)]
                self.nodes[(level + 1, i)] = node_hash(left, right)
            level, width = level + 1, width // 2

    def read(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        return {node: self.nodes[node] for node in ids}

    def root(self, size: int) -> bytes:
        return root_from_leaf_hashes(self.leaves[:size])


def rfc_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, recursively, over leaf hashes."""
    n = len(leaves)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return [*rfc_path(m, leaves[:k]), root_from_leaf_hashes(leaves[k:])]
    return [*rfc_path(m - k, leaves[k:]), root_from_leaf_hashes(leaves[:k])]


def rfc_proof(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1, recursively, over leaf hashes (0 < m <= n)."""

    def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if b else [root_from_leaf_hashes(d)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return [*subproof(m, d[:k], b), root_from_leaf_hashes(d[k:])]
        return [*subproof(m - k, d[k:], False), root_from_leaf_hashes(d[:k])]

    return subproof(m, leaves, True)


def rfc_verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if leaf_index >= tree_size:  # 1.
        return False
    fn, sn = leaf_index, tree_size - 1  # 2.
    r = leaf  # 3.
    for p in path:  # 4.
        if sn == 0:  # 4.1
            return False
        if fn & 1 or fn == sn:  # 4.2
            r = node_hash(p, r)  # 4.2.1
            if not fn & 1:  # 4.2.2
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)  # 4.3
        fn, sn = fn >> 1, sn >> 1  # 4.4
    return sn == 0 and r == root  # 5.


def rfc_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, step by step (for 0 < first < second)."""
    if not path:  # 1.
        return False
    path = list(path)
    if first & (first - 1) == 0:  # 2. first is an exact power of 2
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1  # 3.
    while fn & 1:  # 4.
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # 5.
    for c in path[1:]:  # 6.
        if sn == 0:  # 6.1
            return False
        if fn & 1 or fn == sn:  # 6.2
            fr = node_hash(c, fr)  # 6.2.1
            sr = node_hash(c, sr)
            if not fn & 1:  # 6.2.2
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)  # 6.3
        fn, sn = fn >> 1, sn >> 1  # 6.4
    return fr == first_hash and sr == second_hash and sn == 0  # 7.
