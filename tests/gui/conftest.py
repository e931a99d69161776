"""Fixtures for the dock tests: collected notifications, no worker left running, gated jobs, plans and projects."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_patchwise._qt import box_actions as ba_module
from napari_patchwise._qt import export_dock as ed_module
from napari_patchwise._qt import export_overrides as eo_module
from napari_patchwise._qt import image_list as il_module
from napari_patchwise._qt import plan_lifecycle as pl_module
from napari_patchwise._qt import plan_project as pj_module
from napari_patchwise._qt import planner_widget as pw_module
from napari_patchwise._qt import propose_measure as pm_module
from napari_patchwise._qt import propose_panel as pp_module
from napari_patchwise._qt import runner as runner_module
from napari_patchwise._qt import seed_dock as sd_module
from napari_patchwise._qt import seed_preview as sp_module
from napari_patchwise._qt import voxel_size as vs_module
from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.project import create_project

#: The voxel size (z, y, x) the planner fixtures give their image.
VOXEL = (2.0, 0.5, 0.5)


@pytest.fixture
def messages(monkeypatch):
    """Collect what the dock tells the user (instead of napari notifications)."""
    seen = {"error": [], "warning": [], "info": []}
    for kind in seen:
        for module in (pw_module, pl_module, pj_module, pp_module, pm_module, ba_module, sd_module, sp_module,
                       ed_module, eo_module, runner_module, vs_module, il_module):
            if hasattr(module, f"show_{kind}"):
                monkeypatch.setattr(module, f"show_{kind}", seen[kind].append)
    return seen


@pytest.fixture(autouse=True)
def no_worker_left_running(qtbot):
    """Fail a test that leaves a worker thread running (it would outlive its viewer)."""
    from qtpy.QtCore import QThreadPool

    yield
    pool = QThreadPool.globalInstance()
    idle = pool.waitForDone(20000)
    qtbot.wait(1)  # deliver the workers' last queued signals
    assert idle and pool.activeThreadCount() == 0, "a worker thread was still running"


def _settled() -> bool:
    """No dock of ours has a check or a count scheduled on a timer, no project is still opening and no
    job (worker thread) runs."""
    from qtpy.QtCore import QThreadPool, QTimer, Qt
    from qtpy.QtWidgets import QApplication

    from napari_patchwise.layers.session import _SESSIONS

    if QThreadPool.globalInstance().activeThreadCount():
        return False
    if any(session.working or session.openings for session in list(_SESSIONS.values())):
        return False
    direct = Qt.FindChildOption.FindDirectChildrenOnly
    return not any(timer.isActive() for widget in QApplication.allWidgets()
                   if type(widget).__module__.startswith("napari_patchwise.")
                   for timer in widget.findChildren(QTimer, options=direct))


@pytest.fixture
def make_napari_viewer(make_napari_viewer, qtbot):
    """napari's fixture, which after the test closes the viewers and fails on a viewer still referred to;
    before that, the docks' scheduled work is let run to its end.

    A check a dock schedules on a timer (e.g. the QC dock's touching pairs, a few hundred ms after its
    box check) would otherwise start while the viewers close, and its worker thread would still hold the
    dock, hence the viewer, when napari looks for leaked viewers.
    """
    yield make_napari_viewer
    qtbot.waitUntil(_settled, timeout=30000)


@pytest.fixture
def slice_to(qtbot):
    """Move a viewer to world position ``z`` on its first axis and wait until napari
    sliced each of ``layers`` anew (it emits their ``set_data``); no wait if the step stays."""

    def move(viewer, layers, z: float) -> None:
        seen = {id(layer): False for layer in layers}
        hooks = [(layer.events.set_data, lambda e, k=id(layer): seen.__setitem__(k, True)) for layer in layers]
        for emitter, cb in hooks:
            emitter.connect(cb)
        try:
            before = tuple(viewer.dims.current_step)
            viewer.dims.set_point(0, z)
            if tuple(viewer.dims.current_step) != before:
                qtbot.waitUntil(lambda: all(seen.values()), timeout=5000)
        finally:
            for emitter, cb in hooks:
                emitter.disconnect(cb)

    return move


class Gate:
    """A job standing in for an engine call: reports progress until released or cancelled.

    It waits on an Event between bursts of reports (never sleeps), so a test
    decides when it ends; ``exited`` is set however it ends.
    """

    def __init__(self, total: int = 100, burst: int = 10, report: bool = True):
        self.total, self.burst, self.report = total, burst, report
        self.entered, self.release, self.exited = threading.Event(), threading.Event(), threading.Event()
        self.reports = 0
        self.cancelled = False
        self.thread = None

    def __call__(self, progress, value="result"):
        from napari_patchwise._qt.runner import JobCancelled

        self.thread = threading.current_thread()
        self.entered.set()
        try:
            while not self.release.wait(0.001):
                for _ in range(self.burst if self.report else 0):
                    self.reports += 1
                    progress(self.reports % self.total, self.total)
            if self.report:
                progress(self.total, self.total)
            return value
        except JobCancelled:
            self.cancelled = True
            raise
        finally:
            self.exited.set()


@pytest.fixture
def gates():
    """Make :class:`Gate` jobs; all are released at the end so no thread is left waiting."""
    made = []

    def make(**kwargs) -> Gate:
        made.append(Gate(**kwargs))
        return made[-1]

    yield make
    for gate in made:
        gate.release.set()


@pytest.fixture
def planner(make_napari_viewer, small_volume, messages):
    """A docked Box planner with an empty plan (custom preset, magnification 1,2,2) on ``small_volume``."""
    viewer = make_napari_viewer()
    viewer.add_image(small_volume, name="vol", scale=VOXEL)
    widget = PlannerWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Box planner")
    widget.settings.image.value = viewer.layers["vol"]
    widget.settings.preset.value = "custom"
    widget.settings.minimum.value = "8,32,32"
    widget.settings.magnification.value = "1,2,2"
    assert widget.new_plan() is not None, messages
    return viewer, widget


@pytest.fixture
def dark_plan():
    """``dark_plan(viewer, widget, depth, boxes)``: see :func:`_dark_plan`."""
    return _dark_plan


def _dark_plan(viewer, widget, depth: int, boxes) -> None:
    """A plan on a black ``depth``×200×200 image holding ``boxes``: ``(lo, hi, stratum)`` proposals.

    For screenshots: whatever is lit is drawn by the boxes layer.
    """
    viewer.add_image(np.zeros((depth, 200, 200), np.uint8), name="dark", contrast_limits=(0, 255))
    widget.reset_choices()  # as napari does for a docked widget
    widget.settings.image.value = viewer.layers["dark"]
    widget.settings.preset.value = "custom"
    widget.settings.minimum.value = "4,40,40"
    assert widget.new_plan() is not None
    plan = widget.sync.plan
    for lo, hi, stratum in boxes:
        plan, _ = plan.add_box(lo, hi, source="proposal", stratum=stratum)
    widget.sync.set_plan(plan)


@pytest.fixture
def project(tmp_path, small_volume):
    """A one-box project (custom preset) next to its image, ``../vol.tif``."""
    write_tiff(tmp_path / "vol.tif", small_volume, VOXEL)
    plan = Plan(ImageRef(small_volume.shape, "uint16", VOXEL, path="../vol.tif", name="vol"),
                get_preset("custom", minimum=(8, 32, 32))).add_boxes([((0, 0, 0), (8, 64, 64))])
    return create_project(tmp_path / "proj", plan)
