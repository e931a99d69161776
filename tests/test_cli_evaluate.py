"""``patchwise evaluate``: the table, the JSON it prints, predictions of each kind and format, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from napari_patchwise.cli import main
from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.project import create_project

SHAPE = (24, 64, 64)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The synthetic nuclei sample, its labels painted in three boxes (one of another stratum),
    and predictions: the labels, eroded labels, a probability map."""
    from napari_patchwise.engine.samples.nuclei import make_sample

    d = tmp_path_factory.mktemp("evaluate")
    s = make_sample(SHAPE, seed=3)
    write_tiff(d / "image.tif", s.image, s.voxel_size)
    plan = Plan(ImageRef(SHAPE, path=str(d / "image.tif"), voxel_size=tuple(s.voxel_size)))
    plan = plan.add_boxes([((0, 0, 0), (24, 32, 32)), ((0, 32, 0), (24, 64, 32))], stratum="dense")
    plan = plan.add_boxes([((0, 0, 32), (24, 32, 64))], stratum="sparse")
    folder = create_project(d / "proj", plan)
    group = open_annotations(folder)
    labels = s.labels.astype(np.uint32)
    for box in plan.boxes:
        region = box.slices()
        group["nuclei"][region] = labels[region]
        group["background"][region] = (labels[region] == 0).astype(np.uint8)
    write_tiff(d / "perfect.tif", labels.astype(np.uint16))
    eroded = np.where(ndimage.binary_erosion(labels > 0), labels, 0)
    write_tiff(d / "eroded.tif", eroded.astype(np.uint16))
    np.save(d / "prob.npy", ndimage.gaussian_filter((labels > 0).astype(np.float32), 1))
    return d, folder, labels


def _json(capsys, *argv) -> dict:
    assert main(["evaluate", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_promised_keys_and_scores_at_the_first_threshold(project, capsys):
    d, folder, labels = project
    out = _json(capsys, folder, "--prediction", d / "eroded.tif")
    assert list(out) == ["iou_thresholds", "boxes", "overall", "by_stratum"]
    assert out["iou_thresholds"] == [0.5, 0.75]
    assert [(b["id"], b["image"], b["stratum"]) for b in out["boxes"]] == [
        (1, "image", "dense"), (2, "image", "dense"), (3, "image", "sparse")]
    for key in ("dice", "precision", "recall", "f1", "ap", "mean_matched_iou", "splits", "merges",
                "vi_split", "vi_merge", "classes", "matching"):
        assert key in out["boxes"][0] and key in out["overall"]
    overall = out["overall"]
    assert overall["precision"] == overall["matching"][0]["precision"]
    assert overall["f1"] == overall["matching"][0]["f1"] > overall["matching"][1]["f1"]
    assert overall["ap"] == pytest.approx(np.mean([m["ap"] for m in overall["matching"]]))
    # the eroded rims are background inside objects: one segment (0) across many objects
    assert 0 < overall["dice"] < 1 and overall["vi_split"] > 0 and overall["vi_merge"] > 0
    assert set(out["by_stratum"]) == {"dense", "sparse"} and out["by_stratum"]["dense"]["boxes"] == 2
    flipped = _json(capsys, folder, "--prediction", d / "eroded.tif", "--iou", "0.75,0.5")
    assert flipped["overall"]["f1"] == overall["matching"][1]["f1"]
    perfect = _json(capsys, folder, "--prediction", d / "perfect.tif", "--boxes", "3")
    assert [b["id"] for b in perfect["boxes"]] == [3]
    assert (perfect["overall"]["dice"], perfect["overall"]["f1"], perfect["overall"]["vi_merge"]) == (1.0, 1.0, 0.0)


def test_the_table_lists_boxes_strata_and_the_overall_row(project, capsys):
    d, folder, _ = project
    assert main(["evaluate", str(folder), "--prediction", str(d / "eroded.tif")]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("box 1 ") and line.rstrip().endswith("dense") for line in lines)
    assert any(line.startswith("stratum sparse") for line in lines)
    assert any(line.startswith("overall") for line in lines) and "IoU >= 0.75: TP" in out
    assert "(instances)" in lines[0]


def test_a_probability_map_is_thresholded(project, capsys):
    d, folder, labels = project
    low = _json(capsys, folder, "--prediction", d / "prob.npy", "--threshold", "0.1")["overall"]
    high = _json(capsys, folder, "--prediction", d / "prob.npy", "--threshold", "0.9")["overall"]
    fg = lambda t: sum(c["tp"] + c["fp"] for c in t["classes"].values())  # noqa: E731
    assert fg(low) > fg(high) > 0


def test_hdf5_predictions_name_their_dataset(project, capsys, tmp_path):
    h5py = pytest.importorskip("h5py")
    d, folder, labels = project
    with h5py.File(tmp_path / "pred.h5", "w") as f:
        f.create_dataset("raw", data=np.zeros(SHAPE, "uint8"))
        f.create_dataset("seg", data=labels)
    out = _json(capsys, folder, "--prediction", f"{tmp_path / 'pred.h5'}:seg")
    assert out["overall"]["f1"] == 1.0


@pytest.mark.parametrize("argv, phrase", [
    (["--prediction", "{d}/missing.tif"], "no prediction at"),
    (["--prediction", "{d}/image.tif", "--kind", "probability"], "probabilities lie in [0, 1]"),
    (["--prediction", "{d}/eroded.tif", "--split", "test"], "export first"),
    (["--prediction", "{d}/eroded.tif", "--iou", "0.5,2"], "--iou takes IoU thresholds in (0, 1]"),
    (["--prediction", "{d}/eroded.tif", "--threshold", "2"], "threshold lies in [0, 1]"),
    (["--prediction", "{d}/eroded.tif", "--boxes", "7"], "has no box 7"),
    (["--prediction", "{d}/eroded.tif", "--export", "{d}"], "give it with --split test"),
    (["--prediction", "{d}/eroded.tif", "--images", "other"], "no image named 'other'"),
    (["--prediction", "{d}/crop.tif"], "must have the image's shape (24, 64, 64)"),
])
def test_bad_input_exits_2_with_a_message(project, capsys, argv, phrase):
    d, folder, labels = project
    if not (d / "crop.tif").exists():
        write_tiff(d / "crop.tif", labels[:, :32].astype(np.uint16))
    assert main(["evaluate", str(folder), *(a.format(d=d) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchwise evaluate: error:") and phrase in err and "Traceback" not in err
