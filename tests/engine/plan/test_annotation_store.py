"""annotations.zarr follows the plan: layers added, recreated while empty, painted ones kept."""

from __future__ import annotations

import os

import numpy as np
import pytest

from napari_patchwise.engine import ClassSpec
from napari_patchwise.engine.plan.annotation_store import ANNOTATIONS, annotation_array, open_annotations
from napari_patchwise.engine.plan.plan_file import ProjectError
from napari_patchwise.engine.plan.project import create_project, open_project, save_plan

from project_helpers import ANN_SHAPE, make_plan, snapshot


def test_new_class_keeps_painted_data(tmp_path):
    plan = make_plan()
    create_project(tmp_path, plan)
    nuclei = annotation_array(tmp_path, "nuclei")
    nuclei[2:4, 5:8, 10:12] = 3
    nuclei[19, 22, 24] = 4_000_000_000
    painted = nuclei[:]
    bigger = plan.replace(classes=(*plan.classes, ClassSpec("membrane", "semantic")))
    save_plan(tmp_path, bigger)
    group = open_annotations(tmp_path, mode="r")
    assert group["membrane"].dtype == np.uint8 and group["membrane"].shape == ANN_SHAPE
    np.testing.assert_array_equal(group["nuclei"][:], painted)
    classes = group.attrs["napari-patchwise"]["classes"]
    assert classes[-1] == {"name": "membrane", "kind": "semantic"}
    # removing a class from the plan never deletes its layer
    save_plan(tmp_path, plan.replace(classes=(ClassSpec("mito", "semantic"),)))
    np.testing.assert_array_equal(open_annotations(tmp_path, mode="r")["nuclei"][:], painted)


def test_magnification_change_with_painted_data_refused(tmp_path):
    create_project(tmp_path, make_plan())
    annotation_array(tmp_path, "ignore")[0, 0, 0] = 1
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match=r"\['ignore'\] hold painted labels.*new project"):
        save_plan(tmp_path, make_plan(magnification=(1, 1, 1)))
    assert snapshot(tmp_path) == state


def test_magnification_change_without_painted_data(tmp_path):
    create_project(tmp_path, make_plan())
    arr = annotation_array(tmp_path, "nuclei")
    arr[0, 0, 0] = 9
    arr[0, 0, 0] = 0  # erased strokes leave no chunk behind
    new = make_plan(magnification=(2, 4, 4)).remove_box(1).remove_box(2)
    save_plan(tmp_path, new)
    plan, group = open_project(tmp_path)
    assert plan == new
    for name in ("nuclei", "mito", "background", "ignore"):
        assert group[name].shape == (10, 12, 13)
    assert group["nuclei"].dtype == np.uint32 and group["mito"].dtype == np.uint8
    assert group.attrs["napari-patchwise"]["magnification"] == [2, 4, 4]


def test_class_kind_change(tmp_path):
    plan = make_plan()
    create_project(tmp_path, plan)
    semantic = plan.replace(classes=(ClassSpec("nuclei", "semantic"), plan.classes[1]))
    save_plan(tmp_path, semantic)  # empty: recreated with the new kind
    assert annotation_array(tmp_path, "nuclei").dtype == np.uint8
    annotation_array(tmp_path, "nuclei")[1, 1, 1] = 1
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match="holds painted semantic labels.*new name"):
        save_plan(tmp_path, plan)
    assert snapshot(tmp_path) == state


def test_open_annotations_mismatch(tmp_path):
    create_project(tmp_path, make_plan())
    wrong = r"layer 'nuclei' is uint32 \(20, 23, 25\), not uint32 \(20, 45, 50\)"
    with pytest.raises(ProjectError, match=wrong):
        open_annotations(tmp_path, make_plan(magnification=1))
    with pytest.raises(ProjectError, match="layer 'cells' is missing.*save_plan"):
        open_annotations(tmp_path, make_plan(classes=(ClassSpec("cells"),)))
    with pytest.raises(ValueError, match="mode must be 'r' or 'r\\+'"):
        open_annotations(tmp_path, mode="w")
    (tmp_path / ANNOTATIONS / "zarr.json").write_text("{oops")
    with pytest.raises(ProjectError, match="not a readable zarr group"):
        open_project(tmp_path)


def test_missing_annotations(tmp_path):
    create_project(tmp_path, make_plan())
    os.rename(tmp_path / ANNOTATIONS, tmp_path / "elsewhere.zarr")
    with pytest.raises(ProjectError, match="no annotations.zarr in"):
        open_project(tmp_path)
    save_plan(tmp_path, make_plan())  # starts again with empty layers
    assert open_project(tmp_path)[1]["nuclei"].shape == ANN_SHAPE
