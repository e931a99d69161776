"""What :class:`~napari_patchwise.layers.live_qc.LiveQC` answers about touching instances (Qt-free):
the pairs, their locations and the contact voxels, now or later in a worker thread.

Contacts across the face two boxes share are left out everywhere
(:func:`~napari_patchwise.engine.qc.touching.within_boxes`): no training crop
holds both sides, so they break no rule.
"""

from __future__ import annotations

import numpy as np

from ..engine.geometry.regions import grow_region as grow
from ..engine.qc.contact_index import ContactIndex
from ..engine.qc.touching import PairTable, TouchingPair, within_boxes


def _inside(voxels: np.ndarray, region) -> np.ndarray:
    lo = np.array([s.start for s in region])
    hi = np.array([s.stop for s in region])
    return ((voxels >= lo) & (voxels < hi)).all(axis=1)


def _joined(parts) -> np.ndarray:
    """Unique voxels of several ``(K, 3)`` arrays."""
    parts = [v for v in parts if len(v)]
    if not parts:
        return np.zeros((0, 3), np.int64)
    return np.unique(np.concatenate(parts), axis=0) if len(parts) > 1 else parts[0]


class ContactQueries:
    """The contact queries of :class:`~napari_patchwise.layers.live_qc.LiveQC`, over its
    ``indexes`` (one :class:`ContactIndex` per instance class) and its ``plan``."""

    def _relevant(self, c, plan=None):
        """``c`` without the contacts across the face shared by two boxes (:func:`within_boxes`)."""
        plan = self.plan if plan is None else plan
        return within_boxes(c, [b.slices(plan.magnification) for b in plan.boxes])

    def _kept(self, index: ContactIndex):
        """``self._relevant(index.contacts())``, kept until the index or the boxes change."""
        plan = self.plan
        key = tuple((b.lo, b.hi, b.slices(plan.magnification)) for b in plan.boxes)
        return index.memo("kept", key, lambda: self._relevant(index.contacts(), plan))

    def contacts(self) -> list[TouchingPair]:
        """Every touching pair, class by class (contacts across the face shared by two
        boxes are left out)."""
        return [pair for name, index in self.indexes.items()
                for pair in self._kept(index).touching_pairs(name)]

    def pair_table(self) -> PairTable:
        """Every touching pair as columns (as :meth:`contacts`, without a location or an
        object per pair); kept until a stroke, a recheck or the boxes change it."""
        key = (tuple((n, i.version, id(i)) for n, i in self.indexes.items()),
               tuple((b.lo, b.hi) for b in self.plan.boxes))
        if getattr(self, "_table_key", None) != key:
            self._table = PairTable.from_contacts({n: self._kept(i) for n, i in self.indexes.items()})
            self._table_key = key
        return self._table

    def pair_table_later(self):
        """A callable returning :meth:`pair_table` as it is now, to call in a worker thread
        (taking it costs time in the number of index buckets, not of pairs)."""
        plan, later = self.plan, {n: i.snapshot() for n, i in self.indexes.items()}
        return lambda: PairTable.from_contacts({n: self._relevant(f(), plan) for n, f in later.items()})

    def location(self, name: str, a: int, b: int) -> tuple[float, float, float]:
        """A voxel where ids ``a`` and ``b`` of class ``name`` touch (for "jump to")."""
        return self._kept(self.indexes[name]).location(a, b)

    def n_pairs(self) -> int:
        return len(self.pair_table())

    def n_contacts(self) -> int:
        """Number of contacts shown (contacts across the face shared by two boxes are left out)."""
        return sum(len(self._kept(index)) for index in self.indexes.values())

    def contact_voxels_in(self, region=None) -> np.ndarray:
        """Voxels on either side of a contact, ``(K, 3)`` at the annotation grid.

        With ``region`` (3 slices), only the voxels inside it; only the index
        buckets near the region are read, so this is fast for a small region.
        """
        parts = []
        for index in self.indexes.values():
            if region is None:
                parts.append(self._kept(index).voxels())
                continue
            v = self._relevant(index.contacts_in(grow(region, index.shape, 1))).voxels()
            parts.append(v[_inside(v, region)] if len(v) else v)
        return _joined(parts)

    def contact_voxels_later(self, unique: bool = True):
        """A callable returning :meth:`contact_voxels_in` of the whole volume as it is now, to call
        in a worker thread (taking it costs time in the number of index buckets only). With
        ``unique=False`` the voxels come unsorted and may repeat (cheaper, e.g. for drawing)."""
        plan, later = self.plan, [i.snapshot() for i in self.indexes.values()]

        def voxels():
            kept = [self._relevant(f(), plan) for f in later]
            if unique:
                return _joined([c.voxels() for c in kept])
            parts = [side for c in kept for side in (c.first, c.second) if len(side)]
            return np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)

        return voxels
