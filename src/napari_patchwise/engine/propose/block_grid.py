"""The grid of candidate blocks laid over a volume, and which blocks touch its faces.

Examples
--------
>>> g = candidate_grid((16, 96, 96), (16, 32, 32))
>>> len(g), int(edge_blocks(g.origins, g.block, g.image_shape).sum())  # all but the centre one
(9, 8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..geometry.magnification import _as_int_triple, as_magnification
from ..io.workload import check_grid_memory

__all__ = ["BlockGrid", "border_axes", "candidate_grid", "edge_blocks"]


@dataclass(frozen=True, eq=False)
class BlockGrid:
    """Candidate blocks laid over a volume.

    Attributes
    ----------
    block : tuple of int
        Block size ``(z, y, x)`` in full-resolution voxels, a multiple of
        ``magnification``.
    origins : ndarray of int64, shape (N, 3)
        Low corners of the blocks in full-resolution voxels, on the
        magnification grid; every block lies inside the image.
    image_shape : tuple of int
        Full-resolution image shape ``(z, y, x)``.
    magnification : tuple of int
        Magnification ``(mz, my, mx)`` the statistics are computed at.
    """

    block: tuple[int, int, int]
    origins: np.ndarray
    image_shape: tuple[int, int, int]
    magnification: tuple[int, int, int]

    def __len__(self) -> int:
        return len(self.origins)


def _image_shape(shape) -> tuple[int, int, int]:
    dims = tuple(int(s) for s in shape)
    if len(dims) != 3:
        raise ValueError(
            f"image has shape {dims} ({len(dims)}D) but a 3D (z, y, x) volume is needed; "
            "for a single 2D image add a z axis, e.g. image[np.newaxis]."
        )
    return dims  # type: ignore[return-value]


def candidate_grid(image_shape, block, mag=1, stride=None) -> BlockGrid:
    """Lay candidate blocks of one size over a volume.

    Parameters
    ----------
    image_shape : tuple of 3 int
        Full-resolution shape ``(z, y, x)``.
    block : int or tuple of 3 int
        Block size in full-resolution voxels; a multiple of ``mag`` with at
        least 2 voxels per axis at the magnification.
    mag : int, str or tuple of 3 int, optional
        Magnification ``(mz, my, mx)``.
    stride : int or tuple of 3 int, optional
        Step between block origins (a multiple of ``mag``). Defaults to
        ``block`` (non-overlapping); smaller values give overlapping blocks.

    Returns
    -------
    BlockGrid
        ``prod((image_shape - block) // stride + 1)`` blocks, in C order.

    Raises
    ------
    ValueError
        For a non-3D shape, a block thinner than 2 voxels at the magnification,
        a block or stride that is not a multiple of ``mag``, or a block larger
        than the image.

    Examples
    --------
    >>> g = candidate_grid((32, 64, 64), (16, 32, 32))
    >>> len(g), g.origins[-1].tolist()
    (8, [16, 32, 32])
    >>> len(candidate_grid((32, 64, 64), (16, 32, 32), mag=(1, 2, 2), stride=(8, 16, 16)))
    27
    >>> candidate_grid((32, 64, 64), (16, 31, 32), mag=(1, 2, 2))
    Traceback (most recent call last):
    ...
    ValueError: block (16, 31, 32) is not a multiple of the magnification (1, 2, 2); use e.g. block=(16, 32, 32).
    """
    shape, b, m, st = _grid_args(image_shape, block, mag, stride)
    axes = [np.arange(0, s - bi + 1, t, dtype=np.int64) for s, bi, t in zip(shape, b, st)]
    check_grid_memory(shape, b, math.prod(len(a) for a in axes))
    origins = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    return BlockGrid(b, origins, shape, m)


def _grid_args(image_shape, block, mag, stride):
    """Checked ``(shape, block, mag, stride)`` of :func:`candidate_grid`, without laying the grid."""
    shape = _image_shape(image_shape)
    m = as_magnification(mag)
    b = _as_int_triple(block, "block", positive=True)
    if any(bi % mi for bi, mi in zip(b, m)):
        fix = tuple(max(2 * mi, -(-bi // mi) * mi) for bi, mi in zip(b, m))
        raise ValueError(
            f"block {b} is not a multiple of the magnification {m}; use e.g. block={fix}."
        )
    if any(bi // mi < 2 for bi, mi in zip(b, m)):
        fix = tuple(max(bi, 2 * mi) for bi, mi in zip(b, m))
        raise ValueError(
            f"block {b} is smaller than 2 voxels per axis at magnification {m}; "
            f"use e.g. block={fix}."
        )
    if any(bi > si for bi, si in zip(b, shape)):
        raise ValueError(
            f"block {b} is larger than the image {shape}; use a block that fits "
            "inside the image in every axis."
        )
    st = b if stride is None else _as_int_triple(stride, "stride", positive=True)
    if any(si % mi for si, mi in zip(st, m)):
        raise ValueError(
            f"stride {st} is not a multiple of the magnification {m}; "
            "use multiples so blocks stay on the magnification grid."
        )
    return shape, b, m, st


def border_axes(block, image_shape) -> np.ndarray:
    """Axes along which a volume holds at least two blocks.

    Along an axis one block (nearly) fills, every block touches both faces,
    so touching says nothing about the volume edge there.

    Examples
    --------
    >>> border_axes((64, 64, 64), (96, 256, 256)).tolist()
    [False, True, True]
    """
    return np.asarray(image_shape) >= 2 * np.asarray(block)


def edge_blocks(origins, block, image_shape) -> np.ndarray:
    """Blocks touching a volume face along an axis that holds at least two blocks.

    Examples
    --------
    >>> o = np.array([[0, 0, 0], [0, 0, 64], [0, 0, 128]])
    >>> edge_blocks(o, (64, 64, 64), (96, 64, 192)).tolist()
    [True, False, True]
    """
    o = np.asarray(origins)
    b, s = np.asarray(block), np.asarray(image_shape)
    touch = (o == 0) | (o + b >= s)
    return np.any(touch & border_axes(b, s), axis=1)
