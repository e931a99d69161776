"""A signal of chosen objects: their voxels per cell, and the reason of the object that fills a window most."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .cells import CellGrid
from .signal import Signal
from .touch import contact_voxels

__all__ = ["ObjectCounter", "object_signal"]


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
    counter = ObjectCounter(grid, named)
    for region in grid.slabs():
        counter.add(read(region), region, surface)
    return counter.signal(kind, weight)


class ObjectCounter:
    """Voxels of chosen objects per cell, gathered slab by slab (see :func:`object_signal`)."""

    def __init__(self, grid: CellGrid, named: Mapping[int, str]):
        self.grid, self.named = grid, dict(named)
        self.ids = np.array(sorted(self.named), np.int64)
        self.by_object = np.zeros((int(np.prod(grid.n_cells)), max(1, len(self.ids))), np.float32)

    def add(self, lab: np.ndarray, region, surface: bool = False) -> None:
        """Count the chosen objects' voxels of ``lab``, the labels of ``region``."""
        if not len(self.ids):
            return
        where = np.nonzero(contact_voxels(lab) if surface else lab > 0)
        values = lab[where]
        k = np.minimum(np.searchsorted(self.ids, values), len(self.ids) - 1)
        hit = self.ids[k] == values
        if not hit.any():
            return
        where = tuple(w[hit] for w in where)
        codes = self.grid.cell_of(where, [r.start for r in region]) * len(self.ids) + k[hit]
        self.by_object += np.bincount(codes, minlength=self.by_object.size).reshape(self.by_object.shape)

    def signal(self, kind: str, weight: float = 1.0) -> Signal | None:
        """The signal of the voxels counted (``None`` when no object is chosen)."""
        if not len(self.ids):
            return None
        ids, named = self.ids, self.named
        shaped = self.by_object.reshape(*self.grid.n_cells, len(ids))


        def describe(cells, voxels):
            sums = shaped[cells].reshape(-1, len(ids)).sum(axis=0)
            return named[int(ids[int(np.argmax(sums))])]

        return Signal(kind, weight * shaped.sum(axis=-1).astype(np.float64), describe)
