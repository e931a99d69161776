"""Closing a dock or its viewer while its work runs, many times over: no crash, nothing delivered.

The engine call of each dock is replaced by a job that reports progress until
it is released (it waits on an Event), so every close lands mid-job. The dock
is closed the three ways it can go: the viewer is closed, the dock is closed
(napari takes it out of the window), or the dock is deleted.
"""

from __future__ import annotations

import pytest

from napari_patchwise._qt import export_dock as ed_module
from napari_patchwise._qt import propose_measure as pm_module
from napari_patchwise._qt import seed_dock as sd_module
from napari_patchwise._qt.export_dock import ExportWidget
from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise._qt.seed_dock import SeedWidget

pytestmark = pytest.mark.gui

ITERATIONS = 20
CLOSES = ("dock closed", "dock deleted", "viewer closed")


def _export(viewer, name, tmp_path):
    widget = ExportWidget(viewer)
    viewer.window.add_dock_widget(widget, name=name)
    widget.form.out.value = tmp_path / "out"
    widget.export_button.click()
    return widget, widget.runner, widget.progress


def _seed(viewer, name, tmp_path):
    widget = SeedWidget(viewer)
    viewer.window.add_dock_widget(widget, name=name)
    widget.form.method.value = "otsu"
    widget.form.boxes.value = "all"
    widget.apply_button.click()
    return widget, widget.runner, widget.progress


def _propose(viewer, name, tmp_path):
    widget = PlannerWidget(viewer)
    viewer.window.add_dock_widget(widget, name=name)
    assert widget.sync is not None  # adopted the project's boxes
    widget.proposer.propose_button.click()
    return widget, widget.proposer.runner, widget.proposer.progress


DOCKS = {
    "export": (_export, ed_module, "run_export"),
    "seed": (_seed, sd_module, "run_seed"),
    "propose": (_propose, pm_module, "measure_candidates"),
}


@pytest.mark.parametrize("dock", DOCKS)
def test_closing_mid_job_again_and_again_is_quiet(dock, make_napari_viewer, annotated_project, tmp_path,
                                                  qtbot, monkeypatch, messages, gates):
    start, module, engine_call = DOCKS[dock]
    current = {}

    def engine(*args, progress=None, **kwargs):  # the dock's engine call, held by the current gate
        if progress is None:  # export_project(folder, out, options, progress)
            progress = args[3]
        return current["gate"](progress)

    monkeypatch.setattr(module, engine_call, engine)
    viewer = None
    for i in range(ITERATIONS):
        close = CLOSES[i % len(CLOSES)]
        if viewer is None:
            viewer = make_napari_viewer()
            viewer.open(str(annotated_project), plugin="napari-patchwise")
        gate = current["gate"] = gates()
        widget, runner, bar = start(viewer, f"{dock} {i}", tmp_path)
        assert runner.busy, (i, messages)
        # the dock shows the job's progress while it is open
        qtbot.waitUntil(lambda: bar.maximum() == gate.total, timeout=10000)
        gone = []
        widget.destroyed.connect(lambda *_: gone.append(True))
        if close == "viewer closed":
            viewer.close()
            viewer = None
        elif close == "dock closed":  # the dock's close button
            viewer.window.remove_dock_widget(widget)
        else:
            widget.deleteLater()
            qtbot.waitUntil(lambda: bool(gone), timeout=10000)
        qtbot.waitUntil(gate.exited.is_set, timeout=10000)  # cancelled at its next report
        qtbot.waitUntil(lambda: not runner.jobs, timeout=10000)
        assert gate.cancelled, (i, close)
        assert messages == {"error": [], "warning": [], "info": []}, (i, close)  # nothing delivered
    if viewer is not None:
        viewer.close()
