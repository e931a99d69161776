"""Fixtures for the dock tests: collected notifications, no worker left running."""

from __future__ import annotations

import pytest

from napari_patchwise._qt import box_actions as ba_module
from napari_patchwise._qt import export_dock as ed_module
from napari_patchwise._qt import planner_widget as pw_module
from napari_patchwise._qt import propose_panel as pp_module
from napari_patchwise._qt import seed_dock as sd_module
from napari_patchwise._qt import voxel_size as vs_module


@pytest.fixture
def messages(monkeypatch):
    """Collect what the dock tells the user (instead of napari notifications)."""
    seen = {"error": [], "warning": [], "info": []}
    for kind in seen:
        for module in (pw_module, pp_module, ba_module, sd_module, ed_module, vs_module):
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
