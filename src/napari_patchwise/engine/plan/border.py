"""The ignore border of a box: the one rule for which voxels of a box are border.

A preset may give every box an ignore border (``Preset.ignore_border``; the
membrane preset: 16, as MemBrain-seg sets 16 voxels on every face of a patch
to ignore after merging its corrections). The border is ``ignore_border``
voxels *at the magnification* on each of the six faces of the box; on an
array at another grid (full resolution) it is ``ignore_border × factor``
voxels along each axis. A box needs at least ``2 × border + 1`` voxels along
every axis to keep an interior; a smaller box is all border (the plan rule
``border-too-wide`` says so, and export skips it as it would any box with
an error).

The border changes no array: what is painted there stays in the annotation
arrays, and composition (:func:`~.annotation.compose` with ``interior``)
gives the border the ``ignore`` value, so QC does not count it as
unannotated and every export treats it as ignore.

Examples
--------
>>> border_mask((3, 5, 5), 1)[1].astype(int).tolist()
[[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 0, 0, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]
>>> interior_slices((40, 40, 40), 2, (1, 2, 2))
(slice(2, 38, None), slice(4, 36, None), slice(4, 36, None))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["border_mask", "border_problem", "border_width", "box_interior", "interior_slices"]


def _triple(values, name: str) -> tuple[int, int, int]:
    t = tuple(int(v) for v in (values if isinstance(values, Sequence) else (values,) * 3))
    if len(t) != 3:
        raise ValueError(f"{name} must have three values (z, y, x); got {values!r}.")
    return t  # type: ignore[return-value]


def border_width(border: int, mag=(1, 1, 1)) -> tuple[int, int, int]:
    """The border's width along ``(z, y, x)`` on a grid ``mag`` times finer than the magnification.

    Parameters
    ----------
    border : int
        Width in voxels at the magnification (``Preset.ignore_border``).
    mag : int or sequence of int
        Voxels of the grid per voxel at the magnification: ``(1, 1, 1)`` for
        arrays at the magnification (annotation, export crops), the plan's
        magnification for full-resolution voxels.

    Examples
    --------
    >>> border_width(16), border_width(16, (1, 2, 2))
    ((16, 16, 16), (16, 32, 32))
    >>> border_width(-1)
    Traceback (most recent call last):
    ...
    ValueError: the ignore border must be a whole number of voxels, 0 or more; got -1.
    """
    if isinstance(border, bool) or int(border) != border or border < 0:
        raise ValueError(f"the ignore border must be a whole number of voxels, 0 or more; got {border!r}.")
    m = _triple(mag, "the magnification")
    return tuple(int(border) * f for f in m)  # type: ignore[return-value]


def interior_slices(box_shape, border: int, mag=(1, 1, 1)) -> tuple[slice, slice, slice]:
    """Slices of the part of a box inside its border (empty along an axis too short for it).

    Parameters
    ----------
    box_shape : sequence of int
        Shape of the box on the grid of the array (see :func:`border_width`).
    border : int
        Width in voxels at the magnification.
    mag : int or sequence of int
        Voxels of that grid per voxel at the magnification.

    Examples
    --------
    >>> interior_slices((160, 160, 160), 16)
    (slice(16, 144, None), slice(16, 144, None), slice(16, 144, None))
    >>> interior_slices((8, 40, 40), 4)  # too thin along z: no interior
    (slice(4, 4, None), slice(4, 36, None), slice(4, 36, None))
    """
    shape = _triple(box_shape, "the box shape")
    width = border_width(border, mag)
    return tuple(slice(min(w, s), max(min(w, s), s - w)) for s, w in zip(shape, width))  # type: ignore[return-value]


def border_mask(box_shape, border: int, mag=(1, 1, 1)) -> np.ndarray:
    """``True`` on the border voxels of a box: ``border × mag`` voxels on every face.

    Parameters
    ----------
    box_shape : sequence of int
        Shape of the box on the grid of the mask.
    border : int
        Width in voxels at the magnification.
    mag : int or sequence of int
        Voxels of that grid per voxel at the magnification (``(1, 1, 1)``
        for an array at the magnification).

    Returns
    -------
    ndarray of bool, shape ``box_shape``
        All ``False`` for ``border == 0``; all ``True`` when the box is no
        wider than twice the border along some axis.

    Examples
    --------
    >>> m = border_mask((160, 160, 160), 16)
    >>> int(m.sum()), bool(m[16:144, 16:144, 16:144].any())
    (1998848, False)
    >>> border_mask((3, 4, 2), 1, (1, 1, 2))[1].astype(int).tolist()
    [[1, 1], [1, 1], [1, 1], [1, 1]]
    """
    shape = _triple(box_shape, "the box shape")
    mask = np.ones(shape, bool)
    mask[interior_slices(shape, border, mag)] = False
    return mask


def border_problem(box_shape, border: int) -> str | None:
    """What is wrong with a box too small for its border (``None`` when it keeps an interior).

    ``box_shape`` and ``border`` are at the magnification; a box needs
    ``2 × border + 1`` voxels along every axis.

    Examples
    --------
    >>> border_problem((160, 160, 160), 16) is None
    True
    >>> border_problem((32, 160, 160), 16)
    'size 32×160×160 at the magnification leaves nothing inside the 16-voxel ignore border (it needs at least 33 voxels along z); enlarge the box to 33 or more along z.'
    """
    shape = _triple(box_shape, "the box shape")
    need = 2 * int(border) + 1
    short = "".join(a for a, s in zip("zyx", shape) if border and s < need)
    if not short:
        return None
    return (f"size {'×'.join(map(str, shape))} at the magnification leaves nothing inside the "
            f"{border}-voxel ignore border (it needs at least {need} voxels along {short}); "
            f"enlarge the box to {need} or more along {short}.")


def box_interior(plan, box, region=None) -> tuple[slice, slice, slice] | None:
    """The interior of a plan's box within ``region`` of the annotation arrays (``None``: no border).

    Parameters
    ----------
    plan : Plan
        Its preset's ``ignore_border`` and its magnification are used.
    box : Box
        In full-resolution voxels; its border lies along its own faces,
        also where a face is on the image's edge.
    region : tuple of 3 slices, optional
        A part of the annotation arrays (default: the box's region,
        :func:`~.box_arrays.box_region`). The slices returned are relative to
        it, so ``composed[interior]`` is the inside of the box.

    Examples
    --------
    >>> from napari_patchwise.engine import Box, ImageRef, Plan, get_preset
    >>> plan = Plan(ImageRef((160, 320, 320)), get_preset("membrane"), (1, 2, 2))
    >>> box_interior(plan, Box(1, (0, 0, 0), (160, 320, 320)))
    (slice(16, 144, None), slice(16, 144, None), slice(16, 144, None))
    >>> box_interior(plan, Box(1, (0, 0, 0), (160, 320, 320)), (slice(10, 20), slice(0, 160), slice(150, 160)))
    (slice(6, 10, None), slice(16, 144, None), slice(0, 0, None))
    >>> box_interior(Plan(ImageRef((8, 8, 8))), Box(1, (0, 0, 0), (8, 8, 8))) is None
    True
    """
    border = int(getattr(plan.preset, "ignore_border", 0) or 0)
    if border <= 0:
        return None
    own = box.slices(plan.magnification)  # unclipped: the border follows the box's faces
    shape = tuple(s.stop - s.start for s in own)
    inner = interior_slices(shape, border)
    if region is None:
        region = tuple(slice(max(s.start, 0), min(s.stop, n)) for s, n in zip(own, plan.annotation_shape))
    out = []
    for r, o, i in zip(region, own, inner):
        lo = o.start + i.start - r.start
        hi = o.start + i.stop - r.start
        n = r.stop - r.start
        lo, hi = min(max(lo, 0), n), min(max(hi, 0), n)
        out.append(slice(lo, max(lo, hi)))
    return tuple(out)  # type: ignore[return-value]
