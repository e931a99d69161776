"""A viewer's session: project locks follow the project's layers, plans and signals (Qt-free: a ViewerModel)."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from napari.components import ViewerModel
from napari.layers import Image, Labels

from napari_patchwise.engine.plan.lock import ProjectLocked, lock_holder
from napari_patchwise.engine.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.layers.box_shapes import METADATA_KEY
from napari_patchwise.layers.box_sync import BoxLayerSync
from napari_patchwise.layers.session import HOLDER, hold_project, layer_project, session_for


def _labels(project, role="annotation") -> Labels:
    return Labels(np.zeros((2, 4, 4), np.uint8), metadata={METADATA_KEY: {"role": role, "project": str(project)}})


def test_layer_project_is_set_for_writing_layers_only(tmp_path):
    assert layer_project(_labels(tmp_path)) == tmp_path.resolve()
    assert layer_project(_labels(tmp_path, role="image")) is None
    assert layer_project(Image(np.zeros((4, 4)))) is None


def test_the_lock_goes_with_the_last_layer_of_its_project(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    viewer = ViewerModel()
    hold_project(viewer, a), hold_project(viewer, b)
    assert hold_project(viewer, a) is session_for(viewer).locks[a.resolve()]  # held once
    la1, la2, lb = _labels(a), _labels(a), _labels(b)
    for layer in (la1, la2, lb):
        viewer.layers.append(layer)
    viewer.layers.remove(la1)
    assert lock_holder(a).command == HOLDER
    viewer.layers.remove(lb)
    assert lock_holder(b) is None and lock_holder(a) is not None
    viewer.layers.clear()  # what closing the viewer does
    assert lock_holder(a) is None


def test_two_viewers_cannot_hold_one_project(tmp_path):
    first, second = ViewerModel(), ViewerModel()
    hold_project(first, tmp_path)
    with pytest.raises(ProjectLocked, match="is being changed by napari"):
        hold_project(second, tmp_path)
    assert not session_for(second).holds(tmp_path) and session_for(first).holds(tmp_path)


def test_a_viewer_that_is_gone_lets_go(tmp_path):
    viewer = ViewerModel()
    viewer.layers.append(_labels(tmp_path))
    hold_project(viewer, tmp_path)
    del viewer
    gc.collect()
    assert lock_holder(tmp_path) is None


def _plan() -> Plan:
    return Plan(ImageRef((16, 64, 64), voxel_size=(1.0, 1.0, 1.0)),
                get_preset("custom", minimum=(8, 16, 16))).add_boxes([((0, 0, 0), (8, 16, 16))])


def test_a_session_forwards_its_syncs_plans_and_tells_opened_and_closed_projects(tmp_path):
    viewer = ViewerModel()
    session = session_for(viewer)
    opened, closed, plans = [], [], []
    session.project_opened.connect(opened.append)
    session.project_closed.connect(closed.append)
    session.plan_changed.connect(plans.append)
    folder = create_project(tmp_path / "p", _plan())
    session.hold(folder)
    assert opened == [str(folder.resolve())]
    sync = BoxLayerSync(load_plan(folder))
    sync.project = str(folder)
    assert session.sync_for(folder) is None  # not this viewer's until attached
    session.attach(sync)
    assert session.sync_for(folder) is sync and session.current_plan(folder) is sync.plan
    moved = sync.plan.update_box(1, lo=(8, 0, 0), hi=(16, 16, 16))
    session.commit_plan(folder, moved)
    assert sync.plan == moved and plans[-1] == moved
    session.detach(sync)
    edited = moved.update_box(1, status="done")
    session.commit_plan(folder, edited)  # no planner: into plan.json, and still told
    assert load_plan(folder).box(1).status == "done" and plans[-1] == edited
    session.close()
    assert closed == [str(folder.resolve())] and lock_holder(folder) is None
    assert session_for(viewer) is not session  # a closed session is replaced


def test_busy_and_idle_cover_every_job_of_the_viewer():
    session = session_for(ViewerModel())
    seen = []
    session.busy.connect(lambda: seen.append("busy"))
    session.idle.connect(lambda: seen.append("idle"))
    session.job_started()
    session.job_started()
    assert session.working and seen == ["busy"]
    session.job_ended()
    assert session.working and seen == ["busy"]
    session.job_ended()
    assert not session.working and seen == ["busy", "idle"]

