"""Pictures of the worst boxes: the middle z plane of each, raw image with annotation and prediction outlines.

For each box, :func:`box_planes` reads one plane on the annotation grid: the
raw image (every ``magnification``-th voxel of the full-resolution plane in
the middle of the box), the composed annotation and the prediction; the
figure itself is drawn by :func:`.figures.thumbnail`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..evaluate.prediction import open_prediction
from ..plan.box_arrays import compose_box
from ..plan.annotation_store import annotation_layers, open_annotations
from .content import Thumbnail, headline
from .figures import thumbnail
from .project_facts import labels_of

__all__ = ["box_planes", "worst_thumbnails"]


def box_planes(raw, layers, plan, box, prediction) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The middle z plane of ``box`` on the annotation grid.

    Returns
    -------
    z : int
        The plane (annotation grid).
    raw, annotation, prediction : ndarray, shape (y, x)
    not_evaluated : ndarray of bool
        Unannotated or ignored voxels.
    """
    mag = tuple(plan.magnification)
    region = box.slices(mag)
    z = (region[0].start + region[0].stop - 1) // 2
    plane = (slice(z, z + 1), region[1], region[2])
    comp = compose_box(plan, layers, box, plane)
    annotation = labels_of(comp, plan)[0]
    pred = np.asarray(prediction.read(plane))[0]
    zf = min(z * mag[0] + mag[0] // 2, plan.image.shape[0] - 1)
    ys = slice(region[1].start * mag[1], region[1].stop * mag[1])
    xs = slice(region[2].start * mag[2], region[2].stop * mag[2])
    img = np.asarray(raw[zf, ys, xs])[:: mag[1], :: mag[2]]
    h, w = annotation.shape
    img = img[:h, :w]
    not_evaluated = (comp.classmap[0] < 0) | (comp.classmap[0] == comp.ignore_value)
    return z, img, annotation, pred, not_evaluated


def worst_thumbnails(folder, collection, result, rows: Sequence[dict], n: int,
                     threshold: float = 0.5) -> tuple[tuple[Thumbnail, ...], list[str]]:
    """Thumbnails of the first ``n`` of ``rows`` (sorted worst-first) that have a score.

    Parameters
    ----------
    folder : path
    collection : Collection
    result : EvaluateResult
        Gives each image's prediction file and kind.
    rows : sequence of dict
        Box rows, worst first.
    n : int
    threshold : float
        Of a probability map.

    Returns
    -------
    thumbnails : tuple of Thumbnail
    notes : list of str
        Images whose raw data could not be read (their boxes have no picture).
    """
    from ..jobs.seed import project_image

    chosen = [r for r in rows if r.get(headline(r)) is not None][: max(n, 0)]
    opened: dict = {}
    notes: list[str] = []
    out = []
    for r in chosen:
        name = r["image"]
        if name not in opened:
            plan = collection.plan(name)
            try:
                raw = project_image(folder, plan)
            except (ValueError, OSError, KeyError) as e:
                notes.append(f"no picture of the boxes of image {name}: {e}")
                opened[name] = None
                continue
            layers = annotation_layers(open_annotations(folder, plan, mode="r", image=name), plan)
            pred = open_prediction(result.predictions[name], plan, result.kinds[name], threshold)
            opened[name] = (plan, raw, layers, pred)
        if opened[name] is None:
            continue
        plan, raw, layers, pred = opened[name]
        box = plan.box(r["id"])
        z, img, ann, prd, masked = box_planes(raw, layers, plan, box, pred)
        metric = headline(r)
        out.append(Thumbnail(name, box.id, metric, r[metric], z, thumbnail(img, ann, prd, masked)))
    return tuple(out), notes
