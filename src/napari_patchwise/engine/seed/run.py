"""Seeding boxes: weak labels (thresholding, imports, Cellpose) written into a project.

Every writer here works box by box at the plan's magnification and follows the
same rules:

* voxels a person edited (the ``edits`` layer) are kept unless
  ``overwrite_edits=True``; every other voxel of the box is replaced, so
  seeding a box again replaces its previous seeds;
* new instance ids continue after the largest id already in the class layer,
  so ids stay unique across boxes;
* background is cropped under every class afterwards, and the ``weak`` layer
  records the seeds' foreground (to warn when background later covers it);
* the box's status becomes ``seeded`` (``in_progress`` and ``done`` are kept).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ..plan.annotation import EDITS, WEAK, crop_background, next_free_id
from ..geometry.box import Box
from ..geometry.magnification import voxel_size_at
from ..plan.plan import Plan
from ..plan.annotation_store import annotation_layers, hidden_layer
from ..plan.box_arrays import box_region, choose_boxes, image_at_mag
from .report import SeedReport
from .thresholding import prepare_seeding, seed_group, usable_boxes
from .weaklabels import SeedParams

Progress = Callable[[int, int], None]


def write_box_labels(
    group, plan: Plan, box: Box, class_name: str, labels: np.ndarray,
    background: np.ndarray | None = None, foreground: np.ndarray | None = None,
    *, overwrite_edits: bool = False, first_id: int | None = None, relabel: bool = True,
) -> dict:
    """Write labels (and optional background) into one box of a project.

    Parameters
    ----------
    group : zarr.Group
        The project's ``annotations.zarr`` (open for writing).
    labels : ndarray
        Ids ``1..N`` (``0`` = nothing) for the box at the magnification;
        semantic classes store ``labels > 0`` as ``1``.
    background : ndarray of bool, optional
        Voxels to paint as background (``None`` leaves background as is).
    foreground : ndarray of bool, optional
        The weak-label foreground to record (default ``labels > 0``).
    first_id : int, optional
        Id given to label ``1`` (default: after the layer's largest id).
    relabel : bool
        Instance classes: renumber the ids from ``first_id`` (default);
        False writes them as they are (ids shared with other boxes).

    Returns
    -------
    dict
        ``objects``, ``foreground``, ``background``, ``kept``, ``next_id``.
    """
    layers = annotation_layers(group, plan)
    kind = {c.name: c.kind for c in plan.classes}.get(class_name)
    if kind is None:
        raise ValueError(
            f"the plan has no class {class_name!r} (its classes are "
            f"{[c.name for c in plan.classes]}); add it in the plan first."
        )
    sl = box_region(plan, box)
    want = tuple(s.stop - s.start for s in sl)
    labels = np.asarray(labels)
    if labels.shape != want:
        raise ValueError(f"labels for box {box.id} have shape {labels.shape}; the box is {want} at the magnification.")
    edits = hidden_layer(group, EDITS)
    free = np.ones(want, bool) if overwrite_edits else np.asarray(edits[sl]) == 0
    target = layers[class_name]
    old = np.asarray(target[sl])
    mine = labels > 0
    if kind == "instance" and not relabel:
        new_ids = labels.astype(target.dtype)
        n_objects = int(np.count_nonzero(np.unique(labels)))
        start = int(labels.max(initial=0)) + 1 - n_objects  # so that next_id follows the largest id
    elif kind == "instance":
        ids, inverse = np.unique(labels[mine], return_inverse=True)
        start = next_free_id(target) if first_id is None else int(first_id)
        new_ids = np.zeros(want, target.dtype)
        new_ids[mine] = (inverse + start).astype(target.dtype)
        n_objects = int(ids.size)
    else:
        new_ids = mine.astype(target.dtype)
        start, n_objects = 1, int(mine.any())
    target[sl] = np.where(free, new_ids, old)
    written_bg = 0
    if background is not None:
        bg_old = np.asarray(layers["background"][sl])
        bg_new = np.where(free, np.asarray(background, bool).astype(bg_old.dtype), bg_old)
        layers["background"][sl] = bg_new
        written_bg = int(np.count_nonzero(bg_new & free))
    weak = mine if foreground is None else np.asarray(foreground, bool)
    hidden_layer(group, WEAK)[sl] = weak.astype(np.uint8)
    if overwrite_edits:
        edits[sl] = 0
    classes = [layers[c.name] for c in plan.classes]
    crop_background(layers["background"], classes, sl)
    return {
        "objects": n_objects,
        "foreground": int(np.count_nonzero(mine & free)),
        "background": written_bg,
        "kept": int(np.count_nonzero(~free)),
        "next_id": start + n_objects,
    }


def _seeded(plan: Plan, box: Box) -> Plan:
    if box.status in ("todo", "seeded"):
        return plan.update_box(box.id, status="seeded")
    return plan


def seed_boxes(
    plan: Plan, group, image, *, class_name: str | None = None, box_ids: Sequence[int] | None = None,
    params: SeedParams = SeedParams(), per_box_threshold: bool = False,
    overwrite_edits: bool = False, progress: Progress | None = None,
) -> tuple[Plan, SeedReport]:
    """Threshold-based weak labels in the chosen boxes, written into the project.

    Parameters
    ----------
    plan : Plan
    group : zarr.Group
        The project's annotations (open for writing).
    image : array
        The full-resolution image (numpy, zarr or dask; only boxes are read).
    class_name : str, optional
        Class to seed (default: the plan's first class).
    box_ids : sequence of int, optional
        Boxes to seed (default: all).
    params : SeedParams
        Lengths left unset are derived from the object diameter, measured
        over all chosen boxes when not given.
    per_box_threshold : bool
        Compute the threshold in each box (each group of overlapping boxes)
        instead of once over all chosen boxes (one threshold is safer: a box
        with few objects gets no threshold of its own that splits noise).
    overwrite_edits : bool
        Also replace voxels a person edited.
    progress : callable, optional
        Called with ``(done, total)`` after each box.

    Returns
    -------
    plan : Plan
        With seeded boxes' status ``seeded``.
    report : SeedReport

    Notes
    -----
    What is written is computed by
    :mod:`~napari_patchwise.engine.seed.thresholding` (the same code as the
    preview): boxes that overlap (or touch, while compact) are seeded together as one region,
    so their seeds never touch and an object crossing them keeps one id.
    """
    if tuple(image.shape) != plan.image.shape:
        raise ValueError(
            f"the image has shape {tuple(image.shape)}; the plan was made for {plan.image.shape}. "
            "Seed with the image the plan refers to."
        )
    class_name, kind = _class_kind(plan, class_name)
    boxes = choose_boxes(plan, box_ids)
    report = SeedReport(class_name, params.method)
    usable, report.skipped = usable_boxes(plan, boxes)
    reads = bool(usable) and ((not per_box_threshold and params.method != "local") or not params.resolved)
    total = len(boxes) + (len(usable) if reads else 0)
    setup = prepare_seeding(plan, image, usable, params, instance=kind == "instance",
                            per_box_threshold=per_box_threshold, progress=progress, total=total)
    report.threshold, report.params, report.estimate = setup.threshold, setup.params, setup.estimate
    report.groups = [[b.id for b in g] for g in setup.groups]
    done = len(usable) if reads else 0
    next_id = next_free_id(annotation_layers(group, plan)[class_name]) if kind == "instance" else 1
    report.distinct = 0
    for g in setup.groups:
        seeds = seed_group(plan, image, setup, g)
        if report.threshold is None and len(setup.groups) == 1 and params.method != "local":
            report.threshold = seeds.threshold
        labels = seeds.labels
        if kind == "instance":  # one id per object of the group, after the layer's largest id
            ids, inverse = np.unique(labels, return_inverse=True)
            shift = next_id - 1 if ids[0] == 0 else next_id
            labels = np.where(labels > 0, inverse.reshape(labels.shape) + shift, 0).astype(np.uint32)
            next_id += int(np.count_nonzero(ids))
        seeds = replace(seeds, labels=labels)
        written: set[int] = set()
        for b in g:
            part = seeds.crop(plan, b)
            # no foreground: the threshold says nothing about this box (a dim region under a
            # threshold shared with brighter boxes looks like "all background"); paint nothing
            background = part.background if part.n_objects else None
            stats = write_box_labels(group, plan, b, class_name, part.labels, background, part.foreground,
                                     overwrite_edits=overwrite_edits, relabel=False)
            stats.pop("next_id")
            report.boxes[b.id] = stats
            if part.n_objects:
                written.update(np.unique(part.labels[part.labels > 0]).tolist())
                plan = _seeded(plan, b)
            else:
                report.empty.append(b.id)
            done += 1
            if progress:
                progress(done, total)
        report.distinct += len(written)
    for b in boxes:
        if b.id in report.skipped and progress:
            done += 1
            progress(done, total)
    report.empty.sort()
    return plan, report


def _class_kind(plan: Plan, class_name: str | None) -> tuple[str, str]:
    class_name = class_name or plan.classes[0].name
    kind = {c.name: c.kind for c in plan.classes}.get(class_name)
    if kind is None:
        raise ValueError(
            f"the plan has no class {class_name!r}; its classes are {[c.name for c in plan.classes]}."
        )
    return class_name, kind


def _write_blocks(plan, group, boxes, get_block, class_name, kind, report, *, overwrite_edits,
                  separate_touching, progress):
    from ..qc.separation import separate

    first_id = None
    for i, b in enumerate(boxes):
        why = usable_boxes(plan, [b])[1].get(b.id)
        if why:
            report.skipped[b.id] = why
        else:
            sl = box_region(plan, b)
            block, bg = get_block(b, sl)
            block = np.array(block)
            weak = block != 0
            bg = None if bg is None else np.array(bg, bool)
            if kind == "instance" and separate_touching:
                sep = separate(block)
                if sep.n_voxels:
                    v = tuple(sep.voxels.T)
                    block[v] = 0
                    if bg is None:
                        bg = np.zeros(block.shape, bool)
                    bg[v] = True
            if bg is not None:
                bg &= block == 0
            stats = write_box_labels(
                group, plan, b, class_name, block, bg, weak,
                overwrite_edits=overwrite_edits, first_id=first_id,
            )
            first_id = stats.pop("next_id") if kind == "instance" else None
            report.boxes[b.id] = stats
            plan = _seeded(plan, b)
        if progress:
            progress(i + 1, len(boxes))
    return plan


def import_into_boxes(
    plan: Plan, group, labels, *, class_name: str | None = None, box_ids: Sequence[int] | None = None,
    background=None, overwrite_edits: bool = False, separate_touching: bool = True,
    method: str = "import", progress: Progress | None = None,
) -> tuple[Plan, SeedReport]:
    """Write an imported label volume (at the annotation grid) into the chosen boxes.

    Parameters
    ----------
    labels : array
        Ids at the plan's annotation shape (see
        :func:`~napari_patchwise.engine.seed.label_grid.labels_to_annotation`).
    background : array of bool, optional
        Confident background at the annotation shape.
    separate_touching : bool
        Carve a one-voxel background gap between imported instances that
        touch (Cellpose masks usually do), so the seeds follow the rules.
    """
    shape = plan.annotation_shape
    if tuple(labels.shape) != shape:
        raise ValueError(
            f"imported labels have shape {tuple(labels.shape)}; the annotation layers are {shape}. "
            "Bring them to the annotation grid with labels_to_annotation()."
        )
    if background is not None and tuple(background.shape) != shape:
        raise ValueError(f"imported background has shape {tuple(background.shape)}; expected {shape}.")
    class_name, kind = _class_kind(plan, class_name)
    boxes = choose_boxes(plan, box_ids)
    _check_import_labels(plan, labels, boxes)  # before anything is written
    report = SeedReport(class_name, method)

    def get_block(box, sl):
        return np.asarray(labels[sl]), None if background is None else np.asarray(background[sl])

    plan = _write_blocks(plan, group, boxes, get_block, class_name, kind, report,
                         overwrite_edits=overwrite_edits, separate_touching=separate_touching,
                         progress=progress)
    return plan, report


def _check_import_labels(plan: Plan, labels, boxes) -> None:
    """Refuse imported labels that are not ids ``>= 0`` in the chosen boxes.

    A negative id would be renumbered like any other and written over the
    box (a ``-1`` border once took the place of box 1's seeds).
    """
    kind = np.dtype(labels.dtype).kind
    if kind not in "iub":
        raise ValueError(
            f"imported labels hold {labels.dtype} values; label ids are whole numbers >= 0 "
            "(read label files with read_label_image)."
        )
    if kind != "i":
        return
    for b in boxes:
        block = np.asarray(labels[box_region(plan, b)])
        if block.size and block.min() < 0:
            raise ValueError(
                f"imported labels hold negative values in box {b.id} (down to {int(block.min())}); "
                "label ids must be >= 0 (0 = nothing). Nothing was written; map negative values "
                "(e.g. -1 for ignore) to 0 first."
            )


def cellpose_into_boxes(
    plan: Plan, group, image, model=None, *, class_name: str | None = None,
    box_ids: Sequence[int] | None = None, diameter: float | None = None,
    overwrite_edits: bool = False, separate_touching: bool = True,
    progress: Progress | None = None, object_diameter: float | None = None, **eval_kwargs,
) -> tuple[Plan, SeedReport]:
    """Run Cellpose (3D, anisotropy from the voxel size) in each chosen box and write its masks.

    ``model`` is a Cellpose model (or anything with its ``eval`` signature);
    ``None`` loads the default Cellpose model (the optional ``cellpose``
    extra, which downloads its weights on first use). ``diameter`` is
    Cellpose's, in pixels at the magnification; ``object_diameter`` gives it
    in physical units instead (divided by the x voxel size at the magnification).
    """
    from .imports import cellpose_anisotropy, cellpose_model, run_cellpose

    if tuple(image.shape) != plan.image.shape:
        raise ValueError(
            f"the image has shape {tuple(image.shape)}; the plan was made for {plan.image.shape}."
        )
    class_name, kind = _class_kind(plan, class_name)
    boxes = choose_boxes(plan, box_ids)
    model = cellpose_model() if model is None else model
    spacing = voxel_size_at(plan.image.voxel_size, plan.magnification)
    anisotropy = cellpose_anisotropy(spacing)
    if object_diameter:
        diameter = float(object_diameter) / spacing[2]
    report = SeedReport(class_name, "cellpose")

    def get_block(box, sl):
        region = image_at_mag(image, box, plan.magnification)
        masks = run_cellpose(region, model, diameter=diameter, anisotropy=anisotropy, do_3D=True, **eval_kwargs)
        return masks, None

    plan = _write_blocks(plan, group, boxes, get_block, class_name, kind, report,
                         overwrite_edits=overwrite_edits, separate_touching=separate_touching,
                         progress=progress)
    return plan, report
