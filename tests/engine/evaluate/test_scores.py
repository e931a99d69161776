"""Dice/IoU counts, variation of information, split/merge counts and pooled scores,
each against a slow reference written with plain loops over voxels."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.evaluate.instances import (InstanceCounts, check_thresholds, instance_counts,
                                                        rates, split_merge_counts)
from napari_patchwise.engine.evaluate.metrics import match_instances
from napari_patchwise.engine.evaluate.semantic import class_counts, dice, iou
from napari_patchwise.engine.evaluate.tally import Tally, pooled
from napari_patchwise.engine.evaluate.voi import contingency, split_merge_vi, vi_from_table


@st.composite
def volumes(draw, max_label=5):
    """Two (or three with a mask) small label volumes of one random shape."""
    shape = tuple(draw(st.integers(1, 4)) for _ in range(3))
    n = int(np.prod(shape))
    a = draw(st.lists(st.integers(0, max_label), min_size=n, max_size=n))
    b = draw(st.lists(st.integers(0, max_label), min_size=n, max_size=n))
    m = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return (np.array(a, np.int64).reshape(shape), np.array(b, np.int64).reshape(shape),
            np.array(m, bool).reshape(shape))


def _slow_vi(seg, gt, mask):
    """H(seg | gt) and H(gt | seg) in bits, counted voxel by voxel (gt == 0 left out)."""
    joint, s_count, g_count, n = Counter(), Counter(), Counter(), 0
    for s, g, m in zip(seg.ravel().tolist(), gt.ravel().tolist(), mask.ravel().tolist()):
        if m and g != 0:
            joint[(s, g)] += 1
            s_count[s] += 1
            g_count[g] += 1
            n += 1
    split = merge = 0.0
    for (s, g), c in joint.items():
        p = c / n
        split -= p * math.log2(c / g_count[g])   # H(S|G) = -sum p(s,g) log p(s|g)
        merge -= p * math.log2(c / s_count[s])   # H(G|S)
    return split, merge


@settings(max_examples=300, deadline=None)
@given(volumes())
def test_vi_agrees_with_a_voxel_by_voxel_count(v):
    seg, gt, mask = v
    want = _slow_vi(seg, gt, mask)
    assert split_merge_vi(seg, gt, mask) == pytest.approx(want, abs=1e-9)
    # pooling two halves of the voxels gives the VI of all of them
    half = np.zeros_like(mask)
    half.ravel()[: mask.size // 2] = True
    table = contingency(seg, gt, mask & half) + contingency(seg, gt, mask & ~half)
    assert vi_from_table(table) == pytest.approx(want, abs=1e-9)


def test_vi_names_split_and_merge_the_right_way_round():
    gt = np.array([[[1, 1, 1, 1]]])
    assert split_merge_vi(np.array([[[1, 1, 2, 2]]]), gt) == (1.0, 0.0)    # cut in two: split
    assert split_merge_vi(gt, np.array([[[1, 1, 2, 2]]])) == (0.0, 1.0)    # two in one: merge
    assert split_merge_vi(gt, np.zeros_like(gt)) == (0.0, 0.0)             # nothing counted
    assert split_merge_vi(gt, gt, ignore_gt_zero=False) == (0.0, 0.0)


@settings(max_examples=300, deadline=None)
@given(volumes(max_label=3))
def test_class_counts_agree_with_loops(v):
    pred, gt, valid = v
    got = class_counts(pred, gt, [1, 2, 3], valid)
    for k in (1, 2, 3):
        tp = fp = fn = 0
        for p, g, m in zip(pred.ravel().tolist(), gt.ravel().tolist(), valid.ravel().tolist()):
            if not m:
                continue
            tp += p == k and g == k
            fp += p == k and g != k
            fn += p != k and g == k
        assert got[k] == (tp, fp, fn)
        d, j = dice(tp, fp, fn), iou(tp, fp, fn)
        if tp + fp + fn == 0:
            assert d is None and j is None
        else:
            assert d == pytest.approx(2 * tp / (2 * tp + fp + fn)) and j == pytest.approx(tp / (tp + fp + fn))
            assert d == pytest.approx(2 * j / (1 + j))  # Dice and IoU are one measure, rescaled


def _slow_split_merge(pred, gt):
    p_ids = [i for i in set(pred.ravel().tolist()) if i]
    g_ids = [i for i in set(gt.ravel().tolist()) if i]
    size = lambda a, i: sum(1 for x in a.ravel().tolist() if x == i)  # noqa: E731
    inter = lambda i, j: sum(1 for x, y in zip(pred.ravel().tolist(), gt.ravel().tolist())  # noqa: E731
                             if x == i and y == j)
    splits = sum(1 for g in g_ids if sum(1 for p in p_ids if inter(p, g) > size(pred, p) / 2) >= 2)
    merges = sum(1 for p in p_ids if sum(1 for g in g_ids if inter(p, g) > size(gt, g) / 2) >= 2)
    return splits, merges


@settings(max_examples=300, deadline=None)
@given(volumes(max_label=4))
def test_split_and_merge_counts_agree_with_loops(v):
    pred, gt, _ = v
    assert split_merge_counts(pred, gt) == _slow_split_merge(pred, gt)


@settings(max_examples=150, deadline=None)
@given(volumes(max_label=4), st.lists(st.sampled_from([0.3, 0.5, 0.75, 0.9]), min_size=1, max_size=3))
def test_instance_counts_are_the_matches_at_each_threshold(v, thresholds):
    pred, gt, _ = v
    c = instance_counts(pred, gt, thresholds)
    ts = check_thresholds(thresholds)
    for i, t in enumerate(ts):
        m = match_instances(pred, gt, t)
        assert (c.tp[i], c.fp[i], c.fn[i]) == (m.tp, m.fp, m.fn)
    assert c.matched_iou_sum == pytest.approx(match_instances(pred, gt, ts[0]).ious.sum())
    for r, t in zip(rates(c), ts):
        tp, fp, fn = r["tp"], r["fp"], r["fn"]
        if tp + fp + fn:  # StarDist's accuracy, the 2018 DSB's average precision at one threshold
            assert r["ap"] == pytest.approx(tp / (tp + fp + fn))
            assert r["f1"] == pytest.approx(match_instances(pred, gt, t).f1)


def test_pooled_scores_come_from_pooled_counts_not_a_mean_of_boxes():
    a = Tally((0.5,), {"c": (9, 1, 0)}, InstanceCounts((0.5,), (9,), (1,), (0,), 9 * 0.8), voxels=20)
    b = Tally((0.5,), {"c": (0, 1, 9)}, InstanceCounts((0.5,), (0,), (1,), (9,), 0.0), voxels=20)
    s = pooled([a, b], (0.5,)).scores()
    assert s["boxes"] == 2 and s["voxels"] == 40
    assert s["dice"] == pytest.approx(18 / (18 + 2 + 9))
    assert s["precision"] == pytest.approx(9 / 11) and s["recall"] == pytest.approx(9 / 18)
    assert s["mean_matched_iou"] == pytest.approx(0.8)
    assert pooled([], (0.5,)).scores()["dice"] is None
    with pytest.raises(ValueError, match="different IoU thresholds"):
        _ = InstanceCounts.zero((0.5,)) + InstanceCounts.zero((0.75,))


@pytest.mark.parametrize("bad, message", [([], "at least one"), ([0.0], r"\(0, 1\]"), ([1.2], r"\(0, 1\]"),
                                          (["x"], "numbers")])
def test_bad_thresholds_say_what_to_give(bad, message):
    with pytest.raises(ValueError, match=message):
        check_thresholds(bad)
