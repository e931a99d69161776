"""Live annotation rules on napari Labels layers, stroke by stroke (Qt-free).

:class:`LiveQC` listens to ``events.paint`` of a project's class,
``background`` and ``ignore`` layers. After every stroke it, in this order,

* rechecks touching instances in the painted region plus a one-voxel halo
  (:class:`~napari_patchwise.engine.qc.contact_index.ContactIndex`), and emits
  :attr:`LiveQC.contacts_changed` with the region (so an overlay is redrawn
  first: it is what the person waits for);
* crops background under class voxels, only inside the painted region (as an
  undoable edit of the background layer);
* records the changed voxels in the project's ``edits`` array (seeding never
  overwrites them unless asked);
* reports which boxes were painted in (:attr:`LiveQC.boxes_touched`).

Undo and redo emit no paint event (napari only refreshes the layer), and a
replaced array emits ``events.data``: both emit :attr:`LiveQC.recheck_needed`
so the dock can run a full recheck, debounced and off the GUI thread
(:meth:`LiveQC.compute_index` then :meth:`LiveQC.install_index`). napari emits
the same refresh event (``events.set_data``) when it slices a layer anew (a
z-slice change, 2D/3D) or shows it again: on a project's layer, whose
:class:`~napari_patchwise.engine.plan.stroke_buffer.StrokeBuffer` counts the
writes through it, a refresh with no write since the strokes and checks seen
is no edit (an undo writes, then refreshes, whatever the view); on other data,
given ``view_key`` (what the viewer shows, e.g. its dims' current step), a
refresh that comes with a new view is slicing and never asks for a recheck.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from psygnal import Signal

from ..engine.plan.annotation import effective_background, mark_edited, mark_edited_all
from ..engine.plan.plan import Plan
from ..engine.geometry.regions import clip_region, region_from_bounds, regions_overlap
from ..engine.qc.separation import Separation, separate
from ..engine.qc.contact_index import ContactIndex
from .live_contacts import ContactQueries
from .paint_regions import stroke_region, stroke_regions
from .stroke_hold import held, refresh_is_no_edit, writes_of


class LiveQC(ContactQueries):
    """Annotation rules applied as a person paints.

    Parameters
    ----------
    plan : Plan
    layers : mapping of str to napari.layers.Labels
        ``{class name: layer, 'background': layer, 'ignore': layer}``.
    edits : array, optional
        The project's ``edits`` array (marked after every stroke).
    connectivity : int
        1 = faces (default), 2 = faces and edges, 3 = also corners.
    crop : bool
        Crop background under class voxels after every stroke.
    defer : callable, optional
        ``defer(fn)`` runs ``fn`` later, after napari finished the edit (e.g.
        ``QTimer.singleShot(0, fn)``). A mouse stroke emits its paint event
        after writing the data, but ``Labels.paint`` and ``data_setitem``
        called from code emit it *before* writing; deferring handles both.
        Without it strokes are handled at once.
    view_key : callable, optional
        Returns a hashable of what the viewer shows (its dims' current step,
        ndisplay, order). A layer refresh that comes with a new view is napari
        slicing, not undo/redo, and asks for no recheck. Without it every
        refresh of a painted layer asks for one.
    build_index : bool
        Build the contact indexes now (reads every instance layer whole). The
        dock passes ``False`` and builds them in a worker
        (:meth:`compute_index`, :meth:`install_index`); until then
        :attr:`pending` names the classes whose contacts are not known yet.
    """

    #: Emitted with the region whose contacts may have changed (``None``: anywhere).
    contacts_changed = Signal(object)
    boxes_touched = Signal(object)
    recheck_needed = Signal(str)

    def __init__(self, plan: Plan, layers: Mapping, *, edits=None, connectivity: int = 1, crop: bool = True,
                 defer=None, view_key=None, build_index: bool = True):
        self.plan = plan
        self.view_key = view_key
        self.defer = defer
        self.layers = dict(layers)
        self.edits = edits
        self.connectivity = connectivity
        self.crop = crop
        self.live = True
        self.sources: dict = {}
        self.instance_classes = [c.name for c in plan.classes if c.kind == "instance" and c.name in self.layers]
        self.class_names = [c.name for c in plan.classes if c.name in self.layers]
        self.indexes: dict[str, ContactIndex] = {}
        self._log: dict[str, list] = {n: [] for n in self.layers}
        self._busy = False
        self._strokes_pending = 0
        self._views = {n: self._view() for n in self.layers}
        self._writes = {n: writes_of(layer) for n, layer in self.layers.items()}  # the writes accounted for
        self._handlers = []
        for name, layer in self.layers.items():
            handlers = (
                (layer.events.paint, lambda e, n=name: self._on_paint(n, e)),
                (layer.events.set_data, lambda e, n=name: self._on_refresh(n)),
                (layer.events.data, lambda e, n=name: self.recheck_needed.emit(n)),
            )
            for emitter, cb in handlers:
                emitter.connect(cb)
            self._handlers.extend(handlers)
        if build_index:
            for name in self.instance_classes:
                self.indexes[name] = self.compute_index(name)

    def _view(self):
        return None if self.view_key is None else self.view_key()

    @property
    def pending(self) -> list[str]:
        """Instance classes whose contact index is not built yet (their checks are pending)."""
        return [n for n in self.instance_classes if n not in self.indexes]

    @property
    def strokes_pending(self) -> int:
        """Strokes seen but not handled yet (with ``defer``, they wait for the event loop)."""
        return self._strokes_pending

    # -- lifecycle ------------------------------------------------------------
    def disconnect(self) -> None:
        """Stop listening to the layers."""
        for emitter, cb in self._handlers:
            emitter.disconnect(cb)
        self._handlers = []
        self._log = {}

    def set_plan(self, plan: Plan) -> None:
        """Use a new plan; which contacts are shown depends on its boxes."""
        boxes = [(b.lo, b.hi) for b in self.plan.boxes]
        self.plan = plan
        if boxes != [(b.lo, b.hi) for b in plan.boxes]:
            self.contacts_changed.emit(None)

    # -- corrected classes ----------------------------------------------------
    def data(self, name: str):
        """The labels checked for a layer: a class's merged view when it has corrections
        (:meth:`use_corrected`), else the layer's own data."""
        source = self.sources.get(name)
        return (source if source is not None else self.layers[name]).data

    def use_corrected(self, name: str, view) -> None:
        """Check class ``name`` on ``view`` (its merged view layer; ``None``: on the class layer again).

        The class layer is still the one painted; :meth:`region_corrected` tells of changes of the view.
        """
        if name not in self.layers:
            return
        if view is None:
            self.sources.pop(name, None)
        else:
            self.sources[name] = view
        if name in self.indexes:
            self.indexes[name] = self.compute_index(name)
            self.contacts_changed.emit(None)

    def region_corrected(self, name: str, region) -> None:
        """The merged view of class ``name`` changed in ``region`` (``None``: anywhere): check it again."""
        if name not in self.sources or name not in self._log:
            return
        if region is None:
            self.recheck_needed.emit(name)
            return
        if self.live and name in self.indexes:
            clipped = clip_region(region, tuple(self.layers[name].data.shape))
            if self.indexes[name].update(self.data(name), clipped):
                self.contacts_changed.emit(clipped)
        if self.live and self.crop:
            self.crop_background(region)

    # -- full rechecks (may run in a worker thread) ---------------------------
    def stroke_count(self, name: str) -> int:
        """How many strokes of a layer were seen (a marker for :meth:`install_index`)."""
        return len(self._log[name])

    def compute_index(self, name: str) -> ContactIndex:
        """A fresh contact index of one instance class (reads the whole layer; no side effects)."""
        layer = self.layers[name]
        data = self.data(name)
        index = ContactIndex(tuple(layer.data.shape), connectivity=self.connectivity)
        index.rebuild(data)
        self._kept(index)  # joined and filtered here, so installing it costs the GUI thread nothing
        return index

    def install_index(self, name: str, index: ContactIndex, since: int | None = None) -> None:
        """Use an index computed off the GUI thread; strokes painted after
        ``since`` (:meth:`stroke_count` when it started) are replayed on it."""
        if since is not None:
            for region in self._log[name][since:]:
                index.update(self.data(name), region)
        self.indexes[name] = index
        self.contacts_changed.emit(None)

    # -- events ---------------------------------------------------------------
    def _on_refresh(self, name: str) -> None:
        # napari refreshes after undo/redo without a paint event; only layers
        # painted in this session can have been changed that way. It also
        # refreshes when it slices anew: a new view is no edit.
        if name not in self._log:  # disconnected meanwhile
            return
        view, seen = self._view(), self._views[name]
        self._views[name] = view
        writes = writes_of(self.layers[name])
        if refresh_is_no_edit(writes, self._writes[name], view != seen):
            return  # slicing, a layer shown again
        if not self._log[name] or self._busy:
            return
        self._writes[name] = writes
        if self.defer is None:
            self.recheck_needed.emit(name)
            return
        # napari also refreshes a layer whole when a stroke's partial redraw cannot be done
        # (a new id beyond its colours): a stroke handled meanwhile explains the refresh
        seen = len(self._log[name])
        self.defer(lambda: self._refresh_settled(name, seen))

    def _refresh_settled(self, name: str, seen: int) -> None:
        if name in self._log and not self._strokes_pending and len(self._log[name]) == seen:
            self.recheck_needed.emit(name)

    def _on_paint(self, name: str, event) -> None:
        if self._busy:
            return
        value = getattr(event, "value", None)
        if self.defer is None:
            self._handle_stroke(name, value)
        else:
            self._strokes_pending += 1
            self.defer(lambda: self._handle_deferred(name, value))

    def _handle_deferred(self, name: str, value) -> None:
        self._strokes_pending -= 1
        self._handle_stroke(name, value)

    def _handle_stroke(self, name: str, value) -> None:
        if name not in self._log:  # disconnected meanwhile
            return
        parts = stroke_regions(value)
        region = stroke_region(value)
        if region is None:
            return
        self._log[name].append(region)
        # contacts first: the overlay is what the person waits for
        if self.live and name in self.indexes:
            shape = tuple(self.layers[name].data.shape)
            clipped = clip_region(region, shape)
            if self.indexes[name].update(self.data(name), clipped):
                self.contacts_changed.emit(clipped)
        self._writes[name] = writes_of(self.layers[name])  # the stroke's writes are accounted for
        if self.defer is None:
            self._after_stroke(name, region, parts)
        else:  # the rest a turn later: the overlay is drawn in a repaint of its own
            self._strokes_pending += 1
            self.defer(lambda: self._after_deferred(name, region, parts))

    def _after_deferred(self, name: str, region, parts) -> None:
        self._strokes_pending -= 1
        if name in self._log:  # not disconnected meanwhile
            self._after_stroke(name, region, parts)

    def _after_stroke(self, name: str, region, parts) -> None:
        """A stroke's bookkeeping after its contacts: the background cropped, the edits marked, the boxes
        it touched told."""
        if self.live and self.crop and name != "ignore":
            self.crop_background(region)
        if self.edits is not None:
            mark_edited_all(self.edits, parts)
        touched = {b.id for b in self.plan.boxes if regions_overlap(b.slices(self.plan.magnification), region)}
        if touched:
            self.boxes_touched.emit(touched)

    # -- actions --------------------------------------------------------------
    def crop_background(self, region=None) -> int:
        """Crop background under class voxels in ``region`` (everything by default).

        Done through the background layer's ``data_setitem``, so it is
        undoable and the view updates.
        """
        bg = self.layers.get("background")
        if bg is None or not self.class_names:
            return 0
        shape = tuple(bg.data.shape)
        if region is None:
            return sum(
                self.crop_background((slice(z, min(z + 16, shape[0])), slice(0, shape[1]), slice(0, shape[2])))
                for z in range(0, shape[0], 16)
            )
        region = clip_region(region, shape)
        block = np.asarray(bg.data[region])
        if not block.any():
            return 0
        keep = effective_background(block, [np.asarray(self.data(c)[region]) for c in self.class_names])
        hit = np.nonzero((block > 0) & ~keep)
        if not hit[0].size:
            return 0
        idx = tuple(h + s.start for h, s in zip(hit, region))
        self._busy = True
        try:
            with held(bg):  # napari's two reads and its write of the voxels: the chunks once
                bg.data_setitem(idx, 0)
        finally:
            self._busy = False
            self._writes["background"] = writes_of(bg)
        return int(hit[0].size)

    def separate(self, name: str, pairs=None) -> Separation:
        """Carve a one-voxel background gap between touching instances of a class.

        Applied through ``data_setitem`` of the class and background layers
        (undoable); the contact index is updated for the carved region.
        """
        if name not in self.indexes:
            raise ValueError(f"{name!r} is not an instance class with live checks; pick one of {self.instance_classes}.")
        layer = self.layers[name]
        if pairs is None:
            t = self.pair_table()
            mine = t.cls == t.names.index(name)
            pairs = np.stack([t.a[mine], t.b[mine]], axis=1).tolist()
        sep = separate(self.data(name), pairs, connectivity=self.connectivity)
        if not sep.n_voxels:
            return sep
        idx = tuple(sep.voxels.T)
        self._busy = True
        try:
            layer.data_setitem(idx, 0)
            bg = self.layers.get("background")
            if bg is not None:
                bg.data_setitem(idx, 1)
        finally:
            self._busy = False
            self._writes.update({n: writes_of(self.layers[n]) for n in (name, "background") if n in self.layers})
        lo, hi = sep.voxels.min(axis=0), sep.voxels.max(axis=0) + 1
        region = clip_region(region_from_bounds(lo, hi), layer.data.shape)
        self._log[name].append(region)
        if self.edits is not None:
            mask = np.zeros(tuple(int(b - a) for a, b in zip(lo, hi)), bool)
            mask[tuple(sep.voxels.T - lo[:, None])] = True
            mark_edited(self.edits, region, mask)
        self.indexes[name].update(self.data(name), region)
        self.contacts_changed.emit(region)
        return sep

