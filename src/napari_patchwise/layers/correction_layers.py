"""Correction layers of a class in napari (Qt-free): Add / Remove / Ignore masks and the merged view.

For a class ``NAME`` with correction masks in the project
(:mod:`~napari_patchwise.engine.corrections.store`), the viewer shows three
Labels layers backed by the masks' zarr arrays, so every stroke is saved as
it is painted (as the class layers are):

``NAME add`` / ``NAME remove`` / ``NAME ignore``
    paint ``1`` where the class is missing / wrong / not to be trained on;

and one read-only layer ``NAME corrected``: the class as training sees it
(:func:`~napari_patchwise.engine.corrections.apply.correct_class`, the same
rule composition, QC and every export use). Semantic classes show ``1``
(the class) and ``2`` (ignored), as MemBrain-seg's labels; instance classes
show their object ids (ignored voxels are left out: the ``ignore`` layer
shows them), and have no Add layer: an added voxel would need an object id,
so new objects are painted in the class layer itself.

:class:`CorrectedView` keeps the merged layer true: after a stroke on the
class or one of its masks only the painted region is merged again; undo and
redo emit no paint event (napari only refreshes the layer), so a refresh of
a layer painted in this session merges again the regions painted so far,
and a replaced array merges everything.
"""

from __future__ import annotations

import numpy as np
from psygnal import Signal

from ..engine.corrections.apply import correct_class
from ..engine.corrections.store import CORRECTION_KINDS, correction_arrays, correction_path, has_corrections
from ..engine.geometry.regions import clip_region, union_region
from ..engine.plan.plan import Plan
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
        out.append((arrays[kind], {"name": correction_layer_name(class_name, kind), **tf, "units": units,
                                   "opacity": 0.5, "colormap": {None: MASK_COLORS[kind], 0: "transparent"},
                                   "metadata": {METADATA_KEY: meta}}, "labels"))
    view = merged_view(group[class_name], arrays, instance=instance, name=repr(class_name))
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
        The merged view (its data a numpy array this object writes).
    instance : bool
        The class holds instance ids.
    defer : callable, optional
        ``defer(fn)`` runs ``fn`` after napari finished the edit (see
        :class:`~napari_patchwise.layers.live_qc.LiveQC`); without it at once.
    """

    #: Emitted with the region of the view merged again (``None``: all of it).
    updated = Signal(object)

    def __init__(self, class_name: str, base, masks: dict, view, *, instance: bool = False, defer=None):
        self.class_name = class_name
        self.base = base
        self.masks = dict(masks)
        self.view = view
        self.instance = instance
        self.defer = defer
        self.painted = None  # union of the regions painted in this session
        self._scheduled = False
        self._handlers = []
        for layer in (base, *self.masks.values()):
            handlers = ((layer.events.paint, lambda e: self._on_paint(e)),
                        (layer.events.set_data, lambda e: self._on_refresh()),
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
        self.painted = union_region(self.painted, region)
        self._later(lambda: self.update(region))

    def _on_refresh(self) -> None:
        # undo / redo: only regions painted in this session can have changed
        if self.painted is None or self._scheduled:
            return
        self._scheduled = True

        def run():
            self._scheduled = False
            if self._handlers:
                self.update(self.painted)

        self._later(run)

    def update(self, region=None) -> None:
        """Merge ``region`` (everything by default) again into the view and redraw it."""
        if not self._handlers:  # disconnected meanwhile
            return
        masks = {k: layer.data for k, layer in self.masks.items()}
        data = self.view.data
        if region is None:
            data[...] = merged_view(self.base.data, masks, instance=self.instance, name=repr(self.class_name))
        else:
            region = clip_region(region, data.shape)
            if any(s.stop <= s.start for s in region):
                return
            data[region] = view_values(self.base.data, masks, region, instance=self.instance,
                                       name=repr(self.class_name))
        self.view.refresh()
        self.updated.emit(region)


def correction_views(layers, project, plan: Plan, defer=None) -> dict[str, CorrectedView]:
    """A :class:`CorrectedView` for every class of ``project`` whose mask and view layers are in ``layers``."""
    from .project_link import annotation_layer_map, correction_layer_map

    classes = annotation_layer_map(layers, project)
    found = correction_layer_map(layers, project)
    out = {}
    for name, parts in found.items():
        if name in classes and "view" in parts and any(k in parts for k in CORRECTION_KINDS):
            masks = {k: parts[k] for k in CORRECTION_KINDS if k in parts}
            out[name] = CorrectedView(name, classes[name], masks, parts["view"], instance=_instance(plan, name),
                                      defer=defer)
    return out
