"""One box compared: ignored and unannotated voxels left out, objects partly ignored,
probability maps thresholded, against references written with loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from napari_patchwise.engine.evaluate.instances import instance_counts
from napari_patchwise.engine.evaluate.prediction import Prediction
from napari_patchwise.engine.evaluate.region import evaluate_region
from napari_patchwise.engine.plan.annotation import compose

CELLS = [("cells", "instance")]


@st.composite
def annotated(draw):
    """Layers of a small box (cells ids, background, ignore) and a predicted id volume."""
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(2, 5)))
    n = int(np.prod(shape))
    ids = lambda k: np.array(draw(st.lists(st.integers(0, k), min_size=n, max_size=n))).reshape(shape)  # noqa: E731
    cells = ids(3).astype(np.uint32)
    background = (ids(1) * (cells == 0)).astype(np.uint8)
    ignore = (np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))).reshape(shape) == 0)
    return {"cells": cells, "background": background, "ignore": ignore.astype(np.uint8)}, ids(4)


@settings(max_examples=200, deadline=None)
@given(annotated(), st.data())
def test_ignored_and_unannotated_voxels_change_no_metric(case, data):
    layers, pred = case
    comp = compose(layers, ["cells"])
    valid = (comp.classmap >= 0) & (comp.classmap <= 1)
    before = evaluate_region(comp, pred, "instances", CELLS, "cells", (0.5, 0.75)).scores()
    noise = np.array(data.draw(st.lists(st.integers(0, 9), min_size=pred.size, max_size=pred.size)))
    changed = np.where(valid, pred, noise.reshape(pred.shape))
    after = evaluate_region(comp, changed, "instances", CELLS, "cells", (0.5, 0.75)).scores()
    assert after == before
    # the reference: voxels counted one by one, objects restricted to the counted voxels
    tp = fp = fn = 0
    for p, g, ok in zip(pred.ravel(), comp.classmap.ravel(), valid.ravel()):
        if ok:
            tp += p > 0 and g == 1
            fp += p > 0 and g != 1
            fn += p == 0 and g == 1
    assert before["classes"]["cells"]["tp"] == tp and before["classes"]["cells"]["fp"] == fp
    assert before["classes"]["cells"]["fn"] == fn and before["voxels"] == int(valid.sum())
    gt = np.where(valid, layers["cells"], 0)
    want = instance_counts(np.where(valid, pred, 0), gt, (0.5, 0.75))
    if valid.any():
        assert [m["tp"] for m in before["matching"]] == list(want.tp)
        assert [m["fp"] for m in before["matching"]] == list(want.fp)
    else:
        assert before["precision"] is None and before["dice"] is None


def test_an_object_partly_ignored_is_matched_by_its_remaining_voxels():
    cells = np.zeros((1, 1, 10), np.uint32)
    cells[..., :8] = 1                       # an object of 8 voxels ...
    ignore = np.zeros_like(cells, np.uint8)
    ignore[..., 4:8] = 1                     # ... half of it ignored
    background = np.zeros_like(ignore)
    background[..., 8:] = 1
    pred = np.zeros((1, 1, 10), np.int64)
    pred[..., :4] = 7                        # the prediction finds the part that is not ignored
    pred[..., 9] = 0
    comp = compose({"cells": cells, "background": background, "ignore": ignore}, ["cells"])
    s = evaluate_region(comp, pred, "instances", CELLS, "cells", (0.9,)).scores()
    assert s["matching"][0]["tp"] == 1 and s["mean_matched_iou"] == 1.0 and s["dice"] == 1.0
    # a predicted object lying wholly in ignored voxels does not exist for the metrics
    pred[..., 5:7] = 8
    assert evaluate_region(comp, pred, "instances", CELLS, "cells", (0.9,)).scores() == s
    # a predicted object partly on counted background is a false positive there
    pred[..., 7:9] = 9
    s2 = evaluate_region(comp, pred, "instances", CELLS, "cells", (0.9,)).scores()
    assert s2["matching"][0]["fp"] == 1 and s2["classes"]["cells"]["fp"] == 1


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.25, 0.5, 0.7, 1.0]))
def test_a_probability_map_is_foreground_from_the_threshold_on(seed, t):
    rng = np.random.default_rng(seed)
    prob = rng.choice([0.0, 0.25, 0.5, 0.7, 0.9, 1.0], size=(2, 4, 5))
    cells = ndimage.label(rng.random((2, 4, 5)) < 0.4)[0].astype(np.uint32)
    comp = compose({"cells": cells, "background": (cells == 0).astype(np.uint8)}, ["cells"])
    fg = Prediction("p", prob, "probability", (1, 1, 1), False, t).read((slice(0, 2), slice(0, 4), slice(0, 5)))
    assert fg.tolist() == [[[int(v >= t) for v in row] for row in plane] for plane in prob.tolist()]
    got = evaluate_region(comp, fg, "probability", CELLS, "cells", (0.5,)).scores()
    # the same as instance labels made of the face-connected components of prob >= t
    ids = ndimage.label(prob >= t)[0]
    assert got == evaluate_region(comp, ids, "instances", CELLS, "cells", (0.5,)).scores()


def test_semantic_labels_score_every_class_and_refuse_unknown_values():
    a = np.array([[[1, 1, 0, 0, 0, 0]]], np.uint32)
    b = np.array([[[0, 0, 1, 1, 0, 0]]], np.uint8)
    bg = np.array([[[0, 0, 0, 0, 1, 1]]], np.uint8)
    classes = [("a", "instance"), ("b", "semantic")]
    comp = compose({"a": a, "b": b, "background": bg}, ["a", "b"])
    pred = np.array([[[1, 2, 2, 2, 0, 1]]])
    s = evaluate_region(comp, pred, "semantic", classes, None, (0.5,)).scores()
    assert s["classes"]["a"] == {"dice": 0.5, "iou": 1 / 3, "tp": 1, "fp": 1, "fn": 1}
    assert s["classes"]["b"]["dice"] == pytest.approx(0.8)
    assert s["dice"] == pytest.approx(0.65)
    with pytest.raises(ValueError, match="value 4 but the plan has 2 classes"):
        evaluate_region(comp, pred + 2, "semantic", classes, None, (0.5,))


def test_a_full_resolution_prediction_is_read_on_the_annotation_grid():
    labels = np.arange(2 * 5 * 6).reshape(2, 5, 6)
    region = (slice(0, 2), slice(1, 3), slice(0, 3))
    lab = Prediction("p", labels, "instances", (1, 2, 2), True)
    assert lab.read(region).tolist() == labels[0:2, 2:6:2, 0:6:2].tolist()   # the voxel each grid point stands on
    prob = Prediction("p", labels / labels.max(), "probability", (1, 2, 2), True, 0.5)
    p = labels / labels.max()
    want = [[[int(p[z, 2 * y:2 * y + 2, 2 * x:2 * x + 2].mean() >= 0.5) for x in range(3)] for y in (1, 2)]
            for z in range(2)]
    assert prob.read(region).tolist() == want   # the block mean, then the threshold
    with pytest.raises(ValueError, match="probabilities lie in"):
        Prediction("p", labels * 1.0, "probability", (1, 1, 1), False).read(region)
