"""Keep a :class:`~napari_patchwise.engine.Plan` and its napari Shapes layers in step.

:class:`BoxLayerSync` owns the plan while it is edited in a viewer:

* the rectangles layer holds one rectangle per box that crosses the displayed
  z-slice, on that slice (:meth:`BoxLayerSync.follow_dims` redraws it when the
  slice changes; boxes appear on the slices they cover and nowhere else);
* drawing a rectangle creates a box (depth from the preset, centred on the
  slice it was drawn on; a click without a drag makes a default-size box);
* moving or resizing a box's rectangle moves or resizes the whole box,
  snapped to the magnification grid and kept inside the image; a rectangle
  being dragged is never redrawn under the mouse (redraws wait for the drop);
  a rectangle dropped on its box's voxels (within half a voxel of their
  edges) stays as dropped, one the grid or the image's faces moved is redrawn
  on its box, and the other rectangles are left alone, so a usual drop
  repaints nothing but a colour whose finding changed;
* deleting a rectangle removes its box;
* after every change the plan is validated again, rectangles are coloured
  (edge: the box's worst finding; fill: its stratum; locked boxes get
  thicker edges) and :attr:`BoxLayerSync.plan_changed` is emitted;
* the border layer shades the preset's ignore border of every box on the
  displayed slice (:func:`~.box_shapes.border_rectangles`: grey bands inside
  the box's faces, the whole rectangle on a slice within the z border), so an
  annotator sees which voxels training ignores; redrawn with the rectangles,
  only for the current slice, and empty when the preset has no border;
* the 3D view shows the wireframes layer instead: one thin path per box in
  its stratum colour, labelled with the box id (while the viewer shows 2D,
  they are redrawn only when it turns 3D), and the image's outline, which
  keeps the viewer's range from changing as boxes on the image's edge come
  and go (a change of range makes napari slice every layer again).

Qt-free: it needs only :mod:`napari.layers` (and a viewer's ``dims`` to follow).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from napari.layers import Shapes
from psygnal import Signal

from ..engine.plan.plan import Plan
from ..engine.findings import Finding, severity_by_box
from ..engine.geometry.voxelsize import normalize_unit
from .box_drawing import BoxStyle, fill, misplaced, move, restyle
from .box_shapes import (
    BORDER_ALPHA,
    BORDER_COLOR,
    METADATA_KEY,
    NEW_SHAPE_COLOR,
    NO_BOX,
    _rgba,
    border_rectangles,
    box_wireframes,
    boxes_layer_kwargs,
    extent_from_vertices,
    slice_rectangles,
    wireframe_shape_types,
    wireframe_text,
)

#: Below this drawn extent (voxels) a rectangle counts as a click.
CLICK_EXTENT = 3
#: Wireframe lines are this fraction of the rectangles' edge width (thin: the data stays visible).
WIRE_WIDTH_FACTOR = 0.4

def _edge_width(plan: Plan) -> float:
    return float(max(1.0, max(plan.image.shape[1:]) / 300))


def selected_box_ids(rectangles: Shapes) -> list[int]:
    """Ids of the boxes whose rectangles are selected in a boxes layer (sorted)."""
    ids = rectangles.features["box_id"].to_numpy()
    sel = {int(ids[i]) for i in rectangles.selected_data if 0 <= i < len(ids)}
    return sorted(sel - {NO_BOX})


class BoxLayerSync:
    """Bind a plan to a rectangles layer (2D editing) and a wireframe layer (3D view).

    Parameters
    ----------
    plan : Plan
        The plan to edit.
    rectangles, wireframes : napari.layers.Shapes, optional
        Layers to use; new ones are made when omitted (add them to a viewer
        with ``viewer.add_layer``).

    Notes
    -----
    Until :meth:`follow_dims` binds it to a viewer, the rectangles show the
    middle z-slice (where napari opens an image); :meth:`set_slice` moves it.
    """

    plan_changed = Signal(object)

    def __init__(self, plan: Plan, rectangles: Shapes | None = None, wireframes: Shapes | None = None):
        self.plan = plan
        self.project: str | None = None
        self.findings: list[Finding] = []
        self.extra_findings: list[Finding] = []
        self._syncing = False
        self._n_built = 0
        self._removing: list[int] = []
        self._z = (plan.image.shape[0] - 1) // 2
        self._dims = None
        self._dragging = False
        self._stale = False  # a redraw of the rectangles waits for the drag to end
        self._kept: set[int] = set()  # selected boxes that do not cross the current slice
        self._wires_stale = False  # the wireframes wait for the 3D view (hidden in 2D)
        self._framed: tuple | None = None  # the image shape the wireframes' frame was drawn for
        scale = plan.image.voxel_size
        if rectangles is None:
            rectangles = Shapes(
                features={"box_id": np.array([], dtype=int), "z": np.array([], dtype=int)},
                **boxes_layer_kwargs(scale, {METADATA_KEY: {"role": "boxes"}}, plan.image.unit),
            )
        if wireframes is None:
            wireframes = Shapes(
                ndim=3, name="patchwise boxes (3D)", scale=scale, visible=False,
                units=(plan.image.unit,) * 3, face_color="transparent",
                features={"box_id": np.array([], dtype=int), "label": np.array([], dtype=object)},
                text=wireframe_text(),
                metadata={METADATA_KEY: {"role": "wireframes"}},
            )
        self.rectangles = rectangles
        self.wireframes = wireframes
        self.border = Shapes(
            ndim=3, name="patchwise ignore border", scale=scale, units=(plan.image.unit,) * 3,
            face_color=_rgba(BORDER_COLOR, BORDER_ALPHA), edge_width=0, opacity=1.0,
            features={"box_id": np.array([], dtype=int)},
            metadata={METADATA_KEY: {"role": "ignore-border"}},
        )
        self._border_shown: list = []
        self.refresh()
        self.rectangles.feature_defaults = {"box_id": NO_BOX, "z": -1}
        self.rectangles.current_edge_color = NEW_SHAPE_COLOR
        self.rectangles.current_face_color = "transparent"
        self.rectangles.events.data.connect(self._on_data)
        self.rectangles.selected_data.events.items_changed.connect(self._on_selection)

    # -- public API ---------------------------------------------------------
    def set_plan(self, plan: Plan, extra_findings: list[Finding] | None = None) -> None:
        """Replace the plan (e.g. a new preset or magnification) and redraw; with ``extra_findings``,
        those too in the same redraw (see :meth:`set_extra_findings`)."""
        self.plan = plan
        if extra_findings is not None:
            self.extra_findings = list(extra_findings)
        self.refresh()

    def set_extra_findings(self, findings: list[Finding]) -> None:
        """Show findings from other checks (e.g. annotation checks) with the box rules."""
        self.extra_findings = list(findings)
        self.refresh()

    def refresh(self) -> None:
        """Validate the plan, redraw both layers and emit :attr:`plan_changed`."""
        ids = {b.id for b in self.plan.boxes}
        extra = [f for f in self.extra_findings if f.box_id in ids]
        self.findings = self.plan.validate() + extra
        self._rebuild()
        self.plan_changed.emit(self.plan)

    def severity_by_box(self) -> dict[int, str | None]:
        return severity_by_box(self.findings, self.plan.boxes)

    def selected_box_ids(self) -> list[int]:
        """Ids of the selected boxes (sorted), also those selected on another slice."""
        return sorted(set(selected_box_ids(self.rectangles)) | self._kept)

    @property
    def current_slice(self) -> int:
        """The z-slice (voxel index) whose rectangles the layer holds."""
        return self._z

    def set_slice(self, z: int) -> None:
        """Show the rectangles of the boxes that cross slice ``z`` (clipped to the image)."""
        z = int(np.clip(z, 0, self.plan.image.shape[0] - 1))
        if z == self._z and not self._stale:
            return
        self._z = z
        self._draw_rectangles()

    def follow_dims(self, dims) -> None:
        """Follow a viewer's ``dims``: redraw on slice changes, swap layers in 3D."""
        self._unfollow()
        self._dims = dims
        dims.events.current_step.connect(self._on_step)
        dims.events.ndisplay.connect(self._on_ndisplay)
        self._on_ndisplay()

    def disconnect(self) -> None:
        """Stop listening to the rectangles layer (and to the viewer's dims)."""
        self.rectangles.events.data.disconnect(self._on_data)
        self.rectangles.selected_data.events.items_changed.disconnect(self._on_selection)
        self._unfollow()

    # -- the viewer's slice ---------------------------------------------------
    def _unfollow(self) -> None:
        if self._dims is not None:
            self._dims.events.current_step.disconnect(self._on_step)
            self._dims.events.ndisplay.disconnect(self._on_ndisplay)
            self._dims = None

    def _slice_from_dims(self) -> int:
        """The z voxel on display: napari shows a shape when its z is within half a voxel."""
        z = float(self.rectangles.world_to_data(tuple(self._dims.point))[0])
        return int(np.floor(z + 0.5))

    def _on_step(self, *_) -> None:
        if self._dims is not None and self._dims.ndisplay == 2:
            self.set_slice(self._slice_from_dims())

    def _on_ndisplay(self, *_) -> None:
        three_d = self._dims.ndisplay == 3
        if three_d and self._wires_stale:
            self._draw_wireframes()
        self.rectangles.visible = not three_d
        self.border.visible = not three_d
        self.wireframes.visible = three_d
        if not three_d:
            self.set_slice(self._slice_from_dims())

    # -- drawing -----------------------------------------------------------
    @contextmanager
    def _guard(self):
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _place(self) -> None:
        """Keep both layers on the plan's voxel size and unit (it may change, e.g. in the planner)."""
        vs, unit = self.plan.image.voxel_size, self.plan.image.unit
        for layer in (self.rectangles, self.wireframes, self.border):
            if tuple(float(s) for s in layer.scale) != vs:
                layer.scale = vs
            if normalize_unit(str(layer.units[-1])) != normalize_unit(unit):
                layer.units = (unit,) * 3

    def _style(self) -> BoxStyle:
        return BoxStyle(
            self.severity_by_box(),
            {b.id: b.stratum for b in self.plan.boxes},
            {b.id for b in self.plan.boxes if b.locked},
            _edge_width(self.plan),
        )

    def _rebuild(self) -> None:
        self._place()
        self._draw_rectangles()
        framed = self._framed == tuple(self.plan.image.shape)
        if self._dims is not None and self._dims.ndisplay == 2 and framed:
            self._wires_stale = True  # hidden: drawn when the view turns 3D
        else:
            self._draw_wireframes()

    def _draw_wireframes(self) -> None:
        """Draw every box's wireframe and the image's frame (which keeps the viewer's range, see
        :func:`~napari_patchwise.layers.box_shapes.image_frame`)."""
        self._wires_stale = False
        style = self._style()
        self._framed = tuple(self.plan.image.shape)
        data, features = box_wireframes(self.plan.boxes, frame=self._framed)
        with self._guard():
            fill(self.wireframes, data, features, wireframe_shape_types(len(data) // 2, frame=True),
                  style._replace(width=style.width * WIRE_WIDTH_FACTOR), wire=True)

    def _draw_rectangles(self) -> None:
        """Put the rectangles of the current slice in the layer, keeping the selection by box id."""
        if self._dragging:  # never under the mouse: the drop redraws
            self._stale = True
            return
        self._stale = False
        self._z = int(np.clip(self._z, 0, self.plan.image.shape[0] - 1))
        selected = set(self.selected_box_ids())
        data, features = slice_rectangles(self.plan.boxes, self._z)
        layer = self.rectangles
        style = self._style()
        with self._guard():
            pairs = misplaced(layer, data, features)
            if pairs is None:
                fill(layer, data, features, "rectangle", style)
            else:  # e.g. one box moved: its rectangle on its voxels, colours where findings changed
                move(layer, pairs, data)
                restyle(layer, layer.features["box_id"].to_numpy(), style)
            self._n_built = len(layer.data)
            shown = layer.features["box_id"].tolist()
            want = {i for i, b in enumerate(shown) if b in selected}
            if set(layer.selected_data) != want:
                layer.selected_data = want
        known = {b.id for b in self.plan.boxes}
        self._kept = (selected & known) - set(shown)
        self._draw_border()

    @property
    def has_border(self) -> bool:
        """Whether the plan's preset gives its boxes an ignore border (the border layer shows it)."""
        return int(getattr(self.plan.preset, "ignore_border", 0) or 0) > 0

    def _draw_border(self) -> None:
        """Shade the ignore border of the boxes on the current slice (nothing is set when it is unchanged)."""
        border = int(getattr(self.plan.preset, "ignore_border", 0) or 0)
        data, features = border_rectangles(self.plan.boxes, self._z, border, self.plan.magnification)
        shown = self._border_shown
        if len(shown) == len(data) and all(np.array_equal(a, b) for a, b in zip(shown, data)):
            return
        self._border_shown = data
        layer = self.border
        layer.data = (data, ["rectangle"] * len(data)) if data else []
        layer.features = features
        if data:
            layer.face_color = _rgba(BORDER_COLOR, BORDER_ALPHA)
            layer.edge_width = 0

    # -- events from the layer ---------------------------------------------
    def _on_selection(self, *_) -> None:
        if not self._syncing:  # the user picked: that is the whole selection now
            self._kept = set()

    def _on_data(self, event) -> None:
        if self._syncing:
            return
        action = event.action
        if action == "changing":
            self._dragging = True
            return
        if action == "added" and len(self.rectangles.data) <= self._n_built:
            return  # napari's "drawing finished" with no new shape (e.g. as a drag starts)
        self._dragging = False
        if action == "removing":
            ids = self.rectangles.features["box_id"].to_numpy()
            self._removing = [int(ids[i]) for i in event.data_indices if 0 <= i < len(ids)]
        elif action == "removed":
            known = {b.id for b in self.plan.boxes}
            plan = self.plan.remove_boxes((set(self._removing) & known) - {NO_BOX})
            self._removing = []
            self._commit(plan)
        elif action == "added":
            self._commit(self._boxes_from_new_shapes())
        elif action == "changed":
            self._commit(self._boxes_from_changed_shapes(event.data_indices))

    def _commit(self, plan: Plan) -> None:
        self.plan = plan
        self.refresh()

    def _boxes_from_new_shapes(self) -> Plan:
        plan = self.plan
        data = self.rectangles.data
        for verts in data[self._n_built :]:
            z = int(round(float(np.mean(np.asarray(verts)[:, 0]))))
            (y0, x0), (y1, x1) = extent_from_vertices(verts)
            dz, dy, dx = plan.default_box_size
            if y1 - y0 < CLICK_EXTENT and x1 - x0 < CLICK_EXTENT:
                cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
                y0, x0 = cy - dy // 2, cx - dx // 2
                y1, x1 = y0 + dy, x0 + dx
            z0 = z - dz // 2
            lo, hi = plan.fit((z0, y0, x0), (z0 + dz, y1, x1), keep_size=True)
            plan, _ = plan.add_box(lo, hi, source="manual")
        return plan

    def _boxes_from_changed_shapes(self, indices) -> Plan:
        plan = self.plan
        layer = self.rectangles
        ids = layer.features["box_id"].to_numpy()
        by_id = {b.id: b for b in plan.boxes}
        changes = {}
        for i in indices:
            if not 0 <= i < min(len(ids), self._n_built):
                continue
            bid = int(ids[i])
            if bid in changes or bid == NO_BOX or bid not in by_id:
                continue
            changes[bid] = {}
            old = by_id[bid]
            (y0, x0), (y1, x1) = extent_from_vertices(layer.data[i])
            lo = (old.lo[0], y0, x0)
            hi = (old.hi[0], y1, x1)
            moved = (y1 - y0, x1 - x0) == old.size[1:]
            lo, hi = plan.fit(lo, hi, keep_size=moved)
            if (lo, hi) != (old.lo, old.hi):
                changes[bid] = {"lo": lo, "hi": hi}
        return plan.update_boxes({bid: c for bid, c in changes.items() if c})
