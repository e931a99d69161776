"""``patchwise scan``: the ranked list, the JSON it prints, reading only, bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise.cli import main

sys.path.insert(0, str(Path(__file__).parent / "engine" / "scan"))
from scan_cases import BOXES, SHAPE, balls, make_project, overlaps  # noqa: E402


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The lattice of balls annotated in two boxes; a prediction with a giant object, a noisy probability map."""
    d = tmp_path_factory.mktemp("scan")
    truth = balls()
    folder, _ = make_project(d / "proj", truth)
    pred = truth.copy()
    pred[4:12, 40:60, 50:80] = 700
    np.save(d / "pred.npy", pred)
    prob = np.where(truth > 0, 0.99, 0.01).astype(np.float32)
    prob[:, 40:64, 40:64] = 0.45  # undecided, and background at any threshold up to 0.45
    np.save(d / "prob.npy", prob)
    return d, folder


def _json(capsys, *argv) -> dict:
    assert main(["scan", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_the_regions_worst_first(project, capsys):
    d, folder = project
    out = _json(capsys, folder, "--prediction", d / "pred.npy", "-n", "3")
    assert list(out) == ["regions", "notes", "predictions"]
    regions = out["regions"]
    assert 1 <= len(regions) <= 3
    assert list(regions[0]) == ["image", "lo", "hi", "kind", "reason", "score"]
    assert regions[0]["kind"] == "implausible" and regions[0]["reason"].startswith("object 700 is ")
    assert [r["score"] for r in regions] == sorted((r["score"] for r in regions), reverse=True)
    assert not any(overlaps(r["lo"], r["hi"], lo, hi) for r in regions for lo, hi in BOXES)


def test_the_list_reads_as_sentences(project, capsys):
    d, folder = project
    assert main(["scan", str(folder), "--prediction", str(d / "prob.npy"), "-n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"prediction of image: {d / 'prob.npy'}"
    assert lines[1].startswith("  1. image [") and " uncertainty (score " in lines[1]
    assert "of voxels uncertain (p in 0.3-0.7)" in lines[1]


def test_threshold_second_prediction_and_box_size(project, capsys):
    d, folder = project
    out = _json(capsys, folder, "--prediction", d / "prob.npy", "--threshold", "0.6", "-n", "1")
    assert "(p in 0.4-0.8)" in out["regions"][0]["reason"]
    out = _json(capsys, folder, "--prediction", d / "pred.npy", "--second-prediction", d / "pred.npy",
                "--box-size", "16,16,16", "-n", "1")
    r = out["regions"][0]
    assert [b - a for a, b in zip(r["lo"], r["hi"])] == [16, 16, 16]


def test_scanning_writes_nothing(project, capsys):
    d, folder = project
    before = {p: p.stat().st_mtime_ns for p in Path(folder).rglob("*")}
    _json(capsys, folder, "--prediction", d / "pred.npy")
    assert {p: p.stat().st_mtime_ns for p in Path(folder).rglob("*")} == before


@pytest.mark.parametrize("argv, phrase", [
    (["--prediction", "{d}/missing.npy"], "no prediction at"),
    (["--prediction", "{d}/pred.npy", "-n", "0"], "-n takes a whole number >= 1"),
    (["--prediction", "{d}/pred.npy", "--box-size", "16,16"], "--box-size takes three whole numbers"),
    (["--prediction", "{d}/pred.npy", "--images", "other"], "no image named 'other'"),
    (["--prediction", "{d}/pred.npy", "--threshold", "2"], "threshold lies in [0, 1]"),
    (["--prediction", "{d}/crop.npy"], f"must have the image's shape {SHAPE}"),
    (["--prediction", "{d}/pred.npy", "--class", "cells"], "the plan has no class 'cells'"),
])
def test_bad_input_exits_2_with_a_message(project, capsys, argv, phrase):
    d, folder = project
    if not (d / "crop.npy").exists():
        np.save(d / "crop.npy", np.zeros((SHAPE[0], 8, 8), "uint16"))
    assert main(["scan", str(folder), *(a.format(d=d) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchwise scan: error:") and phrase in err and "Traceback" not in err
