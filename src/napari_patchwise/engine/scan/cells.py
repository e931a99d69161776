"""The coarse grid a scan scores on: cells of about a quarter of a box, and slabs to read a volume in.

Every signal reduces its voxel flags to counts per cell (:meth:`CellGrid.add`),
so a whole image is never held at full size: volumes are read in slabs along
``z`` (:meth:`CellGrid.slabs`) of a few million voxels each.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CellGrid", "SLAB_VOXELS"]

#: About how many voxels a slab holds.
SLAB_VOXELS = 4_000_000


@dataclass(frozen=True)
class CellGrid:
    """Cells of ``cell`` voxels over a volume of ``shape`` (the annotation grid).

    Attributes
    ----------
    shape : tuple of int
        The volume's shape.
    cell : tuple of int
        A cell's size (the last cell along an axis may be smaller).

    Examples
    --------
    >>> grid = CellGrid.for_box((10, 40, 40), (8, 16, 16))
    >>> grid.cell, grid.n_cells
    ((2, 4, 4), (5, 10, 10))
    >>> counts = grid.zeros()
    >>> grid.add(counts, (slice(0, 3), slice(0, 40), slice(0, 40)), np.ones((3, 40, 40)))
    >>> int(counts[0].sum()), int(counts[1].sum()), float(counts[0, 0, 0])
    (3200, 1600, 32.0)
    >>> int(grid.voxels()[0, 0, 0]), int(grid.voxels().sum())
    (32, 16000)
    """

    shape: tuple[int, int, int]
    cell: tuple[int, int, int]

    @classmethod
    def for_box(cls, shape: Sequence[int], box: Sequence[int], per_box: int = 4) -> CellGrid:
        """Cells of ``box / per_box`` (at least one voxel) over ``shape``."""
        cell = tuple(max(1, int(b) // per_box) for b in box)
        return cls(tuple(int(s) for s in shape), cell)

    @property
    def n_cells(self) -> tuple[int, int, int]:
        return tuple(math.ceil(s / c) for s, c in zip(self.shape, self.cell))

    def zeros(self) -> np.ndarray:
        """An array of per-cell counts, all zero."""
        return np.zeros(self.n_cells, np.float64)

    def voxels(self) -> np.ndarray:
        """Voxels in each cell."""
        sizes = [np.diff(np.minimum(np.arange(n + 1) * c, s)) for n, c, s in zip(self.n_cells, self.cell, self.shape)]
        return sizes[0][:, None, None] * sizes[1][None, :, None] * sizes[2][None, None, :].astype(np.float64)

    def add(self, counts: np.ndarray, region: Sequence[slice], values: np.ndarray) -> None:
        """Add ``values`` (an array the shape of ``region``) to the cells they lie in, in place."""
        values = np.asarray(values)
        if not values.size:
            return
        sums = values if values.dtype.kind == "f" else values.astype(np.int64)
        cells = []
        for axis, (r, c, n) in enumerate(zip(region, self.cell, values.shape)):
            starts = np.unique(np.append(0, np.arange(-r.start % c, n, c)))
            sums = np.add.reduceat(sums, starts, axis=axis)
            first = r.start // c
            cells.append(slice(first, first + len(starts)))
        counts[tuple(cells)] += sums

    def cell_of(self, coords: Sequence[np.ndarray], origin: Sequence[int]) -> np.ndarray:
        """Flat cell index of voxels at ``coords`` (z, y, x arrays) of a region starting at ``origin``.

        Examples
        --------
        >>> CellGrid((4, 8, 8), (2, 4, 4)).cell_of((np.array([0, 1]), np.array([0, 5]), np.array([7, 0])), (2, 0, 0))
        array([5, 6])
        """
        n = self.n_cells
        idx = [(np.asarray(c) + o) // s for c, o, s in zip(coords, origin, self.cell)]
        return (idx[0] * n[1] + idx[1]) * n[2] + idx[2]

    def slabs(self, voxels: int = SLAB_VOXELS) -> Iterator[tuple[slice, slice, slice]]:
        """Regions of whole ``z`` planes covering the volume, each about ``voxels`` voxels.

        Examples
        --------
        >>> [r[0] for r in CellGrid((5, 4, 4), (1, 1, 1)).slabs(40)]
        [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
        """
        z, y, x = self.shape
        step = max(1, min(z, voxels // max(1, y * x)))
        for z0 in range(0, z, step):
            yield (slice(z0, min(z, z0 + step)), slice(0, y), slice(0, x))

    def cells_of(self, region: Sequence[slice]) -> tuple[slice, slice, slice]:
        """The cells a region touches.

        Examples
        --------
        >>> CellGrid((10, 40, 40), (2, 4, 4)).cells_of((slice(1, 5), slice(0, 8), slice(30, 40)))
        (slice(0, 3, None), slice(0, 2, None), slice(7, 10, None))
        """
        return tuple(slice(r.start // c, -(-r.stop // c)) for r, c in zip(region, self.cell))
