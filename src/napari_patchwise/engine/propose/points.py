"""Boxes centred on points (MemBrain-seg style picks, a napari Points layer, a CSV)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.magnification import _as_int_triple, snap_box

__all__ = ["PointBoxes", "boxes_from_points"]


@dataclass(frozen=True)
class PointBoxes:
    """Boxes centred on points.

    Attributes
    ----------
    extents : tuple of ((lo), (hi))
        One box per accepted point, full-resolution voxels.
    points : tuple of int
        Index of the point behind each extent.
    messages : tuple of str
        One line per point that was shifted inside or rejected.
    """

    extents: tuple
    points: tuple[int, ...]
    messages: tuple[str, ...]


def _fmt_point(p) -> str:
    vals = [int(v) if float(v).is_integer() else round(float(v), 1) for v in p]
    return f"({', '.join(map(str, vals))})"


def boxes_from_points(points, size, image_shape, mag=1, *, border: str = "shift") -> PointBoxes:
    """Boxes of ``size`` centred on ``points``.

    Parameters
    ----------
    points : array-like, shape (N, 3)
        Centres ``(z, y, x)`` in full-resolution voxel coordinates.
    size : tuple of 3 int
        Full-resolution box size, a multiple of ``mag``.
    image_shape : tuple of 3 int
    mag : int or tuple of 3 int
    border : {"shift", "reject"}
        What to do when a box would stick out of the image: move it inside
        (it is then not centred on its point) or drop it.

    Returns
    -------
    PointBoxes

    Raises
    ------
    ValueError
        For points that are not (N, 3) finite numbers, points outside the
        image, a box larger than the image or an unknown ``border``.

    Examples
    --------
    >>> r = boxes_from_points([[80, 80, 80], [10, 80, 80]], (160, 160, 160), (200, 300, 300))
    >>> r.extents[0]
    ((0, 0, 0), (160, 160, 160))
    >>> r.extents[1]
    ((0, 0, 0), (160, 160, 160))
    >>> print(r.messages[0])
    point 1 at (10, 80, 80) is 70 voxels too close to the z border for a 160×160×160 box centred on it; shifted inside by (70, 0, 0).
    >>> r = boxes_from_points([[100, 150, 150], [10, 150, 150]], (160, 160, 160),
    ...                       (200, 300, 300), border="reject")
    >>> r.points, r.messages
    ((0,), ('point 1 at (10, 150, 150) is 70 voxels too close to the z border for a 160×160×160 box centred on it; rejected (use border="shift" to move the box inside instead).',))
    """
    if border not in ("shift", "reject"):
        raise ValueError(f'border must be "shift" or "reject"; got {border!r}.')
    pts = np.asarray(points, dtype=float)
    if pts.size == 0:
        pts = pts.reshape(0, 3)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(
            f"points must be an (N, 3) array of z, y, x coordinates; got shape {pts.shape}. "
            "For 2D points add a z column.")
    if not np.isfinite(pts).all():
        bad = int(np.flatnonzero(~np.isfinite(pts).all(axis=1))[0])
        raise ValueError(f"point {bad} has a missing or infinite coordinate; remove or fix it.")
    shape = np.asarray(_as_int_triple(image_shape, "image shape", positive=True))
    s = np.asarray(_as_int_triple(size, "size", positive=True))
    m = np.broadcast_to(np.asarray(mag, dtype=int), (3,)) if np.ndim(mag) else np.full(3, int(mag))
    if np.any(s % m):
        raise ValueError(f"box size {tuple(s)} is not a multiple of the magnification {tuple(m)}.")
    lim = (shape // m) * m
    if np.any(s > lim):
        raise ValueError(f"a box of {tuple(s)} voxels does not fit in the image {tuple(shape)}; "
                         "choose a smaller box size or magnification.")
    outside = np.flatnonzero(np.any((pts < -0.5) | (pts > shape - 0.5), axis=1))
    if outside.size:
        i = int(outside[0])
        raise ValueError(
            f"{outside.size} point{'s lie' if outside.size > 1 else ' lies'} outside the image "
            f"{tuple(int(v) for v in shape)}, e.g. point {i} at "
            f"{_fmt_point(pts[i])}; check the points are in voxel "
            "coordinates (z, y, x) of this image, not physical units.")
    extents, kept, msgs = [], [], []
    for i, p in enumerate(pts):
        lo0 = np.round(p + 0.5 - s / 2).astype(int)  # centre of the box on the point
        lo, hi = snap_box(tuple(lo0), tuple(lo0 + s), tuple(m), mode="nearest")
        lo, hi = np.asarray(lo), np.asarray(lo) + s
        shift = np.where(lo < 0, -lo, np.where(hi > lim, lim - hi, 0))
        if np.any(shift):
            ax = int(np.argmax(np.abs(shift)))
            where = (f"point {i} at {_fmt_point(p)} is "
                     f"{int(abs(shift[ax]))} voxels too close to the {'zyx'[ax]} border for a "
                     f"{'×'.join(map(str, s))} box centred on it")
            if border == "reject":
                msgs.append(where + '; rejected (use border="shift" to move the box inside '
                            "instead).")
                continue
            msgs.append(where + f"; shifted inside by {tuple(int(v) for v in shift)}.")
            lo, hi = lo + shift, hi + shift
        extents.append((tuple(int(v) for v in lo), tuple(int(v) for v in hi)))
        kept.append(i)
    return PointBoxes(tuple(extents), tuple(kept), tuple(msgs))
