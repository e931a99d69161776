"""``patchwise export`` and the demo's export step, run end to end."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest
import tifffile

from napari_patchwise.cli import export as cli_export
from napari_patchwise.cli import main
from napari_patchwise.engine.export.model import MANIFEST_NAME


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _export(project, out, *args):
    return _run(["export", str(project), "-o", str(out), *args])


def _manifest(folder):
    return json.loads((folder / MANIFEST_NAME).read_text())


def _cases(folder):
    return {c["box_id"]: c for c in _manifest(folder)["cases"]}


# ---------------------------------------------------------------------------- formats
def test_every_format_in_one_run(annotated_project, tmp_path):
    out = tmp_path / "out"
    code, text, err = _export(annotated_project, out, "--format", "nnunet,stardist", "--format", "cellpose",
                              "--format", "omezarr", "--dataset-name", "Blobs", "--patch-size", "16,32,32",
                              "--cellpose-min-masks", "1")  # two nuclei per box
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["Dataset501_Blobs", "cellpose", "omezarr", "stardist"]
    for fmt, name in (("nnunet", "Dataset501_Blobs"), ("stardist", "stardist"), ("cellpose", "cellpose"),
                      ("omezarr", "omezarr")):
        assert sorted(_cases(out / name)) == [1, 2, 4]  # box 3 has touching nuclei
        if fmt != "cellpose":
            assert f"{fmt}: 3 new cases in {out / name}" in text
    # yx planes with at least one nucleus: z 4..9 of boxes 1, 2 and 4
    assert f"cellpose: 18 new training planes from 3 of 3 new cases in {out / 'cellpose'}" in text
    assert "skipped box 3: error findings (touching)" in text
    assert "exporting" in err and "100%" in err
    # nnU-Net: background 0, the class 1, ignore 2 (unannotated voxels too)
    nn = out / "Dataset501_Blobs"
    assert json.loads((nn / "dataset.json").read_text())["labels"] == {"background": 0, "nuclei": 1, "ignore": 2}
    labels = tifffile.imread(nn / "labelsTr" / "box_0002.tiff")
    assert (labels[-2:] == 2).all() and set(np.unique(labels[:-2]).tolist()) == {0, 1}
    # StarDist: instance ids, 0 background, -1 unannotated
    masks = tifffile.imread(out / "stardist" / "masks" / "box_0002.tif")
    assert (masks[-2:] == -1).all() and len(np.unique(masks[:-2])) == 3 and masks.min() == -1
    # Cellpose: the fully annotated yx planes of box 2 (not its last two) that hold a mask
    planes = sorted(p.name for p in (out / "cellpose").glob("box_0002_yx*_masks.tif"))
    assert planes == [f"box_0002_yx{z:03d}_masks.tif" for z in range(4, 10)]


def _warnings_block(text: str) -> tuple[int, list[str]]:
    """The count an export summary announces ("N warnings:") and the lines it prints under it."""
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if re.fullmatch(r"\d+ warnings?:", line)]
    assert len(at) == 1, text
    shown = []
    for line in lines[at[0] + 1:]:
        if not line.startswith("  "):
            break
        shown.append(line)
    return int(lines[at[0]].split()[0]), shown


def test_stardist_default_patch_fits_every_box(annotated_project, tmp_path):
    out = tmp_path / "out"
    code, text, err = _export(annotated_project, out, "--format", "stardist", "--split", "1,0,0")
    assert code == 0, err
    # 16x32x32 boxes at 2 x 0.5 x 0.5: grid (1, 2, 2), so patches divisible by (4, 8, 8)
    config = json.loads((out / "stardist" / "stardist_config.json").read_text())
    assert config["train_patch_size"] == [16, 32, 32] and config["grid"] == [1, 2, 2]
    assert "smaller than the StarDist training patch" not in text
    assert "  train_patch_size (16, 32, 32): the largest that fits every train/val crop" in text
    manifest = _manifest(out / "stardist")
    assert manifest["settings"]["patch_size"] is None and "stardist_config.json" in manifest["files"]


def test_warning_count_matches_the_lines_printed(annotated_project, tmp_path):
    code, text, err = _export(annotated_project, tmp_path / "out", "--format", "stardist",
                              "--patch-size", "48,96,96")
    assert code == 0, err
    count, shown = _warnings_block(text)
    assert count == len(shown)
    # the three boxes are smaller than the patch asked for: one line names them all
    small = [line for line in shown if "smaller than the StarDist training patch (48, 96, 96)" in line]
    assert len(small) == 1 and "box_0001, box_0002, box_0004:" in small[0]


def test_cellpose_says_plainly_when_no_plane_trains(annotated_project, tmp_path):
    out = tmp_path / "out"
    code, text, err = _export(annotated_project, out, "--format", "cellpose")
    assert code == 0, err
    # two nuclei per box: no plane reaches Cellpose's five masks, so none is written
    assert f"cellpose: no new training planes (none of the 3 new cases gave one) in {out / 'cellpose'}" in text
    assert "no new box has one: paint the rest of some planes" in text
    assert "--cellpose-min-masks" in text
    assert not list((out / "cellpose").glob("*.tif"))
    count, shown = _warnings_block(text)
    assert count == len(shown)
    code, text, err = _export(annotated_project, tmp_path / "again", "--format", "cellpose",
                              "--cellpose-min-masks", "2")
    assert code == 0, err
    assert f"cellpose: 18 new training planes from 3 of 3 new cases in {tmp_path / 'again' / 'cellpose'}" in text


def test_cellpose_min_masks_must_not_be_negative(annotated_project, tmp_path):
    code, _, err = _export(annotated_project, tmp_path / "out", "--format", "cellpose",
                           "--cellpose-min-masks", "-1")
    assert code == 2 and "--cellpose-min-masks is a number of masks, 0 or more" in err
    assert not (tmp_path / "out").exists()


def test_formats_may_be_spelled_loosely_and_bad_ones_are_named(annotated_project, tmp_path):
    code, _, err = _export(annotated_project, tmp_path / "a", "--format", "OME-Zarr")
    assert code == 0, err
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["omezarr"]
    code, _, err = _export(annotated_project, tmp_path / "b", "--format", "nnunet,tiff")
    assert code == 2
    assert "patchwise export: error: --format takes nnunet, stardist, cellpose, omezarr" in err and "tiff" in err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--split", "0,1,0"], "--split takes TRAIN,VAL,TEST"),
    (["--split", "a,b"], "--split takes TRAIN,VAL,TEST"),
    (["--test-boxes", "3,x"], "--test-boxes takes box ids"),
    (["--test-boxes", "99"], "test boxes 99 are not in the plan"),
    (["--override", "3"], "--override takes BOX=REASON"),
    (["--override", "3= "], "--override takes BOX=REASON"),
    (["--override", "99=why"], "names box 99, which the plan does not have"),
    (["--dataset-id", "1000"], "--dataset-id is an nnU-Net dataset number from 1 to 999"),
    (["--dataset-name", "my data"], "is not valid"),
    (["--patch-size", "16,32"], "--patch-size must be three whole numbers"),
    (["--cellpose-planes", "xy"], "--cellpose-planes takes a comma list of yx, zy, zx"),
    (["--format", "stardist", "--verify"], "--verify runs nnU-Net's integrity check"),
    (["--format", "stardist", "--instance-class", "cells"], "'cells' is not an instance class"),
])
def test_bad_input_exits_2_with_the_fix(annotated_project, tmp_path, args, message):
    if "--format" not in args:
        args = ["--format", "nnunet", *args]
    code, text, err = _export(annotated_project, tmp_path / "out", *args)
    assert code == 2 and text == ""
    assert message in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_project_that_is_not_there_exits_2(tmp_path):
    code, _, err = _export(tmp_path / "nothing", tmp_path / "out", "--format", "nnunet")
    assert code == 2 and "patchwise export: error:" in err


# ---------------------------------------------------------------------------- safety
def test_an_existing_foreign_folder_is_refused_unless_overwrite(annotated_project, tmp_path):
    out = tmp_path / "out"
    foreign = out / "Dataset501_Patchwise"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    code, text, err = _export(annotated_project, out, "--format", "nnunet")
    assert code == 2 and text == ""
    assert "holds no napari-patchwise export" in err and "--overwrite" in err
    assert [p.name for p in out.iterdir()] == ["Dataset501_Patchwise"]
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]

    code, text, err = _export(annotated_project, out, "--format", "nnunet", "--overwrite")
    assert code == 0, err
    assert not (foreign / "notes.txt").exists() and (foreign / MANIFEST_NAME).is_file()
    assert [p.name for p in out.iterdir()] == ["Dataset501_Patchwise"]  # no staging folder left


def test_exporting_again_adds_cases_and_keeps_the_old_ones(annotated_project, tmp_path):
    out = tmp_path / "out"
    assert _export(annotated_project, out, "--format", "stardist")[0] == 0
    before = _cases(out / "stardist")
    code, text, _ = _export(annotated_project, out, "--format", "stardist", "--override", "3=checked by hand")
    assert code == 0
    assert f"stardist: 1 new cases in {out / 'stardist'} (3 already there, untouched)" in text
    after = _cases(out / "stardist")
    assert sorted(after) == [1, 2, 3, 4]
    assert all(after[i] == before[i] for i in before)


# ---------------------------------------------------------------------------- options
def test_override_is_recorded_in_the_manifest(annotated_project, tmp_path):
    out = tmp_path / "out"
    code, text, _ = _export(annotated_project, out, "--format", "nnunet", "--override",
                            "3=the contact is one voxel of a dividing nucleus")
    assert code == 0
    assert "skipped box" not in text
    assert "box 3: exported despite its errors: the contact is one voxel of a dividing nucleus" in text
    case = _cases(out / "Dataset501_Patchwise")[3]
    assert case["override"] == "the contact is one voxel of a dividing nucleus"
    assert any(f["code"] == "touching" for f in case["findings"])


def test_split_seed_and_pinned_test_boxes(annotated_project, tmp_path):
    args = ["--format", "nnunet", "--split", "0.5,0.5,0", "--test-boxes", "4", "--seed", "3"]
    assert _export(annotated_project, tmp_path / "a", *args)[0] == 0
    assert _export(annotated_project, tmp_path / "b", *args)[0] == 0
    a, b = (_cases(tmp_path / p / "Dataset501_Patchwise") for p in ("a", "b"))
    assert {i: c["split"] for i, c in a.items()} == {i: c["split"] for i, c in b.items()}
    assert a[4]["split"] == "test"
    assert (tmp_path / "a" / "Dataset501_Patchwise" / "imagesTs" / "box_0004_0000.tiff").is_file()
    assert sorted(c["split"] for i, c in a.items() if i != 4) == ["train", "val"]
    assert _manifest(tmp_path / "a" / "Dataset501_Patchwise")["split"]["test_boxes"] == [4]


def test_json_report(annotated_project, tmp_path):
    out = tmp_path / "out"
    code, text, err = _export(annotated_project, out, "--format", "nnunet,stardist", "--json",
                              "--dataset-id", "7", "--dataset-name", "Blobs")
    assert code == 0, err
    report = json.loads(text)
    assert report["folders"] == {"nnunet": str(out / "Dataset007_Blobs"), "stardist": str(out / "stardist")}
    assert report["written"]["nnunet"] == ["box_0001", "box_0002", "box_0004"]
    assert report["kept"] == {"nnunet": [], "stardist": []}
    assert [s["box"] for s in report["skipped"]] == [3] and "touching" in report["skipped"][0]["reason"]
    assert isinstance(report["warnings"], list) and report["verified"] is None


# ---------------------------------------------------------------------------- nnU-Net's own check
def test_verify_runs_nnunets_integrity_check(annotated_project, tmp_path):
    pytest.importorskip("nnunetv2")
    out = tmp_path / "out"
    code, text, err = _export(annotated_project, out, "--format", "nnunet", "--verify")
    assert code == 0, err
    assert f"{out / 'Dataset501_Patchwise'} passed nnU-Net's dataset integrity check." in text


def test_verify_without_nnunet_says_how_to_install_it_before_writing(annotated_project, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(cli_export, "nnunet_installed", lambda: False)
    code, _, err = _export(annotated_project, tmp_path / "out", "--format", "nnunet", "--verify")
    assert code == 2 and "--verify needs nnU-Net v2: " in err and " -m pip install nnunetv2" in err
    assert not (tmp_path / "out").exists()


def test_demo_export_step_without_nnunet_says_how_to_check(annotated_project, monkeypatch, capsys):
    monkeypatch.setattr(cli_export, "nnunet_installed", lambda: False)
    report = cli_export.export_demo(annotated_project)
    text = capsys.readouterr().out
    assert report.folders["nnunet"] == annotated_project / "export" / "Dataset501_PatchwiseDemo"
    assert "nnunet: 3 new cases" in text and "skipped box 3" in text
    assert "pip install nnunetv2" in text and "--verify" in text
    assert "passed nnU-Net's" not in text


def test_demo_ends_with_a_dataset_that_passes_nnunets_check(tmp_path):
    pytest.importorskip("nnunetv2")
    from napari_patchwise.engine.export.nnunet import verify_nnunet

    folder = tmp_path / "demo"
    code, text, err = _run(["demo", "--out", str(folder)])
    assert code == 0, err
    dataset = folder / "export" / "Dataset501_PatchwiseDemo"
    assert "5/5 exporting the boxes as an nnU-Net dataset" in text
    assert f"nnunet: 17 new cases in {dataset}" in text
    assert "Dataset501_PatchwiseDemo passed nnU-Net's dataset integrity check." in text
    assert (dataset / "dataset.json").is_file() and (dataset / "splits_final.json").is_file()
    assert len(_manifest(dataset)["cases"]) == 17
    verify_nnunet(dataset)  # raises if nnU-Net finds a problem


def test_demo_no_export(tmp_path):
    folder = tmp_path / "demo"
    code, text, _ = _run(["demo", "--out", str(folder), "--no-export"])
    assert code == 0
    assert "5/5 export skipped (--no-export)" in text
    assert not (folder / "export").exists()
