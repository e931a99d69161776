"""Which contacts lie across the face two boxes share (the kernel of ``touching.within_boxes``)."""

from __future__ import annotations

import numpy as np


def across_boxes(first: np.ndarray, second: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 rows: int = 1 << 16) -> np.ndarray:
    """Which contacts have their two voxels in two different boxes and in no box together.

    ``first`` and ``second`` are ``(N, 3)`` voxels at most one voxel apart along each
    axis; box ``i`` spans ``lo[i]`` to ``hi[i]`` (exclusive). Two voxels can only be in
    different boxes when a box face lies between them: along some axis they differ and
    the face's plane is the larger of the two coordinates. Those few contacts (found by
    a look-up per axis) are tested against every box, ``rows`` at a time; the cost grows
    with the contacts at a face, not with contacts times boxes.

    Examples
    --------
    >>> first, second = np.array([[0, 0, 1], [0, 0, 0]]), np.array([[0, 0, 2], [0, 0, 1]])
    >>> lo, hi = np.array([[0, 0, 0], [0, 0, 2]]), np.array([[1, 1, 2], [1, 1, 4]])
    >>> across_boxes(first, second, lo, hi).tolist()
    [True, False]
    """
    n = len(first)
    out = np.zeros(n, dtype=bool)
    if not n or not len(lo):
        return out
    at_face = np.zeros(n, dtype=bool)
    for axis in range(3):
        a, b = first[:, axis], second[:, axis]
        planes = np.unique(np.concatenate([lo[:, axis], hi[:, axis]]))
        at_face |= (a != b) & np.isin(np.maximum(a, b), planes)
    candidates = np.flatnonzero(at_face)
    for i in range(0, len(candidates), rows):
        at = candidates[i:i + rows]
        fin, sin = (_in_boxes(v[at], lo, hi) for v in (first, second))
        out[at] = fin.any(axis=0) & sin.any(axis=0) & ~(fin & sin).any(axis=0)
    return out


def _in_boxes(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``(boxes, voxels)``: whether each voxel of ``v`` (``(M, 3)``) lies in each box
    (an axis at a time, so numpy's inner loops run along the voxels)."""
    inside = np.ones((len(lo), len(v)), dtype=bool)
    for axis in range(3):
        x = v[:, axis]
        inside &= lo[:, axis, None] <= x
        inside &= x < hi[:, axis, None]
    return inside
