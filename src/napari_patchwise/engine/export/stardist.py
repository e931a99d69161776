"""StarDist export: one 3D image and one instance mask per case.

Folder ``stardist/``::

    images/{case}.tif    the crop image (its dtype), voxel size in the TIFF
    masks/{case}.tif     int32 ids of the instance class; 0 background and
                         other classes, -1 ignore and unannotated voxels

StarDist (0.9 and later) excludes pixels with negative labels from its
losses, so ``-1`` marks what training must not see. The TIFFs carry the voxel
size as ImageJ reads it (``XResolution``/``YResolution`` and ``spacing``), for
every dtype, so Fiji and :func:`~napari_patchwise.engine.io.read_volume` show
it; StarDist itself wants it as ``anisotropy`` in its configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..io import write_tiff_spaced
from .model import CaseOutput, CaseRef, Crop, ExportContext, ExportError

FOLDER = "stardist"
IGNORE = -1

#: The :class:`~.model.ExportContext` settings this format uses (an export can only
#: add cases to a folder written with the same ones).
SETTINGS = ("instance_class", "patch_size")

def folder_name(ctx: ExportContext) -> str:
    """The StarDist folder is always ``stardist``."""
    return FOLDER


def stardist_masks(crop: Crop, name: str) -> np.ndarray:
    """int32 instance ids of class ``name``: 0 background and other classes, -1 ignore/unannotated.

    Examples
    --------
    >>> from napari_patchwise.engine.annotation import compose
    >>> from napari_patchwise.engine.box import Box
    >>> ids = np.array([[[0, 3, 3, 0, 0]]]); bg = np.array([[[1, 0, 0, 0, 0]]])
    >>> ign = np.array([[[0, 0, 0, 1, 0]]])
    >>> comp = compose({"nuclei": ids, "background": bg, "ignore": ign}, ["nuclei"])
    >>> crop = Crop("box_0001", Box(1, (0, 0, 0), (1, 1, 5)), np.zeros((1, 1, 5)), comp, (1.0, 1.0, 1.0))
    >>> stardist_masks(crop, "nuclei").tolist()
    [[[0, 3, 3, -1, -1]]]
    """
    comp = crop.composition
    ids = np.asarray(comp.instances[name])
    if ids.size and int(ids.max()) > np.iinfo(np.int32).max:
        raise ExportError(
            f"{crop.case}: instance ids of {name!r} go above {np.iinfo(np.int32).max}; "
            "relabel the class (ids 1..N) before exporting to StarDist."
        )
    out = ids.astype(np.int32)
    out[(comp.classmap == -1) | (comp.classmap == comp.ignore_value)] = IGNORE
    return out


def label_mapping(ctx: ExportContext) -> dict[str, int]:
    """Values of the masks besides the instance ids (``1..N``): other classes count as background.

    Examples
    --------
    >>> from napari_patchwise.engine.plan import ClassSpec, ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 4, 4)), classes=(ClassSpec("nuclei"), ClassSpec("mito", "semantic")))
    >>> label_mapping(ExportContext(plan))
    {'unannotated': -1, 'ignore': -1, 'background': 0, 'mito': 0}
    """
    name = ctx.instance_name()
    return {"unannotated": IGNORE, "ignore": IGNORE, "background": 0,
            **{n: 0 for n in ctx.class_names if n != name}}


def patch_size_warning(crop: Crop, ctx: ExportContext) -> str | None:
    """A warning when the crop is smaller than StarDist's training patch in some axis.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> crop = SimpleNamespace(case="box_0002", image=np.zeros((16, 128, 128)))
    >>> ctx = SimpleNamespace(patch_size=(48, 96, 96))
    >>> print(patch_size_warning(crop, ctx))  # doctest: +NORMALIZE_WHITESPACE
    box_0002: the crop (z, y, x) = (16, 128, 128) is smaller than the StarDist training patch (48, 96, 96)
    in z; make the box at least that large, or train with train_patch_size no larger than (16, 96, 96).
    """
    shape = tuple(int(s) for s in crop.image.shape)
    patch = tuple(int(p) for p in ctx.patch_size)
    small = [ax for ax, s, p in zip("zyx", shape, patch) if s < p]
    if not small:
        return None
    fit = tuple(min(s, p) for s, p in zip(shape, patch))
    return (
        f"{crop.case}: the crop (z, y, x) = {shape} is smaller than the StarDist training patch "
        f"{patch} in {', '.join(small)}; make the box at least that large, or train with "
        f"train_patch_size no larger than {fit}."
    )


def write_case(root: Path, crop: Crop, ctx: ExportContext) -> CaseOutput:
    """Write ``images/{case}.tif`` and ``masks/{case}.tif``.

    Returns
    -------
    CaseOutput
        The two files, and a warning when the crop is smaller than
        ``ctx.patch_size``.
    """
    name = ctx.instance_name()
    image = np.asarray(crop.image)
    if image.ndim != 3:
        raise ExportError(f"{crop.case}: the image must be 3D (z, y, x); got shape {image.shape}.")
    masks = stardist_masks(crop, name)
    if masks.shape != image.shape:
        raise ExportError(f"{crop.case}: image {image.shape} and annotation {masks.shape} differ in shape.")
    unit = ctx.plan.image.unit
    files = (f"images/{crop.case}.tif", f"masks/{crop.case}.tif")
    for rel, data in zip(files, (image, masks)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_tiff_spaced(root / rel, data, crop.voxel_size, unit)
    warning = patch_size_warning(crop, ctx)
    return CaseOutput(files=tuple(sorted(files)), warnings=(warning,) if warning else ())


def finish(root: Path, cases: Sequence[CaseRef], ctx: ExportContext) -> tuple[str, ...]:
    """StarDist needs no dataset-level file; the manifest records the splits."""
    return ()


def read_case(root: Path, case: str, ctx: ExportContext | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read back ``(image, masks)`` of one case.

    Raises
    ------
    ExportError
        If the case is not in the folder.
    """
    import tifffile

    paths = [Path(root) / sub / f"{case}.tif" for sub in ("images", "masks")]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ExportError(f"case {case!r} is not in {root}: missing {', '.join(missing)}.")
    image, masks = (tifffile.imread(p) for p in paths)
    return image, masks
