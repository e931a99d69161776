"""The scan's pieces on hand-made arrays: cells, object measures, pairing, each signal, window picking."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine.scan.cells import CellGrid
from napari_patchwise.engine.scan.disagreement import box_failure, continuation_signal, culprits, nearby_signal
from napari_patchwise.engine.scan.implausible import Reference, implausible_signals, judge, reference
from napari_patchwise.engine.scan.objects import measure_objects, measure_slabs
from napari_patchwise.engine.scan.pick import explain, pick_windows
from napari_patchwise.engine.scan.signal import Signal
from napari_patchwise.engine.scan.uncertainty import disagreement_between, probability_uncertainty

from scan_cases import balls


@pytest.mark.parametrize("shape, cell", [((7, 13, 9), (2, 3, 4)), ((4, 8, 8), (4, 8, 8)), ((5, 5, 5), (1, 1, 1))])
def test_cell_counts_add_up_to_the_voxels_flagged_whatever_the_slabs(shape, cell):
    rng = np.random.default_rng(0)
    flags = rng.random(shape) > 0.7
    grid = CellGrid(shape, cell)
    counts = grid.zeros()
    for region in grid.slabs(voxels=shape[1] * shape[2] * 2):
        grid.add(counts, region, flags[region])
    assert counts.sum() == flags.sum() and grid.voxels().sum() == np.prod(shape)
    # the first cell holds exactly the flags of its block
    assert counts[0, 0, 0] == flags[:cell[0], :cell[1], :cell[2]].sum()


def test_objects_measured_in_slabs_are_measured_as_a_whole():
    labels = balls((16, 40, 40), spacing=12, radius=4)
    labels[2:14, 12, 5:35] = 99  # a rod between the rows of balls
    whole = measure_objects(labels, (2.0, 1.0, 1.0))
    grid = CellGrid(labels.shape, (3, 7, 7))
    parts = measure_slabs(lambda r: labels[r], grid.slabs(voxels=40 * 40 * 3), (2.0, 1.0, 1.0))
    assert whole.ids.tolist() == parts.ids.tolist()
    assert np.allclose(whole.centroid, parts.centroid) and np.allclose(whole.elongation, parts.elongation)
    rod = whole.elongation[whole.ids == 99][0]
    # a ball of voxels twice as deep as wide is twice as long along z as across, in physical units
    assert rod > 5 and 1.8 < whole.elongation[0] < 2.2
    assert measure_objects(labels).elongation[0] < 1.2
    assert whole.volume[0] == whole.voxels[0] * 2.0


def test_a_probability_band_flags_only_the_undecided_voxels():
    p = np.where(balls((16, 48, 48)) > 0, 0.95, 0.05)
    p[:, 24:, 24:] = 0.45
    grid = CellGrid(p.shape, (16, 24, 24))
    s = probability_uncertainty(lambda r: p[r], grid, threshold=0.5)
    assert s.counts[0].tolist() == [[0, 0], [0, 16 * 24 * 24]]
    wide = probability_uncertainty(lambda r: p[r], grid, threshold=0.5, band=0.46)
    assert (wide.counts > 0).all()


def test_two_predictions_differ_where_one_merges_what_the_other_separates():
    truth = balls((16, 48, 48))
    merged = truth.copy()
    pair = np.unique(truth[:, 30:42, 30:42])[1:]  # two neighbouring balls, bottom right
    merged[np.isin(truth, pair[:2])] = pair[0]
    grid = CellGrid(truth.shape, (16, 24, 24))
    s = disagreement_between(lambda r: truth[r], lambda r: merged[r], grid)
    assert s.counts.sum() > 0
    hot = np.unravel_index(np.argmax(s.counts), s.counts.shape)
    assert hot == (0, 1, 1)
    same = disagreement_between(lambda r: truth[r], lambda r: truth[r] * 3, grid)  # other ids, same objects
    assert same.counts.sum() == 0


def test_outliers_against_the_annotated_range():
    annotated = measure_objects(balls((16, 48, 48)))
    ref = reference(annotated, "annotated")
    assert ref.source == "annotated" and ref.n == 16
    pred = balls((16, 48, 48))
    pred[np.isin(pred, [1, 2])] = 1          # a merged pair: twice the annotated volume
    pred[2:14, 47, 10:40] = 50              # a rod: far more elongated than any ball, not larger
    pred[8, 30, 30] = 51                    # a one-voxel fragment
    out = judge(measure_objects(pred), ref)
    assert sorted(out.named) == [1, 50]
    assert "2.0x the median annotated volume" in out.named[1] and "as long as wide" in out.named[50]
    assert out.fragments.tolist() == [51]
    # the annotated objects themselves are all plausible
    assert not judge(annotated, ref).named and not len(judge(annotated, ref).fragments)
    assert reference(measure_objects(balls((16, 12, 24))), "annotated") is None  # two objects: no range


def test_touching_objects_are_flagged_only_where_they_touch():
    lab = np.zeros((4, 16, 32), int)
    lab[:, 2:6, 2:6] = 1
    lab[:, 2:6, 20:24] = 2
    lab[:, 2:6, 24:28] = 3                   # touches 2
    grid = CellGrid(lab.shape, (4, 16, 16))
    empty = judge(measure_objects(lab), Reference("annotated", 3, 64, 0.1, 64, 64, 1.0, 0.1, 1.5))
    (touch,) = implausible_signals(lambda r: lab[r], grid, measure_objects(lab), empty, touching=True)
    assert touch.counts[0, 0].tolist() == [0, 2 * 4 * 4]
    assert touch.describe((slice(0, 1), slice(0, 1), slice(1, 2)), 1024).startswith("predicted objects touch on 32")


def test_a_box_failure_names_the_merging_object():
    truth = balls((16, 24, 48))
    pred = truth.copy()
    pred[np.isin(truth, [1, 2])] = 99
    annotated = np.ones(truth.shape, bool)
    f = box_failure(4, None, annotated, truth, pred, True)
    assert (f.merges, f.splits, f.extra, f.missed) == (1, 0, 0, 0)
    assert f.culprits == {99: "object 99 merges 2 annotated objects in box 4"}
    assert f.wrong == (truth == 2).sum()  # the part of 99 that is not its best pair
    splits, merges, found = culprits(truth, pred, 4)  # the other way round: one annotated object in pieces
    assert (splits, merges) == (1, 0) and set(found) == {1, 2}
    unannotated = box_failure(4, None, np.zeros(truth.shape, bool), truth, pred, True)
    assert unannotated.annotated == 0 and unannotated.wrong == 0 and unannotated.share == 0


def test_a_voxel_of_the_wrong_class_is_wrong():
    truth = np.array([[[1, 1, 2, 2, 0, 0]]])
    pred = np.array([[[1, 2, 2, 0, 0, 1]]])
    f = box_failure(1, None, np.ones(truth.shape, bool), truth, pred, False)
    assert (f.extra, f.missed, f.wrong, f.wrong_class, f.splits, f.merges, f.culprits) == (1, 1, 3, 1, 0, 0, {})
    assert f.text().startswith("the prediction gives 25 % of the annotated foreground another class, misses 25 %")


def test_a_merging_object_is_followed_where_it_meets_other_objects():
    truth = balls((16, 24, 96), radius=5)                       # rows of balls 1 voxel from y = 12
    pred = truth.copy()
    pred[np.isin(truth, [1, 2])] = 99                          # merged inside the box (x < 32) ...
    pred[8, 12, 6:90] = np.where(pred[8, 12, 6:90] > 0, pred[8, 12, 6:90], 99)  # ... and running on
    box = (slice(0, 16), slice(0, 24), slice(0, 32))
    f = box_failure(1, box, np.ones((16, 24, 32), bool), truth[box], pred[box], True)
    grid = CellGrid(truth.shape, (16, 24, 8))
    s = continuation_signal(lambda r: pred[r], grid, [f])
    row = s.counts[0, 0]
    assert row[4:11].sum() > 0 and row[11] == 0             # beyond the box, up to where it ends
    assert s.describe((slice(0, 1), slice(0, 1), slice(6, 8)), 1) == (
        "object 99 merges 2 annotated objects in box 1, and continues here")
    assert continuation_signal(lambda r: pred[r], grid, [box_failure(1, box, np.ones((16, 24, 32), bool),
                                                                     truth[box], truth[box], True)]) is None


def test_nearby_flags_fade_with_distance_from_the_box():
    from napari_patchwise.engine.scan.disagreement import BoxFailure
    f = BoxFailure(1, (slice(0, 4), slice(0, 8), slice(0, 8)), 100, 50, 0, 0, 0, 50)
    grid = CellGrid((4, 8, 64), (4, 8, 8))
    share = nearby_signal(grid, [f], (4, 8, 32)).counts[0, 0] / grid.voxels()[0, 0]
    assert share[0] == 0.25 * 0.5 and all(share[i] > share[i + 1] for i in range(4))
    assert share[4] > 0 and not share[5:].any()  # one reach (32 voxels) from the box: nothing


def test_windows_never_overlap_boxes_or_each_other_and_ties_go_to_the_origin():
    grid = CellGrid((8, 64, 64), (4, 8, 8))
    flat = Signal("uncertainty", grid.voxels(), lambda c, v: "all")  # every window scores 1
    boxes = [(slice(0, 8), slice(16, 48), slice(16, 48))]
    picked = pick_windows(grid, (8, 16, 16), [flat], boxes, 50)
    regions = [w.region for w in picked]
    assert all(w.score == 1.0 for w in picked)
    assert regions[0] == (slice(0, 8), slice(0, 16), slice(0, 16))
    for i, a in enumerate(regions):
        assert not any(all(x.start < y.stop and y.start < x.stop for x, y in zip(a, b)) for b in boxes)
        assert not any(all(x.start < y.stop and y.start < x.stop for x, y in zip(a, b)) for b in regions[i + 1:])
    assert len(picked) == 12  # the 16 tiles of 16x16, less the 4 under the box
    assert picked == pick_windows(grid, (8, 16, 16), [flat], boxes, 50)
    assert pick_windows(grid, (8, 16, 16), [Signal("uncertainty", grid.zeros(), str)], [], 5) == []


def test_the_reason_leads_with_the_kind_that_flags_most():
    c = np.ones((1, 1, 1))
    sigs = [Signal("uncertainty", c * 2, lambda *a: "u"), Signal("disagreement", c * 3, lambda *a: "d"),
            Signal("implausible", c * 0.1, lambda *a: "i")]
    from napari_patchwise.engine.scan.pick import Window
    assert explain(Window((), (slice(0, 1),) * 3, 1.0), sigs, 10) == ("disagreement", "d; u")
