"""Separating touching objects: a one-voxel background gap between them, no object deleted."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _carve
from . import _touchscan as _ts
from ._carve import SkippedPair
from .touching import find_contacts

__all__ = ["Separation", "SkippedPair", "apply_separation", "separate"]


@dataclass(frozen=True, eq=False)
class Separation:
    """A planned one-voxel gap between touching objects (see :func:`separate`).

    Attributes
    ----------
    voxels : ndarray of int64, shape (K, 3)
        Global voxels to clear (0 in the labels, 1 in the background).
    pairs : ndarray, shape (M, 2)
        The pairs ``(min id, max id)`` this gap separates.
    skipped : tuple of SkippedPair
        Pairs left touching, each with the reason.
    """

    voxels: np.ndarray
    pairs: np.ndarray
    skipped: tuple = ()

    @property
    def n_voxels(self) -> int:
        """Number of voxels to clear."""
        return len(self.voxels)


def separate(labels, pairs=None, *, connectivity=1, region=None) -> Separation:
    """Plan a one-voxel gap between touching objects without deleting any.

    For each selected pair one side is carved: its voxels next to the other id
    (under ``connectivity``) are cleared. The side is the id with more voxels
    (ties: the higher id), so small objects keep their shape; if carving would
    remove every voxel of that id (counting all its pairs) the other side is
    carved, and if that would too the pair is skipped. Clearing voxels never
    makes new contacts, so after :func:`apply_separation` no selected pair
    touches (inside ``region``).

    Parameters
    ----------
    labels : array-like of int, shape (z, y, x)
        Not modified.
    pairs : array-like of int, shape (M, 2), optional
        Pairs to separate, in any order; all touching pairs by default.
        Pairs that do not touch are ignored.
    connectivity : {1, 2, 3}
        Neighbourhood that defines touching.
    region : tuple of 3 slices, optional
        Only contacts inside this box are separated, and voxels are counted
        inside it (so an id is never emptied inside the region either).

    Examples
    --------
    >>> lab = np.zeros((1, 4, 6), np.uint32)
    >>> lab[0, :, :4], lab[0, :, 4:], lab[0, 0, 5] = 1, 2, 3
    >>> sep = separate(lab)
    >>> sep.pairs.tolist(), sep.n_voxels, sep.skipped
    ([[1, 2], [2, 3]], 6, ())
    >>> lab[0, 1:, :] = 0
    >>> [str(s) for s in separate(lab, [(3, 2)]).skipped]
    ['2–3: carving either side would delete a whole object (id 2 or id 3)']
    """
    shape = _ts.check_labels(labels)
    reg = _ts.as_region(region, shape)
    want = None if pairs is None else _carve.as_pairs(pairs)
    c = find_contacts(labels, reg, connectivity=connectivity)
    if want is not None and len(c):
        c = c._take(_carve.of_pairs(np.minimum(c.a, c.b), np.maximum(c.a, c.b), want))
    if not len(c):
        return Separation(np.zeros((0, 3), np.int64), np.zeros((0, 2), c.a.dtype))
    return Separation(*_carve.plan_carve(c, shape, lambda ids: _ts.id_counts(
        np.asarray(labels[reg]), ids)))


def apply_separation(labels, background, separation: Separation) -> int:
    """Write a separation: 0 into ``labels`` and 1 into ``background`` at its voxels.

    Only the bounding box of the voxels is read and written back, with basic
    slices, so numpy and zarr arrays both work; ``background`` may be None.

    Returns how many of the voxels held a nonzero id before.

    Examples
    --------
    >>> lab = np.zeros((1, 2, 4), np.uint32)
    >>> lab[0, :, :2], lab[0, :, 2:] = 1, 2
    >>> bg = np.zeros(lab.shape, bool)
    >>> apply_separation(lab, bg, separate(lab))
    2
    >>> lab[0].tolist(), int(bg.sum()), len(find_contacts(lab))
    ([[1, 1, 0, 2], [1, 1, 0, 2]], 2, 0)
    """
    v = _carve.check_voxels(_ts.check_labels(labels), background, separation.voxels)
    if not len(v):
        return 0
    cleared = _carve.write_voxels(labels, v, 0)
    if background is not None:
        _carve.write_voxels(background, v, 1)
    return cleared
