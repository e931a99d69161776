"""Touching instances: finding, tracking and separating them.

Instance labels of one class must keep at least one voxel of background
between different objects; two different nonzero ids side by side *touch*.
Neighbours follow ``connectivity`` as in
``scipy.ndimage.generate_binary_structure(3, connectivity)``: 1 = faces (6
neighbours, the default), 2 = faces and edges (18), 3 = also corners (26).

:func:`find_contacts` lists every touching voxel pair of a volume or region;
:class:`~napari_patchwise.engine.qc.contact_index.ContactIndex` keeps that list
current while a person paints, stroke by stroke, and
:mod:`~napari_patchwise.engine.qc.separation` cuts a one-voxel gap between
touching objects without deleting any. Arrays are ``(z, y, x)``;
labels may be numpy or zarr arrays (only the region asked for is read).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import _touchscan as _ts
from ._boxfaces import across_boxes

__all__ = ["CONNECTIVITIES", "Contacts", "PairTable", "TouchingPair", "contacts_by_block", "find_contacts", "neighbour_offsets", "touching_pairs"]

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


@dataclass(frozen=True, eq=False)
class PairTable:
    """Touching pairs of several classes as columns (a "touching pairs" list
    without a Python object per pair: a table of 157k pairs is a few arrays).

    Attributes
    ----------
    names : tuple of str
        The classes; ``cls`` indexes them.
    cls : ndarray of int, shape (M,)
    a, b : ndarray of int64, shape (M,)
        The ids of each pair, ``a < b``.
    n : ndarray of int64, shape (M,)
        Contacts of each pair.

    Examples
    --------
    >>> lab = np.zeros((1, 3, 6), np.uint32)
    >>> lab[0, :, :2], lab[0, :, 2:4], lab[0, 0, 4:] = 5, 2, 9
    >>> t = PairTable.from_contacts({"nuclei": find_contacts(lab)})
    >>> len(t), t.a.tolist(), t.b.tolist(), t.n.tolist()
    (2, [2, 2], [5, 9], [3, 1])
    >>> t.order(3, descending=True).tolist()  # by contacts, most first
    [0, 1]
    >>> t.order(2, descending=True).tolist()  # by id b
    [1, 0]
    >>> t.row(1)
    ('nuclei', 2, 9, 1)
    """

    names: tuple[str, ...]
    cls: np.ndarray
    a: np.ndarray
    b: np.ndarray
    n: np.ndarray

    #: Column titles, in the order of :meth:`row`.
    COLUMNS = ("class", "id a", "id b", "contacts")

    @classmethod
    def from_contacts(cls, by_class) -> PairTable:
        """The pairs of ``{class name: Contacts}``, class by class, sorted by ids."""
        names, parts = tuple(by_class), []
        for i, c in enumerate(by_class.values()):
            a = np.asarray(c.a, np.int64)
            b = np.asarray(c.b, np.int64)
            rows, n = _ts.unique_pairs(np.minimum(a, b), np.maximum(a, b), counts=True)
            rows = np.asarray(rows, np.int64).reshape(-1, 2)
            parts.append((np.full(len(rows), i, np.int64), rows[:, 0], rows[:, 1],
                          np.asarray(n, np.int64)))
        if not parts:
            return cls(names, *(np.zeros(0, np.int64) for _ in range(4)))
        return cls(names, *(np.concatenate(col) for col in zip(*parts)))

    def __len__(self) -> int:
        return len(self.a)

    def row(self, i: int) -> tuple[str, int, int, int]:
        """Row ``i`` as (class, id a, id b, contacts)."""
        return self.names[int(self.cls[i])], int(self.a[i]), int(self.b[i]), int(self.n[i])

    def order(self, column: int, descending: bool = False) -> np.ndarray:
        """Row indices sorted by column ``column`` of :attr:`COLUMNS` (ties by class and ids)."""
        cols = (self.cls, self.a, self.b, self.n)
        key = cols[column]
        if descending:
            key = -key
        # np.lexsort sorts by the last key first
        return np.lexsort((self.b, self.a, self.cls, key)).astype(np.int64)

    def find(self, name: str, a: int, b: int) -> int:
        """The row of a pair, or -1."""
        if name not in self.names:
            return -1
        hit = np.flatnonzero((self.cls == self.names.index(name)) & (self.a == min(a, b))
                             & (self.b == max(a, b)))
        return int(hit[0]) if hit.size else -1


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
    parts = list(contacts_by_block(labels, region, connectivity=connectivity))
    if len(parts) == 1:
        return parts[0]
    return Contacts.concat(parts) if parts else Contacts.empty(_ts.id_dtype(labels.dtype))


def contacts_by_block(labels, region=None, *, connectivity=1):
    """:func:`find_contacts` as it reads the labels: the contacts of each slab read, one
    :class:`Contacts` at a time (none for a slab without contacts).

    Joined, they are :func:`find_contacts` of the same arguments; a caller that files
    contacts away (e.g. by place) can do so slab by slab, without one array of them all.

    Examples
    --------
    >>> lab = np.zeros((2, 4, 4), np.uint16)
    >>> lab[:, :2], lab[:, 2:] = 1, 2
    >>> [len(c) for c in contacts_by_block(lab)]
    [8]
    """
    shape = _ts.check_labels(labels)
    offsets = neighbour_offsets(connectivity)
    reg = _ts.as_region(region, shape)
    if any(s.stop == s.start for s in reg):
        return
    for block, owned, z0 in _ts.blocks(labels, reg):
        g, a, b, counts = _ts.scan_block(block, owned, offsets)
        if g.size:
            origin = (z0, reg[1].start, reg[2].start)
            yield Contacts(*_ts.coordinates(g, counts, offsets, block.shape, origin), a, b)


def within_boxes(contacts: Contacts, boxes) -> Contacts:
    """``contacts`` without those whose two voxels lie in two different boxes and in no box together.

    Seeds of neighbouring boxes meet at the face they share; no training crop
    holds both sides, so such contacts break no rule. ``boxes`` are the boxes'
    regions (3 slices each) on the contacts' grid.

    Examples
    --------
    >>> lab = np.zeros((1, 1, 4), np.uint32)
    >>> lab[0, 0] = [1, 2, 3, 0]
    >>> c = find_contacts(lab)
    >>> boxes = [(slice(0, 1), slice(0, 1), slice(0, 2)), (slice(0, 1), slice(0, 1), slice(2, 4))]
    >>> within_boxes(c, boxes).pairs().tolist()  # 2 and 3 meet across the two boxes' shared face
    [[1, 2]]
    >>> len(within_boxes(c, boxes[:1])), len(within_boxes(c, []))  # 2-3: one voxel in no box
    (2, 2)
    """
    if not len(boxes) or not len(contacts):
        return contacts
    lo = np.array([[s.start for s in b] for b in boxes], dtype=np.int64)
    hi = np.array([[s.stop for s in b] for b in boxes], dtype=np.int64)
    keep = ~across_boxes(contacts.first, contacts.second, lo, hi)
    if keep.all():
        return contacts
    return type(contacts)(contacts.first[keep], contacts.second[keep], contacts.a[keep], contacts.b[keep])


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
