"""What a napari ``Labels.events.paint`` event changed, as regions of the array.

``Labels.events.paint`` fires once per stroke (on mouse release) with
``value`` = the list of history atoms of that stroke. Two kinds exist and are
read duck-typed, so this works across napari versions:

* masked atoms (napari >= 0.8: paint, fill, polygon): ``slice_key`` (the
  bounding slices) and ``mask`` (changed voxels inside it, or ``None`` when
  every voxel of the bounding box changed);
* ``(indices, old_values, new_values)`` tuples (``Labels.data_setitem`` and
  napari < 0.8): ``indices`` is a tuple of integer index arrays.

Only the last three axes (z, y, x) are kept.

Examples
--------
>>> import numpy as np
>>> from types import SimpleNamespace
>>> atom = SimpleNamespace(slice_key=(slice(2, 3), slice(0, 4), slice(5, 7)), mask=None)
>>> legacy = ((np.array([9]), np.array([1]), np.array([1])), np.array([0]), 3)
>>> [r for r, _ in stroke_regions([atom, legacy])]
[(slice(2, 3, None), slice(0, 4, None), slice(5, 7, None)), (slice(9, 10, None), slice(1, 2, None), slice(1, 2, None))]
>>> stroke_region([atom, legacy])
(slice(2, 10, None), slice(0, 4, None), slice(1, 7, None))
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..engine.geometry.regions import Region, region_from_bounds, union_region


def _atom_region(atom) -> tuple[Region, np.ndarray | None] | None:
    key = getattr(atom, "slice_key", None)
    if key is not None:
        key = tuple(key)[-3:]
        region = tuple(slice(int(s.start or 0), int(s.stop)) for s in key)
        mask = getattr(atom, "mask", None)
        if mask is not None:
            mask = np.asarray(mask, bool)
            while mask.ndim > 3:
                mask = mask.any(axis=0)
            want = tuple(s.stop - s.start for s in region)
            if mask.shape != want:  # a 2D mask of a planar edit
                mask = np.broadcast_to(mask.reshape((1,) * (3 - mask.ndim) + mask.shape), want)
        return region, mask  # type: ignore[return-value]
    if isinstance(atom, tuple) and len(atom) == 3:
        indices = atom[0]
        if isinstance(indices, tuple) and len(indices) >= 3:
            idx = [np.asarray(i, dtype=np.int64).ravel() for i in indices[-3:]]
            if idx[0].size == 0:
                return None
            lo = [int(i.min()) for i in idx]
            region = region_from_bounds(lo, [int(i.max()) + 1 for i in idx])
            mask = np.zeros(tuple(s.stop - s.start for s in region), bool)
            mask[tuple(i - lo_ for i, lo_ in zip(idx, lo))] = True
            return region, mask  # type: ignore[return-value]
    return None


def stroke_regions(value: Iterable) -> list[tuple[Region, np.ndarray | None]]:
    """``(region, mask)`` for each atom of a paint event's ``value`` (unknown atoms are skipped)."""
    if value is None:
        return []
    if not isinstance(value, list | tuple) or (isinstance(value, tuple) and len(value) == 3
                                               and isinstance(value[0], tuple)):
        value = [value]
    out = []
    for atom in value:
        got = _atom_region(atom)
        if got is not None:
            out.append(got)
    return out


def stroke_region(value: Iterable) -> Region | None:
    """The bounding region of everything a paint event changed (``None`` if nothing)."""
    region = None
    for r, _ in stroke_regions(value):
        region = union_region(region, r)
    return region
