"""Which boxes share voxels: a uniform grid index instead of testing every pair.

Testing every pair of ``n`` boxes costs ``n²`` (8,000 boxes took 20–50 s). Here
each box is entered in the cells of a regular grid it touches and only boxes
sharing a cell are tested, so the work grows with ``n log n`` (a sort) plus the
number of overlapping pairs found, whatever the boxes' layout.

The cell is the median box extent on each axis: a box of ordinary size touches
at most a few cells and a cell holds a few boxes that do not overlap. When a
few very large boxes would fill too many cells, the cell is doubled until the
index stays within a fixed multiple of ``n`` entries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .box import Box

#: Most cell entries per box before the grid cell is made coarser.
_MAX_ENTRIES_PER_BOX = 32
#: Coordinates are clipped to this magnitude so cell arithmetic cannot overflow
#: (no image is near it; such boxes lie outside every image anyway).
_LIMIT = 2**52


def box_extents(boxes: Sequence[Box]) -> tuple[np.ndarray, np.ndarray]:
    """Corners of ``boxes`` as two ``(n, 3)`` int64 arrays ``lo`` and ``hi``.

    Examples
    --------
    >>> lo, hi = box_extents([Box(1, (0, 0, 0), (4, 4, 4)), Box(2, (2, 0, 8), (6, 4, 12))])
    >>> lo.tolist(), hi.tolist()
    ([[0, 0, 0], [2, 0, 8]], [[4, 4, 4], [6, 4, 12]])
    """
    rows = [(*b.lo, *b.hi) for b in boxes]
    try:
        corners = np.array(rows, np.int64).reshape(-1, 6)
    except OverflowError:  # a corner beyond int64, from a hand-edited plan
        corners = np.array([[max(-_LIMIT, min(_LIMIT, v)) for v in r] for r in rows], np.int64)
    corners = np.clip(corners, -_LIMIT, _LIMIT)
    return corners[:, :3], corners[:, 3:]


def overlap_pairs(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of half-open boxes that share a voxel.

    Parameters
    ----------
    lo, hi : (n, 3) array of int
        Corners of the boxes (``hi`` exclusive, ``hi > lo``).

    Returns
    -------
    (k, 2) ndarray of int64
        Each overlapping pair once, sorted.

    Notes
    -----
    Grid index: every box is listed in the cells it touches, the list is
    sorted by cell, and candidates are the pairs within one cell, tested on
    all three axes. Cost ``O(m log m)`` for ``m`` cell entries (at most
    :data:`_MAX_ENTRIES_PER_BOX` per box) plus the candidate pairs, which are
    about the overlapping pairs for boxes of similar sizes.

    Examples
    --------
    >>> lo = np.array([[0, 0, 0], [3, 3, 3], [0, 0, 4], [9, 9, 9]])
    >>> overlap_pairs(lo, lo + 4).tolist()
    [[0, 1], [1, 2]]
    """
    lo = np.asarray(lo, np.int64).reshape(-1, 3)
    hi = np.asarray(hi, np.int64).reshape(-1, 3)
    n = len(lo)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    cell = np.maximum(1, np.median(hi - lo, axis=0).astype(np.int64))
    span = hi.max(axis=0) - lo.min(axis=0)
    while True:  # coarsen the grid while a few large boxes would fill too many cells
        first, last = lo // cell, (hi - 1) // cell
        per_box = np.prod(last - first + 1, axis=1, dtype=np.float64)
        if per_box.sum() <= _MAX_ENTRIES_PER_BOX * n or np.all(cell >= span):
            break
        cell = np.minimum(cell * 2, np.maximum(span, 1))
    owner, keys = _cell_entries(first, last, per_box.astype(np.int64))
    a, b = _pairs_sharing_a_cell(owner, keys)
    hit = np.all((lo[a] < hi[b]) & (lo[b] < hi[a]), axis=1)
    a, b = a[hit], b[hit]
    if not len(a):
        return np.zeros((0, 2), np.int64)
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
    return pairs.astype(np.int64)


def _cell_entries(first, last, per_box):
    """Box index and cell ``(z, y, x)`` of every cell each box touches."""
    owner = np.repeat(np.arange(len(first)), per_box)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(per_box) - per_box, per_box)
    counts = (last - first + 1)[owner]
    ny_nx = counts[:, 1] * counts[:, 2]
    offset = np.stack([rank // ny_nx, (rank // counts[:, 2]) % counts[:, 1], rank % counts[:, 2]], axis=1)
    return owner, first[owner] + offset


def _pairs_sharing_a_cell(owner, keys):
    """Every pair of entries listed in the same cell (positions into ``owner``)."""
    order = np.lexsort(keys.T[::-1])
    owner, keys = owner[order], keys[order]
    new_cell = np.ones(len(keys), bool)
    new_cell[1:] = np.any(keys[1:] != keys[:-1], axis=1)
    start = np.flatnonzero(new_cell)
    end = np.append(start[1:], len(keys))
    group_end = np.repeat(end, end - start)
    later = group_end - np.arange(len(keys)) - 1  # entries after each one in its cell
    first = np.repeat(np.arange(len(keys)), later)
    second = first + 1 + (np.arange(len(first)) - np.repeat(np.cumsum(later) - later, later))
    return owner[first], owner[second]


def overlap_partners(boxes: Sequence[Box]) -> dict[int, list[int]]:
    """Ids of the boxes each box overlaps (only boxes that overlap one), sorted.

    Examples
    --------
    >>> boxes = [Box(1, (0, 0, 0), (4, 4, 4)), Box(7, (2, 2, 2), (6, 6, 6)),
    ...          Box(3, (0, 0, 4), (4, 4, 8)), Box(4, (3, 3, 3), (5, 5, 5))]
    >>> overlap_partners(boxes)
    {1: [4, 7], 3: [4, 7], 4: [1, 3, 7], 7: [1, 3, 4]}
    """
    pairs = overlap_pairs(*box_extents(boxes))
    partners: dict[int, set[int]] = {}
    for i, j in pairs.tolist():
        a, b = boxes[i].id, boxes[j].id
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    return {bid: sorted(p) for bid, p in sorted(partners.items())}
