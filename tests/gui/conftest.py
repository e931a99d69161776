"""Fixtures for the dock tests: collected notifications, no worker left running, gated jobs."""

from __future__ import annotations

import threading

import pytest

from napari_patchwise._qt import box_actions as ba_module
from napari_patchwise._qt import export_dock as ed_module
from napari_patchwise._qt import export_overrides as eo_module
from napari_patchwise._qt import plan_project as pj_module
from napari_patchwise._qt import planner_widget as pw_module
from napari_patchwise._qt import propose_panel as pp_module
from napari_patchwise._qt import runner as runner_module
from napari_patchwise._qt import seed_dock as sd_module
from napari_patchwise._qt import voxel_size as vs_module


@pytest.fixture
def messages(monkeypatch):
    """Collect what the dock tells the user (instead of napari notifications)."""
    seen = {"error": [], "warning": [], "info": []}
    for kind in seen:
        for module in (pw_module, pj_module, pp_module, ba_module, sd_module, ed_module, eo_module, runner_module, vs_module):
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
