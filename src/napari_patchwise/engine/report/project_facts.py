"""What a report says about the project itself: its images, boxes, annotated voxels, findings, advice.

:func:`project_summary` counts, per image, the boxes (by status) and the voxels
annotated inside them; the consistency findings across images come from
:func:`..jobs.check.check_consistency`. :func:`advice_for` runs the advisor on
the project's first image, its annotations as labels when it has some.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..plan.annotation import compose
from ..plan.box_arrays import compose_box
from ..plan.annotation_store import annotation_layers, open_annotations

#: How the advisor's note on the boxes an image holds begins (:func:`..advise.run_advise`).
ROOM_REASON = "this image holds only"

__all__ = ["advice_for", "annotated_voxels", "labels_of", "project_summary", "round_records"]


def annotated_voxels(layers, class_names, region) -> int:
    """Voxels of ``region`` annotated as background or a class (ignore and unannotated do not count).

    Examples
    --------
    >>> a = np.array([[[1, 0, 0, 2]]]); bg = np.array([[[0, 1, 0, 0]]]); ig = np.array([[[0, 0, 0, 1]]])
    >>> annotated_voxels({"a": a, "background": bg, "ignore": ig}, ["a"], None)
    2
    """
    comp = compose(layers, class_names, region)
    counts = comp.counts()
    return int(sum(v for k, v in counts.items() if k not in ("unannotated", "ignore")))


def project_summary(folder, collection, *, consistency: bool = True) -> dict:
    """Images, their boxes by status and annotated voxels, and the consistency findings.

    Returns
    -------
    dict
        ``{"images": [{"name", "domain", "boxes", "by_status", "annotated"}], "findings": int,
        "finding_codes": [str]}``.
    """
    images = []
    for name in collection.names:
        entry = collection.image(name)
        plan = entry.plan
        names = [c.name for c in plan.classes]
        annotated = 0
        if plan.boxes:
            layers = annotation_layers(open_annotations(folder, plan, mode="r", image=name), plan)
            annotated = sum(annotated_voxels(layers, names, b.slices(plan.magnification)) for b in plan.boxes)
        images.append({"name": name, "domain": entry.domain, "boxes": len(plan.boxes),
                       "by_status": dict(sorted(Counter(b.status for b in plan.boxes).items())),
                       "annotated": int(annotated)})
    findings = ()
    if consistency and len(images) > 1:
        from ..jobs.check import check_consistency

        findings = check_consistency(folder, collection)
    return {"images": images, "findings": len(findings),
            "finding_codes": sorted({f.finding.code for f in findings})}


def labels_of(comp, plan) -> np.ndarray:
    """One label volume of a composed box: instance ids (made unique per class), else class values."""
    out = np.zeros(comp.classmap.shape, np.int64)
    offset = 0
    for k, spec in enumerate(plan.classes, 1):
        ids = comp.instances.get(spec.name)
        if spec.kind == "instance" and ids is not None and ids.any():
            out[ids > 0] = ids[ids > 0].astype(np.int64) + offset
            offset += int(ids.max())
        else:
            offset += 1
            out[comp.classmap == k] = offset
    return out


def advice_for(folder, collection) -> dict | None:
    """The advisor's answer on the first image: on its most annotated box with the annotations as
    labels when a box is annotated, else on the image alone. ``None`` when the image cannot be read.

    The answer is ``Advice.to_dict()`` with ``"on"`` saying what was measured;
    measured on a box, the advisor's note on how many boxes the (cropped)
    image holds is left out.
    """
    from ..advise import AdviseRequest, run_advise
    from ..jobs.seed import project_image

    name = collection.names[0]
    plan = collection.plan(name)
    try:
        image = project_image(folder, plan)
    except (ValueError, OSError, KeyError):
        return None
    vs = tuple(plan.image.voxel_size)
    unit = plan.image.unit
    best, most = None, 0
    if plan.boxes:
        layers = annotation_layers(open_annotations(folder, plan, mode="r", image=name), plan)
        names = [c.name for c in plan.classes]
        for box in plan.boxes:
            n = annotated_voxels(layers, names, box.slices(plan.magnification))
            if n > most:
                best, most = box, n
    if best is None:
        advice = run_advise(AdviseRequest(image, vs, unit))
        return {**advice.to_dict(), "on": f"image {name} (no annotation: objects found by thresholding)"}
    comp = compose_box(plan, layers, best, best.slices(plan.magnification))
    labels = labels_of(comp, plan)
    mag = tuple(plan.magnification)
    if mag != (1, 1, 1):
        for axis, m in enumerate(mag):
            labels = np.repeat(labels, m, axis=axis)
    region = tuple(slice(lo, hi) for lo, hi in zip(best.lo, best.hi))
    crop = np.asarray(image[region])
    labels = labels[tuple(slice(0, s) for s in crop.shape)]
    answer = run_advise(AdviseRequest(crop, vs, unit, labels=labels)).to_dict()
    # how many boxes the crop holds says nothing of the image
    answer["reasons"] = [r for r in answer["reasons"] if not r.startswith(ROOM_REASON)]
    return {**answer,
            "on": f"box {best.id} of image {name} ({'×'.join(map(str, crop.shape))} voxels), its annotations "
                  "as labels"}


def round_records(folder) -> int:
    """How many round records (``rounds/loop_NNN.json``) the project holds."""
    rounds = Path(folder) / "rounds"
    return len(list(rounds.glob("loop_*.json"))) if rounds.is_dir() else 0
