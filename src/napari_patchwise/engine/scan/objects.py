"""Objects of a label volume measured slab by slab: voxels, centroid, elongation.

Sums of coordinates and of their products add up over slabs, so an object's
size, centroid and second moments (hence its elongation) come out right
without ever holding the whole volume. Elongation is the square root of the
ratio of the largest to the smallest principal variance, in physical units
(the voxel size): 1 for a ball, about 3 for a cigar three times as long as
it is wide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ObjectTable", "measure_objects", "measure_slabs"]

#: Objects smaller than this many voxels get no elongation (NaN).
MIN_SHAPE_VOXELS = 10
_NSUM = 10  # n, 3 sums, 6 products


@dataclass(frozen=True, eq=False)
class ObjectTable:
    """One row per object.

    Attributes
    ----------
    ids : ndarray of int64
    voxels : ndarray of int64
    centroid : ndarray of float, shape (n, 3)
        In voxels of the volume measured.
    elongation : ndarray of float
        NaN for objects under :data:`MIN_SHAPE_VOXELS` voxels.
    voxel_volume : float
        Physical volume of one voxel.
    """

    ids: np.ndarray
    voxels: np.ndarray
    centroid: np.ndarray
    elongation: np.ndarray
    voxel_volume: float = 1.0

    @property
    def volume(self) -> np.ndarray:
        """Physical volume of each object."""
        return self.voxels * self.voxel_volume

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def concat(tables: Sequence[ObjectTable]) -> ObjectTable:
        """The rows of several tables (of one voxel size) together."""
        tables = list(tables)
        if not tables:
            return _empty(1.0)
        return ObjectTable(np.concatenate([t.ids for t in tables]), np.concatenate([t.voxels for t in tables]),
                           np.concatenate([t.centroid for t in tables]),
                           np.concatenate([t.elongation for t in tables]), tables[0].voxel_volume)


def _empty(voxel_volume: float) -> ObjectTable:
    return ObjectTable(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(0), voxel_volume)


def _sums(labels: np.ndarray, offset: Sequence[int], spacing: Sequence[float]):
    fg = labels > 0
    if not fg.any():
        return np.zeros(0, np.int64), np.zeros((0, _NSUM))
    idx = np.nonzero(fg)
    ids, inv = np.unique(labels[idx], return_inverse=True)
    coords = [(i + o) * s for i, o, s in zip(idx, offset, spacing)]
    weights = [None, *coords, *(coords[a] * coords[b] for a in range(3) for b in range(a, 3))]
    sums = np.stack([np.bincount(inv, weights=w, minlength=len(ids)) for w in weights], axis=1)
    return ids.astype(np.int64), sums


def _merge(ids, sums, new_ids, new_sums):
    if not len(ids):
        return new_ids, new_sums
    all_ids = np.union1d(ids, new_ids)
    out = np.zeros((len(all_ids), _NSUM))
    out[np.searchsorted(all_ids, ids)] += sums
    out[np.searchsorted(all_ids, new_ids)] += new_sums
    return all_ids, out


def _table(ids, sums, spacing) -> ObjectTable:
    spacing = np.asarray(spacing, float)
    vv = float(np.prod(spacing))
    if not len(ids):
        return _empty(vv)
    n = sums[:, 0]
    mean = sums[:, 1:4] / n[:, None]
    cov = np.empty((len(ids), 3, 3))
    k = 4
    for a in range(3):
        for b in range(a, 3):
            cov[:, a, b] = cov[:, b, a] = sums[:, k] / n - mean[:, a] * mean[:, b]
            k += 1
    eig = np.linalg.eigvalsh(cov)
    floor = float(np.min(spacing)) ** 2 / 12  # a voxel's own spread: flat objects stay finite
    elong = np.sqrt(np.maximum(eig[:, -1], floor) / np.maximum(eig[:, 0], floor))
    elong[n < MIN_SHAPE_VOXELS] = np.nan
    return ObjectTable(ids, n.astype(np.int64), mean / spacing, elong, vv)


def measure_objects(labels: np.ndarray, spacing: Sequence[float] = (1, 1, 1),
                    offset: Sequence[int] = (0, 0, 0)) -> ObjectTable:
    """Measure the objects of one label array.

    Examples
    --------
    >>> lab = np.zeros((4, 4, 40), int); lab[1:3, 1:3, 0:4] = 1; lab[1:3, 1:3, 8:40] = 2
    >>> t = measure_objects(lab)
    >>> t.ids.tolist(), t.voxels.tolist(), t.centroid[0].tolist()
    ([1, 2], [16, 128], [1.5, 1.5, 1.5])
    >>> [round(float(e), 1) for e in t.elongation]
    [2.2, 18.5]
    """
    ids, sums = _sums(np.asarray(labels), offset, spacing)
    return _table(ids, sums, spacing)


def measure_slabs(read: Callable, regions: Iterable, spacing: Sequence[float] = (1, 1, 1)) -> ObjectTable:
    """Measure the objects of a volume read region by region (``read(region) -> labels``).

    Examples
    --------
    >>> lab = np.zeros((6, 4, 4), int); lab[1:5, 1:3, 1:3] = 7
    >>> slabs = [(slice(z, z + 2), slice(0, 4), slice(0, 4)) for z in (0, 2, 4)]
    >>> t = measure_slabs(lambda r: lab[r], slabs)
    >>> t.ids.tolist(), t.voxels.tolist(), t.centroid[0].tolist()
    ([7], [16], [2.5, 1.5, 1.5])
    """
    ids, sums = np.zeros(0, np.int64), np.zeros((0, _NSUM))
    for region in regions:
        new_ids, new_sums = _sums(read(region), [r.start for r in region], spacing)
        ids, sums = _merge(ids, sums, new_ids, new_sums)
    return _table(ids, sums, spacing)
