"""Variation of information between two labelings, split into its split and merge parts (bits).

For a segmentation ``S`` and a ground truth ``G`` over the same voxels,
``VI = H(S | G) + H(G | S)`` (Meila 2007). ``H(S | G)``, the *split* part,
grows when a ground-truth object is cut into several segments;
``H(G | S)``, the *merge* part, when a segment spans several objects. Both
are in bits (log base 2) and 0 for identical labelings. As in gala's
``split_vi`` and the values shipped with its FIB-SEM data, only voxels where
the ground truth is nonzero count by default (0 marks boundaries or
unlabelled voxels there); a segment id 0 is a label like any other.

Counts from several regions add up into one contingency table
(:func:`contingency`), so the VI of several boxes together is that of their
pooled voxels.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["contingency", "split_merge_vi", "vi_from_table"]


def contingency(seg, gt, mask=None, *, ignore_gt_zero: bool = True) -> Counter:
    """``Counter({(segment id, ground-truth id): voxels})`` over the counted voxels.

    Parameters
    ----------
    seg, gt : array-like of int, same shape
    mask : array-like of bool, optional
        Only these voxels count.
    ignore_gt_zero : bool
        Leave out voxels where ``gt`` is 0 (default).

    Examples
    --------
    >>> sorted(contingency([[1, 1, 2, 0]], [[5, 5, 5, 0]]).items())
    [((1, 5), 2), ((2, 5), 1)]
    """
    seg, gt = np.asarray(seg), np.asarray(gt)
    if seg.shape != gt.shape:
        raise ValueError(f"the segmentation has shape {seg.shape} but the ground truth {gt.shape}; "
                         "compare labelings of the same region.")
    keep = np.ones(gt.shape, bool) if mask is None else np.asarray(mask, bool).copy()
    if ignore_gt_zero:
        keep &= gt != 0
    s, g = seg[keep].astype(np.int64), gt[keep].astype(np.int64)
    if not s.size:
        return Counter()
    su, si = np.unique(s, return_inverse=True)
    gu, gi = np.unique(g, return_inverse=True)
    pairs, counts = np.unique(si.ravel().astype(np.int64) * len(gu) + gi.ravel(), return_counts=True)
    a, b = np.divmod(pairs, len(gu))
    return Counter({(int(x), int(y)): int(n) for x, y, n in zip(su[a], gu[b], counts)})


def _entropy(counts: np.ndarray, n: int) -> float:
    p = counts[counts > 0] / n
    return float(-(p * np.log2(p)).sum())


def vi_from_table(table) -> tuple[float, float]:
    """``(split, merge)`` = ``(H(S | G), H(G | S))`` in bits from a contingency table.

    ``table`` maps pairs to counts (keys may carry more than two parts, e.g.
    ``(image, class, segment, gt)``: the last two are the ids, the leading
    parts tell regions apart). ``(0.0, 0.0)`` for an empty table.

    Examples
    --------
    >>> vi_from_table({(1, 5): 2, (2, 5): 2})
    (1.0, 0.0)
    >>> vi_from_table({(1, 5): 2, (1, 6): 2})
    (0.0, 1.0)
    """
    if not table:
        return 0.0, 0.0
    keys = list(table)
    n_ = np.array([table[k] for k in keys], np.float64)
    n = float(n_.sum())
    seg_of = Counter()
    gt_of = Counter()
    for k, c in zip(keys, n_):
        seg_of[(*k[:-2], k[-2])] += c
        gt_of[(*k[:-2], k[-1])] += c
    h_joint = _entropy(n_, n)
    h_seg = _entropy(np.array(list(seg_of.values())), n)
    h_gt = _entropy(np.array(list(gt_of.values())), n)
    return max(0.0, h_joint - h_gt), max(0.0, h_joint - h_seg)


def split_merge_vi(seg, gt, mask=None, *, ignore_gt_zero: bool = True) -> tuple[float, float]:
    """Split and merge variation of information ``(H(S | G), H(G | S))`` in bits.

    Parameters
    ----------
    seg, gt : array-like of int, same shape
        A segmentation and the ground truth.
    mask : array-like of bool, optional
        Only these voxels count (e.g. annotated and not ignored).
    ignore_gt_zero : bool
        Count only voxels where ``gt`` is nonzero (default, as gala reports it).

    Examples
    --------
    >>> gt = np.array([[1, 1, 2, 2]])
    >>> split_merge_vi(np.array([[1, 2, 3, 3]]), gt)   # object 1 cut in two
    (0.5, 0.0)
    >>> split_merge_vi(np.array([[7, 7, 7, 7]]), gt)   # both objects in one segment
    (0.0, 1.0)
    """
    return vi_from_table(contingency(seg, gt, mask, ignore_gt_zero=ignore_gt_zero))
