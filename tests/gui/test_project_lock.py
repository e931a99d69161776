"""A project open in a viewer has one writer: that viewer, until the project or the viewer closes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise.cli import main
from napari_patchwise.engine.plan.lock import ProjectLock, lock_holder
from napari_patchwise.engine.plan.plan_file import LOCK_FILE
from napari_patchwise.layers.session import HOLDER, session_for

pytestmark = pytest.mark.gui


def _cli(*argv) -> subprocess.CompletedProcess:
    """The ``patchwise`` command in its own process, as a person would run it beside napari."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "napari_patchwise.cli", *map(str, argv)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_a_command_is_refused_while_a_viewer_has_the_project_and_runs_once_it_closes(
        make_napari_viewer, project, qtbot):
    viewer = make_napari_viewer()
    viewer.open(str(project), plugin="napari-patchwise")
    holder = lock_holder(project)
    assert holder is not None and holder.pid == os.getpid() and holder.command == HOLDER
    plan_before = (project / "plan.json").read_bytes()

    seed = _cli("seed", project)
    assert seed.returncode == 2, seed.stderr
    assert (f"patchwise seed: error: {project} is being changed by {HOLDER} (pid {os.getpid()} on "
            in seed.stderr)
    assert "close the project in that napari" in seed.stderr and "Traceback" not in seed.stderr
    assert main(["check", str(project), "--update-status"]) == 2  # in this very process too
    assert (project / "plan.json").read_bytes() == plan_before

    viewer.close()
    qtbot.waitUntil(lambda: lock_holder(project) is None, timeout=10000)
    assert not (project / LOCK_FILE).exists()
    assert main(["check", str(project), "--update-status"]) == 0


def test_the_lock_lasts_while_any_boxes_or_annotation_layer_of_the_project_is_open(
        make_napari_viewer, project, qtbot):
    viewer = make_napari_viewer()
    viewer.open(str(project), plugin="napari-patchwise")
    writing = [lay for lay in viewer.layers if lay.name != "vol"]
    assert {lay.name for lay in writing} == {"patchwise boxes", "nuclei labels", "background", "ignore"}
    for layer in writing[:-1]:
        viewer.layers.remove(layer)
        assert lock_holder(project).pid == os.getpid(), f"released after removing {layer.name}"
    viewer.layers.remove(writing[-1])  # the image alone stays: nothing in the viewer writes there now
    qtbot.waitUntil(lambda: lock_holder(project) is None, timeout=10000)
    assert not session_for(viewer).holds(project)
    viewer.open(str(project), plugin="napari-patchwise")  # opened again: held again
    assert lock_holder(project).pid == os.getpid()


def test_a_project_a_command_is_changing_does_not_open(make_napari_viewer, project):
    viewer = make_napari_viewer()
    with ProjectLock(project, f"patchwise seed {project}"):
        with pytest.raises(Exception, match=f"is being changed by patchwise seed {project}") as info:
            viewer.open(str(project), plugin="napari-patchwise")
        assert "wait for that command to finish" in str(info.value)
        assert len(viewer.layers) == 0
    layers = viewer.open(str(project), plugin="napari-patchwise")  # once it has finished
    assert len(layers) == 5 and lock_holder(project).command == HOLDER


def test_a_second_viewer_in_the_same_napari_cannot_open_it_too(make_napari_viewer, project):
    first = make_napari_viewer()
    first.open(str(project), plugin="napari-patchwise")
    second = make_napari_viewer()
    with pytest.raises(Exception, match=f"is being changed by {re.escape(HOLDER)}"):
        second.open(str(project), plugin="napari-patchwise")
    assert len(second.layers) == 0


def test_a_project_saved_from_the_box_planner_is_held_while_its_boxes_are_open(
        make_napari_viewer, small_volume, tmp_path, qtbot, messages):
    viewer = make_napari_viewer()
    viewer.add_image(small_volume, name="vol", scale=(2.0, 0.5, 0.5))
    widget = PlannerWidget(viewer)
    widget.settings.image.value = viewer.layers["vol"]
    widget.settings.preset.value = "custom"
    widget.settings.minimum.value = "8,32,32"
    assert widget.new_plan() is not None, messages
    folder = tmp_path / "proj"
    widget.save_project(folder)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=20000)
    assert lock_holder(folder).command == HOLDER
    for name in ("nuclei labels", "background", "ignore"):
        viewer.layers.remove(name)
    assert lock_holder(folder) is not None  # the planner still saves its boxes there
    viewer.layers.remove(widget.sync.rectangles)
    qtbot.waitUntil(lambda: lock_holder(folder) is None, timeout=10000)
    assert main(["validate", str(folder)]) in (0, 1) and main(["check", str(folder), "--update-status"]) in (0, 1)
