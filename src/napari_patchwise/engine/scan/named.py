"""A signal of chosen objects: their voxels per cell, and the reason of the object that fills a window most."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .cells import CellGrid
from .signal import Signal
from .touch import contact_voxels

__all__ = ["object_signal"]


def object_signal(read: Callable, grid: CellGrid, named: Mapping[int, str], kind: str,
                  weight: float = 1.0, surface: bool = False) -> Signal | None:
    """Voxels of the objects ``named`` (``{id: reason}``) per cell, times ``weight``.

    With ``surface`` only their voxels beside another object count (within a
    slab). ``read(region)`` gives the labels of a region; a window's reason is that of
    the named object with the most voxels in it. ``None`` when nothing is named.

    Examples
    --------
    >>> lab = np.zeros((2, 8, 8), int); lab[:, :4, :4] = 5; lab[:, 4:, :] = 6
    >>> s = object_signal(lambda r: lab[r], CellGrid((2, 8, 8), (2, 4, 4)), {5: "five", 6: "six"}, "implausible", 0.5)
    >>> s.counts[0].tolist()
    [[16.0, 0.0], [16.0, 16.0]]
    >>> s.describe((slice(0, 1), slice(0, 1), slice(0, 2)), 64), s.describe((slice(0, 1), slice(0, 2), slice(0, 2)), 128)
    ('five', 'six')
    """
    if not named:
        return None
    ids = np.array(sorted(named), np.int64)
    n_cells = int(np.prod(grid.n_cells))
    by_object = np.zeros((n_cells, len(ids)), np.float32)
    for region in grid.slabs():
        lab = read(region)
        idx = grid.cell_index(region, lab.shape)
        k = np.clip(np.searchsorted(ids, lab), 0, len(ids) - 1)
        hit = ids[k] == lab
        if surface:
            hit &= contact_voxels(lab)
        codes = idx[hit] * len(ids) + k[hit]
        by_object += np.bincount(codes, minlength=by_object.size).reshape(by_object.shape).astype(np.float32)
    shaped = by_object.reshape(*grid.n_cells, len(ids))

    def describe(cells, voxels):
        sums = shaped[cells].reshape(-1, len(ids)).sum(axis=0)
        return named[int(ids[int(np.argmax(sums))])]

    return Signal(kind, weight * shaped.sum(axis=-1).astype(np.float64), describe)
