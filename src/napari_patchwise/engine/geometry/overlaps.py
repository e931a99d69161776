"""Which boxes share voxels: a uniform grid index instead of testing every pair.

Testing every pair of ``n`` boxes costs ``n²`` (8,000 boxes took 20–50 s). Here
each box is entered in the cells of a regular grid it touches and only boxes
sharing a cell are tested, so the work grows with ``n log n`` (a sort) plus the
number of overlapping pairs found, whatever the boxes' layout.

The cell is the median box extent on each axis: a box of ordinary size touches
at most a few cells and a cell holds a few boxes that do not overlap. Boxes
much larger than that form coarser levels of their own, each tested against
the finer ones on its coarser grid.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .box import Box

#: Most cells a box may touch in the grid of its size level (4 per axis).
_MAX_CELLS = 64
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
        Corners of the boxes (``hi`` exclusive).

    Returns
    -------
    (k, 2) ndarray of int64
        Each overlapping pair once, sorted.

    Notes
    -----
    Grid index by size level: the boxes that touch at most
    :data:`_MAX_CELLS` cells of a grid as fine as their median extent form
    the first level; the others form coarser levels (each cell at least
    twice the last), so a few large boxes neither fill many cells nor make
    the grid coarse for the small ones. Within a level, and between a level
    and every coarser one (on the coarser grid), candidates are the boxes
    listed in one cell, tested on all three axes. Cost ``O(m log m)`` for
    ``m`` cell entries (a few per box and level) plus the candidate pairs,
    which are about the overlapping pairs for boxes of similar sizes.

    Examples
    --------
    >>> lo = np.array([[0, 0, 0], [3, 3, 3], [0, 0, 4], [9, 9, 9]])
    >>> overlap_pairs(lo, lo + 4).tolist()
    [[0, 1], [1, 2]]
    """
    lo = np.asarray(lo, np.int64).reshape(-1, 3)
    hi = np.asarray(hi, np.int64).reshape(-1, 3)
    if len(lo) < 2:
        return np.zeros((0, 2), np.int64)
    levels = _size_levels(lo, hi)
    found = []
    for i, (fine, _) in enumerate(levels):
        for coarse, cell in levels[i:]:
            a, b = _sharing_a_cell(lo, hi, fine, coarse, cell)
            hit = np.all((lo[a] < hi[b]) & (lo[b] < hi[a]), axis=1)
            found.append(np.stack([a[hit], b[hit]], axis=1))
    pairs = np.concatenate(found)
    if not len(pairs):
        return np.zeros((0, 2), np.int64)
    return np.unique(np.sort(pairs, axis=1), axis=0).astype(np.int64)


def _cells(lo, hi, cell):
    first, last = lo // cell, (hi - 1) // cell
    return first, last, np.prod(np.maximum(last - first + 1, 0), axis=1, dtype=np.float64)


def _size_levels(lo, hi) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(box indices, grid cell)`` of each size level, finest first."""
    levels = []
    rest = np.arange(len(lo))
    cell = np.zeros(3, np.int64)
    while len(rest):
        extent = hi[rest] - lo[rest]
        cell = np.maximum.reduce([2 * cell, np.median(extent, axis=0).astype(np.int64),
                                  np.ones(3, np.int64)])
        fits = _cells(lo[rest], hi[rest], cell)[2] <= _MAX_CELLS
        if not fits.any():  # no box is small enough: one last level as coarse as the largest
            cell = np.maximum(cell, extent.max(axis=0))
            fits[:] = True
        levels.append((rest[fits], cell))
        rest = rest[~fits]
    return levels


def _sharing_a_cell(lo, hi, fine, coarse, cell):
    """Pairs of boxes listed in one cell of the grid ``cell``: every pair within ``fine``
    when ``fine is coarse``, else each box of ``fine`` with each of ``coarse``."""
    same = fine is coarse
    boxes = fine if same else np.concatenate([fine, coarse])
    first, last, count = _cells(lo[boxes], hi[boxes], cell)
    count = count.astype(np.int64)
    entry = np.repeat(np.arange(len(boxes)), count)
    rank = np.arange(len(entry)) - np.repeat(np.cumsum(count) - count, count)
    n = (last - first + 1)[entry]
    key = first[entry] + np.stack([rank // (n[:, 1] * n[:, 2]), rank // n[:, 2] % n[:, 1],
                                   rank % n[:, 2]], axis=1)
    side = np.zeros(len(entry), np.int64) if same else (entry >= len(fine)).astype(np.int64)
    order = np.lexsort((side, key[:, 2], key[:, 1], key[:, 0]))
    entry, key, side = entry[order], key[order], side[order]
    new = np.ones(len(entry), bool)
    new[1:] = np.any(key[1:] != key[:-1], axis=1)
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(entry))[group]
    pos = np.arange(len(entry))
    if same:  # each entry with the entries after it in its cell
        begin, k = pos + 1, ends - pos - 1
    else:  # each fine entry with the coarse entries of its cell (they come last)
        coarse_start = np.full(len(starts), len(entry))
        is_coarse = side == 1
        np.minimum.at(coarse_start, group[is_coarse], pos[is_coarse])
        begin = np.minimum(coarse_start[group], ends)
        k = np.where(is_coarse, 0, ends - begin)
    first_of = np.repeat(pos, k)
    second_of = np.repeat(begin, k) + (np.arange(len(first_of)) - np.repeat(np.cumsum(k) - k, k))
    return boxes[entry[first_of]], boxes[entry[second_of]]


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
