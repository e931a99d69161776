"""Voxel overlap of classes: Dice and IoU per class, from counts that add up over boxes.

Only voxels marked *valid* are counted (in a project: annotated and not
ignored, see :mod:`.region`). A class's counts are its true positives
(predicted and annotated as the class), false positives (predicted as the
class, annotated as something else, background included) and false negatives
(annotated as the class, predicted as something else). Counts of several
boxes add up, so an overall Dice is the Dice of the pooled voxels, not a mean
of per-box values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["class_counts", "dice", "iou"]


def class_counts(pred, gt, classes: Sequence[int], valid=None) -> dict[int, tuple[int, int, int]]:
    """``{class value: (tp, fp, fn)}`` voxel counts of two class maps.

    Parameters
    ----------
    pred, gt : array-like of int, same shape
        Class values per voxel (``0`` background, ``1..K`` classes).
    classes : sequence of int
        The class values to count.
    valid : array-like of bool, optional
        Only these voxels count (default: every voxel).

    Examples
    --------
    >>> gt = np.array([0, 1, 1, 1, 2, 2])
    >>> pred = np.array([1, 1, 1, 0, 2, 1])
    >>> class_counts(pred, gt, [1, 2])
    {1: (2, 2, 1), 2: (1, 0, 1)}
    >>> class_counts(pred, gt, [1], valid=np.array([0, 1, 1, 1, 1, 0], bool))
    {1: (2, 0, 1)}
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"the prediction has shape {pred.shape} but the annotation {gt.shape}; "
                         "compare class maps of the same region.")
    if valid is not None:
        valid = np.asarray(valid, bool)
        pred, gt = pred[valid], gt[valid]
    out = {}
    for k in classes:
        p, g = pred == k, gt == k
        tp = int(np.count_nonzero(p & g))
        out[int(k)] = (tp, int(np.count_nonzero(p)) - tp, int(np.count_nonzero(g)) - tp)
    return out


def dice(tp: int, fp: int, fn: int) -> float | None:
    """``2 tp / (2 tp + fp + fn)``; ``None`` when the class is neither annotated nor predicted.

    Examples
    --------
    >>> dice(2, 2, 1), dice(0, 0, 0)
    (0.5714285714285714, None)
    """
    total = 2 * tp + fp + fn
    return 2 * tp / total if total else None


def iou(tp: int, fp: int, fn: int) -> float | None:
    """``tp / (tp + fp + fn)`` (the Jaccard index); ``None`` when there is nothing to compare.

    Examples
    --------
    >>> iou(2, 2, 1), iou(0, 3, 0)
    (0.4, 0.0)
    """
    total = tp + fp + fn
    return tp / total if total else None
