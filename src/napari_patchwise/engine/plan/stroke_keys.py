"""The indices a :class:`~.stroke_buffer.StrokeBuffer` serves from memory: a basic index (ints and
unit-step slices) as a box, and napari's ``data_setitem`` index (one integer array per axis) as
points with their bounding box."""

from __future__ import annotations

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
