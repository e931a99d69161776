"""Correction layers of a class in napari (Qt-free): Add / Remove / Ignore masks and the merged view.

For a class ``NAME`` with correction masks in the project
(:mod:`~napari_patchwise.engine.corrections.store`), the viewer shows three
Labels layers backed by the masks' zarr arrays, so every stroke is saved as
it is painted (as the class layers are: each array wrapped in a
:class:`~napari_patchwise.engine.plan.stroke_buffer.StrokeBuffer`, so a brush
stroke writes its chunks once, when it ends):

``NAME add`` / ``NAME remove`` / ``NAME ignore``
    paint ``1`` where the class is missing / wrong / not to be trained on;

and one read-only layer ``NAME corrected``: the class as training sees it
(:func:`~napari_patchwise.engine.corrections.apply.correct_class`, the same
rule composition, QC and every export use). Semantic classes show ``1``
(the class) and ``2`` (ignored), as MemBrain-seg's labels; instance classes
show their object ids (ignored voxels are left out: the ``ignore`` layer
shows them), and have no Add layer: an added voxel would need an object id,
so new objects are painted in the class layer itself.

The merged layer's data is a :class:`LazyCorrected`: a read-only array-like
that merges only the region napari asks for (the visible plane), keeping a
few merged planes in a small cache, so its memory does not grow with the
volume. :class:`CorrectedView` keeps it true: a stroke on the class or one
of its masks merges its region again in the cached planes; undo and redo emit no paint
event (napari only refreshes the layer), so a refresh drops the whole cache
(then only the plane on screen is merged again, however much was painted in
the session); a replaced array is followed at once.
"""

from __future__ import annotations

import numpy as np
from psygnal import Signal

from ..engine.corrections.apply import correct_class
from ..engine.corrections.store import CORRECTION_KINDS, correction_arrays, correction_path, has_corrections
from ..engine.geometry.regions import clip_region
from ..engine.plan.plan import Plan
from ..engine.plan.stroke_buffer import StrokeBuffer
from .annotation_layers import FIXED_COLORS, annotation_transform
from .box_shapes import METADATA_KEY
from .paint_regions import stroke_region

#: The order the mask layers are listed in (the order a person thinks of them).
LAYER_ORDER = ("add", "remove", "ignore")
#: One colour per mask: green adds, red removes, ignore as the ignore layer.
MASK_COLORS = {"add": "#3cb44b", "remove": "#e6194b", "ignore": FIXED_COLORS["ignore"]}
#: Colours of a semantic class's merged view: the class, and ignored voxels.
VIEW_COLORS = {1: "#4363d8", 2: FIXED_COLORS["ignore"]}
#: The value ignored voxels of a semantic class have in its merged view.
VIEW_IGNORE = 2
#: z-planes merged at once when a whole view is made.
SLAB = 16
#: Merged regions a :class:`LazyCorrected` keeps (a few planes: the visible one and its neighbours).
CACHE_SIZE = 4
#: Largest merged region (bytes) a :class:`LazyCorrected` keeps in its cache (a 3D view is merged anew).
CACHE_BYTES = 64 * 2 ** 20


def correction_layer_name(class_name: str, kind: str) -> str:
    """``'membrane add'``, ``'membrane remove'``, ``'membrane ignore'``.

    Examples
    --------
    >>> correction_layer_name("membrane", "remove"), corrected_layer_name("membrane")
    ('membrane remove', 'membrane corrected')
    """
    return f"{class_name} {kind}"


def corrected_layer_name(class_name: str) -> str:
    """Name of a class's merged view layer."""
    return f"{class_name} corrected"


def _instance(plan: Plan, class_name: str) -> bool:
    return any(c.name == class_name and c.kind == "instance" for c in plan.classes)


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
    regions read are kept until :meth:`invalidate` drops them.

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
        self._cache: list = []  # [(region, values)], newest last
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

    def invalidate(self, region=None) -> None:
        """Merge ``region`` again in the cached regions that meet it (``None``: drop the whole cache)."""
        if region is None:
            self._cache = []
            return
        kept = []
        for r, v in self._cache:
            both = tuple(slice(max(a.start, b.start), min(a.stop, b.stop)) for a, b in zip(r, region))
            if any(s.stop <= s.start for s in both):
                kept.append((r, v))
                continue
            v = v.copy()  # napari may still hold the values it was given
            v[tuple(slice(s.start - a.start, s.stop - a.start) for s, a in zip(both, r))] = view_values(
                self.base, self.masks, both, instance=self.instance, name=self.name)
            kept.append((r, v))
        self._cache = kept

    def region(self, region) -> np.ndarray:
        """The merged values of ``region`` (a tuple of 3 slices with steps of 1), from the cache when there."""
        for r, v in self._cache:
            if all(a.start <= b.start and b.stop <= a.stop for a, b in zip(r, region)):
                return v[tuple(slice(b.start - a.start, b.stop - a.start) for a, b in zip(r, region))]
        values = view_values(self.base, self.masks, region, instance=self.instance, name=self.name)
        if values.nbytes <= CACHE_BYTES:
            self._cache = [*self._cache[-(CACHE_SIZE - 1):], (region, values)]
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


def correction_layer_data(plan: Plan, group, class_name: str, project: str | None = None, *,
                          create: bool = False) -> list[tuple]:
    """Layer data tuples of a class's mask layers and merged view (none without masks, unless ``create``).

    An instance class gets no Add layer (new objects are painted in the class layer, each with an id).

    ``create`` makes the class's empty masks in ``group`` first (the group must be writable).
    """
    if not create and not has_corrections(group, class_name):
        return []
    arrays = correction_arrays(group, class_name, create=create)
    tf = annotation_transform(plan)
    units = (plan.image.unit,) * 3
    instance = _instance(plan, class_name)
    out = []
    for kind in LAYER_ORDER:
        if kind not in arrays or (instance and kind == "add"):
            continue
        meta = {"role": "correction", "array": correction_path(class_name, kind), "class": class_name,
                "kind": kind, "project": project}
        out.append((StrokeBuffer(arrays[kind]), {"name": correction_layer_name(class_name, kind), **tf, "units": units,
                                   "opacity": 0.5, "colormap": {None: MASK_COLORS[kind], 0: "transparent"},
                                   "metadata": {METADATA_KEY: meta}}, "labels"))
    view = LazyCorrected(group[class_name], arrays, instance=instance, name=repr(class_name))
    kwargs = {"name": corrected_layer_name(class_name), **tf, "units": units, "opacity": 0.7,
              "metadata": {METADATA_KEY: {"role": "corrected", "class": class_name, "project": project}}}
    if not instance:
        kwargs["colormap"] = {None: VIEW_COLORS[1], 0: "transparent", 2: VIEW_COLORS[2]}
    out.append((view, kwargs, "labels"))
    return out


def all_correction_layer_data(plan: Plan, group, project: str | None = None) -> list[tuple]:
    """Layer data tuples of every class that has correction masks (what opening a project shows)."""
    return [d for c in plan.classes if c.name in group
            for d in correction_layer_data(plan, group, c.name, project)]


class CorrectedView:
    """Keeps a class's merged view layer true while the class and its masks are painted.

    Parameters
    ----------
    class_name : str
    base : napari.layers.Labels
        The class layer.
    masks : dict of str to napari.layers.Labels
        ``{'add': layer, 'remove': layer, 'ignore': layer}`` (any of them).
    view : napari.layers.Labels
        The merged view (its data a :class:`LazyCorrected`, or a numpy array this object writes).
    instance : bool
        The class holds instance ids.
    defer : callable, optional
        ``defer(fn)`` runs ``fn`` after napari finished the edit (see
        :class:`~napari_patchwise.layers.live_qc.LiveQC`); without it at once.
    view_key : callable, optional
        Returns what the viewer shows (as for ``LiveQC``): a refresh of a layer that
        comes with a new view is napari slicing, not undo/redo, and changes nothing.
    """

    #: Emitted with the region of the view merged again (``None``: all of it).
    updated = Signal(object)

    def __init__(self, class_name: str, base, masks: dict, view, *, instance: bool = False, defer=None,
                 view_key=None):
        self.class_name = class_name
        self.view_key = view_key
        self.base = base
        self.masks = dict(masks)
        self.view = view
        self.instance = instance
        self.defer = defer
        self.painted = False  # whether a stroke was seen in this session
        self._scheduled = False
        self._handlers = []
        self._views = {id(layer): self._view() for layer in (base, *self.masks.values())}
        for layer in (base, *self.masks.values()):
            handlers = ((layer.events.paint, lambda e: self._on_paint(e)),
                        (layer.events.set_data, lambda e, key=id(layer): self._on_refresh(key)),
                        (layer.events.data, lambda e: self._later(lambda: self.update(None))))
            for emitter, cb in handlers:
                emitter.connect(cb)
            self._handlers.extend(handlers)

    def layers(self) -> list:
        """The layers this view follows and writes."""
        return [self.base, *self.masks.values(), self.view]

    def disconnect(self) -> None:
        """Stop following the layers."""
        for emitter, cb in self._handlers:
            emitter.disconnect(cb)
        self._handlers = []

    def _later(self, fn) -> None:
        if self.defer is None:
            fn()
        else:
            self.defer(fn)

    def _on_paint(self, event) -> None:
        region = stroke_region(getattr(event, "value", None))
        if region is None:
            return
        self.painted = True
        self._later(lambda: self.update(region))

    def _view(self):
        return None if self.view_key is None else self.view_key()

    def _on_refresh(self, key=None) -> None:
        # undo / redo (napari tells no region): drop the whole cache, which costs one plane merged
        # again, and have live checks recheck the class, as they do after an undo of the class layer.
        # napari also refreshes a layer when it slices it anew: a new view is no edit.
        view = self._view()
        if key in self._views and view != self._views[key]:
            self._views[key] = view
            return
        if not self.painted or self._scheduled:
            return
        self._scheduled = True

        def run():
            self._scheduled = False
            if not self._handlers:
                return
            self.update(None)

        self._later(run)

    def update(self, region=None) -> None:
        """Merge ``region`` (everything by default) again into the view and redraw it."""
        if not self._handlers:  # disconnected meanwhile
            return
        masks = {k: layer.data for k, layer in self.masks.items()}
        data = self.view.data
        if isinstance(data, LazyCorrected):
            if data.base is not self.base.data or any(data.masks.get(k) is not m for k, m in masks.items()):
                data.set_sources(self.base.data, masks)
            if region is not None:
                region = clip_region(region, data.shape)
                if any(s.stop <= s.start for s in region):
                    return
            data.invalidate(region)
        elif region is None:
            data[...] = merged_view(self.base.data, masks, instance=self.instance, name=repr(self.class_name))
        else:
            region = clip_region(region, data.shape)
            if any(s.stop <= s.start for s in region):
                return
            data[region] = view_values(self.base.data, masks, region, instance=self.instance,
                                       name=repr(self.class_name))
        self.view.refresh()
        self.updated.emit(region)


def correction_views(layers, project, plan: Plan, defer=None, view_key=None) -> dict[str, CorrectedView]:
    """A :class:`CorrectedView` for every class of ``project`` whose mask and view layers are in ``layers``."""
    from .project_link import annotation_layer_map, correction_layer_map

    classes = annotation_layer_map(layers, project)
    found = correction_layer_map(layers, project)
    out = {}
    for name, parts in found.items():
        if name in classes and "view" in parts and any(k in parts for k in CORRECTION_KINDS):
            masks = {k: parts[k] for k in CORRECTION_KINDS if k in parts}
            out[name] = CorrectedView(name, classes[name], masks, parts["view"], instance=_instance(plan, name),
                                      defer=defer, view_key=view_key)
    return out
