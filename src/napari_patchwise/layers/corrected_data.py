"""The merged view of a class as layer data: the corrected class read region by region.

:func:`view_values` merges a region of a class with its Add / Remove / Ignore
masks (:func:`~napari_patchwise.engine.corrections.apply.correct_class`, the
rule every export uses); :class:`LazyCorrected` is the read-only array-like a
Labels layer shows, merging only what napari reads (see
:mod:`~napari_patchwise.layers.correction_layers` for the layers around it).
"""

from __future__ import annotations

import numpy as np

from ..engine.corrections.apply import correct_class

#: The value ignored voxels of a semantic class have in its merged view.
VIEW_IGNORE = 2
#: z-planes merged at once when a whole view is made.
SLAB = 16
#: Merged regions a :class:`LazyCorrected` keeps (a few planes: the visible one and its neighbours).
CACHE_SIZE = 4
#: Largest merged region (bytes) a :class:`LazyCorrected` keeps in its cache (a 3D view is merged anew).
CACHE_BYTES = 64 * 2 ** 20


def view_values(base, masks, region=None, *, instance: bool = False, name: str = "the class") -> np.ndarray:
    """The merged view of ``region``: the corrected class, and ignored voxels as ``2`` for a semantic class.

    Examples
    --------
    >>> base = np.array([[[1, 1, 0, 0]]], np.uint8)
    >>> view_values(base, {"remove": np.array([[[1, 0, 0, 0]]]), "ignore": np.array([[[0, 0, 0, 1]]])}).tolist()
    [[[0, 1, 0, 2]]]
    """
    fixed = correct_class(base, masks, region, instance=instance, name=name)
    if instance:
        return fixed.ids
    return np.where(fixed.ignore, np.asarray(VIEW_IGNORE, fixed.ids.dtype), fixed.ids)


def merged_view(base, masks, *, instance: bool = False, name: str = "the class") -> np.ndarray:
    """The whole merged view, merged ``SLAB`` z-planes at a time."""
    shape = tuple(base.shape)
    out = np.zeros(shape, np.uint32 if instance else np.uint8)
    for z in range(0, shape[0], SLAB):
        region = (slice(z, min(z + SLAB, shape[0])), slice(0, shape[1]), slice(0, shape[2]))
        out[region] = view_values(base, masks, region, instance=instance, name=name)
    return out


def _axis_key(k, n: int):
    """``(bounding slice, local key)`` of one axis's index ``k`` on an axis of length ``n``."""
    if isinstance(k, (int, np.integer)):
        i = int(k) + n if k < 0 else int(k)
        if not 0 <= i < n:
            raise IndexError(f"index {int(k)} is out of bounds for an axis of size {n}")
        return slice(i, i + 1), 0
    if isinstance(k, slice):
        start, stop, step = k.indices(n)
        r = range(start, stop, step)
        if len(r) == 0:
            return slice(0, 0), slice(0, 0)
        lo, hi = min(r[0], r[-1]), max(r[0], r[-1]) + 1
        first = r[0] - lo
        last = r[-1] - lo
        stop_local = last + (1 if step > 0 else -1)
        return slice(lo, hi), slice(first, None if stop_local < 0 else stop_local, step)
    a = np.asarray(k)
    if a.dtype == bool:
        raise IndexError("boolean masks are not supported by the merged view; index with slices or integers")
    a = np.where(a < 0, a + n, a)
    if a.size == 0:
        return slice(0, 0), a
    lo = int(a.min())
    return slice(lo, int(a.max()) + 1), a - lo


class LazyCorrected:
    """The merged view of a class as a read-only array-like: only the regions read are merged.

    napari's Labels layer takes it as data (it has ``shape``, ``dtype``,
    ``ndim``, ``size`` and ``__getitem__``) and reads the visible plane;
    :func:`view_values` merges just that region. The last ``CACHE_SIZE``
    regions read are kept, with the class and masks read for them, until
    :meth:`invalidate` merges them again or drops them.

    Parameters
    ----------
    base : array
        The class layer's data (numpy or zarr).
    masks : dict of str to array
        The correction masks.
    instance : bool
        The class holds instance ids.
    name : str
        The class, for messages.

    Examples
    --------
    >>> base = np.array([[[1, 1, 0, 0]], [[0, 1, 1, 0]]], np.uint8)
    >>> view = LazyCorrected(base, {"remove": np.zeros_like(base), "ignore": np.array([[[0, 0, 0, 1]]] * 2)})
    >>> view.shape, view.dtype, view[1].tolist(), view[0, 0, ::-1].tolist(), int(view[-1, 0, 2])
    ((2, 1, 4), dtype('uint8'), [[0, 1, 1, 2]], [2, 0, 1, 1], 1)
    >>> np.array_equal(np.asarray(view), view_values(base, view.masks))
    True
    """

    def __init__(self, base, masks, *, instance: bool = False, name: str = "the class"):
        self.instance = instance
        self.name = name
        self._cache: list = []  # [(region, values, {source: its values in region})], newest last
        self.set_sources(base, masks)

    def set_sources(self, base, masks) -> None:
        """Merge from these arrays from now on (drops the cache)."""
        self.base = base
        self.masks = dict(masks)
        self.invalidate(None)

    @property
    def shape(self) -> tuple:
        return tuple(self.base.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint32 if self.instance else np.uint8)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def invalidate(self, region=None, changed=None) -> None:
        """Merge ``region`` again in the cached regions that meet it (``None``: drop the whole cache).

        ``changed`` names the sources written there (``'base'`` or mask kinds): only
        those are read again, the others are taken from what the cache read with the
        region (a stroke on one mask reads neither the class nor the other masks).
        ``None`` reads every source again.
        """
        if region is None:
            self._cache = []
            return
        kept = []
        for r, v, sources in self._cache:
            both = tuple(slice(max(a.start, b.start), min(a.stop, b.stop)) for a, b in zip(r, region))
            if any(s.stop <= s.start for s in both):
                kept.append((r, v, sources))
                continue
            local = tuple(slice(s.start - a.start, s.stop - a.start) for s, a in zip(both, r))
            for key in sources if changed is None else set(changed) & set(sources):
                sources[key][local] = self._source(key)[both]
            v = v.copy()  # napari may still hold the values it was given
            v[local] = self._merge({k: a[local] for k, a in sources.items()})
            kept.append((r, v, sources))
        self._cache = kept

    def _source(self, key: str):
        return self.base if key == "base" else self.masks[key]

    def _merge(self, sources: dict) -> np.ndarray:
        masks = {k: a for k, a in sources.items() if k != "base"}
        return view_values(sources["base"], masks, instance=self.instance, name=self.name)

    def region(self, region) -> np.ndarray:
        """The merged values of ``region`` (a tuple of 3 slices with steps of 1), from the cache when there."""
        for r, v, _ in self._cache:
            if all(a.start <= b.start and b.stop <= a.stop for a, b in zip(r, region)):
                return v[tuple(slice(b.start - a.start, b.stop - a.start) for a, b in zip(r, region))]
        sources = {k: np.array(self._source(k)[region]) for k in ("base", *self.masks)
                   if k == "base" or self.masks[k] is not None}
        values = self._merge(sources)
        if values.nbytes + sum(a.nbytes for a in sources.values()) <= CACHE_BYTES:
            self._cache = [*self._cache[-(CACHE_SIZE - 1):], (region, values, sources)]
        return values

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is Ellipsis for k in key):
            i = next(j for j, k in enumerate(key) if k is Ellipsis)
            key = key[:i] + (slice(None),) * (self.ndim - len(key) + 1) + key[i + 1:]
        if len(key) > self.ndim or any(k is None for k in key):
            raise IndexError(f"the merged view takes at most {self.ndim} indices (no new axes); got {key!r}")
        key = key + (slice(None),) * (self.ndim - len(key))
        parts = [_axis_key(k, n) for k, n in zip(key, self.shape)]
        region = tuple(p[0] for p in parts)
        if any(s.stop <= s.start for s in region):
            local = tuple(slice(0, 0) if isinstance(p[1], int) else p[1] for p in parts)
            return np.zeros(self.shape, self.dtype)[local][tuple(0 if isinstance(p[1], int) else slice(None)
                                                                 for p in parts)]
        return np.asarray(self.region(region)[tuple(p[1] for p in parts)])

    def __array__(self, dtype=None, copy=None):
        out = merged_view(self.base, self.masks, instance=self.instance, name=self.name)
        return out if dtype is None else out.astype(dtype, copy=False)

    def __setitem__(self, key, value):
        raise ValueError(f"the merged view of {self.name} is read-only: paint its class layer or its "
                         "add / remove / ignore layers instead.")
