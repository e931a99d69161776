"""StarDist export: one 3D image and one instance mask per case.

Folder ``stardist/``::

    images/{case}.tif    the crop image (its dtype), voxel size in the TIFF; an
                         image with channels is (z, y, x, c), channels last
    masks/{case}.tif     int32 ids of the instance class; 0 background and
                         other classes, -1 ignore and unannotated voxels

StarDist (0.9 and later) excludes pixels with negative labels from its
losses, so ``-1`` marks what training must not see. The TIFFs carry the voxel
size as ImageJ reads it (``XResolution``/``YResolution`` and ``spacing``), for
every dtype, so Fiji and :func:`~napari_patchwise.engine.io.volumes.read_volume` show
it; StarDist itself wants it as ``anisotropy`` in its configuration.

``stardist_config.json`` holds the ``Config3D`` settings these crops call for:
``axes`` (``ZYXC`` and ``n_channel_in`` for an image with channels),
``train_patch_size`` (by default the largest that fits every train and val
crop and that StarDist's U-Net can pool), ``grid`` and ``anisotropy``. StarDist
samples training patches inside each image, so it stops on an image smaller
than ``train_patch_size``; and its U-Net backbone needs the patch divisible by
``unet_pool ** unet_n_depth * grid`` along each axis (``StarDist3D.train``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..io.tiff_write import write_tiff_spaced
from ..io.tiff_write import write_tiff_channels
from ..geometry.magnification import voxel_size_at
from .model import CaseOutput, CaseRef, Crop, ExportContext, ExportError

FOLDER = "stardist"
IGNORE = -1
#: The Config3D settings these crops call for, beside the images.
CONFIG_NAME = "stardist_config.json"
#: StarDist's default 3D U-Net: ``unet_n_depth`` levels of ``unet_pool`` max-pooling.
UNET_N_DEPTH = 2
UNET_POOL = (2, 2, 2)
#: StarDist's own default ``train_patch_size``; the automatic patch size stays within it
#: (larger patches mostly exhaust GPU memory).
MAX_PATCH = (128, 128, 128)

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
    >>> from napari_patchwise.engine.plan.annotation import compose
    >>> from napari_patchwise.engine.geometry.box import Box
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
    >>> from napari_patchwise.engine.plan.plan import ClassSpec, ImageRef, Plan
    >>> plan = Plan(ImageRef((4, 4, 4)), classes=(ClassSpec("nuclei"), ClassSpec("mito", "semantic")))
    >>> label_mapping(ExportContext(plan))
    {'unannotated': -1, 'ignore': -1, 'background': 0, 'mito': 0}
    """
    name = ctx.instance_name()
    return {"unannotated": IGNORE, "ignore": IGNORE, "background": 0,
            **{n: 0 for n in ctx.class_names if n != name}}


def object_anisotropy(voxel_size: Sequence[float]) -> tuple[float, float, float]:
    """StarDist's ``anisotropy`` of objects that are round in space, at this voxel size.

    StarDist measures it as the largest median object extent (in voxels) over
    each axis's; for round objects that is each axis's voxel size over the
    finest one.

    Examples
    --------
    >>> object_anisotropy((2.0, 0.5, 0.5)), object_anisotropy((1, 1, 1))
    ((4.0, 1.0, 1.0), (1.0, 1.0, 1.0))
    """
    vs = [float(v) for v in voxel_size]
    finest = min(vs)
    return tuple(round(v / finest, 3) for v in vs)  # type: ignore[return-value]


def stardist_grid(anisotropy: Sequence[float]) -> tuple[int, int, int]:
    """StarDist's ``grid`` for this anisotropy: 1 along axes more than 1.5× coarser, else 2.

    The rule of StarDist's own 3D training example.

    Examples
    --------
    >>> stardist_grid((4.0, 1.0, 1.0)), stardist_grid((1.0, 1.0, 1.0))
    ((1, 2, 2), (2, 2, 2))
    """
    return tuple(1 if a > 1.5 else 2 for a in anisotropy)  # type: ignore[return-value]


def patch_divisor(grid: Sequence[int], n_depth: int = UNET_N_DEPTH,
                  pool: Sequence[int] = UNET_POOL) -> tuple[int, int, int]:
    """What ``train_patch_size`` must be divisible by: ``pool ** n_depth * grid`` per axis.

    Examples
    --------
    >>> patch_divisor((1, 2, 2)), patch_divisor((1, 1, 1), n_depth=3)
    ((4, 8, 8), (8, 8, 8))
    """
    return tuple(int(p) ** int(n_depth) * int(g) for p, g in zip(pool, grid))  # type: ignore[return-value]


def auto_patch_size(shapes: Sequence[Sequence[int]], divisor: Sequence[int],
                    most: Sequence[int] = MAX_PATCH) -> tuple[int, int, int] | None:
    """The largest patch within every shape (and ``most``) that is divisible by ``divisor``.

    ``None`` when there is no shape, or one is smaller than ``divisor`` in
    some axis.

    Examples
    --------
    >>> auto_patch_size([(64, 64, 64), (40, 200, 90)], (4, 8, 8))
    (40, 64, 64)
    >>> auto_patch_size([(160, 160, 160)], (4, 8, 8)), auto_patch_size([(3, 64, 64)], (4, 8, 8))
    ((128, 128, 128), None)
    """
    if not shapes:
        return None
    fit = [min(min(int(s[i]) for s in shapes), int(most[i])) for i in range(3)]
    patch = tuple(f // int(d) * int(d) for f, d in zip(fit, divisor))
    return patch if min(patch) > 0 else None  # type: ignore[return-value]


def patch_size_warning(crop: Crop, ctx: ExportContext) -> str | None:
    """A warning when the crop is smaller than the StarDist training patch asked for in some axis.

    No warning when no patch size is asked for (it is then chosen to fit
    every crop).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> crop = SimpleNamespace(case="box_0002", image=np.zeros((16, 128, 128)))
    >>> ctx = SimpleNamespace(patch_size=(48, 96, 96))
    >>> print(patch_size_warning(crop, ctx))  # doctest: +NORMALIZE_WHITESPACE
    box_0002: the crop (z, y, x) = (16, 128, 128) is smaller than the StarDist training patch (48, 96, 96)
    in z, and StarDist stops on such an image; make the box at least that large, or export without a
    patch size to get the largest that fits every crop.
    >>> patch_size_warning(crop, SimpleNamespace(patch_size=None)) is None
    True
    """
    if ctx.patch_size is None:
        return None
    shape = tuple(int(s) for s in crop.image.shape)
    patch = tuple(int(p) for p in ctx.patch_size)
    small = [ax for ax, s, p in zip("zyx", shape, patch) if s < p]
    if not small:
        return None
    return (
        f"{crop.case}: the crop (z, y, x) = {shape} is smaller than the StarDist training patch "
        f"{patch} in {', '.join(small)}, and StarDist stops on such an image; make the box at least "
        "that large, or export without a patch size to get the largest that fits every crop."
    )


def write_case(root: Path, crop: Crop, ctx: ExportContext) -> CaseOutput:
    """Write ``images/{case}.tif`` and ``masks/{case}.tif``.

    Returns
    -------
    CaseOutput
        The two files, and a warning when the crop is smaller than the
        ``ctx.patch_size`` asked for.
    """
    name = ctx.instance_name()
    image = np.asarray(crop.image)
    if image.ndim not in (3, 4):
        raise ExportError(f"{crop.case}: the image must be 3D (z, y, x), or (c, z, y, x) with channels; got "
                          f"shape {image.shape}.")
    masks = stardist_masks(crop, name)
    if masks.shape != image.shape[-3:]:
        raise ExportError(f"{crop.case}: image {image.shape} and annotation {masks.shape} differ in shape.")
    unit = ctx.plan.image.unit
    files = (f"images/{crop.case}.tif", f"masks/{crop.case}.tif")
    for rel, data in zip(files, (image, masks)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if data.ndim == 4:  # StarDist takes channels last: (z, y, x, c)
            write_tiff_channels(root / rel, np.moveaxis(data, 0, -1), "ZYXC", crop.voxel_size, unit)
        else:
            write_tiff_spaced(root / rel, data, crop.voxel_size, unit)
    warning = patch_size_warning(crop, ctx)
    return CaseOutput(files=tuple(sorted(files)), warnings=(warning,) if warning else ())


def _image_shape(path: Path) -> tuple[int, int, int]:
    return _image_info(path)[0]


def _image_info(path: Path) -> tuple[tuple[int, int, int], tuple[float, ...] | None]:
    """A case image's shape ``(z, y, x)`` and the voxel size its TIFF records (``None`` if none)."""
    import tifffile

    from ..io.volume_meta import tiff_voxel_size

    if not path.is_file():
        raise ExportError(
            f"the image {path} of a case in this export is missing; export again with overwrite to "
            "rebuild the StarDist folder."
        )
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        shape = tuple(int(v) for v, a in zip(series.shape, series.axes) if a != "C" or len(series.shape) < 4)
        voxel, _ = tiff_voxel_size(tif)
    return ((1, *shape) if len(shape) == 2 else shape), voxel  # type: ignore[return-value]


def case_anisotropy(voxels: Sequence[Sequence[float]]) -> tuple[float, float, float]:
    """The anisotropy of crops of several voxel sizes: per axis, the median of each crop's.

    StarDist measures anisotropy over every training label together, so crops
    of several images (each with its voxel size) give the median.

    Examples
    --------
    >>> case_anisotropy([(2.0, 0.5, 0.5), (2.0, 0.5, 0.5), (1.0, 1.0, 1.0)])
    (4.0, 1.0, 1.0)
    >>> case_anisotropy([(2.0, 0.5, 0.5), (1.0, 1.0, 1.0)])
    (2.5, 1.0, 1.0)
    """
    per = np.array([object_anisotropy(v) for v in voxels], float)
    return tuple(round(float(a), 3) for a in np.median(per, axis=0))  # type: ignore[return-value]


def training_config(root: Path, cases: Sequence[CaseRef], ctx: ExportContext) -> tuple[dict, list[str], list[str]]:
    """The Config3D settings for the cases of a StarDist folder, and what to tell about them.

    Returns
    -------
    config : dict
        ``axes``, ``grid``, ``anisotropy``, ``backbone``, ``unet_n_depth``,
        ``unet_pool`` and ``train_patch_size`` (``None`` when no crop fits
        one).
    warnings, notes : list of str
    """
    root = Path(root)
    info = {c.case: _image_info(root / "images" / f"{c.case}.tif") for c in cases}
    shapes = {case: shape for case, (shape, _) in info.items()}
    training = [c.case for c in cases if c.split in ("train", "val")] or [c.case for c in cases]
    voxel = voxel_size_at(ctx.plan.image.voxel_size, ctx.plan.magnification)
    sizes = [tuple(float(f"{v:.4g}") for v in (info[c][1] or voxel)) for c in training]
    voxels = set(sizes)  # told apart at 4 digits (a TIFF's resolution is a fraction)
    anisotropy = object_anisotropy(voxel) if len(voxels) <= 1 else case_anisotropy(sizes)
    if len(voxels) > 1:
        voxel = "several sizes"  # type: ignore[assignment]
    grid = stardist_grid(anisotropy)
    divisor = patch_divisor(grid)
    warnings: list[str] = []
    notes: list[str] = []
    pooling = (f"divisible by {divisor} (unet_pool {UNET_POOL[0]}, unet_n_depth {UNET_N_DEPTH}, "
               f"grid {grid})")
    if ctx.patch_size is None:
        small = [c for c in training if any(s < d for s, d in zip(shapes[c], divisor))]
        usable = [shapes[c] for c in training if c not in small]
        patch = auto_patch_size(usable, divisor)
        if small:
            warnings.append(
                f"{', '.join(small)}: smaller than StarDist's smallest training patch {divisor} in some "
                "axis, and StarDist stops on an image smaller than its patch; make these boxes larger, "
                "or leave their images and masks out of StarDist's training."
            )
        if patch is not None:
            smallest = tuple(min(s[i] for s in usable) for i in range(3))
            notes.append(
                f"train_patch_size {patch}: the largest that fits every train/val crop (smallest "
                f"{smallest}), at most StarDist's default {MAX_PATCH[0]}, and {pooling}; Config3D "
                f"settings in {CONFIG_NAME}."
            )
    else:
        patch = tuple(int(p) for p in ctx.patch_size)
        if any(p % d for p, d in zip(patch, divisor)):
            near = tuple(max(d, p // d * d) for p, d in zip(patch, divisor))
            warnings.append(
                f"train_patch_size {patch} is not {pooling}, which StarDist's U-Net needs for voxels of "
                f"{voxel}; use {near}, or export without a patch size to get the largest that fits."
            )
        notes.append(f"train_patch_size {patch} (as asked); Config3D settings in {CONFIG_NAME}.")
    channels = ctx.plan.image.channels
    if len(voxels) > 1:
        notes.append(f"anisotropy {anisotropy}: the median over the train/val crops, whose images have "
                     f"{len(voxels)} voxel sizes; grid {grid} follows from it.")
    config = {
        "axes": "ZYX" if channels == 1 else "ZYXC",
        **({"n_channel_in": channels} if channels > 1 else {}),
        "grid": list(grid),
        "anisotropy": list(anisotropy),
        "backbone": "unet",
        "unet_n_depth": UNET_N_DEPTH,
        "unet_pool": list(UNET_POOL),
        "train_patch_size": None if patch is None else list(patch),
    }
    return config, warnings, notes


def finish(root: Path, cases: Sequence[CaseRef], ctx: ExportContext) -> CaseOutput:
    """Write ``stardist_config.json`` (the Config3D settings for every case of the folder).

    The manifest records the splits.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine.plan.plan import ImageRef, Plan
    >>> ctx = ExportContext(Plan(ImageRef((64, 256, 256), voxel_size=(2.0, 0.5, 0.5))))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Path(tmp, "images").mkdir()
    ...     for i, shape in enumerate([(64, 64, 64), (50, 100, 70)], start=1):
    ...         _ = write_tiff_spaced(Path(tmp, "images", f"box_{i:04d}.tif"), np.zeros(shape, np.uint8),
    ...                               (2.0, 0.5, 0.5))
    ...     done = finish(Path(tmp), [CaseRef("box_0001", "train"), CaseRef("box_0002", "val")], ctx)
    ...     config = json.loads(Path(tmp, CONFIG_NAME).read_text())
    >>> config["train_patch_size"], config["grid"], config["anisotropy"]
    ([48, 64, 64], [1, 2, 2], [4.0, 1.0, 1.0])
    >>> done.files, done.warnings
    (('stardist_config.json',), ())
    """
    config, warnings, notes = training_config(root, cases, ctx)
    if config["train_patch_size"] is None:
        return CaseOutput(files=(), warnings=tuple(warnings), notes=tuple(notes))
    text = json.dumps(config, indent=2) + "\n"
    (Path(root) / CONFIG_NAME).write_text(text, encoding="utf-8")
    return CaseOutput(files=(CONFIG_NAME,), warnings=tuple(warnings), notes=tuple(notes))


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
