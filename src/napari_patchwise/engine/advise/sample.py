"""The part of a volume the advisor measures: a centred block of bounded size, read lazily.

A large volume is never loaded whole: the advisor reads one block from its
centre, physically as close to a cube as the image allows, holding at most a
given number of voxels. Reading a slice of a memory-mapped TIFF, a Zarr array
or an HDF5 dataset reads only that block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["MAX_VOXELS", "read_block", "sample_region"]

#: Voxels the advisor reads at most (about 160³).
MAX_VOXELS = 1 << 22


def _count(side: float, shape, voxel_size) -> int:
    return math.prod(min(int(s), max(1, int(side / v))) for s, v in zip(shape, voxel_size))


def sample_region(shape: Sequence[int], voxel_size: Sequence[float],
                  max_voxels: int = MAX_VOXELS) -> tuple[slice, slice, slice]:
    """The centred block of ``shape`` to measure: physically cubic where it can be, at most
    ``max_voxels`` voxels.

    Parameters
    ----------
    shape : sequence of 3 int
        Image shape ``(z, y, x)``.
    voxel_size : sequence of 3 float
        Physical voxel size ``(z, y, x)``; only its ratios matter.
    max_voxels : int
        Most voxels the block may hold; the whole image when it holds fewer.

    Returns
    -------
    tuple of slice

    Examples
    --------
    >>> sample_region((100, 100, 100), (1, 1, 1))
    (slice(0, 100, None), slice(0, 100, None), slice(0, 100, None))
    >>> sample_region((100, 1000, 1000), (4, 1, 1), max_voxels=100 * 200 * 200)
    (slice(19, 81, None), slice(374, 625, None), slice(374, 625, None))
    """
    shape = tuple(int(s) for s in shape)
    vs = tuple(float(v) for v in voxel_size)
    if len(shape) != 3 or len(vs) != 3 or min(shape) < 1:
        raise ValueError(f"need a 3D shape and voxel size (z, y, x); got {shape!r} and {vs!r}.")
    if math.prod(shape) <= max_voxels:
        return tuple(slice(0, s) for s in shape)  # type: ignore[return-value]
    lo, hi = min(vs), max(s * v for s, v in zip(shape, vs))
    for _ in range(60):  # bisection on the block's physical side
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _count(mid, shape, vs) <= max_voxels else (lo, mid)
    size = [min(s, max(1, int(lo / v))) for s, v in zip(shape, vs)]
    return tuple(slice((s - n) // 2, (s - n) // 2 + n) for s, n in zip(shape, size))  # type: ignore[return-value]


def read_block(data, region) -> np.ndarray:
    """``data[region]`` as a numpy array (reads only that block of a lazy array).

    Examples
    --------
    >>> read_block(np.arange(27).reshape(3, 3, 3), (slice(1, 2),) * 3).tolist()
    [[[13]]]
    """
    block = data[tuple(region)]
    compute = getattr(block, "compute", None)
    return np.asarray(compute() if compute is not None else block)
