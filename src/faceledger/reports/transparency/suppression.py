"""Small-cell suppression for the public report, with complementary suppression.

A *cell* is one published count; a *relation* is a set of cells whose weighted sum the reader
knows anyway (a column adds up to its exact total; a row of a table that splits requests adds
up to the agency's request count, itself a cell). Counts from 1 to ``min_cell - 1`` are hidden
(*primary*); zeros are shown. Then:

1. Within each relation holding exactly one hidden cell, the smallest other non-zero cell is
   hidden too (*complementary*), until no relation changes.
2. Rule 1 alone can leave a hidden cell that several relations pin down together (two blocks
   of hidden cells joined by one cell, or tables that share a row total). So every hidden cell
   is tested for linear recovery: it is recoverable exactly when its unit vector lies in the
   row space of the relations restricted to the hidden cells. For the first
   recoverable one, the smallest shown non-zero cell of a relation holding it is hidden (or,
   when those relations have none left, of any relation holding a cell of its group of hidden
   cells, the cells linked to it by relations), and both steps run again, until no hidden cell
   can be recovered.

A hidden cell that cannot be protected at all, because the exact totals (always published) give
it away even with every non-zero cell hidden (the only non-zero cell of a column, say), is
reported as ``exposed``, and no other cell is hidden on its account.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

K = TypeVar("K", bound=Hashable)

_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Suppression(Generic[K]):
    """Which cells are hidden: small ones, those hidden to protect them, and any hidden cell the
    published totals still give away."""

    primary: frozenset[K]
    complementary: frozenset[K]
    exposed: frozenset[K]

    @property
    def hidden(self) -> frozenset[K]:
        """Every hidden cell."""
        return self.primary | self.complementary


def suppress(
    values: Mapping[K, int], relations: Sequence[Mapping[K, int]], min_cell: int
) -> Suppression[K]:
    """Decide which cells of ``values`` to hide (module doc).

    ``relations`` map cells to their coefficients in a sum the reader can form; the order of
    ``values`` breaks ties between equal candidates, so the result is deterministic.

    Raises:
        ValueError: if a relation names a cell that is not in ``values``, or ``min_cell`` < 1.
    """
    if min_cell < 1:
        raise ValueError("min_cell must be at least 1")
    order = {key: i for i, key in enumerate(values)}
    for relation in relations:
        unknown = [k for k in relation if k not in order]
        if unknown:
            raise ValueError(f"a relation names cells that are not counted: {unknown[:3]}")
    primary = {k for k, v in values.items() if 0 < v < min_cell}
    hidden = set(primary)
    # Cells the totals give away even with every non-zero cell hidden: nothing protects them,
    # so no other cell is hidden on their account, nor to partner another.
    hopeless = set(_recoverable(relations, {k for k, v in values.items() if v > 0}))
    while True:
        _one_per_relation(values, relations, hidden, order, hopeless)
        recoverable = [k for k in _recoverable(relations, hidden) if k not in hopeless]
        if not recoverable:
            break
        target = min(recoverable, key=order.__getitem__)
        hidden.add(_partner(values, relations, hidden, order, hopeless, target))
    return Suppression(
        primary=frozenset(primary),
        complementary=frozenset(hidden - primary),
        exposed=frozenset(_recoverable(relations, hidden)),
    )


def _one_per_relation(
    values: Mapping[K, int],
    relations: Sequence[Mapping[K, int]],
    hidden: set[K],
    order: Mapping[K, int],
    hopeless: set[K],
) -> None:
    """Step 1: a relation with one hidden cell gets its smallest other non-zero cell hidden
    (unless that one cannot be protected at all)."""
    changed = True
    while changed:
        changed = False
        for relation in relations:
            inside = [k for k in relation if k in hidden]
            if len(inside) != 1 or inside[0] in hopeless:
                continue
            extra = _smallest_shown(values, (relation,), hidden | hopeless, order)
            if extra is not None:
                hidden.add(extra)
                changed = True


def _partner(
    values: Mapping[K, int],
    relations: Sequence[Mapping[K, int]],
    hidden: set[K],
    order: Mapping[K, int],
    hopeless: set[K],
    target: K,
) -> K:
    """The next cell to hide for ``target``, a hidden cell the relations determine although
    it is not hopeless (step 2 of the module doc)."""
    taken = hidden | hopeless
    extra = _smallest_shown(values, [r for r in relations if target in r], taken, order)
    if extra is None:
        # Every cell of the target's own relations is hidden, zero or hopeless, yet other
        # relations pin it down through a chain of hidden cells (two rows less a column give
        # the sum of two hidden cells of another column, say). A cell hidden anywhere along
        # that chain can break it, so the search widens to every relation of the target's
        # group of hidden cells.
        involved = [r for r in relations if any(k in hidden for k in r)]
        group = next(rows for cells, rows in _components(involved, hidden) if target in cells)
        extra = _smallest_shown(values, group, taken, order)
    # Some such cell exists: were every cell of the group's relations hidden, zero or hopeless,
    # the same sum of relations would pin the target down with every non-zero cell hidden,
    # making it hopeless.
    assert extra is not None
    return extra


def _smallest_shown(
    values: Mapping[K, int],
    relations: Iterable[Mapping[K, int]],
    hidden: set[K],
    order: Mapping[K, int],
) -> K | None:
    candidates = [
        k for relation in relations for k in relation if k not in hidden and values[k] > 0
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda k: (values[k], order[k]))


def _recoverable(relations: Sequence[Mapping[K, int]], hidden: set[K]) -> list[K]:
    """Hidden cells whose value the relations determine (step 2 of the module doc)."""
    involved = [r for r in relations if any(k in hidden for k in r)]
    if not involved:
        return []
    # Independent groups of hidden cells are solved apart, keeping each matrix small.
    groups = _components(involved, hidden)
    found: list[K] = []
    for cells, rows in groups:
        index = {k: i for i, k in enumerate(cells)}
        matrix = np.zeros((len(rows), len(cells)))
        for r, relation in enumerate(rows):
            for k, coefficient in relation.items():
                if k in index:
                    matrix[r, index[k]] = coefficient
        found += [cells[i] for i in _determined_columns(matrix)]
    return found


def _determined_columns(matrix: np.ndarray[Any, Any]) -> list[int]:
    """The unknowns ``x_j`` that ``matrix @ x = known`` pins down: ``e_j`` is in the row space
    exactly when the reduced row echelon form has ``e_j`` itself as a row.

    Gauss-Jordan elimination with partial pivoting, in element-wise numpy operations only: no
    BLAS call, whose thread pool can slow small matrices a hundredfold on a busy machine.
    """
    a = matrix.astype(float)
    rows, cols = a.shape
    pivots: list[tuple[int, int]] = []
    row = 0
    for col in range(cols):
        if row == rows:
            break
        best = row + int(np.argmax(np.abs(a[row:, col])))
        if abs(a[best, col]) < _TOLERANCE:
            continue
        if best != row:
            a[[row, best]] = a[[best, row]]
        a[row] /= a[row, col]
        others = np.abs(a[:, col]) > _TOLERANCE
        others[row] = False
        a[others] -= a[others, col][:, None] * a[row][None, :]
        pivots.append((row, col))
        row += 1
    return [col for r, col in pivots if int(np.count_nonzero(np.abs(a[r]) > _TOLERANCE)) == 1]


def _components(
    relations: Sequence[Mapping[K, int]], hidden: set[K]
) -> list[tuple[list[K], list[Mapping[K, int]]]]:
    parent: dict[K, K] = {}

    def root(k: K) -> K:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for relation in relations:
        members = [k for k in relation if k in hidden]
        for k in members:
            parent.setdefault(k, k)
        for k in members[1:]:
            parent[root(k)] = root(members[0])
    cells: dict[K, list[K]] = {}
    for k in parent:
        cells.setdefault(root(k), []).append(k)
    rows: dict[K, list[Mapping[K, int]]] = {}
    for relation in relations:
        first = next(k for k in relation if k in hidden)
        rows.setdefault(root(first), []).append(relation)
    return [(cells[r], rows[r]) for r in cells]
