"""Evaluating one box: the annotations and the prediction of its region compared.

Which voxels count
    Only *annotated* voxels that are not *ignored*: voxels painted as a class
    or as background, minus the ``ignore`` layer (see
    :mod:`..plan.annotation`). Unannotated and ignored voxels are left out of
    every metric, whatever the prediction says there.

Objects partly ignored or cut by the box
    Instance matching sees each object only through the counted voxels of
    the box: a predicted object is restricted to them (one lying wholly in
    ignored or unannotated voxels, or outside the box, does not exist for
    the metrics; one partly there is matched by its remaining voxels), and
    so is a ground-truth object (its ignored voxels were never part of it).
    IoUs are therefore computed on the counted voxels only. An object cut by
    the box edge is the part inside; an object cut by two boxes is counted in
    each. The VI of several boxes pools their voxels (an object crossing two
    boxes is one object there).

Predictions of one class (instance ids, a probability map) are compared with
that class alone; semantic predictions with every class. Instance classes are
matched with instance ids when the prediction holds them, else with the
face-connected components of the class's predicted voxels (computed over the
box before the masking above, so an ignore stripe does not cut an object).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..plan.annotation import Composition
from .instances import instance_counts
from .semantic import class_counts
from .tally import Tally
from .voi import contingency

__all__ = ["evaluate_region"]


def _components(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.label(mask)[0].astype(np.int64)


def evaluate_region(comp: Composition, pred: np.ndarray, kind: str, classes: Sequence[tuple[str, str]],
                    target: str | None, thresholds: Sequence[float], image: str = "") -> Tally:
    """Compare the composed annotation of a region with the prediction's values there.

    Parameters
    ----------
    comp : Composition
        The annotation of the region (:func:`..plan.annotation.compose`).
    pred : ndarray of int
        The prediction there (:meth:`.prediction.Prediction.read`): ids, class
        values or 0/1 foreground.
    kind : {'instances', 'semantic', 'probability'}
    classes : sequence of (name, kind)
        The plan's classes in order (their values ``1..K``).
    target : str or None
        The class a one-class prediction (instances, probability) is of.
    thresholds : sequence of float
        IoU thresholds of instance matching.
    image : str
        The image's name (keys the VI table, so ids of images stay apart).

    Examples
    --------
    >>> from napari_patchwise.engine.plan.annotation import compose
    >>> cells = np.array([[[1, 1, 0, 2, 2, 0]]], np.uint32)
    >>> bg = np.array([[[0, 0, 1, 0, 0, 0]]], np.uint8)        # the last voxel is unannotated
    >>> comp = compose({"cells": cells, "background": bg}, ["cells"])
    >>> pred = np.array([[[3, 3, 0, 3, 3, 4]]])               # one object over both cells
    >>> s = evaluate_region(comp, pred, "instances", [("cells", "instance")], "cells", (0.5,)).scores()
    >>> s["dice"], s["merges"], s["vi_merge"], s["voxels"]
    (1.0, 1, 1.0, 5)
    >>> s["matching"][0]["tp"], s["matching"][0]["fn"]   # IoU 2/4 = 0.5 with one of them
    (1, 1)
    """
    names = [n for n, _ in classes]
    kinds = dict(classes)
    K = len(names)
    cmap = comp.classmap
    valid = (cmap >= 0) & (cmap <= K)
    pred = np.asarray(pred)
    if pred.shape != cmap.shape:
        raise ValueError(f"the prediction's region has shape {pred.shape}, the annotation's {cmap.shape}.")
    if kind == "semantic":
        if pred.size and pred.max() > K:
            raise ValueError(f"the semantic prediction holds the value {int(pred.max())} but the plan has "
                             f"{K} classes ({', '.join(names)}: values 1..{K}, 0 background); give "
                             "--kind instances for object ids.")
        evaluated = names
        pred_map = pred
    else:
        if target not in kinds:
            raise ValueError(f"no class {target!r} in the plan; its classes are {', '.join(names)}.")
        evaluated = [target]
        pred_map = np.where(pred > 0, names.index(target) + 1, 0)
    counts = class_counts(pred_map, cmap, [names.index(n) + 1 for n in evaluated], valid)
    per_class = {n: counts[names.index(n) + 1] for n in evaluated}
    inst = None
    table: dict = {}
    for name in evaluated:
        if kinds[name] != "instance":
            continue
        if kind == "instances":
            ids = pred
        else:
            ids = _components(pred_map == names.index(name) + 1)
        ids = np.where(valid, ids, 0)
        gt = np.asarray(comp.instances[name]).astype(np.int64)
        c = instance_counts(ids, gt, thresholds)
        inst = c if inst is None else inst + c
        for (p, g), n in contingency(ids, gt, valid).items():
            table[(image, name, p, g)] = n
    return Tally(tuple(thresholds), per_class, inst, table, int(np.count_nonzero(valid)))
