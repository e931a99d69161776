"""Instance scores of one region: matches at several IoU thresholds, splits and merges.

:func:`instance_counts` gives the counts that add up over boxes
(:class:`InstanceCounts`); precision, recall, F1 and StarDist's average
precision follow from the pooled counts (:func:`rates`).

Split and merge counts use a majority rule: a predicted object *lies in* a
ground-truth object when more than half of its voxels are in it (and the
other way round). A ground-truth object is **split** when two or more
predicted objects lie in it; a predicted object is a **merge** when two or
more ground-truth objects lie in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .metrics import match_table, overlap_table

__all__ = ["InstanceCounts", "check_thresholds", "instance_counts", "rates", "split_merge_counts"]


def check_thresholds(thresholds: Sequence[float]) -> tuple[float, ...]:
    """IoU thresholds as floats in (0, 1], in the order given, each once.

    Examples
    --------
    >>> check_thresholds([0.5, 0.75, 0.5])
    (0.5, 0.75)
    >>> check_thresholds([])
    Traceback (most recent call last):
    ...
    ValueError: give at least one IoU threshold in (0, 1], e.g. 0.5,0.75.
    """
    out = []
    for t in thresholds:
        try:
            t = float(t)
        except (TypeError, ValueError):
            raise ValueError(f"IoU thresholds are numbers in (0, 1], e.g. 0.5,0.75; got {t!r}.") from None
        if not 0 < t <= 1:
            raise ValueError(f"IoU thresholds lie in (0, 1] (a pair matches at IoU >= threshold); got {t}.")
        if t not in out:
            out.append(t)
    if not out:
        raise ValueError("give at least one IoU threshold in (0, 1], e.g. 0.5,0.75.")
    return tuple(out)


def split_merge_counts(pred, gt, table=None) -> tuple[int, int]:
    """``(splits, merges)``: ground-truth objects cut up, predicted objects spanning several.

    Examples
    --------
    >>> gt = np.array([[1, 1, 1, 1, 2, 2, 3, 3]])
    >>> pred = np.array([[4, 4, 5, 5, 6, 6, 6, 6]])
    >>> split_merge_counts(pred, gt)
    (1, 1)
    """
    p, g, inter, psize, gsize = overlap_table(pred, gt) if table is None else table
    if not len(p):
        return 0, 0
    ps = np.array([psize[i] for i in p.tolist()])
    gs = np.array([gsize[i] for i in g.tolist()])
    p_in = 2 * inter > ps  # the predicted object lies (mostly) in the gt object
    g_in = 2 * inter > gs
    splits = int(np.count_nonzero(np.unique(g[p_in], return_counts=True)[1] >= 2))
    merges = int(np.count_nonzero(np.unique(p[g_in], return_counts=True)[1] >= 2))
    return splits, merges


@dataclass(frozen=True)
class InstanceCounts:
    """Counts of one or more regions that add up (``a + b``).

    Attributes
    ----------
    thresholds : tuple of float
    tp, fp, fn : tuple of int
        One per threshold.
    matched_iou_sum : float
        Sum of the IoUs of the pairs matched at the first threshold.
    splits, merges : int
        See :func:`split_merge_counts`.
    """

    thresholds: tuple[float, ...]
    tp: tuple[int, ...]
    fp: tuple[int, ...]
    fn: tuple[int, ...]
    matched_iou_sum: float = 0.0
    splits: int = 0
    merges: int = 0

    def __add__(self, other: InstanceCounts) -> InstanceCounts:
        if other.thresholds != self.thresholds:
            raise ValueError("instance counts at different IoU thresholds do not add up.")
        add = lambda a, b: tuple(x + y for x, y in zip(a, b))  # noqa: E731
        return InstanceCounts(self.thresholds, add(self.tp, other.tp), add(self.fp, other.fp),
                              add(self.fn, other.fn), self.matched_iou_sum + other.matched_iou_sum,
                              self.splits + other.splits, self.merges + other.merges)

    @classmethod
    def zero(cls, thresholds: Sequence[float]) -> InstanceCounts:
        n = len(thresholds)
        return cls(tuple(thresholds), (0,) * n, (0,) * n, (0,) * n)


def instance_counts(pred, gt, thresholds: Sequence[float] = (0.5,)) -> InstanceCounts:
    """Match ``pred`` to ``gt`` at every threshold (as :func:`.metrics.match_instances`) and count.

    Examples
    --------
    >>> gt = np.array([[1, 1, 1, 0, 2, 2]])
    >>> pred = np.array([[5, 5, 0, 0, 7, 0]])
    >>> c = instance_counts(pred, gt, (0.5, 0.7))
    >>> c.tp, c.fp, c.fn, round(c.matched_iou_sum, 3)
    ((2, 0), (0, 2), (0, 2), 1.167)
    """
    thresholds = check_thresholds(thresholds)
    table = overlap_table(pred, gt)
    matches = [match_table(table, t) for t in thresholds]
    splits, merges = split_merge_counts(pred, gt, table)
    return InstanceCounts(thresholds, tuple(m.tp for m in matches), tuple(m.fp for m in matches),
                          tuple(m.fn for m in matches), float(matches[0].ious.sum()), splits, merges)


def rates(c: InstanceCounts) -> list[dict]:
    """Per threshold: counts, precision, recall, F1 and ``ap`` = TP / (TP + FP + FN).

    ``ap`` is what StarDist's ``matching`` reports as *accuracy* and the
    2018 Data Science Bowl as average precision at one threshold. With nothing
    predicted and nothing annotated every score is 1 (nothing was missed),
    as in :class:`.metrics.InstanceMatch`.

    Examples
    --------
    >>> [r["ap"] for r in rates(InstanceCounts((0.5, 0.75), (2, 1), (1, 2), (1, 2)))]
    [0.5, 0.2]
    """
    out = []
    for t, tp, fp, fn in zip(c.thresholds, c.tp, c.fp, c.fn):
        out.append({
            "threshold": t, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0,
            "ap": tp / (tp + fp + fn) if tp + fp + fn else 1.0,
        })
    return out
