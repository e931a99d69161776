"""Regular box layouts (a grid spread evenly over the volume)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .magnification import Triple, _as_int_triple, as_magnification


def _starts(extent: int, size: int, step: int) -> list[int]:
    """Starts of as many boxes as fit along one axis, spread evenly, on the grid."""
    n = extent // size
    if n < 1:
        return []
    if n == 1:
        return [((extent - size) // 2 // step) * step]
    free = extent - n * size
    return [int((i * size + round(i * free / (n - 1))) // step * step) for i in range(n)]


def grid_boxes(
    image_shape: Sequence[int], box_size: Sequence[int], mag=1, max_boxes: int | None = None
) -> list[tuple[Triple, Triple]]:
    """Non-overlapping boxes of one size spread evenly over the volume.

    Parameters
    ----------
    image_shape : sequence of int
        Full-resolution shape ``(z, y, x)``.
    box_size : sequence of int
        Full-resolution box size ``(z, y, x)`` (a multiple of ``mag``).
    mag : int, str or sequence of int
        Magnification; box corners land on its grid.
    max_boxes : int, optional
        Keep at most this many, taken evenly from the grid.

    Returns
    -------
    list of (lo, hi)
        Empty when the box does not fit in the image.

    Examples
    --------
    >>> grid_boxes((64, 140, 140), (64, 64, 64))
    [((0, 0, 0), (64, 64, 64)), ((0, 0, 76), (64, 64, 140)), ((0, 76, 0), (64, 140, 64)), ((0, 76, 76), (64, 140, 140))]
    >>> len(grid_boxes((96, 384, 384), (64, 64, 64), max_boxes=10))
    10
    """
    m = as_magnification(mag)
    size = _as_int_triple(box_size, "box size", positive=True)
    off = [a for a, s, f in zip("zyx", size, m) if s % f]
    if off:
        raise ValueError(
            f"box size {size} is not a multiple of the magnification {m} along {''.join(off)}; "
            "use a size at the magnification times the magnification."
        )
    lim = [(s // f) * f for s, f in zip(image_shape, m)]
    axes = [_starts(L, s, f) for L, s, f in zip(lim, size, m)]
    out = [
        ((z, y, x), (z + size[0], y + size[1], x + size[2]))
        for z in axes[0]
        for y in axes[1]
        for x in axes[2]
    ]
    if max_boxes is not None and len(out) > max_boxes:
        keep = np.unique(np.linspace(0, len(out) - 1, max_boxes).round().astype(int))
        out = [out[i] for i in keep]
    return out
