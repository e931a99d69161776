"""The patchwise command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from napari_patchwise.cli import main
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.project import create_project, load_plan


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "validate" in out and "demo" in out


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "napari_patchwise.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "napari-patchwise" in out.stdout


def test_demo_writes_a_valid_project(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    plan = load_plan(out)
    assert (out / "image.tif").exists() and (out / "ground_truth.tif").exists()
    assert len(plan.boxes) >= 10
    assert not [f for f in plan.validate() if f.severity == "error"]
    assert main(["validate", str(out)]) == 0
    assert "0 errors" in capsys.readouterr().out


def test_demo_refuses_an_existing_folder_and_leaves_it_alone(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def _project_with(tmp_path, boxes):
    plan = Plan(ImageRef((64, 128, 128)), get_preset("instance"), (1, 1, 1)).add_boxes(boxes)
    return create_project(tmp_path / "p", plan)


def test_validate_exits_1_on_errors_and_prints_them(tmp_path, capsys):
    folder = _project_with(tmp_path, [((0, 0, 0), (64, 64, 64)), ((0, 0, 64), (16, 16, 80))])
    assert main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "below-minimum" in out and "box 2" in out


def test_validate_json(tmp_path, capsys):
    folder = _project_with(tmp_path, [((0, 0, 0), (64, 64, 64))])
    assert main(["validate", "--json", str(folder)]) == 0
    findings = json.loads(capsys.readouterr().out)
    assert {f["code"] for f in findings} >= {"few-boxes", "total-voxels"}


def test_validate_bad_project_exits_2_with_a_message(tmp_path, capsys):
    (tmp_path / "plan.json").write_text("{ not json")
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "plan.json" in err
    assert (tmp_path / "plan.json").read_text() == "{ not json"
