"""Cellpose export: 2D training planes cut from the fully annotated parts of each crop.

Folder ``cellpose/``::

    {case}_{plane}{index:03d}.tif          the image plane ((c, y, x), channel axis first, for
                                           an image with channels: Cellpose's channel_axis=0)
    {case}_{plane}{index:03d}_masks.tif    its masks (Cellpose's ``_masks`` suffix)

``plane`` is ``yx`` (index = z), and optionally ``zy`` (index = x) and ``zx``
(index = y). Only planes Cellpose trains on are written: Cellpose trains on
every pixel of an image, so a plane must have no unannotated or ignore pixel,
and its training drops images with fewer masks than ``min_train_masks``
(5 unless set otherwise; ``ctx.min_masks`` here). ``zy`` and ``zx`` planes are
resampled along z to square pixels (linear for the image, nearest for the
masks). Masks hold the instance class's objects, relabelled ``1..N`` per
plane so that each mask is one connected piece (8-connectivity): an object
cut by a plane can fall apart into several 2D pieces.

A box with an ignore border (the membrane preset's, see
:mod:`~..plan.border`) gives only its interior: planes are cut to the part
inside the border and planes lying in the border are not written (Cellpose
has no ignore value, so the border is left out, as any ignore pixel is).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .model import CaseOutput, CaseRef, Crop, ExportContext, ExportError
from ..io.tiff_write import write_tiff_spaced
from ..io.tiff_write import write_tiff_channels

FOLDER = "cellpose"
#: Plane name -> the axis held fixed.
PLANES = {"yx": 0, "zy": 2, "zx": 1}
MASK_SUFFIX = "_masks"
#: What the images of a case are called in the export's report.
IMAGES = "training planes"


#: The :class:`~.model.ExportContext` settings this format uses (an export can only
#: add cases to a folder written with the same ones).
SETTINGS = ("instance_class", "cellpose_planes", "min_masks")

def folder_name(ctx: ExportContext) -> str:
    """The Cellpose folder is always ``cellpose``."""
    return FOLDER


def label_mapping(ctx: ExportContext) -> dict[str, int]:
    """Values of the masks besides the instance ids (``1..N`` per plane).

    Planes holding unannotated or ignore pixels, or fewer than ``ctx.min_masks``
    masks, are not written.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ClassSpec, ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 4, 4)), classes=(ClassSpec("mito", "semantic"), ClassSpec("nuclei")))
    >>> label_mapping(ExportContext(plan))
    {'background': 0, 'mito': 0}
    """
    name = ctx.instance_name()
    return {"background": 0, **{n: 0 for n in ctx.class_names if n != name}}


def chosen_planes(planes: Sequence[str]) -> tuple[str, ...]:
    """``'yx'`` and the other valid planes asked for, in a fixed order.

    Examples
    --------
    >>> chosen_planes(["zx"]), chosen_planes(["yx", "zy", "zx", "zy"])
    (('yx', 'zx'), ('yx', 'zy', 'zx'))
    """
    wrong = [p for p in planes if p not in PLANES]
    if wrong:
        raise ExportError(f"Cellpose planes must be among {list(PLANES)}; got {wrong}.")
    return tuple(p for p in PLANES if p == "yx" or p in planes)


def _take(arr: np.ndarray, plane: str, index: int) -> np.ndarray:
    return np.take(arr, index, axis=PLANES[plane])


def z_rows(nz: int, plane: str, voxel_size: Sequence[float]) -> int:
    """Rows of a ``zy``/``zx`` plane once resampled to square pixels.

    Examples
    --------
    >>> z_rows(10, "zy", (2.0, 0.5, 0.25)), z_rows(10, "zx", (2.0, 0.5, 0.25)), z_rows(10, "zy", (1, 1, 1))
    (40, 80, 10)
    """
    vz, vy, vx = (float(v) for v in voxel_size)
    return max(1, round(nz * vz / (vy if plane == "zy" else vx)))


def resample_rows(plane_2d: np.ndarray, rows: int | None, *, labels: bool) -> np.ndarray:
    """Resize the first axis of a 2D plane to ``rows`` (nearest for labels, linear for images).

    ``None`` or the plane's own row count leaves it as it is.

    Examples
    --------
    >>> resample_rows(np.array([[1, 2], [3, 4]]), 4, labels=True).tolist()
    [[1, 2], [1, 2], [3, 4], [3, 4]]
    >>> resample_rows(np.array([[0.0], [4.0]]), 4, labels=False).ravel().tolist()
    [0.0, 1.0, 3.0, 4.0]
    """
    from skimage.transform import resize

    if rows is None or rows == plane_2d.shape[0]:
        return plane_2d
    shape = (rows, plane_2d.shape[1])
    if labels:
        return resize(plane_2d, shape, order=0, preserve_range=True, anti_aliasing=False,
                      mode="edge").astype(plane_2d.dtype)
    return resize(plane_2d.astype(np.float32), shape, order=1, preserve_range=True, anti_aliasing=False,
                  mode="edge").astype(np.float32)


def relabel_pieces(ids: np.ndarray) -> np.ndarray:
    """Number each connected piece of each id ``1..N`` (uint16, or uint32 above 65535).

    Examples
    --------
    >>> relabel_pieces(np.array([[7, 0, 7], [7, 0, 0], [0, 9, 9]])).tolist()
    [[1, 0, 2], [1, 0, 0], [0, 3, 3]]
    """
    from skimage.measure import label

    out = label(ids, background=0, connectivity=2)
    return out.astype(np.uint16 if out.max(initial=0) <= np.iinfo(np.uint16).max else np.uint32)


def planes_of(crop: Crop, ctx: ExportContext):
    """Yield ``(name, image, masks, pixel_size)`` for each fully annotated plane of a crop.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.annotation import compose
    >>> from napari_patchwise.engine.geometry.box import Box
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> ids = np.zeros((2, 3, 3), np.uint32); ids[:, 1, 1] = 4
    >>> bg = np.ones_like(ids); bg[1, 0, 0] = 0  # plane z=1 has an unannotated pixel
    >>> comp = compose({"nuclei": ids, "background": bg}, ["nuclei"])
    >>> crop = Crop("box_0003", Box(3, (0, 0, 0), (2, 3, 3)), ids.astype(float), comp, (1.0, 1.0, 1.0))
    >>> ctx = ExportContext(Plan(ImageRef((2, 3, 3))))
    >>> [(name, int(m.max())) for name, _, m, _ in planes_of(crop, ctx)]
    [('box_0003_yx000', 1)]
    """
    name = ctx.instance_name()
    comp = crop.composition
    image = np.asarray(crop.image)
    channels = image if image.ndim == 4 else image[None]
    annotated = (comp.classmap >= 0) & (comp.classmap < comp.ignore_value)
    ids = np.asarray(comp.instances[name])
    inner = comp.interior if comp.interior is not None else (slice(0, None),) * 3
    channels = channels[(slice(None), *inner)]  # the ignore border is left out
    annotated, ids = annotated[inner], ids[inner]
    vz, vy, vx = (float(v) for v in crop.voxel_size)
    nz = channels.shape[1]
    for plane in chosen_planes(ctx.cellpose_planes):
        axis = PLANES[plane]
        rows = None if plane == "yx" else z_rows(nz, plane, crop.voxel_size)
        row_size = vy if rows is None else vz * nz / rows
        pixel = (row_size, vx if plane != "zy" else vy)
        for index in range(channels.shape[axis + 1]):
            if not _take(annotated, plane, index).all():
                continue
            img = np.stack([resample_rows(_take(c, plane, index), rows, labels=False) for c in channels])
            img = img if image.ndim == 4 else img[0]  # an image with channels: (c, rows, columns)
            masks = relabel_pieces(resample_rows(_take(ids, plane, index), rows, labels=True))
            yield f"{crop.case}_{plane}{index + inner[axis].start:03d}", img, masks, pixel


def write_case(root: Path, crop: Crop, ctx: ExportContext) -> CaseOutput:
    """Write every plane of the crop that Cellpose trains on, and its masks.

    A plane is written when it is fully annotated and holds at least
    ``ctx.min_masks`` masks (Cellpose drops training images with fewer:
    its ``min_train_masks``).

    Returns
    -------
    CaseOutput
        The files; ``images``: the planes written; ``left_out``: fully
        annotated planes with too few masks; a warning when the box gives
        Cellpose no plane.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine.plan.annotation import compose
    >>> from napari_patchwise.engine.geometry.box import Box
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> ids = np.zeros((2, 3, 9), np.uint32); ids[0, 1, ::2] = [1, 2, 3, 4, 5]; ids[1, 1, 0] = 6
    >>> comp = compose({"nuclei": ids, "background": np.ones_like(ids)}, ["nuclei"])
    >>> crop = Crop("box_0003", Box(3, (0, 0, 0), (2, 3, 9)), ids.astype(float), comp, (1.0, 1.0, 1.0))
    >>> ctx = ExportContext(Plan(ImageRef((2, 3, 9))))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_case(Path(tmp), crop, ctx)
    >>> out.files, out.images, out.left_out
    (('box_0003_yx000.tif', 'box_0003_yx000_masks.tif'), 1, 1)
    """
    if np.asarray(crop.image).ndim not in (3, 4) or crop.image.shape[-3:] != crop.composition.classmap.shape:
        raise ExportError(f"{crop.case}: image and annotation must be 3D arrays of one shape (the image may "
                          "have channels first).")
    files, full, few = [], 0, 0
    for name, img, masks, pixel in planes_of(crop, ctx):
        full += 1
        if int(masks.max(initial=0)) < ctx.min_masks:
            few += 1
            continue
        for rel, data in ((f"{name}.tif", img), (f"{name}{MASK_SUFFIX}.tif", masks)):
            if data.ndim == 3:  # the channels of a plane, channel axis first (Cellpose's channel_axis=0)
                write_tiff_channels(root / rel, data, "CYX", pixel, ctx.plan.image.unit)
            else:
                write_tiff_spaced(root / rel, data, pixel, ctx.plan.image.unit)
            files.append(rel)
    planes = "/".join(chosen_planes(ctx.cellpose_planes))
    warnings = []
    if not full:
        warnings.append(
            f"{crop.case}: no {planes} plane is fully annotated (every pixel a class or background), "
            "so Cellpose gets nothing from this box."
        )
    elif not files:
        warnings.append(
            f"{crop.case}: every fully annotated {planes} plane has fewer than {ctx.min_masks} masks, "
            "so Cellpose gets nothing from this box."
        )
    return CaseOutput(files=tuple(sorted(files)), warnings=tuple(warnings), images=len(files) // 2,
                      left_out=few)


def finish(root: Path, cases: Sequence[CaseRef], ctx: ExportContext) -> CaseOutput:
    """No dataset-level file (the manifest records the splits); notes on what Cellpose got.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> ctx = ExportContext(Plan(ImageRef((4, 4, 4))))
    >>> done = finish(Path("."), [CaseRef("box_0001", "train", CaseOutput((), images=0))], ctx)
    >>> print(done.notes[0])  # doctest: +ELLIPSIS
    Cellpose trains on fully annotated planes (...) with at least 5 masks, and no new box has one: ...
    """
    new = [c.output for c in cases if c.output is not None]
    few = sum(out.left_out for out in new)
    notes = []
    border = int(getattr(ctx.plan.preset, "ignore_border", 0) or 0)
    if border:
        notes.append(
            f"the {border}-voxel ignore border of every box is left out: planes are cut to the part "
            "inside it, and planes lying in it are not written (Cellpose has no ignore value)."
        )
    if new and not any(out.images for out in new):
        notes.append(
            f"Cellpose trains on fully annotated planes (every pixel a class or background, none "
            f"unannotated or ignore) with at least {ctx.min_masks} masks, and no new box has one: "
            "paint the rest of some planes (e.g. mark a box dense and finish it), or, if you train "
            "with a lower min_train_masks, export with that minimum (patchwise export "
            "--cellpose-min-masks N)."
        )
    if few:
        notes.append(
            f"left out: {few} fully annotated planes with fewer than {ctx.min_masks} masks "
            "(Cellpose's training drops them: min_train_masks)."
        )
    return CaseOutput(files=(), notes=tuple(notes))


def read_case(root: Path, case: str, ctx: ExportContext | None = None) -> dict[str, tuple]:
    """Read back the planes of one case: ``{plane name: (image, masks)}``, sorted by name.

    An empty dict when the case has no planes.
    """
    import tifffile

    pattern = re.compile(re.escape(case) + r"_(yx|zy|zx)\d{3,}")
    out = {}
    for path in sorted(Path(root).glob(f"{case}_*{MASK_SUFFIX}.tif")):
        name = path.name[: -len(f"{MASK_SUFFIX}.tif")]
        if pattern.fullmatch(name):
            out[name] = (tifffile.imread(Path(root) / f"{name}.tif"), tifffile.imread(path))
    return out
