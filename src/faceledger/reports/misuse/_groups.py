"""Grouping helpers of the misuse rules: connected components over pairwise links."""

from __future__ import annotations

from collections.abc import Iterable


class Links:
    """Union-find over ``n`` items: link pairs, then read the groups (connected components)."""

    def __init__(self, n: int) -> None:
        self._parent = list(range(n))

    def _root(self, i: int) -> int:
        parent = self._parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving
            i = parent[i]
        return i

    def link(self, a: int, b: int) -> None:
        """Put items ``a`` and ``b`` in one group."""
        ra, rb = self._root(a), self._root(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def link_all(self, items: Iterable[int]) -> None:
        """Put all of ``items`` in one group."""
        first: int | None = None
        for i in items:
            if first is None:
                first = i
            else:
                self.link(first, i)

    def groups(self) -> list[list[int]]:
        """Every group of more than one item, each sorted, in order of their first item."""
        found: dict[int, list[int]] = {}
        for i in range(len(self._parent)):
            found.setdefault(self._root(i), []).append(i)
        return [members for _, members in sorted(found.items()) if len(members) > 1]
