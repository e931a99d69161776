"""Contacts of a label volume kept current stroke by stroke while a person paints."""

from __future__ import annotations

import numpy as np

from . import _touchscan as _ts
from ..geometry.magnification import _as_int_triple
from ..geometry.regions import grow_region
from .touching import Contacts, contacts_by_block, find_contacts

__all__ = ["ContactIndex"]


class ContactIndex:
    """Contacts of one label volume kept up to date stroke by stroke.

    After every write to the labels call :meth:`update` with a region holding
    all changed voxels; :meth:`contacts` then equals :func:`find_contacts` on
    the whole volume. Contacts live in spatial buckets of ``bucket`` voxels
    (keyed by the bucket of their first voxel), so an update costs time in
    proportion to the region and the contacts near it, not to the volume.

    Examples
    --------
    >>> lab = np.zeros((4, 8, 8), np.uint32)
    >>> lab[:, :, :4] = 1
    >>> index = ContactIndex(lab.shape)
    >>> index.rebuild(lab)
    >>> lab[1, 2:4, 4] = 2
    >>> index.update(lab, (slice(1, 2), slice(2, 4), slice(4, 5)))
    True
    >>> index.pairs().tolist(), len(index), index.n_pairs, index.version
    ([[1, 2]], 2, 1, 2)
    >>> index.update(lab, (slice(0, 4), slice(0, 8), slice(4, 6)))  # nothing new there
    False
    """

    def __init__(self, shape, *, connectivity=1, bucket=(16, 64, 64)):
        self.shape = _as_int_triple(shape, "shape", positive=True)
        self.connectivity = _ts.check_connectivity(connectivity)
        self.bucket = _as_int_triple(bucket, "bucket", positive=True)
        self._grid = tuple(-(-s // b) for s, b in zip(self.shape, self.bucket))
        self._buckets: dict[tuple[int, int, int], Contacts] = {}
        self._counts: dict[tuple[int, int], int] = {}  # contacts per pair
        self._n, self._dtype, self.version = 0, np.dtype(np.int64), 0
        self._cache: dict[object, object] = {}

    def _split(self, c: Contacts) -> dict[tuple[int, int, int], Contacts]:
        order, keys, starts = _ts.bucket_order(c.first, self.bucket, self._grid)
        if not keys:
            return {}
        c = c._take(order)  # one gather; each bucket is then a slice of it
        return {key: c._take(slice(i, j)) for key, i, j in zip(keys, starts[:-1].tolist(), starts[1:].tolist())}

    def rebuild(self, labels) -> None:
        """Scan the whole volume again (this counts as a change).

        The contacts are filed into buckets and counted by pair slab by slab as
        the labels are read (:func:`contacts_by_block`), so no array of all the
        contacts is made and sorted at once.
        """
        _ts.check_labels(labels, self.shape)
        parts: dict[tuple[int, int, int], list[Contacts]] = {}
        pairs, counts, n, dtype = [], [], 0, _ts.id_dtype(labels.dtype)
        for c in contacts_by_block(labels, connectivity=self.connectivity):
            for key, part in self._split(c).items():
                parts.setdefault(key, []).append(part)
            rows, k = _ts.unique_pairs(np.minimum(c.a, c.b), np.maximum(c.a, c.b), counts=True)
            pairs.append(rows)
            counts.append(k)
            n, dtype = n + len(c), c.a.dtype
        self._buckets = {key: p[0] if len(p) == 1 else Contacts.concat(p) for key, p in parts.items()}
        self._counts = _ts.merged_counts(pairs, counts)
        self._n, self._dtype, self._cache = n, dtype, {}
        self.version += 1

    def update(self, labels, region) -> bool:
        """Recheck after the voxels inside ``region`` (3 slices) changed.

        Contacts with both voxels in the region grown by one voxel are
        replaced by a fresh scan of it; the others involve no changed voxel.
        Returns whether the contacts changed (then :attr:`version` goes up).
        """
        _ts.check_labels(labels, self.shape)
        reg = _ts.as_region(region, self.shape)
        if any(s.stop == s.start for s in reg):
            return False
        halo = grow_region(reg, self.shape, 1)
        new = find_contacts(labels, halo, connectivity=self.connectivity)
        hits = _ts.inside_buckets(self._buckets, halo, self.bucket)
        gone = Contacts.concat([c._take(inside) for _, c, inside in hits])
        if _ts.same_contacts(gone, new, self.shape):
            return False
        for key, c, inside in hits:
            self._buckets[key] = c._take(~inside)
            if not len(self._buckets[key]):
                del self._buckets[key]
        for key, part in self._split(new).items():
            old = self._buckets.get(key)
            self._buckets[key] = part if old is None else Contacts.concat([old, part])
        for c, sign in ((gone, -1), (new, 1)):
            for pair, n in c.pair_counts().items():
                left = self._counts.pop(pair, 0) + sign * n
                if left:
                    self._counts[pair] = left
        self._n += len(new) - len(gone)
        self._dtype = new.a.dtype if len(new) else self._dtype
        self.version += 1
        self._cache = {}
        return True

    def contacts(self) -> Contacts:
        """All contacts (as :func:`find_contacts` on the whole volume, in another order)."""
        if "all" not in self._cache:
            self._cache["all"] = Contacts.concat(self._buckets.values() or [Contacts.empty(
                self._dtype)])
        return self._cache["all"]  # type: ignore[return-value]

    def memo(self, slot: str, key, compute):
        """``compute()``, kept in ``slot`` until the contacts change or another ``key``
        (compared with ==) is asked for there.

        For values derived from :meth:`contacts` (e.g. filtered by the boxes given as
        ``key``), so they can be computed in the thread that built the index and reused
        on another.

        Examples
        --------
        >>> lab = np.zeros((1, 2, 2), np.uint8)
        >>> lab[0, 0] = 1, 2
        >>> index = ContactIndex(lab.shape)
        >>> index.rebuild(lab)
        >>> n = lambda: len(index.contacts())
        >>> index.memo("n", 1, n), index.memo("n", 1, lambda: -1), index.memo("n", 2, lambda: -1)
        (1, 1, -1)
        >>> index.update(np.zeros_like(lab), (slice(0, 1), slice(0, 2), slice(0, 2)))
        True
        >>> index.memo("n", 2, n)
        0
        """
        hit = self._cache.get(("memo", slot))
        if hit is None or hit[0] != key:  # type: ignore[index]
            hit = (key, compute())
            self._cache[("memo", slot)] = hit
        return hit[1]  # type: ignore[index]

    def snapshot(self):
        """A callable returning :meth:`contacts` as they are now, meant for another thread.

        Taking it costs time in the number of buckets only; the contacts are
        joined when it is called, while strokes may go on updating the index.

        Examples
        --------
        >>> lab = np.zeros((2, 4, 4), np.uint8)
        >>> lab[:, :, :2], lab[:, :, 2:] = 1, 2
        >>> index = ContactIndex(lab.shape)
        >>> index.rebuild(lab)
        >>> later = index.snapshot()
        >>> index.update(np.zeros_like(lab), (slice(0, 2), slice(0, 4), slice(0, 4)))
        True
        >>> len(later()), len(index.contacts())
        (8, 0)
        """
        parts, dtype = tuple(self._buckets.values()), self._dtype
        return lambda: Contacts.concat(parts or [Contacts.empty(dtype)])

    def pairs(self) -> np.ndarray:
        """Unique touching pairs ``(min id, max id)``, shape (M, 2), sorted by row."""
        if "pairs" not in self._cache:
            self._cache["pairs"] = np.array(sorted(self._counts), self._dtype).reshape(-1, 2)
        return self._cache["pairs"].copy()  # type: ignore[attr-defined]

    def voxels(self) -> np.ndarray:
        """Unique voxels on either side of a contact, shape (K, 3), sorted by row."""
        return self.contacts().voxels()

    def contacts_in(self, region) -> Contacts:
        """Contacts with both voxels in ``region``; costs time in the buckets it overlaps."""
        hits = _ts.inside_buckets(self._buckets, _ts.as_region(region, self.shape), self.bucket)
        return Contacts.concat([c._take(inside) for _, c, inside in hits] or [Contacts.empty(self._dtype)])

    @property
    def n_pairs(self) -> int:
        """Number of touching pairs."""
        return len(self._counts)

    def __len__(self) -> int:
        return self._n
