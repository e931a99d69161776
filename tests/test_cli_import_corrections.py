"""``patchwise export-corrections`` / ``import-corrections``: exit codes, messages, nothing lost."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nrrd")

from napari_patchwise.cli.main import main  # noqa: E402
from napari_patchwise.engine import ImageRef, Plan  # noqa: E402
from napari_patchwise.engine.corrections.store import correction_arrays  # noqa: E402
from napari_patchwise.engine.io.nrrd_io import write_nrrd  # noqa: E402
from napari_patchwise.engine.plan.classes import parse_classes  # noqa: E402
from napari_patchwise.engine.plan.project import create_project, open_project  # noqa: E402


@pytest.fixture
def project(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((16, 32, 32), np.float32))
    plan = Plan(ImageRef((16, 32, 32), path=str(tmp_path / "img.npy")),
                classes=parse_classes("membrane:semantic, actin:semantic"))
    return create_project(tmp_path / "p", plan.add_boxes([((0, 0, 0), (16, 16, 16))]))


def _add(folder, value=1):
    folder.mkdir(parents=True, exist_ok=True)
    m = np.zeros((16, 16, 16), np.uint8)
    m[8, 8, 8] = value
    write_nrrd(folder / "Add.nrrd", m, overwrite=True)


def test_round_trip_and_replace_rule(project, tmp_path, capsys):
    assert main(["export-corrections", str(project), "--out-dir", str(tmp_path / "m"), "--class", "actin"]) == 0
    assert (tmp_path / "m" / "labels" / "box_0001.nrrd").is_file()
    assert (tmp_path / "m" / "corrections" / "box_0001").is_dir()
    _add(tmp_path / "m" / "corrections" / "box_0001")
    args = ["import-corrections", str(project), "--corrections-dir", str(tmp_path / "m" / "corrections")]
    assert main(args) == 2  # two classes: which one?
    assert "--class NAME" in capsys.readouterr().err
    assert main([*args, "--class", "actin"]) == 0
    assert "box_0001: box 1 of img: 1 add (1 voxels), 0 remove (0 voxels)" in capsys.readouterr().out
    assert main([*args, "--class", "actin"]) == 2
    err = capsys.readouterr().err
    assert "already have 'actin' corrections" in err and "--replace" in err and "Traceback" not in err
    assert main([*args, "--class", "actin", "--replace"]) == 0
    _, group = open_project(project)
    assert int(correction_arrays(group, "actin", create=False)["add"][8, 8, 8]) == 1
    assert correction_arrays(group, "membrane", create=False) == {}


def test_unknown_box_name_exits_2(project, tmp_path, capsys):
    _add(tmp_path / "c" / "tomo_patch1")
    code = main(["import-corrections", str(project), "--corrections-dir", str(tmp_path / "c"), "--class", "actin"])
    err = capsys.readouterr().err
    assert code == 2 and "tomo_patch1/ (not a box name" in err and "Traceback" not in err


def test_export_never_writes_into_a_folder_that_holds_anything(project, tmp_path, capsys):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x").write_text("keep")
    assert main(["export-corrections", str(project), "--out-dir", str(tmp_path / "m"), "--class", "actin"]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["x"]
