"""``patchwise images``: one row per image of a project; exit 2 with one line on bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.project import create_project

sys.path.insert(0, str(Path(__file__).parent / "engine" / "plan"))
from project_helpers import make_plan, make_v1_project, snapshot  # noqa: E402


@pytest.fixture
def project(tmp_path) -> Path:
    a = make_plan()
    b = Plan(ImageRef((10, 30, 40), "uint8", (5.0, 4.0, 4.0), path="fib.zarr", unit="nm",
                      voxel_size_known=False), a.preset, a.magnification, a.classes)
    folder = create_project(tmp_path / "p", Collection.from_plan(a).add_image(b, domain="fib-sem"))
    group = open_annotations(folder, image="fib")
    group["nuclei"][0, 0, :4] = 2
    group["ignore"][0, 0, 2:7] = 1
    return folder


def test_images_lists_every_image(project, capsys):
    before = snapshot(project)
    assert main(["images", str(project)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "shape", "dtype", "voxel", "size", "channels", "boxes", "annotated",
                                 "domain"]
    assert lines[1].split() == ["raw", "20×45×50", "uint16", "2×0.5×0.5", "micrometer", "1", "2", "0", "-"]
    assert lines[2].split() == ["fib", "10×30×40", "uint8", "5×4×4", "nanometer", "(unknown)", "1", "0", "7",
                                "fib-sem"]
    assert main(["images", str(project), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["annotated_voxels"], r["domain"]) for r in rows] == [("raw", 0, None), ("fib", 7, "fib-sem")]
    assert snapshot(project) == before  # reads only


def test_images_reads_a_version_1_project_without_migrating_it(tmp_path, capsys):
    folder = tmp_path / "old"
    painted = make_v1_project(folder, make_plan())
    before = snapshot(folder)
    assert main(["images", str(folder)]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    layers = [a for n, a in painted.items() if n != "edits"]
    union = sum(a != 0 for a in layers).astype(bool).sum()
    assert row[0] == "raw" and row[-2] == f"{union:,}"
    assert snapshot(folder) == before


@pytest.mark.parametrize("make, phrase", [
    (lambda t: t / "missing", "does not exist"),
    (lambda t: t, "no plan.json"),
    (lambda t: (t / "plan.json").write_text("{") and t, "not valid JSON"),
])
def test_images_bad_input_exits_2_with_one_line(tmp_path, capsys, make, phrase):
    folder = make(tmp_path)
    assert main(["images", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("patchwise images: error:")
    assert phrase in captured.err
