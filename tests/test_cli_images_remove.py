"""``patchwise images --remove/--restore/--purge``: removal asks before losing annotations and can be undone."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.plan_file import load_collection
from napari_patchwise.engine.plan.project import create_project

sys.path.insert(0, str(Path(__file__).parent / "engine" / "plan"))
from project_helpers import make_plan, snapshot as _snapshot  # noqa: E402


def snapshot(folder: Path) -> dict:
    """Everything in the project but the folder's own mtime (the lock file comes and goes)."""
    return {k: v for k, v in _snapshot(folder).items() if k != folder.as_posix()}


@pytest.fixture
def project(tmp_path) -> Path:
    a = make_plan()
    b = Plan(ImageRef((10, 30, 40), "uint8", (5.0, 4.0, 4.0), path="fib.zarr", unit="nm"),
             a.preset, a.magnification, a.classes)
    c = Plan(ImageRef((10, 30, 40), "uint8", (5.0, 4.0, 4.0), path="empty.zarr", unit="nm"),
             a.preset, a.magnification, a.classes)
    folder = create_project(tmp_path / "p", Collection.from_plan(a).add_image(b).add_image(c))
    open_annotations(folder, image="fib")["nuclei"][0, 0, :4] = 2
    return folder


def test_remove_asks_before_losing_annotations_and_restore_undoes(project, capsys):
    before = snapshot(project)
    assert main(["images", str(project), "--remove", "fib"]) == 2
    err = capsys.readouterr().err
    assert "image 'fib' holds 4 annotated voxels; add --yes to remove it anyway" in err
    assert "Traceback" not in err
    assert snapshot(project) == before

    assert main(["images", str(project), "--remove", "empty"]) == 0  # nothing painted: no question
    assert main(["images", str(project), "--remove", "fib", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "removed image fib (4 annotated voxels)" in out and "--restore fib" in out
    assert load_collection(project).names == ("raw",)

    assert main(["images", str(project), "--restore", "fib"]) == 0
    assert load_collection(project).names == ("raw", "fib")
    assert np.asarray(open_annotations(project, image="fib", mode="r")["nuclei"][0, 0, :4]).tolist() == [2] * 4

    assert main(["images", str(project), "--purge"]) == 0
    assert "purged 1 removed image (empty; 0 annotated voxels)" in capsys.readouterr().out
    assert main(["images", str(project), "--restore", "empty"]) == 2
    assert "no removed image named 'empty'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, phrase", [
    (["--remove", "raw", "--restore", "fib"], "give one of --remove, --restore, --purge at a time"),
    (["--yes"], "--yes confirms --remove NAME"),
    (["--remove", "nope"], "no image named 'nope'"),
])
def test_bad_changes_are_refused(project, capsys, argv, phrase):
    before = snapshot(project)
    assert main(["images", str(project), *argv]) == 2
    assert phrase in capsys.readouterr().err
    assert snapshot(project) == before
