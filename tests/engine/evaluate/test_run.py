"""The Evaluate job on real projects on disk: images, boxes, boxes cutting objects, magnification,
the test split of an export, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.evaluate import EvaluateRequest, evaluate
from napari_patchwise.engine.io import write_tiff
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.classes import ClassSpec
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.project_images import add_image

CELLS = (ClassSpec("cells", "instance"),)


def _paint(folder, gt, image=None):
    """Every voxel annotated: the objects of ``gt`` and background elsewhere."""
    group = open_annotations(folder, image=image)
    group["cells"][...] = gt.astype(np.uint32)
    group["background"][...] = (gt == 0).astype(np.uint8)


def _two_halves(shape=(2, 8, 16), **plan):
    """A plan with a left and a right box."""
    z, y, x = shape
    p = Plan(ImageRef(shape, path="a.tif"), classes=CELLS, **plan)
    return p.add_boxes([((0, 0, 0), (z, y, x // 2)), ((0, 0, x // 2), (z, y, x))], stratum="dense")


def test_boxes_cutting_an_object_count_it_in_each_and_pool_it_for_vi(tmp_path):
    folder = create_project(tmp_path / "p", _two_halves())
    gt = np.zeros((2, 8, 16), int)
    gt[:, 2:6, 4:12] = 1                      # one object across both boxes
    _paint(folder, gt)
    pred = np.where(gt > 0, 5, 0)
    pred[:, :, 8:] *= 2                       # cut exactly at the box border: id 5 left, 10 right
    np.save(tmp_path / "cut.npy", pred)
    result = evaluate(EvaluateRequest(folder, tmp_path / "cut.npy"))
    rows = result.to_dict()["boxes"]
    assert [(r["id"], r["matching"][0]["tp"], r["splits"], r["vi_split"]) for r in rows] == [
        (1, 1, 0, 0.0), (2, 1, 0, 0.0)]      # each box sees a perfect part
    overall = result.to_dict()["overall"]
    assert overall["matching"][0]["tp"] == 2 and overall["vi_split"] == pytest.approx(1.0)
    assert overall["vi_merge"] == 0.0 and overall["dice"] == 1.0
    np.save(tmp_path / "whole.npy", np.where(gt > 0, 5, 0))
    assert evaluate(EvaluateRequest(folder, tmp_path / "whole.npy")).to_dict()["overall"]["vi_split"] == 0.0


def test_several_images_take_a_folder_of_predictions_named_after_them(tmp_path):
    folder = create_project(tmp_path / "p", _two_halves())
    b = Plan(ImageRef((2, 8, 16), path="b.tif"), classes=CELLS).add_boxes([((0, 0, 0), (2, 8, 8))])
    assert add_image(folder, b) == "b"
    gt = np.zeros((2, 8, 16), int)
    gt[:, 1:4, 1:4], gt[:, 5:7, 10:14] = 3, 4
    _paint(folder, gt, "a")
    _paint(folder, gt, "b")
    preds = tmp_path / "preds"
    preds.mkdir()
    np.save(preds / "a.npy", gt)                              # perfect on a
    write_tiff(preds / "b.tif", np.zeros((2, 8, 16), "uint16"))   # nothing found on b
    d = evaluate(EvaluateRequest(folder, preds)).to_dict()
    assert [(r["image"], r["id"]) for r in d["boxes"]] == [("a", 1), ("a", 2), ("b", 1)]
    assert [r["recall"] for r in d["boxes"]] == [1.0, 1.0, 0.0]
    assert d["overall"]["matching"][0] == {"threshold": 0.5, "tp": 2, "fp": 0, "fn": 1, "precision": 1.0,
                                           "recall": 2 / 3, "f1": 0.8, "ap": 2 / 3}
    only = evaluate(EvaluateRequest(folder, preds, boxes={"b": [1]})).to_dict()
    assert [(r["image"], r["id"]) for r in only["boxes"]] == [("b", 1)]
    assert list(evaluate(EvaluateRequest(folder, preds, images=["a"])).to_dict()["by_stratum"]) == ["dense"]
    with pytest.raises(ValueError, match="one file but 2 images"):
        evaluate(EvaluateRequest(folder, preds / "a.npy"))
    (preds / "b.tif").unlink()
    with pytest.raises(ValueError, match="no prediction for image 'b'.*b.tif"):
        evaluate(EvaluateRequest(folder, preds))


def test_a_prediction_at_full_resolution_or_on_the_grid_gives_the_same_scores(tmp_path):
    folder = create_project(tmp_path / "p", _two_halves((2, 8, 16), magnification=(1, 2, 2)))
    grid = np.zeros((2, 4, 8), int)
    grid[:, 1:3, 1:3], grid[:, 1:3, 5:7] = 1, 2
    _paint(folder, grid)
    np.save(tmp_path / "grid.npy", grid)
    np.save(tmp_path / "full.npy", grid.repeat(2, 1).repeat(2, 2))
    a = evaluate(EvaluateRequest(folder, tmp_path / "grid.npy")).to_dict()
    b = evaluate(EvaluateRequest(folder, tmp_path / "full.npy")).to_dict()
    assert a == b and a["overall"]["f1"] == 1.0
    np.save(tmp_path / "crop.npy", grid[:, :3])
    with pytest.raises(ValueError, match=r"shape \(2, 3, 8\).*image's shape \(2, 8, 16\) or the annotation grid "
                                         r"\(2, 4, 8\)"):
        evaluate(EvaluateRequest(folder, tmp_path / "crop.npy"))


def test_split_test_takes_the_boxes_the_last_export_held_out(tmp_path):
    from napari_patchwise.engine.export.model import ExportOptions
    from napari_patchwise.engine.jobs.export import ExportRequest, run_export

    shape = (32, 32, 64)
    plan = Plan(ImageRef(shape, path="a.tif"), classes=CELLS).add_boxes(
        [((0, 0, 0), (32, 32, 32)), ((0, 0, 32), (32, 32, 64))])
    folder = create_project(tmp_path / "p", plan)
    gt = np.zeros(shape, int)
    gt[4:20, 4:20, 4:20], gt[4:20, 4:20, 40:60] = 1, 2
    _paint(folder, gt)
    write_tiff(tmp_path / "p" / "a.tif", np.zeros(shape, "uint8"))
    np.save(tmp_path / "pred.npy", gt)
    with pytest.raises(ValueError, match="export first"):
        evaluate(EvaluateRequest(folder, tmp_path / "pred.npy", split="test"))
    run_export(ExportRequest(folder, folder / "export", ExportOptions(formats=("nnunet",), test_boxes=(2,))))
    d = evaluate(EvaluateRequest(folder, tmp_path / "pred.npy", split="test")).to_dict()
    assert [r["id"] for r in d["boxes"]] == [2]
    assert evaluate(EvaluateRequest(folder, tmp_path / "pred.npy", split="test",
                                    export=folder / "export")).to_dict() == d
    with pytest.raises(ValueError, match=r"none of the boxes chosen is in the last export's test split \(a: 2\)"):
        evaluate(EvaluateRequest(folder, tmp_path / "pred.npy", split="test", boxes={"a": [1]}))
    other = create_project(tmp_path / "q", plan)
    with pytest.raises(ValueError, match="is an export of .*p, not of"):
        evaluate(EvaluateRequest(other, tmp_path / "pred.npy", split="test", export=folder / "export"))


@pytest.mark.parametrize("change, message", [
    (dict(images=["x"]), "no image named 'x'"),
    (dict(boxes={"a": [9]}), "has no box 9; its boxes are 1, 2"),
    (dict(kind="semantic", prediction="float"), "holds float64 values but is read as semantic"),
    (dict(prediction="missing"), "no prediction at"),
    (dict(class_name="mito"), "no class 'mito'"),
])
def test_bad_requests_say_what_to_change(tmp_path, change, message):
    folder = create_project(tmp_path / "p", _two_halves())
    np.save(tmp_path / "labels.npy", np.zeros((2, 8, 16), "uint8"))
    np.save(tmp_path / "float.npy", np.zeros((2, 8, 16)))
    pred = tmp_path / f"{change.pop('prediction', 'labels')}.npy"
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        evaluate(EvaluateRequest(folder, pred, **change))


def test_a_zarr_prediction_is_a_file_not_a_folder_of_predictions(tmp_path):
    zarr = pytest.importorskip("zarr")
    folder = create_project(tmp_path / "p", _two_halves())
    gt = np.zeros((2, 8, 16), int)
    gt[:, 2:6, 2:6] = 4
    _paint(folder, gt)
    zarr.create_array(str(tmp_path / "pred.zarr"), shape=gt.shape, dtype="uint16")[...] = gt
    assert evaluate(EvaluateRequest(folder, tmp_path / "pred.zarr")).to_dict()["overall"]["f1"] == 1.0
    preds = tmp_path / "preds"
    preds.mkdir()
    zarr.create_array(str(preds / "a.zarr"), shape=gt.shape, dtype="uint16")[...] = gt
    assert evaluate(EvaluateRequest(folder, preds)).to_dict()["overall"]["f1"] == 1.0


def test_exports_beside_the_project_are_found_while_other_folders_there_vanish(tmp_path, monkeypatch):
    """The folder beside a project may be a shared one (/tmp): a folder there that goes away or cannot
    be read while the exports are looked for is passed over, not an error."""
    import os

    from napari_patchwise.engine.evaluate.held_out import find_exports, held_out_boxes
    from napari_patchwise.engine.export.model import ExportOptions
    from napari_patchwise.engine.jobs.export import ExportRequest, run_export

    shape = (32, 32, 64)
    plan = Plan(ImageRef(shape, path="a.tif"), classes=CELLS).add_boxes(
        [((0, 0, 0), (32, 32, 32)), ((0, 0, 32), (32, 32, 64))])
    folder = create_project(tmp_path / "p", plan)
    gt = np.zeros(shape, int)
    gt[4:20, 4:20, 4:20] = 1
    _paint(folder, gt)
    write_tiff(tmp_path / "p" / "a.tif", np.zeros(shape, "uint8"))
    run_export(ExportRequest(folder, tmp_path / "out", ExportOptions(formats=("nnunet",), test_boxes=(2,))))
    for name in ("gone", "gone/deeper", "locked"):
        (tmp_path / name).mkdir()
    scandir = os.scandir

    def flaky(path="."):
        if os.path.basename(os.fspath(path)) in ("gone", "locked"):
            raise (FileNotFoundError if os.path.basename(os.fspath(path)) == "gone" else PermissionError)(path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", flaky)
    found = find_exports(folder)
    assert [p.parent.relative_to(tmp_path).as_posix() for p in found] == ["out/Dataset501_Patchwise"]
    assert held_out_boxes(folder, ["a"]) == {"a": [2]}
