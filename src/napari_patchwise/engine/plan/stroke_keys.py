"""The index arithmetic of a :class:`~.stroke_buffer.StrokeBuffer`: the indices it serves from
memory (a basic index of ints and unit-step slices as a box, napari's ``data_setitem`` index of
one integer array per axis as points with their bounding box), the chunks a box meets and where,
and a kept plane after a write."""

from __future__ import annotations

import itertools

import numpy as np


def _box(key, shape) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """``(starts, stops, int_axes)`` of a basic index (ints and unit-step slices), None for any other.

    Examples
    --------
    >>> _box((1, slice(2, 6)), (4, 8, 8))
    ((1, 2, 0), (2, 6, 8), (0,))
    >>> _box((slice(None, None, 2),), (4,)) is None
    True
    >>> _box((np.array([1, 2]), Ellipsis), (4, 8)) is None   # an array before the ellipsis
    True
    """
    if not isinstance(key, tuple):
        key = (key,)
    i = next((i for i, k in enumerate(key) if k is Ellipsis), None)
    if i is not None:  # found by identity: ``key.index`` would compare an array with ==
        key = key[:i] + (slice(None),) * (len(shape) - len(key) + 1) + key[i + 1:]
    if len(key) > len(shape):
        return None
    key = key + (slice(None),) * (len(shape) - len(key))
    starts, stops, ints = [], [], []
    for axis, (k, n) in enumerate(zip(key, shape)):
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            i = int(k) + n if k < 0 else int(k)
            if not 0 <= i < n:
                return None
            starts.append(i)
            stops.append(i + 1)
            ints.append(axis)
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step != 1:
                return None
            starts.append(start)
            stops.append(max(start, stop))
        else:
            return None
    return tuple(starts), tuple(stops), tuple(ints)


def _points(key, shape):
    """``(points, starts, stops)`` of an index of one 1-D integer array per axis, all of one
    length (napari's ``data_setitem``), within bounds; None for any other index.

    Examples
    --------
    >>> pts, lo, hi = _points((np.array([1, 3]), np.array([0, -1])), (4, 5))
    >>> [p.tolist() for p in pts], lo, hi
    ([[1, 3], [0, 4]], (1, 0), (4, 5))
    >>> _points((np.array([1]), slice(None)), (4, 5)) is None
    True
    """
    if not isinstance(key, tuple) or len(key) != len(shape):
        return None
    points = []
    for k, n in zip(key, shape):
        if not isinstance(k, np.ndarray) or k.ndim != 1 or k.dtype.kind not in "iu":
            return None
        p = np.where(k < 0, k + n, k) if k.dtype.kind == "i" else k
        if p.size and (p.min() < 0 or p.max() >= n):
            return None
        points.append(p.astype(np.int64, copy=False))
    if not points[0].size or any(p.shape != points[0].shape for p in points):
        return None
    return (tuple(points), tuple(int(p.min()) for p in points), tuple(int(p.max()) + 1 for p in points))


def _chunk_key(index, chunks, shape) -> tuple[slice, ...]:
    """The slices of chunk ``index`` in the array.

    Examples
    --------
    >>> _chunk_key((1, 2), (4, 4), (6, 10))
    (slice(4, 6, None), slice(8, 10, None))
    """
    return tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(index, chunks, shape))


def _chunk_indices(starts, stops, chunks):
    """The indices of the chunks the box ``starts``..``stops`` meets (an empty box meets none).

    Examples
    --------
    >>> list(_chunk_indices((3, 0), (5, 4), (4, 4)))
    [(0, 0), (1, 0)]
    >>> list(_chunk_indices((3, 2), (3, 4), (4, 4)))
    []
    """
    ranges = [range(a // c, (b - 1) // c + 1) if b > a else range(0) for a, b, c in zip(starts, stops, chunks)]
    return itertools.product(*ranges)


def _overlap(index, chunks, starts, stops):
    """Where chunk ``index`` meets the box: (key into the chunk, key into the box).

    Examples
    --------
    >>> _overlap((1,), (4,), (3,), (6,))
    ((slice(0, 2, None),), (slice(1, 3, None),))
    """
    in_chunk, in_box = [], []
    for i, c, a, b in zip(index, chunks, starts, stops):
        lo, hi = max(a, i * c), min(b, (i + 1) * c)
        in_chunk.append(slice(lo - i * c, hi - i * c))
        in_box.append(slice(lo - a, hi - a))
    return tuple(in_chunk), tuple(in_box)


def _plane_written(plane, z, starts, stops, block) -> np.ndarray:
    """Kept plane ``z`` (read-only) after ``block`` was written into the box ``starts``..``stops``:
    a changed read-only copy when the box meets it, else the plane itself.

    Examples
    --------
    >>> plane = np.zeros((2, 3), np.uint8)
    >>> _plane_written(plane, 1, (0, 0, 1), (2, 1, 3), np.full((2, 1, 2), 5, np.uint8)).tolist()
    [[0, 5, 5], [0, 0, 0]]
    >>> _plane_written(plane, 4, (0, 0, 1), (2, 1, 3), np.ones((2, 1, 2), np.uint8)) is plane
    True
    """
    if not starts[0] <= z < stops[0]:
        return plane
    plane = plane.copy()
    plane[tuple(slice(a, b) for a, b in zip(starts[1:], stops[1:]))] = block[z - starts[0]]
    plane.flags.writeable = False
    return plane
