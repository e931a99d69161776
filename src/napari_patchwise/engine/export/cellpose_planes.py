"""Cellpose export: 2D training planes cut from the fully annotated parts of each crop.

Folder ``cellpose/``::

    {case}_{plane}{index:03d}.tif          the image plane
    {case}_{plane}{index:03d}_masks.tif    its masks (Cellpose's ``_masks`` suffix)

``plane`` is ``yx`` (index = z), and optionally ``zy`` (index = x) and ``zx``
(index = y). Cellpose trains on every pixel of an image, so only planes
without unannotated or ignore pixels are written. ``zy`` and ``zx`` planes are
resampled along z to square pixels (linear for the image, nearest for the
masks). Masks hold the instance class's objects, relabelled ``1..N`` per
plane so that each mask is one connected piece (8-connectivity): an object
cut by a plane can fall apart into several 2D pieces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .model import CaseOutput, CaseRef, Crop, ExportContext, ExportError
from ..io import write_tiff_spaced

FOLDER = "cellpose"
#: Plane name -> the axis held fixed.
PLANES = {"yx": 0, "zy": 2, "zx": 1}
MASK_SUFFIX = "_masks"


#: The :class:`~.model.ExportContext` settings this format uses (an export can only
#: add cases to a folder written with the same ones).
SETTINGS = ("instance_class", "cellpose_planes", "min_masks")

def folder_name(ctx: ExportContext) -> str:
    """The Cellpose folder is always ``cellpose``."""
    return FOLDER


def label_mapping(ctx: ExportContext) -> dict[str, int]:
    """Values of the masks besides the instance ids (``1..N`` per plane).

    Planes holding unannotated or ignore pixels are not written.

    Examples
    --------
    >>> from napari_patchwise.engine.plan import ClassSpec, ImageRef, Plan
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
    >>> from napari_patchwise.engine.annotation import compose
    >>> from napari_patchwise.engine.box import Box
    >>> from napari_patchwise.engine.plan import ImageRef, Plan
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
    annotated = (comp.classmap >= 0) & (comp.classmap < comp.ignore_value)
    ids = np.asarray(comp.instances[name])
    vz, vy, vx = (float(v) for v in crop.voxel_size)
    for plane in chosen_planes(ctx.cellpose_planes):
        axis = PLANES[plane]
        rows = None if plane == "yx" else z_rows(image.shape[0], plane, crop.voxel_size)
        row_size = vy if rows is None else vz * image.shape[0] / rows
        pixel = (row_size, vx if plane != "zy" else vy)
        for index in range(image.shape[axis]):
            if not _take(annotated, plane, index).all():
                continue
            img = resample_rows(_take(image, plane, index), rows, labels=False)
            masks = relabel_pieces(resample_rows(_take(ids, plane, index), rows, labels=True))
            yield f"{crop.case}_{plane}{index:03d}", img, masks, pixel


def write_case(root: Path, crop: Crop, ctx: ExportContext) -> CaseOutput:
    """Write every fully annotated plane of the crop and its masks.

    Returns
    -------
    CaseOutput
        The files, a warning listing planes with fewer than ``ctx.min_masks``
        masks, and a warning when no plane is fully annotated.
    """
    if np.asarray(crop.image).ndim != 3 or crop.image.shape != crop.composition.classmap.shape:
        raise ExportError(f"{crop.case}: image and annotation must be 3D arrays of one shape.")
    files, few = [], []
    for name, img, masks, pixel in planes_of(crop, ctx):
        for rel, data in ((f"{name}.tif", img), (f"{name}{MASK_SUFFIX}.tif", masks)):
            write_tiff_spaced(root / rel, data, pixel, ctx.plan.image.unit)
            files.append(rel)
        if int(masks.max(initial=0)) < ctx.min_masks:
            few.append(f"{name} ({int(masks.max(initial=0))})")
    warnings = []
    if not files:
        warnings.append(
            f"{crop.case}: no {'/'.join(chosen_planes(ctx.cellpose_planes))} plane is fully annotated, so "
            "Cellpose gets nothing from this box; paint background or a class on every voxel of "
            "some planes (no unannotated or ignore voxels)."
        )
    if few:
        warnings.append(
            f"{crop.case}: {len(few)} of {len(files) // 2} Cellpose planes have fewer than {ctx.min_masks} "
            f"masks: {_listing(few)}. Cellpose skips training images with fewer than "
            f"{ctx.min_masks} masks (its min_train_masks); annotate more objects or lower "
            "min_train_masks."
        )
    return CaseOutput(files=tuple(sorted(files)), warnings=tuple(warnings))


def _listing(items: Sequence[str], most: int = 6) -> str:
    """``a, b, c`` or ``a, b, ... (and 7 more)``."""
    if len(items) <= most:
        return ", ".join(items)
    return f"{', '.join(items[:most])} (and {len(items) - most} more)"


def finish(root: Path, cases: Sequence[CaseRef], ctx: ExportContext) -> tuple[str, ...]:
    """Cellpose needs no dataset-level file; the manifest records the splits."""
    return ()


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
