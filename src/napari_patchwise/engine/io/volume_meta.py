"""Voxel size and unit as files record them: ImageJ TIFF, OME-TIFF, OME-Zarr.

Each function returns ``(voxel_size, unit)``: ``voxel_size`` is ``(z, y, x)``
or ``None`` when the file does not record all three, ``unit`` a UDUNITS-2
name (:func:`~napari_patchwise.engine.geometry.voxelsize.normalize_unit`) or ``None``.
HDF5 attributes are read in :mod:`napari_patchwise.engine.io.hdf5`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from ..geometry.voxelsize import common_unit, is_physical, normalize_unit

VoxelMeta = tuple[tuple[float, float, float] | None, str | None]
_RESUNITS = {2: "inch", 3: "centimeter", 4: "millimeter", 5: "micrometer"}


def _pixel_size(page, tag: str) -> float | None:
    try:
        num, den = page.tags[tag].value
    except (KeyError, TypeError, ValueError):
        return None
    return float(den) / float(num) if num and den else None


def imagej_voxel_size(tif) -> VoxelMeta:
    """From an ImageJ hyperstack: ``spacing`` (z), X/YResolution (pixels per unit), ``unit``.

    ImageJ leaves ``spacing`` out when it is 1 and always writes the unit of a
    calibrated image, so the size counts as recorded when a unit other than
    ``pixel`` or a ``spacing`` is there; missing parts are then 1.
    """
    ij = tif.imagej_metadata or {}
    page = tif.pages[0]
    unit = ij.get("unit")
    if isinstance(unit, str):
        unit = unit.replace("\\u00B5", "µ").replace("\\u00b5", "µ")
    unit = normalize_unit(unit)
    spacing = ij.get("spacing")
    x, y = _pixel_size(page, "XResolution"), _pixel_size(page, "YResolution")
    if spacing is None and not is_physical(unit):
        return None, None
    if unit is None and spacing is not None:
        unit = _RESUNITS.get(int(getattr(page.tags.get("ResolutionUnit"), "value", 1) or 1))
    try:
        z = float(spacing) if spacing is not None else 1.0
    except (TypeError, ValueError):
        return None, None
    if z <= 0:
        return None, None
    return (abs(z), y or 1.0, x or 1.0), unit


def ome_voxel_size(xml: str) -> VoxelMeta:
    """From OME-XML: the first image's ``PhysicalSizeZ/Y/X`` and their units (default µm).

    Examples
    --------
    >>> xml = ('<OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image><Pixels '
    ...        'PhysicalSizeX="0.2" PhysicalSizeY="0.2" PhysicalSizeZ="500" PhysicalSizeZUnit="nm"/>'
    ...        '</Image></OME>')
    >>> ome_voxel_size(xml)
    ((0.5, 0.2, 0.2), 'micrometer')
    >>> ome_voxel_size(xml.replace(' PhysicalSizeZ="500"', ""))
    (None, None)
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None, None
    pixels = next((el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None, None
    sizes, units = [], []
    for ax in "ZYX":
        value = pixels.get(f"PhysicalSize{ax}")
        try:
            v = float(value) if value is not None else 0.0
        except ValueError:
            v = 0.0
        if not v > 0:
            return None, None
        sizes.append(v)
        units.append(normalize_unit(pixels.get(f"PhysicalSize{ax}Unit", "µm")))
    vs, unit = common_unit(sizes, units)
    return (vs[0], vs[1], vs[2]), unit


def tiff_voxel_size(tif) -> VoxelMeta:
    """OME-XML first, then ImageJ metadata; ``(None, None)`` for a plain TIFF."""
    if tif.is_ome and tif.ome_metadata:
        vs, unit = ome_voxel_size(tif.ome_metadata)
        if vs is not None:
            return vs, unit
    if tif.is_imagej:
        return imagej_voxel_size(tif)
    return None, None


def ngff_voxel_size(multiscale: Mapping, level: int = 0) -> VoxelMeta:
    """From an OME-Zarr ``multiscales`` entry: a level's scale (times the global one) and axis units.

    Examples
    --------
    >>> ms = {"axes": [{"name": "c", "type": "channel"}] + [
    ...           {"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"],
    ...       "datasets": [{"path": "0", "coordinateTransformations": [
    ...           {"type": "scale", "scale": [1, 2.0, 0.5, 0.5]}]}]}
    >>> ngff_voxel_size(ms)
    ((2.0, 0.5, 0.5), 'micrometer')
    """
    datasets = multiscale.get("datasets") or []
    if not datasets:
        return None, None
    scale = None
    for t in datasets[level].get("coordinateTransformations") or []:
        if t.get("type") == "scale" and t.get("scale") is not None:
            scale = [float(s) for s in t["scale"]]
    if scale is None or len(scale) < 3:
        return None, None
    for t in multiscale.get("coordinateTransformations") or []:
        if t.get("type") == "scale" and t.get("scale") is not None and len(t["scale"]) == len(scale):
            scale = [a * float(b) for a, b in zip(scale, t["scale"])]
    axes = multiscale.get("axes") or []
    units: list[str | None] = [None, None, None]
    if len(axes) == len(scale) and all(isinstance(a, Mapping) for a in axes):
        space = [i for i, a in enumerate(axes) if a.get("type") == "space"]
        idx = space[-3:] if len(space) >= 3 else list(range(len(scale)))[-3:]
        scale = [scale[i] for i in idx]
        units = [normalize_unit(axes[i].get("unit")) for i in idx]
    else:
        scale = scale[-3:]
    if not all(s > 0 for s in scale):
        return None, None
    if not all(is_physical(u) for u in units):
        units = [next((u for u in units if u), None)] * 3
    vs, unit = common_unit(scale, units)
    return (vs[0], vs[1], vs[2]), unit
