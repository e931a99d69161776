"""The patchwise command."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from napari_patchwise.cli import main
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.plan_file import load_plan


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


def test_demo_does_not_offer_the_membrane_preset(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--help"])
    assert e.value.code == 0
    assert "--preset {instance,neuron}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["demo", "--out", str(tmp_path / "m"), "--preset", "membrane"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "160×160×160 boxes" in err and "do not fit the demo's 96×384×384 sample" in err
    assert "--preset membrane --points CSV" in err
    assert not (tmp_path / "m").exists()


def test_demo_neuron_preset_works(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--preset", "neuron", "--no-export"]) == 0
    plan = load_plan(out)
    assert plan.preset.name == "neuron" and len(plan.boxes) >= 10
    assert {b.size for b in plan.boxes} == {(32, 85, 85)}
    assert "0 errors" in capsys.readouterr().out


def _hint_command(stdout: str) -> list[str]:
    line = next(line for line in stdout.splitlines() if line.startswith("Open it in napari with:"))
    return shlex.split(line.split("with:", 1)[1])


def test_demo_hint_runs_without_an_activated_venv(tmp_path):
    scripts = Path(sys.executable).parent
    cwd = scripts.parent.parent  # e.g. the folder holding .venv, as in the README
    env = {**os.environ, "PATH": str(tmp_path / "nothing-here")}  # the venv is not activated
    out = tmp_path / "demo"
    run = subprocess.run([sys.executable, "-m", "napari_patchwise.cli", "demo", "--out", str(out), "--no-seed"],
                         cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    if not (scripts / "napari").is_file():  # a headless install: the hint says how to get napari
        assert f"{os.path.relpath(sys.executable, cwd)} -m pip install" in run.stdout
        return
    command = _hint_command(run.stdout)
    assert command[0] == os.path.relpath(scripts / "napari", cwd)  # e.g. .venv/bin/napari, not napari
    assert command[1:] == ["--plugin", "napari-patchwise", str(out)]
    version = subprocess.run([command[0], "--version"], cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=300)
    assert version.returncode == 0 and "napari" in version.stdout


def test_hints_name_the_bare_program_when_path_finds_it(tmp_path):
    from napari_patchwise.cli.hints import pip, program

    scripts = tmp_path / "env" / "bin"
    scripts.mkdir(parents=True)
    for name in ("python", "napari"):
        (scripts / name).write_text("#!/bin/sh\n")
        (scripts / name).chmod(0o755)
    py = str(scripts / "python")
    assert program("napari", executable=py, cwd=tmp_path, path=str(scripts)) == "napari"
    assert program("napari", executable=py, cwd=tmp_path, path="/usr/bin") == "env/bin/napari"
    assert program("napari", executable=py, cwd=scripts, path="") == "./napari"
    assert program("napari", executable=py, cwd=tmp_path / "else", path="") == str(scripts / "napari")
    assert pip(executable=py, cwd=tmp_path, path="") == "env/bin/python -m pip"
    spaced = tmp_path / "my env"
    assert program("napari", executable=str(spaced / "python"), cwd=tmp_path, path="") == "'my env/napari'"


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
    # a 64×128×128 image cannot hold 5 million voxels: its share is reported instead
    assert {f["code"] for f in findings} >= {"few-boxes", "image-share"}


def test_validate_bad_project_exits_2_with_a_message(tmp_path, capsys):
    (tmp_path / "plan.json").write_text("{ not json")
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "plan.json" in err
    assert (tmp_path / "plan.json").read_text() == "{ not json"


# ------------------------------------------------------------------ propose
@pytest.fixture(scope="module")
def sample_files(tmp_path_factory):
    import numpy as np
    import zarr

    from napari_patchwise.engine.io.tiff_write import write_tiff
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample((64, 256, 256))
    d = tmp_path_factory.mktemp("inputs")
    write_tiff(d / "image.tif", s.image, s.voxel_size)
    z = zarr.create_array(store=str(d / "image.zarr"), shape=s.image.shape, chunks=(32, 64, 64),
                          dtype=s.image.dtype)
    z[:] = s.image
    prob = np.full((64, 256, 256), 0.99, np.float32)
    prob[:, 64:128, 128:192] = 0.5
    np.save(d / "prob.npy", prob)
    (d / "points.csv").write_text("z,y,x\n32,128,128\n5,250,128\n")
    return d


def test_propose_writes_a_valid_stratified_project(sample_files, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(sample_files / "image.tif"), "-o", str(out), "--n", "5"]) == 0
    text = capsys.readouterr()
    assert "proposed 5 boxes" in text.out and "measuring blocks" in text.err
    # z voxels 4× coarser than y/x: 64³ would be four times too deep; the box is refitted
    assert "note: box 32×96×96 instead of the instance preset's 64×64×64" in text.out
    plan = load_plan(out)
    assert len(plan.boxes) == 5 and {b.source for b in plan.boxes} == {"proposal"}
    assert {b.size for b in plan.boxes} == {(32, 96, 96)}
    assert plan.image.voxel_size == (2.0, 0.5, 0.5)
    assert not [f for f in plan.validate() if f.box_id is not None]
    # a second run adds to the project without overlapping
    assert main(["propose", str(sample_files / "image.zarr"), "-o", str(out), "--n", "3",
                 "--seed", "2"]) == 0
    plan = load_plan(out)
    assert len(plan.boxes) > 5 and not [f for f in plan.validate() if f.box_id is not None]


def test_propose_summary_counts_the_strata_it_lists(sample_files, tmp_path, capsys):
    assert main(["propose", str(sample_files / "image.tif"), "-o", str(tmp_path / "p"),
                 "--size", "32,64,64"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("proposed"))
    head, _, rest = line.partition(": ")
    n = int(head.rsplit("/", 1)[1])
    named = rest.split("; typical")[0].split(", ")
    assert len(named) == n and not any(x.startswith("typical") for x in named)


def test_propose_from_points_and_uncertainty(sample_files, tmp_path, capsys):
    out = tmp_path / "pts"
    args = ["propose", str(sample_files / "image.tif"), "-o", str(out), "--points",
            str(sample_files / "points.csv"), "--size", "32,64,64"]
    assert main(args) == 0
    assert "shifted inside" in capsys.readouterr().out
    plan = load_plan(out)
    assert [b.source for b in plan.boxes] == ["points", "points"]
    assert plan.boxes[0].lo == (16, 96, 96)
    out2 = tmp_path / "unc"
    assert main(["propose", str(sample_files / "image.tif"), "-o", str(out2), "--uncertainty",
                 str(sample_files / "prob.npy"), "--n", "1", "--size", "64,64,64"]) == 0
    (box,) = load_plan(out2).boxes
    assert box.source == "uncertainty" and box.lo == (0, 64, 128)


@pytest.mark.parametrize("extra, match", [
    (["--preset", "custom"], "custom preset needs --size"),
    (["--size", "8,8,8"], "below the instance preset's minimum"),
    (["--size", "a,b"], "three whole numbers"),
    (["--by", "uncertainty"], "needs a probability map"),
])
def test_propose_bad_input_exits_2(sample_files, tmp_path, capsys, extra, match):
    out = tmp_path / "bad"
    assert main(["propose", str(sample_files / "image.tif"), "-o", str(out), *extra]) == 2
    import re

    assert re.search(match, capsys.readouterr().err)
    assert not out.exists()


def test_propose_refuses_a_foreign_folder_and_2d_images(sample_files, tmp_path, capsys):
    import numpy as np

    (tmp_path / "keep.txt").write_text("x")
    assert main(["propose", str(sample_files / "image.tif"), "-o", str(tmp_path)]) == 2
    assert "not a napari-patchwise project" in capsys.readouterr().err
    np.save(tmp_path / "flat.npy", np.zeros((64, 64), np.uint16))
    assert main(["propose", str(tmp_path / "flat.npy"), "-o", str(tmp_path / "p2")]) == 2
    assert "3D" in capsys.readouterr().err
