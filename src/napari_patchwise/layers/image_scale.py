"""The image layer's voxel size, and keeping a project's layers on it (Qt-free).

* :func:`layer_voxel_size` says what is known about an image layer's voxel
  size: from its scale, from the file it was read from (napari's own reader
  leaves the scale at 1), or nothing (a placeholder of 1,1,1 pixels).
* :func:`set_layer_voxel_size` puts a voxel size on an image layer;
  :func:`view_kept` keeps the viewer on the same voxels of it meanwhile.
* :func:`place_project_layers` puts a project's annotation and contact layers
  on the plan's voxel size (boxes layers follow their
  :class:`~napari_patchwise.layers.box_sync.BoxLayerSync`).
* :class:`ImageScaleLink` follows later changes of the image layer's scale or
  units into the plan, so boxes and labels stay on the image.
"""

from __future__ import annotations

import dataclasses
import os
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
from psygnal import Signal

from ..engine.io.volumes import read_voxel_size
from ..engine.plan.plan import ImageRef, Plan
from ..engine.geometry.voxelsize import check_voxel_size, format_voxel_size, normalize_unit
from .annotation_layers import annotation_transform
from .box_shapes import METADATA_KEY


class LayerVoxelSize(NamedTuple):
    """What is known of an image layer's voxel size."""

    voxel_size: tuple[float, float, float]
    unit: str
    known: bool
    source: str  # 'layer', 'file' or 'unknown'


def _meta(layer) -> dict:
    meta = (layer.metadata or {}).get(METADATA_KEY, {})
    return meta if isinstance(meta, dict) else {}


def layer_unit(layer) -> str | None:
    """The layer's unit of its last axis as a UDUNITS-2 name (``None`` if not a length)."""
    units = getattr(layer, "units", None)
    return normalize_unit(str(units[-1])) if units else None


def layer_source(layer) -> tuple[str | None, str | None]:
    """``(path, dataset)`` of the file an image layer was read from, if any."""
    path = getattr(layer.source, "path", None)
    return (os.fspath(path) if path else None), _meta(layer).get("dataset")


def layer_voxel_size(layer) -> LayerVoxelSize:
    """What is known of an image layer's ``(z, y, x)`` voxel size.

    A scale other than 1 (or one set through patchwise) is taken as it is;
    at scale 1 the source file is asked (napari's own TIFF reader leaves the
    scale at 1 whatever the file records); otherwise it is unknown.
    """
    scale = tuple(float(s) for s in layer.scale[-3:])
    unit = layer_unit(layer)
    flagged = _meta(layer).get("voxel_size_known")
    if flagged is not None or any(s != 1.0 for s in scale):
        known = bool(flagged) if flagged is not None else True
        return LayerVoxelSize(scale, unit or "micrometer", known, "layer")  # type: ignore[arg-type]
    path, dataset = layer_source(layer)
    if path is not None:
        try:
            vs, file_unit = read_voxel_size(path, dataset=dataset)
        except (OSError, ValueError, ImportError):
            vs, file_unit = None, None
        if vs is not None:
            return LayerVoxelSize(vs, file_unit or "micrometer", True, "file")
    return LayerVoxelSize((1.0, 1.0, 1.0), "pixel", False, "unknown")


def image_ref_from_layer(layer) -> ImageRef:
    """What a plan on this image layer records: shape, dtype, its file (and dataset), name, voxel size."""
    path, dataset = layer_source(layer)
    vs, unit, known, _ = layer_voxel_size(layer)
    return ImageRef(shape=tuple(layer.data.shape), dtype=str(layer.data.dtype), voxel_size=vs,
                    path=os.path.abspath(path) if path else None, name=layer.name, unit=unit,
                    voxel_size_known=known, dataset=dataset)


def plan_image_layer(layers, plan: Plan, project=None):
    """The image layer of a plan: the one the project reader opened for ``project`` (napari may
    have renamed it, e.g. ``vol [1]``), else the first layer named like the plan's image."""
    want = None if project is None else Path(project).resolve()
    for layer in layers:
        meta = _meta(layer)
        if want is not None and meta.get("role") == "image" and meta.get("project"):
            if Path(meta["project"]).resolve() == want:
                return layer
    return next((lay for lay in layers if lay.name == plan.image.name), None)


def set_layer_voxel_size(layer, voxel_size, unit: str, known: bool = True) -> None:
    """Give a layer this ``(z, y, x)`` voxel size and unit (leading axes keep theirs)."""
    vs = check_voxel_size(voxel_size)
    layer.metadata = {**(layer.metadata or {}), METADATA_KEY: {**_meta(layer), "voxel_size_known": known}}
    lead = tuple(layer.scale[:-3])
    if tuple(float(s) for s in layer.scale[-3:]) != vs:
        layer.scale = (*lead, *vs)
    if layer_unit(layer) != unit:
        layer.units = (*[str(u) for u in layer.units[:-3]], *(unit,) * 3)


@contextmanager
def view_kept(viewer, layer):
    """Keep the view on the same voxels of ``layer`` while its scale or translation changes.

    A new voxel size changes where the image lies in world coordinates, but
    napari keeps the slider, the camera centre and the zoom in world
    coordinates: the view would jump to another slice and zoom far in or out
    (25× for a voxel size of 25 Å typed over 1 pixel). The slice, the centre
    and the on-screen size of a voxel are carried over instead.
    """
    before = _placement(layer)
    point = list(viewer.dims.point)
    camera = viewer.scene.camera
    center, zoom = list(camera.center), camera.zoom
    yield
    after = _placement(layer)
    if after == before:
        return
    ndim, n = viewer.dims.ndim, len(before[0])

    def moved(dim, value):  # a world coordinate along viewer dim ``dim``, carried to the new placement
        k = dim - (ndim - n)
        if k < 0:
            return value
        (s0, t0), (s1, t1) = (before[0][k], before[1][k]), (after[0][k], after[1][k])
        return (value - t0) / s0 * s1 + t1

    viewer.dims.point = [moved(d, p) for d, p in enumerate(point)]
    displayed = list(viewer.dims.displayed)
    shift = len(center) - len(displayed)
    camera.center = tuple(c if i < shift else moved(displayed[i - shift], c) for i, c in enumerate(center))
    ratios = [after[0][d - (ndim - n)] / before[0][d - (ndim - n)] for d in displayed if d >= ndim - n]
    if ratios:
        camera.zoom = zoom / float(np.exp(np.mean(np.log(ratios))))


def _placement(layer) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """A layer's ``(scale, translate)`` of its last three axes."""
    return (tuple(float(s) for s in layer.scale[-3:]), tuple(float(t) for t in layer.translate[-3:]))


def place_project_layers(layers, plan: Plan, project) -> int:
    """Put a project's annotation and contact layers on the plan's voxel size; returns how many moved."""
    if project is None:
        return 0
    want = Path(project).resolve()
    tf = annotation_transform(plan)
    moved = 0
    for layer in list(layers):
        meta = _meta(layer)
        if meta.get("role") not in ("annotation", "contacts") or not meta.get("project"):
            continue
        if Path(meta["project"]).resolve() != want:
            continue
        if (tuple(layer.scale) != tf["scale"] or tuple(layer.translate) != tf["translate"]
                or layer_unit(layer) != plan.image.unit):
            layer.scale, layer.translate = tf["scale"], tf["translate"]
            layer.units = (plan.image.unit,) * 3
            moved += 1
    return moved


def with_voxel_size(plan: Plan, voxel_size, unit: str, known: bool = True) -> Plan:
    """The plan with a new image voxel size (boxes are in voxels: they do not move)."""
    image = dataclasses.replace(plan.image, voxel_size=check_voxel_size(voxel_size), unit=unit,
                                voxel_size_known=known)
    return plan.replace(image=image)


class ImageScaleLink:
    """Follow an image layer's scale and units into a plan.

    When the layer's scale or units change (the layer controls, the console,
    the Box planner), :meth:`apply` is called with the plan holding the new
    voxel size; :attr:`refused` carries a message when the new scale cannot be
    a voxel size (zero or negative) and the layer is put back.

    Parameters
    ----------
    layer : napari.layers.Image
    get_plan : callable
        Returns the current plan.
    apply : callable
        Takes the new plan (the owner updates its layers and saves it).
    """

    followed = Signal(str)
    refused = Signal(str)

    def __init__(self, layer, get_plan, apply):
        self.layer, self._get_plan, self._apply = layer, get_plan, apply
        self._busy = False
        layer.events.scale.connect(self._on_change)
        layer.events.units.connect(self._on_change)

    def disconnect(self) -> None:
        self.layer.events.scale.disconnect(self._on_change)
        self.layer.events.units.disconnect(self._on_change)

    def set_voxel_size(self, voxel_size, unit: str) -> Plan:
        """Set the layer's voxel size and apply the plan holding it, once; returns that plan.

        Raises ``ValueError`` (nothing changed) when it is not a voxel size.
        """
        new = with_voxel_size(self._get_plan(), voxel_size, unit)
        self._busy = True
        try:
            set_layer_voxel_size(self.layer, new.image.voxel_size, unit)
        finally:
            self._busy = False
        self._apply(new)
        return new

    def _on_change(self, event=None) -> None:
        if self._busy:
            return
        plan = self._get_plan()
        if plan is None:
            return
        scale = tuple(float(s) for s in self.layer.scale[-3:])
        unit = layer_unit(self.layer) or plan.image.unit
        if scale == plan.image.voxel_size and unit == plan.image.unit:
            return
        try:
            new = with_voxel_size(plan, scale, unit)
        except ValueError as e:
            self._busy = True
            try:
                set_layer_voxel_size(self.layer, plan.image.voxel_size, plan.image.unit,
                                     plan.image.voxel_size_known)
            finally:
                self._busy = False
            self.refused.emit(f"The image scale {scale} was not applied: {e}")
            return
        self._apply(new)
        self.followed.emit(f"Voxel size is now {format_voxel_size(scale, unit)} (from the image "
                           "layer); boxes and labels follow it.")
