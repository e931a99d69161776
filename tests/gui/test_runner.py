"""The docks' one worker runner (run under Xvfb): progress, results, failures, cancel, closing."""

from __future__ import annotations

import threading
import time

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QDockWidget, QMainWindow, QProgressBar, QPushButton, QVBoxLayout, QWidget

from napari_patchwise._qt import runner as runner_module
from napari_patchwise._qt.runner import PROGRESS_INTERVAL, Runner

pytestmark = pytest.mark.gui


class Dock(QWidget):
    """A dock with what the runner keeps in step: a progress bar, a control, a cancel button."""

    def __init__(self):
        super().__init__()
        self.progress = QProgressBar()
        self.button = QPushButton("Go")
        self.cancel_button = QPushButton("Cancel")
        layout = QVBoxLayout(self)
        for widget in (self.button, self.progress, self.cancel_button):
            layout.addWidget(widget)
        self.runner = Runner(self, progress=self.progress, controls=(self.button,),
                             cancel_button=self.cancel_button)
        self.gone = []
        self.destroyed.connect(lambda *_: self.gone.append(True))


class RefusingWindow(QMainWindow):
    """A main window whose close is refused (as when a person answers No to napari's question)."""

    def closeEvent(self, event):  # noqa: N802 (Qt's name)
        event.ignore()


def _docked(qtbot, window_class=QMainWindow):
    window = window_class()
    qtbot.addWidget(window)
    dock = Dock()
    holder = QDockWidget("dock")
    holder.setWidget(dock)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, holder)
    return window, dock


@pytest.fixture
def shown(monkeypatch):
    """What the runner tells the user."""
    seen = {"error": [], "info": []}
    for kind in seen:
        monkeypatch.setattr(runner_module, f"show_{kind}", seen[kind].append)
    return seen


def _wait_idle(qtbot, runner):
    qtbot.waitUntil(lambda: not runner.jobs, timeout=10000)


def test_progress_reaches_the_bar_coalesced_and_on_the_main_thread(qtbot, gates, shown):
    _, dock = _docked(qtbot)
    gate = gates(total=1000, burst=50)
    updates, results = [], []
    t0 = time.monotonic()
    job = dock.runner.start(gate, what="Export", label="exporting: %p%",
                            returned=lambda value: results.append((value, threading.current_thread())))
    painting = []  # whether the bar could repaint at once as its value changed (it must not: see _set_bar)
    dock.progress.valueChanged.connect(lambda value: (updates.append((value, threading.current_thread())),
                                                      painting.append(dock.progress.updatesEnabled())))
    assert dock.runner.busy and job in dock.runner.jobs
    assert not dock.button.isEnabled() and dock.progress.isVisibleTo(dock)
    assert dock.cancel_button.isVisibleTo(dock)
    assert dock.progress.format() == "exporting: %p%" and dock.progress.maximum() == 0  # busy indicator
    qtbot.waitUntil(lambda: len(updates) >= 5, timeout=10000)
    gate.release.set()
    _wait_idle(qtbot, dock.runner)
    elapsed = time.monotonic() - t0

    assert gate.thread is not threading.main_thread()
    assert {thread for _, thread in updates} == {threading.main_thread()}
    assert results == [("result", threading.main_thread())]
    # at most one update per interval (and a last one when the job ends), however often it reports
    assert len(updates) <= elapsed / PROGRESS_INTERVAL + 2
    assert gate.reports > len(updates)
    assert updates[-1][0] == dock.progress.maximum() == 1000  # its last report is shown
    assert not any(painting) and dock.progress.updatesEnabled()  # marked for the window's next repaint
    assert not dock.runner.busy and dock.button.isEnabled()
    assert not dock.progress.isVisibleTo(dock) and not dock.cancel_button.isVisibleTo(dock)
    assert shown == {"error": [], "info": []}


def test_results_and_failures_are_delivered_on_the_main_thread_in_one_wording(qtbot, shown):
    _, dock = _docked(qtbot)
    results, failures = [], []
    dock.runner.start(lambda progress: 42, what="Export",
                      returned=lambda value: results.append((value, threading.current_thread())))
    _wait_idle(qtbot, dock.runner)
    assert results == [(42, threading.main_thread())]
    for exc, text in ((ValueError("choose a folder."), "Export failed: choose a folder."),
                      (KeyError("x"), "Export failed (KeyError): 'x'")):

        def fail(progress, exc=exc):
            progress(1, 2)
            raise exc

        dock.runner.start(fail, what="Export", returned=results.append, failed=failures.append)
        _wait_idle(qtbot, dock.runner)
        assert shown["error"][-1] == failures[-1] == text
        assert dock.button.isEnabled() and not dock.progress.isVisibleTo(dock)
    assert results == [(42, threading.main_thread())] and shown["info"] == []


def test_quiet_jobs_leave_the_dock_usable(qtbot, gates):
    _, dock = _docked(qtbot)
    gate = gates(total=1000)
    bar = (dock.progress.minimum(), dock.progress.maximum(), dock.progress.value())
    dock.runner.start(gate, what="QC check", quiet=True)
    assert dock.runner.jobs and not dock.runner.busy
    assert dock.button.isEnabled() and not dock.progress.isVisibleTo(dock)
    qtbot.waitUntil(lambda: gate.reports > 20, timeout=10000)
    assert (dock.progress.minimum(), dock.progress.maximum(), dock.progress.value()) == bar  # not shown
    gate.release.set()
    _wait_idle(qtbot, dock.runner)


def test_cancel_stops_the_job_and_delivers_nothing(qtbot, gates, shown):
    _, dock = _docked(qtbot)
    gate, results = gates(), []
    dock.runner.start(gate, what="Measuring", returned=results.append,
                      cancelled="Measuring was cancelled; nothing was proposed.")
    qtbot.waitUntil(lambda: dock.progress.maximum() == gate.total, timeout=10000)
    dock.cancel_button.click()
    assert dock.progress.format() == "cancelling…"
    qtbot.waitUntil(gate.exited.is_set, timeout=10000)  # stopped by its next report
    _wait_idle(qtbot, dock.runner)
    assert gate.cancelled and results == []
    assert shown == {"error": [], "info": ["Measuring was cancelled; nothing was proposed."]}
    assert dock.button.isEnabled() and not dock.cancel_button.isVisibleTo(dock)

    # a job that ends without reporting again after the cancel delivers nothing either
    quiet = gates(report=False)
    dock.runner.start(quiet, what="Export", returned=results.append)
    qtbot.waitUntil(quiet.entered.is_set, timeout=10000)
    dock.runner.cancel()
    quiet.release.set()
    _wait_idle(qtbot, dock.runner)
    assert results == [] and shown["info"][-1] == "Export was cancelled."


@pytest.mark.parametrize("reports", [True, False], ids=["reporting", "silent"])
def test_nothing_is_delivered_after_the_owner_is_deleted(qtbot, gates, shown, reports):
    window, dock = _docked(qtbot)
    runner, gone, results = dock.runner, dock.gone, []
    gate = gates(report=reports)
    runner.start(gate, what="Export", returned=results.append, failed=results.append)
    qtbot.waitUntil(gate.entered.is_set, timeout=10000)
    dock.deleteLater()
    qtbot.waitUntil(lambda: bool(gone), timeout=10000)
    if reports:
        qtbot.waitUntil(gate.exited.is_set, timeout=10000)  # cancelled: its dock is gone
        assert gate.cancelled
    else:
        gate.release.set()
    _wait_idle(qtbot, runner)
    assert results == [] and shown == {"error": [], "info": []}


@pytest.mark.parametrize("how", ["window closed", "dock closed"])
def test_closing_the_window_or_taking_the_dock_out_stops_the_job(qtbot, gates, shown, how):
    window, dock = _docked(qtbot)
    gate, results = gates(), []
    dock.runner.start(gate, what="Export", returned=results.append, failed=results.append)
    qtbot.waitUntil(lambda: dock.progress.maximum() == gate.total, timeout=10000)
    if how == "window closed":
        window.close()
    else:  # what napari does when a dock's close button is pressed
        dock.setParent(None)
        qtbot.addWidget(dock)
    qtbot.waitUntil(gate.exited.is_set, timeout=10000)
    _wait_idle(qtbot, dock.runner)
    assert gate.cancelled and results == [] and shown == {"error": [], "info": []}


def test_a_refused_close_does_not_stop_the_job(qtbot, gates, shown):
    window, dock = _docked(qtbot, RefusingWindow)
    window.show()
    qtbot.waitExposed(window)
    gate, results = gates(), []
    dock.runner.start(gate, what="Export", returned=results.append)
    qtbot.waitUntil(lambda: dock.progress.maximum() == gate.total, timeout=10000)
    window.close()
    assert window.isVisible()
    before = gate.reports
    qtbot.waitUntil(lambda: gate.reports > before + 100, timeout=10000)  # still running after the close
    gate.release.set()
    _wait_idle(qtbot, dock.runner)
    assert results == ["result"] and not gate.cancelled


def _cycle():
    """A reference cycle, and a weak reference that tells when it is collected."""
    import weakref

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


def test_no_full_collection_of_older_objects_while_a_job_runs(qtbot, gates, shown):
    import gc

    window, dock = _docked(qtbot)  # the window kept: the collection at the start would free it
    assert gc.get_freeze_count() == 0
    first, second = gates(), gates()
    gc.disable()  # no collection moves it out of the young generations before the job starts
    young_garbage = _cycle()[1]  # garbage when the first job starts: freed before the freeze
    gc.enable()
    held, old = _cycle()  # alive when it starts: frozen with the rest while the jobs run
    dock.runner.start(first, what="Export")
    assert young_garbage() is None
    dock.runner.start(second, what="QC check", quiet=True)
    assert gc.get_freeze_count() > 0
    del held
    new = _cycle()[1]  # made while they run: collected as usual
    gc.collect()
    assert new() is None and old() is not None
    first.release.set()
    qtbot.waitUntil(lambda: len(dock.runner.jobs) == 1, timeout=10000)
    assert gc.get_freeze_count() > 0  # the quiet job still runs
    second.release.set()
    _wait_idle(qtbot, dock.runner)
    assert gc.get_freeze_count() == 0  # given back once the last job has delivered
    gc.collect()
    assert old() is None


def test_a_result_that_raises_still_gives_the_objects_back(qtbot, shown):
    import gc

    window, dock = _docked(qtbot)

    def broken(value):
        raise RuntimeError("the dock failed to show it")

    dock.runner.start(lambda progress: 1, what="Export", returned=broken)
    with pytest.raises(RuntimeError):  # a slot's exception reaches Qt's exception hook
        with qtbot.captureExceptions() as caught:
            _wait_idle(qtbot, dock.runner)
        raise caught[0][1]
    assert gc.get_freeze_count() == 0


def test_closing_the_window_gives_the_objects_back_at_once(qtbot, gates, shown):
    import gc

    window, dock = _docked(qtbot)
    gate = gates()
    dock.runner.start(gate, what="Export")
    assert gc.get_freeze_count() > 0
    window.close()  # napari collects the closed viewer's objects before the job has ended
    assert gc.get_freeze_count() == 0
    qtbot.waitUntil(gate.exited.is_set, timeout=10000)
    _wait_idle(qtbot, dock.runner)
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_elsewhere_is_left_alone(qtbot, gates, shown):
    import gc

    window, dock = _docked(qtbot)
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        gate = gates()
        dock.runner.start(gate, what="Export")
        gate.release.set()
        _wait_idle(qtbot, dock.runner)
        # still frozen (the count itself falls as frozen objects are freed by their last reference)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
