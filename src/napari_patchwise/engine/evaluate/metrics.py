"""Instance segmentation metrics: one-to-one matching of objects at an IoU threshold.

A predicted object and a ground-truth object *match* when their intersection
over union (IoU) is at least the threshold; each object matches at most one
other. Among all one-to-one matchings the one with the most matches is kept
(ties: the largest total IoU), as in the StarDist and Cell Tracking Challenge
evaluations. Above an IoU of 0.5 an object can overlap that much with at most
one other, so the matching is unique; at lower thresholds it is found by a
linear assignment on the candidate pairs only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["InstanceMatch", "match_instances", "match_table", "overlap_table"]


def _ids(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "biu":
        raise ValueError(
            f"{name} have dtype {a.dtype}; instance ids must be integers (0 = background). "
            "Convert them first, e.g. np.round(labels).astype(np.uint32)."
        )
    if a.dtype.kind == "i" and a.size and a.min() < 0:
        raise ValueError(f"{name} hold negative ids; use 0 for background and 1..N for objects "
                         "(mask out ignore regions before matching).")
    return a


def overlap_table(pred, gt) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict, dict]:
    """Every pair of overlapping objects and its intersection, with the objects' sizes.

    Parameters
    ----------
    pred, gt : array-like of int, same shape
        Instance ids (0 = background), any number of dimensions.

    Returns
    -------
    p, g, inter : ndarray
        For each overlapping pair of nonzero ids: the predicted id, the
        ground-truth id and the number of shared voxels.
    pred_sizes, gt_sizes : dict of int to int
        Voxels of every nonzero id of each image.

    Examples
    --------
    >>> p, g, inter, ps, gs = overlap_table([[1, 1, 0, 2]], [[3, 3, 3, 0]])
    >>> p.tolist(), g.tolist(), inter.tolist(), ps, gs
    ([1], [3], [2], {1: 2, 2: 1}, {3: 3})
    """
    pred, gt = _ids(pred, "predicted labels"), _ids(gt, "ground-truth labels")
    if pred.shape != gt.shape:
        raise ValueError(f"predicted labels have shape {pred.shape} but the ground truth has {gt.shape}; "
                         "compare labels of the same region.")
    pu, pinv = np.unique(pred.ravel(), return_inverse=True)
    gu, ginv = np.unique(gt.ravel(), return_inverse=True)
    pinv, ginv = pinv.ravel().astype(np.int64), ginv.ravel().astype(np.int64)
    pairs, inter = np.unique(pinv * len(gu) + ginv, return_counts=True)
    pi, gi = np.divmod(pairs, len(gu))
    ok = (pu[pi] != 0) & (gu[gi] != 0)
    psize, gsize = np.bincount(pinv, minlength=len(pu)), np.bincount(ginv, minlength=len(gu))
    pred_sizes = {int(i): int(n) for i, n in zip(pu, psize) if i != 0}
    gt_sizes = {int(i): int(n) for i, n in zip(gu, gsize) if i != 0}
    return pu[pi[ok]].astype(np.int64), gu[gi[ok]].astype(np.int64), inter[ok].astype(np.int64), \
        pred_sizes, gt_sizes


@dataclass(frozen=True, eq=False)
class InstanceMatch:
    """How well predicted objects match ground-truth objects (see :func:`match_instances`).

    Attributes
    ----------
    threshold : float
        The IoU a pair needs to match.
    n_pred, n_gt : int
        Number of predicted and ground-truth objects.
    pairs : ndarray of int64, shape (TP, 2)
        Matched ``(predicted id, ground-truth id)``, sorted by ground-truth id.
    ious : ndarray of float64, shape (TP,)
        The IoU of each matched pair.
    """

    threshold: float
    n_pred: int
    n_gt: int
    pairs: np.ndarray
    ious: np.ndarray

    @property
    def tp(self) -> int:
        """Matched pairs (true positives)."""
        return len(self.ious)

    @property
    def fp(self) -> int:
        """Predicted objects without a match."""
        return self.n_pred - self.tp

    @property
    def fn(self) -> int:
        """Ground-truth objects without a match."""
        return self.n_gt - self.tp

    @property
    def precision(self) -> float:
        """``tp / n_pred`` (1 when nothing was predicted)."""
        return self.tp / self.n_pred if self.n_pred else 1.0

    @property
    def recall(self) -> float:
        """``tp / n_gt`` (1 when there is no ground-truth object)."""
        return self.tp / self.n_gt if self.n_gt else 1.0

    @property
    def f1(self) -> float:
        """``2 tp / (n_pred + n_gt)`` (1 when both are empty)."""
        total = self.n_pred + self.n_gt
        return 2 * self.tp / total if total else 1.0

    @property
    def mean_matched_iou(self) -> float:
        """Mean IoU over the matched pairs (0 without any)."""
        return float(self.ious.mean()) if self.tp else 0.0

    def to_dict(self) -> dict:
        """The counts and scores as plain numbers."""
        return {"threshold": self.threshold, "n_pred": self.n_pred, "n_gt": self.n_gt, "tp": self.tp,
                "fp": self.fp, "fn": self.fn, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "mean_matched_iou": self.mean_matched_iou}


def match_instances(pred, gt, iou_threshold: float = 0.5) -> InstanceMatch:
    """Match predicted to ground-truth objects one to one at an IoU threshold.

    Parameters
    ----------
    pred, gt : array-like of int, same shape
        Instance ids, 0 = background; ids need not be sequential.
    iou_threshold : float
        A pair matches when its IoU is at least this, in (0, 1].

    Returns
    -------
    InstanceMatch
        Counts (TP, FP, FN), precision, recall, F1 and mean matched IoU.

    Notes
    -----
    Among all one-to-one matchings of pairs with ``IoU >= iou_threshold``
    the one with the most pairs is chosen, and among those the one with the
    largest summed IoU (a linear assignment on the candidate pairs; above
    0.5 every object has at most one candidate).

    Examples
    --------
    >>> gt = np.array([[1, 1, 1, 0, 2, 2]])
    >>> pred = np.array([[5, 5, 0, 0, 7, 0]])
    >>> m = match_instances(pred, gt)
    >>> m.tp, m.fp, m.fn, m.pairs.tolist(), round(m.f1, 3), round(m.mean_matched_iou, 3)
    (2, 0, 0, [[5, 1], [7, 2]], 1.0, 0.583)
    >>> match_instances(pred, gt, 0.7).tp
    0
    """
    t = float(iou_threshold)
    if not 0 < t <= 1:
        raise ValueError(f"iou_threshold must lie in (0, 1]; got {iou_threshold!r}.")
    return match_table(overlap_table(pred, gt), t)


def match_table(table, t: float) -> InstanceMatch:
    """:func:`match_instances` on an :func:`overlap_table` already computed (one table, several thresholds)."""
    p, g, inter, psize, gsize = table
    iou = inter / (np.array([psize[i] for i in p.tolist()], float)
                   + np.array([gsize[i] for i in g.tolist()], float) - inter)
    ok = iou >= t
    p, g, iou = p[ok], g[ok], iou[ok]
    if len(iou) and (len(np.unique(p)) < len(p) or len(np.unique(g)) < len(g)):
        from scipy.optimize import linear_sum_assignment

        pu, pi = np.unique(p, return_inverse=True)
        gu, gi = np.unique(g, return_inverse=True)
        # each candidate pair is worth more than any sum of IoUs, so the count comes first
        cost = np.zeros((len(pu), len(gu)))
        cost[pi, gi] = -(1.0 + iou / (2 * min(len(pu), len(gu))))
        rows, cols = linear_sum_assignment(cost)
        keep = cost[rows, cols] < 0
        lookup = dict(zip(zip(pi.tolist(), gi.tolist()), iou.tolist()))
        p, g = pu[rows[keep]], gu[cols[keep]]
        iou = np.array([lookup[(r, c)] for r, c in zip(rows[keep].tolist(), cols[keep].tolist())])
    order = np.argsort(g, kind="stable")
    return InstanceMatch(t, len(psize), len(gsize),
                         np.column_stack([p[order], g[order]]).astype(np.int64).reshape(-1, 2),
                         np.asarray(iou, float)[order])
