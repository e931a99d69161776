"""Objects of two label volumes paired by their largest overlap, and the voxels where pairs differ."""

from __future__ import annotations

import numpy as np

__all__ = ["best_pairs", "contingency", "lookup", "unpaired"]


def contingency(a: np.ndarray, b: np.ndarray, table: dict | None = None, mask=None) -> dict:
    """Add the overlaps ``{(id in a, id in b): voxels}`` of objects of both (0 left out) to ``table``.

    Examples
    --------
    >>> contingency(np.array([1, 1, 2, 0]), np.array([5, 5, 5, 5]))
    {(1, 5): 2, (2, 5): 1}
    >>> contingency(np.array([2**40, 3]), np.array([1, 1]))  # large ids too
    {(3, 1): 1, (1099511627776, 1): 1}
    """
    table = {} if table is None else table
    both = (a > 0) & (b > 0)
    if mask is not None:
        both &= mask
    av, bv = a[both].astype(np.int64), b[both].astype(np.int64)
    if not av.size:
        return table
    if av.max() < 2**31 and bv.max() < 2**31:  # one sort of both ids packed in one number
        codes, counts = np.unique((av << 32) | bv, return_counts=True)
        xs, ys = codes >> 32, codes & (2**32 - 1)
    else:
        ua, ia = np.unique(av, return_inverse=True)
        ub, ib = np.unique(bv, return_inverse=True)
        codes, counts = np.unique(ia.astype(np.int64) * len(ub) + ib, return_counts=True)
        xs, ys = ua[codes // len(ub)], ub[codes % len(ub)]
    for x, y, c in zip(xs.tolist(), ys.tolist(), counts.tolist()):
        key = (int(x), int(y))
        table[key] = table.get(key, 0) + int(c)
    return table


def best_pairs(table: dict, first: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each id of one side (sorted) and the id of the other it overlaps most (ties: the smaller).

    Examples
    --------
    >>> [v.tolist() for v in best_pairs({(1, 5): 2, (1, 6): 2, (2, 6): 3})]
    [[1, 2], [5, 6]]
    >>> [v.tolist() for v in best_pairs({(1, 5): 2, (1, 6): 2, (2, 6): 3}, first=False)]
    [[5, 6], [1, 2]]
    """
    best: dict = {}
    for (a, b), c in table.items():
        key, other = (a, b) if first else (b, a)
        have = best.get(key)
        if have is None or c > have[1] or (c == have[1] and other < have[0]):
            best[key] = (other, c)
    keys = np.array(sorted(best), np.int64)
    return keys, np.array([best[k][0] for k in keys], np.int64)


def lookup(keys: np.ndarray, values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``values`` of ``ids`` in the sorted ``keys`` (-1 for an id not there).

    Examples
    --------
    >>> lookup(np.array([1, 4]), np.array([10, 40]), np.array([4, 2, 1])).tolist()
    [40, -1, 10]
    """
    if not keys.size:
        return np.full(np.shape(ids), -1, np.int64)
    at = np.clip(np.searchsorted(keys, ids), 0, len(keys) - 1)
    return np.where(keys[at] == ids, values[at], -1)


def unpaired(a: np.ndarray, b: np.ndarray, table: dict, best=None) -> np.ndarray:
    """Voxels of objects of both whose ids are not each other's best pair (a split or merge of one against the other).

    Examples
    --------
    >>> a = np.array([1, 1, 1, 2, 2]); b = np.array([7, 7, 8, 8, 8])
    >>> unpaired(a, b, contingency(a, b)).astype(int).tolist()
    [0, 0, 1, 0, 0]

    ``best`` gives the four arrays of :func:`best_pairs` both ways, found once
    for several calls.
    """
    ka, best_b, kb, best_a = (*best_pairs(table, True), *best_pairs(table, False)) if best is None else best
    return (a > 0) & (b > 0) & ((lookup(ka, best_b, a) != b) | (lookup(kb, best_a, b) != a))
