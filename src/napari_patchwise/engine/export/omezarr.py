"""OME-Zarr export: one OME-NGFF 0.4 image (Zarr format 2) per case, with label images.

Folder ``omezarr/``, one ``{case}.zarr`` per crop::

    {case}.zarr/
        .zattrs .zgroup          multiscales: axes z/y/x (space, the plan's unit); an image
                                 with channels: c/z/y/x, and "omero" channel labels
        0/                       the image at the training magnification
        labels/.zattrs           {"labels": ["classes", <instance classes>...]}
        labels/classes/0         int16 classmap: -1 unannotated, 0 background,
                                 1..K classes, K+1 ignore
        labels/<class>/0         instance ids of each instance class

Every array carries ``scale`` = voxel size at the magnification and a
``translation`` that puts the crop where its box lies in the full-resolution
image (the box corner times the full-resolution voxel size, plus half a
voxel per magnification step, as patchwise places annotation layers), so
napari-ome-zarr and Fiji show it in place. Chunks are at most
``(64, 256, 256)``; arrays are Blosc-zstd compressed with ``/`` chunk keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .model import CaseOutput, CaseRef, Crop, ExportContext, ExportError

FOLDER = "omezarr"
NGFF_VERSION = "0.4"
CLASSES = "classes"
MAX_CHUNK = (64, 256, 256)
_UNITS = {"um": "micrometer", "µm": "micrometer", "micron": "micrometer", "nm": "nanometer",
          "mm": "millimeter", "angstrom": "angstrom", "å": "angstrom"}
_NGFF_UNITS = ("angstrom", "nanometer", "micrometer", "millimeter", "centimeter", "meter")


#: The :class:`~.model.ExportContext` settings this format uses (an export can only
#: add cases to a folder written with the same ones).
SETTINGS = ()

def folder_name(ctx: ExportContext) -> str:
    """The OME-Zarr folder is always ``omezarr``."""
    return FOLDER


def ngff_unit(unit: str) -> str | None:
    """The NGFF (UDUNITS-2) name of a length unit, or None when it is not one.

    Examples
    --------
    >>> ngff_unit("um"), ngff_unit("nanometer"), ngff_unit("pixel")
    ('micrometer', 'nanometer', None)
    """
    u = unit.strip().lower()
    u = _UNITS.get(u, u)
    return u if u in _NGFF_UNITS else None


def label_names(ctx: ExportContext) -> dict[str, str]:
    """Label image name per instance class (``classes`` is taken by the classmap).

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ClassSpec, ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 4, 4)), classes=(ClassSpec("classes"), ClassSpec("mito", "semantic")))
    >>> label_names(ExportContext(plan))
    {'classes': 'classes_ids'}
    """
    return {c.name: (f"{c.name}_ids" if c.name == CLASSES else c.name)
            for c in ctx.plan.classes if c.kind == "instance"}


def placement(crop: Crop, ctx: ExportContext) -> list[dict]:
    """``coordinateTransformations`` of the crop's arrays (scale, then translation).

    Examples
    --------
    >>> from napari_patchwise.engine.geometry.box import Box
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> plan = Plan(ImageRef((64, 64, 64), voxel_size=(1.0, 0.5, 0.5)), magnification=(1, 2, 2))
    >>> crop = Crop("box_0001", Box(1, (4, 8, 8), (8, 16, 16)), None, None, (1.0, 1.0, 1.0))
    >>> placement(crop, ExportContext(plan))
    [{'type': 'scale', 'scale': [1.0, 1.0, 1.0]}, {'type': 'translation', 'translation': [4.0, 4.25, 4.25]}]
    """
    full = ctx.plan.image.voxel_size
    mag = ctx.plan.magnification
    shift = [float(lo * v + v * (m - 1) / 2) for lo, v, m in zip(crop.box.lo, full, mag)]
    return [{"type": "scale", "scale": [float(v) for v in crop.voxel_size]},
            {"type": "translation", "translation": shift}]


def _multiscales(name: str, transforms: list[dict], unit: str | None, channels: bool = False) -> list[dict]:
    axes = [{"name": a, "type": "space", **({"unit": unit} if unit else {})} for a in "zyx"]
    if channels:  # a leading c axis: its scale 1, its translation 0
        axes = [{"name": "c", "type": "channel"}, *axes]
        transforms = [{**t, t["type"]: [0.0 if t["type"] == "translation" else 1.0, *t[t["type"]]]}
                      for t in transforms]
    return [{"version": NGFF_VERSION, "name": name, "axes": axes,
             "datasets": [{"path": "0", "coordinateTransformations": transforms}]}]


def _write_array(group, data: np.ndarray) -> None:
    import numcodecs

    lead = (1,) * (data.ndim - len(MAX_CHUNK))  # one chunk per channel
    chunks = tuple(int(min(s, c)) for s, c in zip(data.shape, lead + tuple(MAX_CHUNK)))
    arr = group.create_array(
        "0", shape=data.shape, dtype=data.dtype, chunks=chunks, fill_value=0,
        compressors=numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        chunk_key_encoding={"name": "v2", "separator": "/"},
    )
    arr[...] = data


def _colors(values: Sequence[int]) -> list[dict]:
    palette = [(128, 128, 128), (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
               (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]
    out = []
    for v in values:
        if v < 0:
            continue
        rgb = (0, 0, 0) if v == 0 else palette[v % len(palette)]
        out.append({"label-value": int(v), "rgba": [*rgb, 0 if v == 0 else 255]})
    return out


def write_case(root: Path, crop: Crop, ctx: ExportContext) -> CaseOutput:
    """Write ``{case}.zarr`` with the image and its label images; lists every file written."""
    import zarr

    image = np.asarray(crop.image)
    comp = crop.composition
    if image.ndim not in (3, 4) or image.shape[-3:] != comp.classmap.shape:
        raise ExportError(f"{crop.case}: image {image.shape} and annotation {comp.classmap.shape} must be "
                          "3D arrays of one shape (the image may have channels first).")
    store = Path(root) / f"{crop.case}.zarr"
    if store.exists():
        raise ExportError(f"{store} already exists; export with overwrite to replace it.")
    transforms = placement(crop, ctx)
    unit = ngff_unit(ctx.plan.image.unit)
    top = zarr.open_group(str(store), mode="w-", zarr_format=2)
    _write_array(top, image)
    top.attrs["multiscales"] = _multiscales(crop.case, transforms, unit, channels=image.ndim == 4)
    if image.ndim == 4:  # the channel names, as OME-Zarr viewers show them
        top.attrs["omero"] = {"channels": [{"label": n, "active": True} for n in ctx.plan.image.channel_labels]}
    names = label_names(ctx)
    labels = top.create_group("labels")
    labels.attrs["labels"] = [CLASSES, *names.values()]
    k = len(comp.class_names)
    meanings = ["unannotated", "background", *comp.class_names, "ignore"]
    values = list(range(-1, k + 2))
    layers = {CLASSES: (comp.classmap.astype(np.int16), values, meanings)}
    for cls, lname in names.items():
        layers[lname] = (_instance_ids(crop, cls), None, None)
    for lname, (data, vals, props) in layers.items():
        group = labels.create_group(lname)
        _write_array(group, data)
        label_meta = {"version": NGFF_VERSION, "source": {"image": "../../"}}
        if vals is not None:
            label_meta["colors"] = _colors(vals)
            label_meta["properties"] = [{"label-value": v, "class": m} for v, m in zip(vals, props)]
        group.attrs["multiscales"] = _multiscales(lname, transforms, unit)
        group.attrs["image-label"] = label_meta
    files = sorted(p.relative_to(root).as_posix() for p in store.rglob("*") if p.is_file())
    return CaseOutput(files=tuple(files))


def _instance_ids(crop: Crop, name: str) -> np.ndarray:
    ids = np.asarray(crop.composition.instances[name])
    top = int(ids.max(initial=0))
    for dtype in (np.uint16, np.uint32, np.uint64):
        if top <= np.iinfo(dtype).max:
            return ids.astype(dtype)
    raise AssertionError("unreachable")  # pragma: no cover


def finish(root: Path, cases: Sequence[CaseRef], ctx: ExportContext) -> CaseOutput:
    """Each case is a complete OME-Zarr; no dataset-level file."""
    return CaseOutput(files=())


def _level0(group) -> str:
    return group.attrs["multiscales"][0]["datasets"][0]["path"]


def read_case(root: Path, case: str, ctx: ExportContext | None = None):
    """Read back ``(image, classmap, {label name: ids})`` of one case.

    Raises
    ------
    ExportError
        If the case is not in the folder.
    """
    import zarr

    store = Path(root) / f"{case}.zarr"
    if not store.exists():
        raise ExportError(f"case {case!r} is not in {root}: no {store.name}.")
    top = zarr.open_group(str(store), mode="r")
    path = _level0(top)
    labels = top["labels"]
    names = list(labels.attrs["labels"])
    arrays = {n: np.asarray(labels[n][_level0(labels[n])]) for n in names}
    classmap = arrays.pop(CLASSES)
    return np.asarray(top[path]), classmap, arrays
