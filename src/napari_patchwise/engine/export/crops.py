"""From validated boxes to crops: which boxes, and their image and labels.

:func:`exportable` chooses the boxes an export writes; :func:`image_levels`
opens the project's image (every level of an OME-Zarr pyramid);
:func:`read_crop` reads one box at the training magnification, and
:func:`content_hash` fingerprints what was read, so that a box changed after
it was exported can be noticed.

Only the box is read from the image: from the coarsest pyramid level whose
downsampling factor divides the magnification when the image is an OME-Zarr
pyramid (block-averaging only the rest of the factor), from full resolution
otherwise. Pyramid levels are taken as they are stored, so a pyramid made by
another method than the block mean gives slightly different values.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..geometry.box import Box
from ..plan.box_arrays import compose_box
from ..geometry.magnification import Triple, voxel_size_at
from ..plan.plan import Plan
from ..qc.checks import has_annotation
from ..findings import Finding
from ..geometry.regions import clip_region, region_at_mag
from ..geometry.resample import downsample_mean
from .model import Crop, ExportError, case_name

#: Error findings no override can lift: the box itself has to be fixed.
GEOMETRIC_CODES = ("outside-image", "not-aligned")


def exportable(
    plan: Plan,
    findings: Iterable[Finding],
    overrides: Mapping[int, str] | None = None,
    counts: Mapping[int, Mapping[str, int]] | None = None,
    only_done: bool = False,
) -> tuple[list[Box], list[tuple[int, str]], dict[int, str]]:
    """Which boxes to export, which to skip and why, and which errors are overridden.

    Parameters
    ----------
    plan : Plan
    findings : iterable of Finding
        Every finding of the project (box rules and annotation checks).
    overrides : mapping of int to str, optional
        Boxes to export despite their error findings, each with the reason.
        Errors of the box's geometry (:data:`GEOMETRIC_CODES`) cannot be
        overridden.
    counts : mapping of int to dict, optional
        Voxels per meaning of each box (:meth:`Composition.counts`); a box
        with neither background nor a class voxel is skipped
        (:func:`~..qc.has_annotation`, the rule of the ``not-annotated``
        finding). Without it, boxes whose status is ``todo`` count as not
        annotated.
    only_done : bool
        Skip boxes a person has not marked ``done`` (e.g. seeded, never
        reviewed).

    Returns
    -------
    boxes : list of Box
        The boxes to export, by id.
    skipped : list of (int, str)
        Boxes not exported and why, by id.
    overridden : dict of int to str
        Exported boxes whose errors were overridden, with the reason.

    Raises
    ------
    ExportError
        If an override names no box of the plan or gives no reason.

    Examples
    --------
    >>> from napari_patchwise.engine import Box, ImageRef, Plan
    >>> plan = Plan(ImageRef((8, 8, 8)), boxes=(Box(1, (0, 0, 0), (4, 4, 4), status="done"),
    ...     Box(2, (4, 4, 4), (8, 8, 8), status="done"), Box(3, (0, 4, 0), (4, 8, 4))))
    >>> errors = [Finding("error", "touching", 2, "2 pairs touch")]
    >>> boxes, skipped, _ = exportable(plan, errors)
    >>> [b.id for b in boxes], [i for i, _ in skipped]
    ([1], [2, 3])
    >>> skipped[1][1]
    'nothing annotated'
    >>> boxes, _, overridden = exportable(plan, errors, {2: "pairs checked by hand"})
    >>> [b.id for b in boxes], overridden
    ([1, 2], {2: 'pairs checked by hand'})
    >>> plan = plan.update_box(1, status="seeded")
    >>> [b.id for b in exportable(plan, [], only_done=True)[0]]
    [2]
    """
    overrides = dict(overrides or {})
    known = {b.id for b in plan.boxes}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ExportError(
            f"an override names box {', '.join(map(str, unknown))}, which the plan does not have "
            f"(its boxes are {', '.join(map(str, sorted(known))) or 'none'}); check the box ids."
        )
    blank = sorted(i for i, why in overrides.items() if not isinstance(why, str) or not why.strip())
    if blank:
        raise ExportError(
            f"the override of box {', '.join(map(str, blank))} gives no reason; say why the "
            "errors may be ignored (it is recorded in the manifest)."
        )
    errors: dict[int, list[Finding]] = {}
    for f in findings:
        if f.severity == "error" and f.box_id is not None:
            errors.setdefault(f.box_id, []).append(f)
    boxes, skipped, overridden = [], [], {}
    for box in sorted(plan.boxes, key=lambda b: b.id):
        errs = errors.get(box.id, [])
        geometric = [f for f in errs if f.code in GEOMETRIC_CODES]
        if counts is not None:
            annotated = has_annotation(counts.get(box.id, {}))
        else:
            annotated = box.status != "todo"
        if geometric:
            why = "; ".join(f"{f.code}: {f.message}" for f in geometric)
            skipped.append((box.id, why + " (this cannot be overridden; fix the box)"))
        elif not annotated:
            skipped.append((box.id, "nothing annotated"))
        elif only_done and box.status != "done":
            skipped.append((box.id, f"not marked done (status {box.status}); review it and mark it done "
                                    "(QC dock), or export without only-done"))
        elif errs and box.id not in overrides:
            codes = ", ".join(sorted({f.code for f in errs}))
            why = (f"error findings ({codes}): {errs[0].message} Fix them, or export the box "
                   "anyway with an override and a reason.")
            skipped.append((box.id, why))
        else:
            if errs:
                overridden[box.id] = overrides[box.id].strip()
            boxes.append(box)
    return boxes, skipped, overridden


@dataclass(frozen=True, eq=False)
class ImageLevel:
    """One resolution of the project image.

    Attributes
    ----------
    data : array-like
        ``(z, y, x)`` array, or ``(c, z, y, x)`` for an image with channels
        (numpy, memmap, zarr or dask); only sliced.
    factor : tuple of int
        Downsampling factor relative to full resolution, ``(z, y, x)``.
    """

    data: object
    factor: Triple = (1, 1, 1)


def _integer_factor(ratio: float, tolerance: float) -> int | None:
    f = round(ratio)
    return f if f >= 1 and abs(ratio - f) <= tolerance * f else None


def _scale(dataset: Mapping) -> tuple[float, ...] | None:
    for t in dataset.get("coordinateTransformations", []) or []:
        if isinstance(t, Mapping) and t.get("type") == "scale":
            return tuple(float(s) for s in t["scale"][-3:])
    return None


def pyramid_factors(shapes: Sequence[Sequence[int]], scales: Sequence | None = None) -> list[Triple | None]:
    """The downsampling factor of every pyramid level relative to level 0.

    From the NGFF ``scale`` transforms when every level has one, else from the
    shapes; a level whose factor is not whole (or does not fit its shape) is
    ``None``.

    Examples
    --------
    >>> pyramid_factors([(8, 65, 64), (8, 33, 32), (4, 17, 16)])
    [(1, 1, 1), (1, 2, 2), (2, 4, 4)]
    >>> pyramid_factors([(8, 64, 64), (8, 32, 32)], [(2.0, 0.5, 0.5), (2.0, 1.0, 1.0)])
    [(1, 1, 1), (1, 2, 2)]
    >>> pyramid_factors([(8, 64, 64), (8, 43, 43)])
    [(1, 1, 1), None]
    """
    base = [int(s) for s in shapes[0]]
    out: list[Triple | None] = []
    for i, shape in enumerate(shapes):
        if scales is not None and all(s is not None for s in scales):
            ratios, tolerance = [a / b if b > 0 else 0.0 for a, b in zip(scales[i], scales[0])], 1e-3
        else:  # odd sizes round up or down: 65 -> 33
            ratios, tolerance = [b / max(int(s), 1) for b, s in zip(base, shape)], 0.25
        factor = [_integer_factor(r, tolerance) for r in ratios]
        fits = all(f is not None and int(s) in (-(-b // f), b // f) for f, s, b in zip(factor, shape, base))
        out.append(tuple(factor) if fits else None)  # type: ignore[arg-type]
    return out


def _zarr_levels(path: Path) -> list[ImageLevel] | None:
    import zarr

    from ..io.volumes import _squeeze_to_3d

    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Array):
        return None
    attrs = dict(node.attrs)
    ms = attrs.get("multiscales") or (attrs.get("ome") or {}).get("multiscales")
    if not ms or not ms[0].get("datasets"):
        return None
    datasets = ms[0]["datasets"]
    arrays = [_squeeze_to_3d(node[d["path"]], path) for d in datasets]
    factors = pyramid_factors([a.shape for a in arrays], [_scale(d) for d in datasets])
    return [ImageLevel(a, f) for a, f in zip(arrays, factors) if f is not None]


def image_levels(folder, plan: Plan) -> list[ImageLevel]:
    """Open the project's image without loading it: every usable pyramid level.

    Raises
    ------
    ExportError
        If the plan names no image, the file is missing or unreadable, or its
        shape is not the plan's.
    """
    from ..io.volumes import read_volume
    from ..plan.project import resolve_image_path

    path = resolve_image_path(folder, plan)
    if path is None:
        raise ExportError(
            "the plan records no image file, and export needs the image; set image.path in "
            f"{Path(folder) / 'plan.json'} to the image file (relative to the project folder or absolute)."
        )
    if not path.exists():
        raise ExportError(
            f"the project's image {path} is missing; put it back there, or set image.path in "
            f"{Path(folder) / 'plan.json'} to where it is now."
        )
    try:
        levels = None
        if (path.name.lower().endswith(".zarr") or path.is_dir()) and plan.image.file_axes is None:
            levels = _zarr_levels(path)
        if not levels:
            levels = [ImageLevel(read_volume(path, **plan.image.read_options()).data)]
    except (OSError, ValueError, KeyError) as e:
        raise ExportError(f"cannot read the project's image {path} ({e}); check the file.") from e
    shape = tuple(int(s) for s in levels[0].data.shape[-3:])
    if shape != tuple(plan.image.shape):
        raise ExportError(
            f"the image {path} has shape {shape}, but the plan was made for {tuple(plan.image.shape)}; "
            "point image.path at the image the boxes were drawn on."
        )
    return levels


def crop_image(levels: Sequence[ImageLevel], box: Box, mag: Sequence[int]) -> np.ndarray:
    """The image under ``box`` at magnification ``mag``: ``(z, y, x)``, or ``(c, z, y, x)`` with
    every channel of an image with channels.

    Reads only the box, from the coarsest level whose factor divides ``mag``,
    and block-averages the remaining factor. At magnification 1 the source
    dtype is kept; otherwise the result is float32.

    Examples
    --------
    >>> img = np.arange(64, dtype=np.uint16).reshape(4, 4, 4)
    >>> half = ImageLevel(img[:, ::2, ::2] * 0 + 7, (1, 2, 2))
    >>> crop_image([ImageLevel(img), half], Box(1, (0, 0, 0), (2, 4, 4)), (1, 4, 4)).tolist()
    [[[7.0]], [[7.0]]]
    >>> crop_image([ImageLevel(img)], Box(1, (0, 0, 0), (1, 2, 2)), (1, 1, 1)).dtype.name
    'uint16'
    >>> crop_image([ImageLevel(np.stack([img, img + 1]))], Box(1, (0, 0, 0), (2, 4, 4)), (1, 2, 2)).shape
    (2, 2, 2, 2)
    """
    mag = tuple(int(m) for m in mag)
    usable = [lv for lv in levels if all(m % f == 0 for m, f in zip(mag, lv.factor))]
    level = max(usable, key=lambda lv: (np.prod(lv.factor), lv.factor), default=None)
    if level is None:
        raise ExportError("no image level at full resolution; the image has no level 0.")
    rest = tuple(m // f for m, f in zip(mag, level.factor))
    shape = tuple(level.data.shape)
    lead = (slice(None),) * (len(shape) - 3)  # the channels of a (c, z, y, x) image, all kept
    region = clip_region(region_at_mag(box.lo, box.hi, level.factor), shape[-3:])
    block = np.asarray(level.data[lead + tuple(region)])
    if mag == (1, 1, 1):
        return np.array(block, copy=True)
    if rest == (1, 1, 1):
        return block.astype(np.float32)
    if block.ndim == 4:
        return np.stack([downsample_mean(channel, rest) for channel in block])
    return downsample_mean(block, rest)


def read_crop(
    plan: Plan,
    layers: Mapping[str, object],
    image_levels: Sequence[ImageLevel],
    box: Box,
    split: str = "train",
    findings: Iterable[Finding] = (),
    override: str | None = None,
) -> Crop:
    """Read one box: image and composed annotation at the training magnification.

    Parameters
    ----------
    plan : Plan
    layers : mapping of str to array
        Class layers, ``background`` and ``ignore`` (:func:`~..store.annotation_layers`).
    image_levels : sequence of ImageLevel
        The image (:func:`image_levels`, or ``[ImageLevel(array)]``).
    box : Box
    split : {'train', 'val', 'test'}
    findings : iterable of Finding
        Findings of the box that travel with it (warnings, overridden errors).
    override : str, optional
        Why the box's errors were overridden.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((2, 4, 4), voxel_size=(2.0, 0.5, 0.5)), magnification=(1, 2, 2))
    >>> layers = {"nuclei": np.ones((2, 2, 2), np.uint32), "background": np.zeros((2, 2, 2), np.uint8)}
    >>> image = np.arange(32, dtype=np.uint16).reshape(2, 4, 4)
    >>> crop = read_crop(plan, layers, [ImageLevel(image)], Box(3, (0, 0, 0), (2, 4, 2)))
    >>> crop.case, crop.image.shape, crop.composition.classmap.shape, crop.voxel_size
    ('box_0003', (2, 2, 1), (2, 2, 1), (2.0, 1.0, 1.0))
    """
    mag = plan.magnification
    image = crop_image(image_levels, box, mag)
    comp = compose_box(plan, layers, box)  # the preset's ignore border composes as ignore
    if image.shape[-3:] != comp.classmap.shape:
        raise ExportError(
            f"box {box.id}: the image part has shape {image.shape} but its annotation "
            f"{comp.classmap.shape}; the box reaches outside the image — fix the box."
        )
    return Crop(
        case=case_name(box),
        box=box,
        image=image,
        composition=comp,
        voxel_size=voxel_size_at(plan.image.voxel_size, mag),  # type: ignore[arg-type]
        split=split,
        findings=tuple(findings),
        override=override,
    )


def content_hash(crop: Crop) -> str:
    """A fingerprint of what a crop holds: image, class map and instance ids.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.annotation import compose
    >>> comp = compose({"a": np.ones((1, 1, 2), np.uint8)}, ["a"])
    >>> crop = Crop("box_0001", Box(1, (0, 0, 0), (1, 1, 2)), np.zeros((1, 1, 2)), comp, (1.0, 1.0, 1.0))
    >>> h = content_hash(crop)
    >>> h.startswith("sha256:"), h == content_hash(crop)
    (True, True)
    """
    h = hashlib.sha256()

    def add(tag: str, a: np.ndarray) -> None:
        a = np.ascontiguousarray(a)
        h.update(f"{tag}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())

    add("image", crop.image)
    add("classmap", crop.composition.classmap)
    for name in sorted(crop.composition.instances):
        add(f"instances:{name}", crop.composition.instances[name])
    return "sha256:" + h.hexdigest()
