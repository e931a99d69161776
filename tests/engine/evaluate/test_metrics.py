"""Instance matching: against a brute-force search over every one-to-one matching."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.evaluate.metrics import match_instances, overlap_table


def _brute_force(pred, gt, t):
    """(most matches, their largest summed IoU) over every one-to-one assignment."""
    p_ids = [int(i) for i in np.unique(pred) if i]
    g_ids = [int(i) for i in np.unique(gt) if i]

    def iou(a, b):
        x, y = pred == a, gt == b
        return np.count_nonzero(x & y) / np.count_nonzero(x | y)

    table = {(a, b): iou(a, b) for a in p_ids for b in g_ids}
    best = (0, 0.0)
    small, large, swap = (p_ids, g_ids, False) if len(p_ids) <= len(g_ids) else (g_ids, p_ids, True)
    for chosen in itertools.permutations(large + [None] * len(small), len(small)):
        n, total = 0, 0.0
        for a, b in zip(small, chosen):
            if b is None:
                continue
            v = table[(b, a)] if swap else table[(a, b)]
            if v >= t:
                n, total = n + 1, total + v
        if (n, total) > (best[0], best[1] + 1e-12):
            best = (n, total)
    return best, len(p_ids), len(g_ids)


@st.composite
def _label_pairs(draw):
    n = draw(st.integers(1, 12))
    k = draw(st.integers(0, 4))
    j = draw(st.integers(0, 4))
    pred = np.array(draw(st.lists(st.integers(0, k), min_size=n, max_size=n)), np.int32)
    gt = np.array(draw(st.lists(st.integers(0, j), min_size=n, max_size=n)), np.int32)
    return pred.reshape(1, 1, n), gt.reshape(1, 1, n)


@settings(max_examples=300, deadline=None)
@given(_label_pairs(), st.sampled_from([0.1, 0.3, 0.5, 0.51, 0.75, 1.0]))
def test_matching_agrees_with_brute_force(labels, t):
    pred, gt = labels
    (n, total), n_pred, n_gt = _brute_force(pred, gt, t)
    m = match_instances(pred, gt, t)
    assert (m.tp, m.n_pred, m.n_gt) == (n, n_pred, n_gt)
    assert m.ious.sum() == pytest.approx(total)
    assert m.fp == n_pred - n and m.fn == n_gt - n
    # one to one, each pair really has that IoU and passes the threshold
    assert len(set(m.pairs[:, 0])) == len(set(m.pairs[:, 1])) == m.tp
    for (a, b), v in zip(m.pairs.tolist(), m.ious.tolist()):
        x, y = pred == a, gt == b
        assert v == pytest.approx(np.count_nonzero(x & y) / np.count_nonzero(x | y)) and v >= t


def test_low_thresholds_need_the_assignment_not_a_greedy_choice():
    # prediction 1 overlaps both objects; greedy by IoU would give it to gt 1 and leave gt 2 alone
    gt = np.array([[[1, 1, 1, 2, 2, 0]]])
    pred = np.array([[[1, 1, 1, 1, 2, 2]]])
    m = match_instances(pred, gt, 0.3)
    assert m.tp == 2 and sorted(m.pairs.tolist()) == [[1, 1], [2, 2]]


def test_scores_and_edge_cases():
    gt = np.zeros((2, 4, 4), np.uint16)
    gt[0, :2, :2], gt[1, 2:, 2:] = 3, 9
    m = match_instances(gt.astype(np.uint32) * 2, gt)  # same objects, other ids
    assert (m.tp, m.fp, m.fn, m.f1, m.precision, m.recall, m.mean_matched_iou) == (2, 0, 0, 1, 1, 1, 1)
    empty = match_instances(np.zeros_like(gt), gt)
    assert (empty.tp, empty.fn, empty.precision, empty.recall, empty.f1) == (0, 2, 1.0, 0.0, 0.0)
    both = match_instances(np.zeros_like(gt), np.zeros_like(gt))
    assert both.f1 == 1.0 and both.to_dict()["tp"] == 0
    split = gt.copy()
    split[0, 0, :2] = 4  # gt 3 split in two halves: IoU 0.5 each, one may match
    s = match_instances(split, gt)
    assert (s.tp, s.fp, s.fn) == (2, 1, 0)
    assert match_instances(split, gt, 0.51).tp == 1


def test_overlap_table_counts_every_pair():
    p, g, inter, ps, gs = overlap_table(np.array([[1, 1, 2, 2, 0]]), np.array([[7, 8, 8, 0, 8]]))
    assert sorted(zip(p.tolist(), g.tolist(), inter.tolist())) == [(1, 7, 1), (1, 8, 1), (2, 8, 1)]
    assert ps == {1: 2, 2: 2} and gs == {7: 1, 8: 3}


@pytest.mark.parametrize(("pred", "gt", "t", "message"), [
    (np.zeros((2, 2), float), np.zeros((2, 2), int), 0.5, "must be integers"),
    (np.zeros((2, 2), int), np.zeros((2, 3), int), 0.5, "same region"),
    (np.zeros((2, 2), int), np.zeros((2, 2), int), 0.0, "in \\(0, 1\\]"),
    (np.full((2, 2), -1), np.zeros((2, 2), int), 0.5, "negative ids"),
])
def test_bad_input_says_how_to_fix_it(pred, gt, t, message):
    with pytest.raises(ValueError, match=message):
        match_instances(pred, gt, t)
