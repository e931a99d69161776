"""scan_failures on small projects where one region is known to be wrong: it comes first, with the right
kind and reason; boxes are never overlapped; the order is the same on every run."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.scan import FailureRegion, ScanRequest, ScanResult, scan_failures
from scan_cases import BOX, BOXES, SHAPE, balls, make_plan, make_project, overlaps, paint


@pytest.fixture(scope="module")
def truth():
    return balls()


def _save(path, array):
    np.save(path, array)
    return path


def _inside(region: FailureRegion, where) -> bool:
    """Whether the region holds the point ``where`` (z, y, x)."""
    return all(lo <= w < hi for lo, hi, w in zip(region.lo, region.hi, where))


def test_a_giant_object_comes_first(tmp_path, truth):
    project, plan = make_project(tmp_path / "p", truth)
    pred = truth.copy()
    z, y, x = np.ogrid[:SHAPE[0], :SHAPE[1], :SHAPE[2]]
    pred[(z - 8) ** 2 + (y - 48) ** 2 + (x - 60) ** 2 <= 10 ** 2] = 500
    result = scan_failures(ScanRequest(project, _save(tmp_path / "pred.npy", pred), n=3))
    first = result.regions[0]
    assert first.kind == "implausible" and _inside(first, (8, 48, 60))
    assert first.reason.startswith("object 500 is ") and "x the median annotated volume" in first.reason
    assert first.hi[1] - first.lo[1] == BOX[1] and first.hi[2] - first.lo[2] == BOX[2]
    assert isinstance(result, ScanResult) and result.predictions == {"image": str(tmp_path / "pred.npy")}


def test_a_merged_pair_comes_first(tmp_path, truth):
    project, plan = make_project(tmp_path / "p", truth)
    pred = truth.copy()
    a, b = truth[8, 54, 66], truth[8, 54, 78]  # two neighbouring balls in the middle
    pred[pred == b] = a
    pred[8, 54, 66:79] = a  # joined by a bridge
    result = scan_failures(ScanRequest(project, _save(tmp_path / "pred.npy", pred), n=3))
    first = result.regions[0]
    assert _inside(first, (8, 54, 72)) and first.kind == "implausible"
    assert f"object {a} is 2.0x the median annotated volume" in first.reason


def test_a_noisy_probability_patch_comes_first(tmp_path, truth):
    project, plan = make_project(tmp_path / "p", truth)
    prob = ndimage.gaussian_filter((truth > 0).astype(np.float32), 1)  # soft rims everywhere
    rng = np.random.default_rng(1)
    prob[:, 40:70, 60:90] = rng.uniform(0.3, 0.7, (16, 30, 30))
    result = scan_failures(ScanRequest(project, _save(tmp_path / "prob.npy", prob.astype(np.float32)), n=4))
    first = result.regions[0]
    assert first.kind == "uncertainty" and _inside(first, (8, 55, 75))
    assert "of voxels uncertain (p in 0.3-0.7)" in first.reason
    assert first.score > 2 * result.regions[1].score


def test_a_second_prediction_that_splits_objects_points_at_them(tmp_path, truth):
    project, plan = make_project(tmp_path / "p", truth)
    other = truth.copy()
    for ball in np.unique(truth[:, 36:60, 36:60])[1:]:  # cut every ball of one patch in two
        half = (truth == ball) & (np.arange(SHAPE[2])[None, None, :] % 12 < 6)
        other[half] = ball + 1000
    first, second = (_save(tmp_path / f"{n}.npy", v) for n, v in (("a", truth), ("b", other)))
    result = scan_failures(ScanRequest(project, first, second, n=2))
    top = result.regions[0]
    assert top.kind == "uncertainty" and "the two predictions differ on" in top.reason
    assert _inside(top, (8, 48, 48)) or overlaps(top.lo, top.hi, (0, 36, 36), (16, 60, 60))
    assert scan_failures(ScanRequest(project, first, first, n=2)).regions == ()  # the truth twice: nothing


def test_a_merge_in_a_box_that_runs_out_of_it_is_found_outside(tmp_path):
    truth = balls(radii=(3, 4, 5))
    project, plan = make_project(tmp_path / "p", truth)
    pred = truth.copy()
    pred[pred == 2] = 1                      # two annotated balls of box 1 merged ...
    tail = pred[6:11, 12, 6:80]
    pred[6:11, 12, 6:80] = np.where(tail > 0, tail, 1)  # ... into an object that runs far out of the box
    result = scan_failures(ScanRequest(project, _save(tmp_path / "pred.npy", pred), n=4))
    first = result.regions[0]
    assert first.kind == "implausible" and first.reason.startswith("object 1 is ")
    assert "as long as wide" in first.reason and overlaps(first.lo, first.hi, (6, 12, 32), (11, 13, 80))
    beside = [r for r in result.regions if r.kind == "disagreement"]
    assert beside and all(r.reason.startswith("beside box 1, where the prediction has 1 merge") for r in beside)


@pytest.mark.parametrize("magnification", [(1, 1, 1), (1, 2, 2)])
def test_boxes_are_never_overlapped_and_regions_fit_the_image_and_grid(tmp_path, truth, magnification):
    project, plan = make_project(tmp_path / "p", truth, magnification=magnification)
    rng = np.random.default_rng(2)
    prob = rng.uniform(0.3, 0.7, SHAPE).astype(np.float32)  # uncertain everywhere, boxes included
    result = scan_failures(ScanRequest(project, _save(tmp_path / "prob.npy", prob), n=50))
    regions = result.regions
    assert len(regions) >= 4
    for i, r in enumerate(regions):
        assert not any(overlaps(r.lo, r.hi, lo, hi) for lo, hi in BOXES)
        assert not any(overlaps(r.lo, r.hi, o.lo, o.hi) for o in regions[i + 1:])
        assert all(0 <= lo < hi <= s for lo, hi, s in zip(r.lo, r.hi, SHAPE))
        assert all(v % m == 0 for v, m in zip(r.lo, magnification))
    assert [r.score for r in regions] == sorted((r.score for r in regions), reverse=True)


def test_the_order_is_the_same_on_every_run(tmp_path, truth):
    project = create_project(tmp_path / "p", make_plan(truth, boxes=()))
    prob = np.full(SHAPE, 0.5, np.float32)  # every window ties
    path = _save(tmp_path / "prob.npy", prob)
    runs = [scan_failures(ScanRequest(project, path, n=6)).to_dict() for _ in range(2)]
    assert runs[0] == runs[1]
    los = [tuple(r["lo"]) for r in runs[0]["regions"]]
    assert los == sorted(los)  # ties go to the window nearest the origin


def test_without_annotations_sizes_are_judged_against_the_prediction(tmp_path, truth):
    folder = create_project(tmp_path / "p", make_plan(truth, boxes=()))
    pred = truth.copy()
    pred[4:12, 40:60, 40:100] = 900
    result = scan_failures(ScanRequest(folder, _save(tmp_path / "pred.npy", pred), n=2))
    assert result.regions[0].reason.startswith("object 900 is ")
    assert "median predicted volume" in result.regions[0].reason
    assert any("fewer than 3 annotated objects" in n for n in result.notes)


def test_touching_objects_are_flagged_when_annotated_ones_never_touch(tmp_path, truth):
    project, plan = make_project(tmp_path / "p", truth)
    pred = truth.copy()
    # two balls grown until they touch, no bigger than the annotated range allows
    a, b = truth[8, 54, 66], truth[8, 54, 78]
    pred[8, 53:56, 70:75] = np.where(np.arange(70, 75) < 72, a, b)[None, :]
    result = scan_failures(ScanRequest(project, _save(tmp_path / "pred.npy", pred), n=1))
    assert result.regions[0].kind == "implausible" and "annotated objects never touch" in result.regions[0].reason
    assert _inside(result.regions[0], (8, 54, 72))


def test_several_images_are_ranked_together(tmp_path, truth):
    quiet = make_plan(truth)
    collection = Collection.from_plan(quiet, "calm").add_image(make_plan(truth), "noisy")
    folder = create_project(tmp_path / "p", collection)
    for name in ("calm", "noisy"):
        paint(folder, collection.plan(name), truth, image=name)
    preds = tmp_path / "preds"
    preds.mkdir()
    prob = np.where(truth > 0, 0.99, 0.01).astype(np.float32)
    np.save(preds / "calm.npy", prob)
    noisy = prob.copy()
    noisy[:, 40:70, 40:70] = 0.5
    np.save(preds / "noisy.npy", noisy)
    result = scan_failures(ScanRequest(folder, preds, n=3))
    assert {r.image for r in result.regions} == {"noisy"}  # the calm image has nothing to flag
    assert _inside(result.regions[0], (8, 55, 55))
    only = scan_failures(ScanRequest(folder, {"calm": preds / "calm.npy"}, images=["calm"]))
    assert only.regions == () and set(only.predictions) == {"calm"}
    with pytest.raises(ValueError, match="no image named 'other'"):
        scan_failures(ScanRequest(folder, preds, images=["other"]))
    with pytest.raises(ValueError, match="is one file but 2 images"):
        scan_failures(ScanRequest(folder, preds / "calm.npy"))


def test_bad_requests_say_what_to_fix(tmp_path, truth):
    with pytest.raises(ValueError, match="whole number >= 1"):
        ScanRequest(tmp_path, "p.npy", n=0)
    with pytest.raises(ValueError, match="box size is three whole numbers"):
        ScanRequest(tmp_path, "p.npy", box_size=(8, 8))
    with pytest.raises(ValueError, match="threshold lies in"):
        ScanRequest(tmp_path, "p.npy", threshold=1.5)
    project, _ = make_project(tmp_path / "p", truth)
    with pytest.raises(ValueError, match="must have the image's shape"):
        scan_failures(ScanRequest(project, _save(tmp_path / "crop.npy", truth[:, :32])))
    with pytest.raises(ValueError, match="probabilities lie in"):
        scan_failures(ScanRequest(project, _save(tmp_path / "f.npy", truth.astype(np.float32))))


def test_class_values_of_a_semantic_prediction_are_compared_in_the_boxes(tmp_path):
    from napari_patchwise.engine import ImageRef, Plan
    from napari_patchwise.engine.plan.annotation_store import open_annotations
    from napari_patchwise.engine.plan.classes import ClassSpec

    classes = np.zeros(SHAPE, np.int64)
    classes[:, :, :64] = 1
    classes[:, :, 64:] = 2
    plan = Plan(ImageRef(SHAPE), classes=(ClassSpec("cyto", "semantic"), ClassSpec("nucleus", "semantic")),
                box_size=BOX).add_boxes(BOXES)
    folder = create_project(tmp_path / "p", plan)
    group = open_annotations(folder)
    for box in plan.boxes:
        r = box.slices()
        group["cyto"][r] = (classes[r] == 1).astype(np.uint8)
        group["nucleus"][r] = (classes[r] == 2).astype(np.uint8)
    pred = classes.copy()
    pred[:, :32, :32] = 2  # the wrong class all over box 1
    result = scan_failures(ScanRequest(folder, _save(tmp_path / "sem.npy", pred.astype(np.uint8)), n=3))
    assert result.regions and all(r.reason.startswith(
        "beside box 1, where the prediction gives 100 % of the annotated foreground another class")
                                  for r in result.regions)
    assert all(r.lo[1] < 64 and r.lo[2] < 64 for r in result.regions)  # near box 1, not box 2
