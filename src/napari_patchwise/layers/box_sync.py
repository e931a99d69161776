"""Keep a :class:`~napari_patchwise.engine.Plan` and its napari Shapes layers in step.

:class:`BoxLayerSync` owns the plan while it is edited in a viewer:

* drawing a rectangle creates a box (depth from the preset, centred on the
  slice it was drawn on; a click without a drag makes a default-size box);
* moving or resizing any rectangle of a box moves or resizes the whole box,
  snapped to the magnification grid and kept inside the image;
* deleting a rectangle removes its box;
* after every change the plan is validated again, rectangles are coloured
  (edge: the box's worst finding; fill: its stratum; locked boxes get
  thicker edges) and :attr:`BoxLayerSync.plan_changed` is emitted.

Qt-free: it needs only :mod:`napari.layers`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from napari.layers import Shapes
from psygnal import Signal

from ..engine.plan import Plan
from ..engine.validation import Finding, severity_by_box
from ..engine.voxelsize import normalize_unit
from .box_shapes import (
    METADATA_KEY,
    NEW_SHAPE_COLOR,
    NO_BOX,
    box_rectangles,
    box_wireframes,
    boxes_layer_kwargs,
    edge_colors,
    edge_widths,
    extent_from_vertices,
    face_colors,
)

#: Below this drawn extent (voxels) a rectangle counts as a click.
CLICK_EXTENT = 3

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
        scale = plan.image.voxel_size
        if rectangles is None:
            rectangles = Shapes(
                features={"box_id": np.array([], dtype=int), "z": np.array([], dtype=int)},
                **boxes_layer_kwargs(scale, {METADATA_KEY: {"role": "boxes"}}, plan.image.unit),
            )
        if wireframes is None:
            wireframes = Shapes(
                ndim=3, name="patchwise boxes (3D)", scale=scale, visible=False,
                units=(plan.image.unit,) * 3,
                metadata={METADATA_KEY: {"role": "wireframes"}},
            )
        self.rectangles = rectangles
        self.wireframes = wireframes
        self.refresh()
        self.rectangles.feature_defaults = {"box_id": NO_BOX, "z": -1}
        self.rectangles.current_edge_color = NEW_SHAPE_COLOR
        self.rectangles.current_face_color = "transparent"
        self.rectangles.events.data.connect(self._on_data)

    # -- public API ---------------------------------------------------------
    def set_plan(self, plan: Plan) -> None:
        """Replace the plan (e.g. a new preset or magnification) and redraw."""
        self.plan = plan
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
        """Ids of the boxes whose rectangles are selected in the layer (sorted)."""
        return selected_box_ids(self.rectangles)

    def disconnect(self) -> None:
        """Stop listening to the rectangles layer."""
        self.rectangles.events.data.disconnect(self._on_data)

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
        for layer in (self.rectangles, self.wireframes):
            if tuple(float(s) for s in layer.scale) != vs:
                layer.scale = vs
            if normalize_unit(str(layer.units[-1])) != normalize_unit(unit):
                layer.units = (unit,) * 3

    def _rebuild(self) -> None:
        self._place()
        style = _Style(
            self.severity_by_box(),
            {b.id: b.stratum for b in self.plan.boxes},
            {b.id for b in self.plan.boxes if b.locked},
            _edge_width(self.plan),
        )
        with self._guard():
            self._n_built = _fill(self.rectangles, *box_rectangles(self.plan.boxes), "rectangle", style)
            _fill(self.wireframes, *box_wireframes(self.plan.boxes), "path", style, faces=False)

    # -- events from the layer ---------------------------------------------
    def _on_data(self, event) -> None:
        if self._syncing:
            return
        action = event.action
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


class _Style(NamedTuple):
    severities: dict
    strata: dict
    locked: set
    width: float


def _fill(layer: Shapes, data, features, shape_type: str, style: _Style, faces: bool = True) -> int:
    """Replace a layer's shapes, features and colours in one go; returns the shape count."""
    layer.data = (data, [shape_type] * len(data)) if data else []
    layer.features = features
    if data:
        ids = features["box_id"]
        layer.edge_width = edge_widths(ids, style.locked, style.width)
        layer.edge_color = edge_colors(ids, style.severities)
        layer.face_color = face_colors(ids, style.strata) if faces else "transparent"
    return len(data)
