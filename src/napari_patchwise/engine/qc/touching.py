"""Touching instances: finding, tracking and separating them.

Instance labels of one class must keep at least one voxel of background
between different objects; two different nonzero ids side by side *touch*.
Neighbours follow ``connectivity`` as in
``scipy.ndimage.generate_binary_structure(3, connectivity)``: 1 = faces (6
neighbours, the default), 2 = faces and edges (18), 3 = also corners (26).

:func:`find_contacts` lists every touching voxel pair of a volume or region,
:class:`ContactIndex` keeps that list current while a person paints, stroke by
stroke, and :func:`separate` / :func:`apply_separation` cut a one-voxel gap
between touching objects without deleting any. Arrays are ``(z, y, x)``;
labels may be numpy or zarr arrays (only the region asked for is read).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import _touchscan as _ts
from ._touchscan import SkippedPair
from ..geometry.magnification import _as_int_triple

__all__ = ["CONNECTIVITIES", "ContactIndex", "Contacts", "Separation", "SkippedPair", "TouchingPair",
           "apply_separation", "find_contacts", "grow", "neighbour_offsets", "separate", "touching_pairs"]

#: Accepted values of ``connectivity``.
CONNECTIVITIES = (1, 2, 3)


def neighbour_offsets(connectivity=1) -> np.ndarray:
    """The forward half of the neighbourhood, shape (K, 3), so each neighbour pair
    appears once: the lexicographically positive offsets ``(dz, dy, dx)``.

    Examples
    --------
    >>> neighbour_offsets(1).tolist()
    [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    >>> [len(neighbour_offsets(c)) for c in CONNECTIVITIES]
    [3, 9, 13]
    """
    return _ts.forward_offsets(_ts.check_connectivity(connectivity))


@dataclass(frozen=True)
class TouchingPair:
    """Two ids of one instance class that touch (one row of a "touching pairs" list).

    Attributes
    ----------
    a, b : int
        The ids, ``a < b``.
    n_contacts : int
        How many voxel contacts they share.
    location : tuple of 3 float
        A voxel where they touch (:meth:`Contacts.location`), for "jump to".
    name : str
        The class they belong to (``""`` when not known).
    """

    a: int
    b: int
    n_contacts: int
    location: tuple[float, float, float]
    name: str = ""


@dataclass(frozen=True, eq=False)
class Contacts:
    """Adjacent voxel pairs holding different nonzero ids.

    Attributes
    ----------
    first, second : ndarray of int64, shape (N, 3)
        Global voxel indices of the two voxels; ``second - first`` is one of
        :func:`neighbour_offsets`.
    a, b : ndarray, shape (N,)
        The ids at ``first`` and ``second``, in the labels' dtype.

    Examples
    --------
    >>> lab = np.zeros((1, 3, 4), np.uint32)
    >>> lab[0, :, :2], lab[0, :2, 2:] = 5, 2
    >>> c = find_contacts(lab)
    >>> len(c), c.pairs().tolist(), c.pair_counts()
    (2, [[2, 5]], {(2, 5): 2})
    >>> c.for_pair(5, 2).first.tolist()
    [[0, 0, 1], [0, 1, 1]]
    >>> c.location(2, 5)
    (0.0, 0.0, 1.0)
    >>> c.touching_pairs("nuclei")
    [TouchingPair(a=2, b=5, n_contacts=2, location=(0.0, 0.0, 1.0), name='nuclei')]
    """

    first: np.ndarray
    second: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def __post_init__(self):
        cols = [np.asarray(getattr(self, f), dtype=np.int64).reshape(-1, 3)
                for f in ("first", "second")]
        cols += [np.asarray(v).reshape(-1) for v in (self.a, self.b)]
        if len({len(v) for v in cols}) > 1:
            raise ValueError("contacts need one row per pair in first, second, a and b; got "
                             f"lengths {', '.join(str(len(v)) for v in cols)}.")
        for name, v in zip(("first", "second", "a", "b"), cols):
            object.__setattr__(self, name, v if v.ndim > 1 else
                               v.astype(_ts.id_dtype(v.dtype), copy=False))

    @classmethod
    def empty(cls, dtype=np.int64) -> Contacts:
        """No contacts."""
        ids = np.zeros(0, dtype=dtype)
        return cls(np.zeros((0, 3), np.int64), np.zeros((0, 3), np.int64), ids, ids)

    @staticmethod
    def concat(parts) -> Contacts:
        """All contacts of ``parts`` (a list of :class:`Contacts`) in one."""
        parts = list(parts) or [Contacts.empty()]
        dt = np.result_type(*[p.a.dtype for p in parts if len(p)] or [parts[0].a.dtype])
        return Contacts(*(np.concatenate([getattr(p, f) for p in parts], dtype=t)
                          for f, t in (("first", None), ("second", None), ("a", dt), ("b", dt))))

    @property
    def n(self) -> int:
        """Number of contacts."""
        return len(self.a)

    def __len__(self) -> int:
        return len(self.a)

    def __repr__(self) -> str:
        return f"Contacts(n={self.n}, pairs={len(self.pairs())})"

    def _take(self, sel) -> Contacts:
        return Contacts(self.first[sel], self.second[sel], self.a[sel], self.b[sel])

    @cached_property
    def _groups(self):  # unique pairs and the contacts of each, for fast lookups
        return _ts.group_by_pair(self.a, self.b)

    def pairs(self) -> np.ndarray:
        """Unique touching pairs ``(min id, max id)``, shape (M, 2), sorted by row."""
        return self._groups[0].copy()

    def pair_counts(self) -> dict[tuple[int, int], int]:
        """Number of contacts of every touching pair ``(min id, max id)``."""
        rows, n = _ts.unique_pairs(np.minimum(self.a, self.b), np.maximum(self.a, self.b),
                                   counts=True)
        return {(int(p), int(q)): int(c) for (p, q), c in zip(rows.tolist(), n.tolist())}

    def touching_pairs(self, name: str = "") -> list[TouchingPair]:
        """Every touching pair as a :class:`TouchingPair` of class ``name``, sorted by ids."""
        return [TouchingPair(a, b, n, self.location(a, b), name)
                for (a, b), n in sorted(self.pair_counts().items())]

    def voxels(self) -> np.ndarray:
        """Unique voxels on either side of a contact, shape (K, 3), sorted by row."""
        return _ts.unique_voxels(np.concatenate([self.first, self.second]))

    def for_pair(self, a, b) -> Contacts:
        """The contacts between ids ``a`` and ``b`` (in either order)."""
        rows, col, order, starts = self._groups
        i = _ts.find_row(rows, col, min(a, b), max(a, b)) if len(rows) else -1
        return self._take(order[starts[i]:starts[i + 1]] if i >= 0 else slice(0, 0))

    def location(self, a, b) -> tuple[float, float, float]:
        """A voxel where ``a`` and ``b`` touch (the contact voxel nearest their mean),
        for "jump to"; raises ValueError if they do not touch."""
        sub = self.for_pair(a, b)
        if not len(sub):
            raise ValueError(f"ids {a} and {b} do not touch; pick a pair from pairs().")
        pts = np.concatenate([sub.first, sub.second]).astype(float)
        best = np.argmin(((pts - pts.mean(axis=0)) ** 2).sum(axis=1))
        return tuple(float(v) for v in pts[best])  # type: ignore[return-value]


def find_contacts(labels, region=None, *, connectivity=1) -> Contacts:
    """Every pair of neighbouring voxels holding different nonzero ids.

    Coordinates in the result are global (not relative to ``region``).

    Parameters
    ----------
    labels : array-like of int, shape (z, y, x)
        numpy or zarr array, or anything that takes basic slices; bool works.
    region : tuple of 3 slices, optional
        Only contacts with both voxels inside this box. Bounds are voxel
        coordinates (not Python indices): negative values and values past the
        end are clipped. Only this box is read.
    connectivity : {1, 2, 3}
        Neighbourhood (faces; faces and edges; faces, edges and corners).

    Raises
    ------
    ValueError
        For labels that are not 3D integers, a bad ``connectivity`` or a
        region that is not 3 slices with step 1.

    Examples
    --------
    >>> lab = np.zeros((2, 4, 4), np.uint16)
    >>> lab[:, :2], lab[:, 2:] = 1, 2
    >>> len(find_contacts(lab)), len(find_contacts(lab, connectivity=3))
    (8, 40)
    >>> find_contacts(lab, (slice(0, 1), slice(2, 9), slice(None))).n
    0
    >>> find_contacts(lab.astype(float))
    Traceback (most recent call last):
    ...
    ValueError: labels have dtype float64, but instance ids must be integers; convert them first, e.g. np.round(labels).astype(np.uint32).
    """
    shape = _ts.check_labels(labels)
    offsets = neighbour_offsets(connectivity)
    reg = _ts.as_region(region, shape)
    dt = _ts.id_dtype(labels.dtype)
    if any(s.stop == s.start for s in reg):
        return Contacts.empty(dt)
    parts = []
    for block, owned, z0 in _ts.blocks(labels, reg):
        g, a, b, counts = _ts.scan_block(block, owned, offsets)
        if g.size:
            origin = (z0, reg[1].start, reg[2].start)
            parts.append(Contacts(*_ts.coordinates(g, counts, offsets, block.shape, origin),
                                  a, b))
    if len(parts) == 1:
        return parts[0]
    return Contacts.concat(parts) if parts else Contacts.empty(dt)


def touching_pairs(labels, *, connectivity=1) -> np.ndarray:
    """The touching pairs of a volume, as ``find_contacts(labels).pairs()`` but faster.

    Examples
    --------
    >>> lab = np.zeros((1, 5, 5), np.uint32)
    >>> lab[0, 0, :2], lab[0, 1, 1], lab[0, 2, 2], lab[0, 4, 4] = 4, 3, 9, 7
    >>> touching_pairs(lab).tolist(), touching_pairs(lab, connectivity=2).tolist()
    ([[3, 4]], [[3, 4], [3, 9]])
    """
    shape = _ts.check_labels(labels)
    offsets = neighbour_offsets(connectivity)
    dt = _ts.id_dtype(labels.dtype)
    parts = [np.zeros((0, 2), dtype=dt)]
    for block, owned, _ in _ts.blocks(labels, _ts.as_region(None, shape)):
        _, a, b, _ = _ts.scan_block(block, owned, offsets)
        parts.append(_ts.unique_pairs(np.minimum(a, b), np.maximum(a, b)).astype(dt))
    rows = np.concatenate(parts)
    return _ts.unique_pairs(rows[:, 0], rows[:, 1]).reshape(-1, 2)


def grow(region, shape, width=1) -> tuple[slice, slice, slice]:
    """``region`` widened by ``width`` voxels on every side, clipped to ``shape``.

    Examples
    --------
    >>> grow((slice(0, 4), slice(5, 6), slice(8, 10)), (10, 10, 10))
    (slice(0, 5, None), slice(4, 7, None), slice(7, 10, None))
    """
    shape = _as_int_triple(shape, "shape", positive=False)
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 0:
        raise ValueError(f"width must be a whole number >= 0; got {width!r}.")
    return tuple(slice(max(0, s.start - int(width)), min(n, s.stop + int(width)))
                 for s, n in zip(_ts.as_region(region, shape), shape))  # type: ignore


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
        self._cache: dict[str, object] = {}

    def _split(self, c: Contacts) -> dict[tuple[int, int, int], Contacts]:
        groups = _ts.bucket_groups(c.first, self.bucket, self._grid)
        return {key: c._take(rows) for key, rows in groups}

    def rebuild(self, labels) -> None:
        """Scan the whole volume again (this counts as a change)."""
        _ts.check_labels(labels, self.shape)
        c = find_contacts(labels, connectivity=self.connectivity)
        self._buckets, self._counts = self._split(c), c.pair_counts()
        self._n, self._dtype, self._cache = len(c), c.a.dtype, {}
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
        halo = grow(reg, self.shape, 1)
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
    want = None if pairs is None else _ts.as_pairs(pairs)
    c = find_contacts(labels, reg, connectivity=connectivity)
    if want is not None and len(c):
        c = c._take(_ts.of_pairs(np.minimum(c.a, c.b), np.maximum(c.a, c.b), want))
    if not len(c):
        return Separation(np.zeros((0, 3), np.int64), np.zeros((0, 2), c.a.dtype))
    return Separation(*_ts.plan_carve(c, shape, lambda ids: _ts.id_counts(
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
    v = _ts.check_voxels(_ts.check_labels(labels), background, separation.voxels)
    if not len(v):
        return 0
    cleared = _ts.write_voxels(labels, v, 0)
    if background is not None:
        _ts.write_voxels(background, v, 1)
    return cleared
