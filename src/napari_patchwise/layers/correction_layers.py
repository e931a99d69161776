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

The merged layer's data is a :class:`~.corrected_data.LazyCorrected`: a
read-only array-like that merges only the region napari asks for (the visible
plane), keeping a few merged planes in a small cache, so its memory does not
grow with the volume. :class:`CorrectedView` keeps it true: a stroke on the class or one
of its masks merges its region again in the cached planes; undo and redo emit no paint
event (napari only refreshes the layer), so a refresh drops the whole cache
(then only the plane on screen is merged again, however much was painted in
the session); a replaced array is followed at once.
"""

from __future__ import annotations

from psygnal import Signal

from ..engine.corrections.store import CORRECTION_KINDS, correction_arrays, correction_path, has_corrections
from ..engine.geometry.regions import clip_region
from ..engine.plan.plan import Plan
from ..engine.plan.stroke_buffer import StrokeBuffer
from .annotation_layers import FIXED_COLORS, annotation_transform
from .box_shapes import METADATA_KEY
from .corrected_data import LazyCorrected, merged_view, view_values
from .paint_regions import stroke_region
from .stroke_hold import refresh_is_no_edit, writes_of

#: The order the mask layers are listed in (the order a person thinks of them).
LAYER_ORDER = ("add", "remove", "ignore")
#: One colour per mask: green adds, red removes, ignore as the ignore layer.
MASK_COLORS = {"add": "#3cb44b", "remove": "#e6194b", "ignore": FIXED_COLORS["ignore"]}
#: Colours of a semantic class's merged view: the class, and ignored voxels.
VIEW_COLORS = {1: "#4363d8", 2: FIXED_COLORS["ignore"]}


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
        The merged view (its data a :class:`~.corrected_data.LazyCorrected`, or a numpy array this object writes).
    instance : bool
        The class holds instance ids.
    defer : callable, optional
        ``defer(fn)`` runs ``fn`` after napari finished the edit (see
        :class:`~napari_patchwise.layers.live_qc.LiveQC`); without it at once.
    view_key : callable, optional
        Returns what the viewer shows (as for ``LiveQC``): a refresh of a layer that
        comes with a new view is napari slicing, not undo/redo, and changes nothing.
        A layer whose data is a :class:`StrokeBuffer` is judged by its writes instead:
        a refresh with no write since the strokes seen (slicing, the layer shown
        again) changes nothing; an undo writes first.
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
        self._writes = self._written()  # the writes through the followed layers' buffers accounted for
        for kind, layer in (("base", base), *self.masks.items()):
            handlers = ((layer.events.paint, lambda e, kind=kind: self._on_paint(e, kind)),
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

    def _on_paint(self, event, kind: str) -> None:
        region = stroke_region(getattr(event, "value", None))
        if region is None:
            return
        self.painted = True
        self._later(lambda: self.update(region, changed=(kind,)))

    def _view(self):
        return None if self.view_key is None else self.view_key()

    def _written(self) -> dict:
        """The writes each followed layer's buffer counted (``None`` for other data)."""
        return {id(layer): writes_of(layer) for layer in (self.base, *self.masks.values())}

    def _on_refresh(self, key=None) -> None:
        # undo / redo (napari tells no region): drop the whole cache, which costs one plane merged
        # again, and have live checks recheck the class, as they do after an undo of the class layer.
        # napari also refreshes a layer when it slices it anew or shows it again: on a buffer that
        # took no write since the strokes seen that is no edit; on other data a new view is none.
        view, seen = self._view(), self._views.get(key)
        if key in self._views:
            self._views[key] = view
        writes = self._written().get(key)
        if refresh_is_no_edit(writes, self._writes.get(key), key in self._views and view != seen):
            return
        if not self.painted or self._scheduled:
            return
        self._writes[key] = writes
        self._scheduled = True

        def run():
            self._scheduled = False
            if not self._handlers:
                return
            self.update(None)

        self._later(run)

    def update(self, region=None, changed=None) -> None:
        """Merge ``region`` (everything by default) again into the view and redraw it.

        ``changed``: the layers written there (``'base'`` or mask kinds), read again
        alone when the view's merged regions kept the others (``None``: all)."""
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
            data.invalidate(region, changed)
        elif region is None:
            data[...] = merged_view(self.base.data, masks, instance=self.instance, name=repr(self.class_name))
        else:
            region = clip_region(region, data.shape)
            if any(s.stop <= s.start for s in region):
                return
            data[region] = view_values(self.base.data, masks, region, instance=self.instance,
                                       name=repr(self.class_name))
        self.view.refresh()
        self._writes = self._written()  # what was written is merged: accounted for
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
