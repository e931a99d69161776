"""Benchmark: what progress reports cost through the docks' runner, against the bare loop.

A job reports ``progress(done, total)`` N times in a tight loop (as an engine
that reports every task would) and returns. Three ways, in the same run:

(a) the loop in a plain thread with a no-op callback: the baseline;
(b) the loop as a :class:`~napari_patchwise._qt.runner.Runner` job of a docked
    widget with a progress bar: from ``start`` to the result delivered on the
    main thread, and how many times the progress bar was updated;
(c) the way the docks reported before the runner: a Qt signal of the widget
    emitted for every report, queued to the main thread, which updates the bar
    each time; timed until the last update is handled.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_runner_progress.py [--reports 200000]
"""

from __future__ import annotations

import argparse
import threading
import time

from qtpy.QtCore import QEventLoop, Qt, Signal
from qtpy.QtWidgets import QApplication, QDockWidget, QMainWindow, QProgressBar, QVBoxLayout, QWidget

from napari_patchwise._qt.runner import Runner


class _Dock(QWidget):
    progressed = Signal(int, int)

    def __init__(self):
        super().__init__()
        self.bar = QProgressBar()
        QVBoxLayout(self).addWidget(self.bar)
        self.updates = 0
        self.bar.valueChanged.connect(self._count)

    def _count(self, *_):
        self.updates += 1


def _docked():
    window = QMainWindow()
    dock = _Dock()
    holder = QDockWidget("dock")
    holder.setWidget(dock)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, holder)
    return window, dock


def _loop(n):
    def job(progress):
        for i in range(1, n + 1):
            progress(i, n)
        return n

    return job


def bare(n) -> float:
    t0 = time.perf_counter()
    thread = threading.Thread(target=_loop(n), args=(lambda done, total: None,))
    thread.start()
    thread.join()
    return time.perf_counter() - t0


def runner(app, n) -> tuple[float, int]:
    window, dock = _docked()
    run = Runner(dock, progress=dock.bar)
    loop = QEventLoop()
    t0 = time.perf_counter()
    run.start(_loop(n), what="Benchmark", returned=lambda _: loop.quit())
    loop.exec()  # the main thread waits in its event loop, as in napari
    elapsed = time.perf_counter() - t0
    while run.jobs:
        app.processEvents()
    return elapsed, dock.updates


def signal_per_report(app, n) -> tuple[float, int]:
    window, dock = _docked()

    loop = QEventLoop()

    def show(done, total):
        dock.bar.setRange(0, total)
        dock.bar.setValue(done)
        if done == total:
            loop.quit()

    dock.progressed.connect(show)
    emit = dock.progressed.emit
    t0 = time.perf_counter()
    thread = threading.Thread(target=_loop(n), args=(lambda done, total: emit(done, total),))
    thread.start()
    loop.exec()
    thread.join()
    return time.perf_counter() - t0, dock.updates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=200_000)
    n = parser.parse_args(argv).reports
    app = QApplication.instance() or QApplication([])
    a = bare(n)
    b, b_updates = runner(app, n)
    c, c_updates = signal_per_report(app, n)
    print(f"{n} progress reports in a tight loop")
    print(f"(a) bare loop, no-op callback            {a:8.3f} s")
    print(f"(b) runner job, start to result          {b:8.3f} s   b/a {b / a:6.1f}   "
          f"bar updates {b_updates}   {(b - a) / n * 1e6:.2f} µs per report")
    print(f"(c) a signal per report (before)         {c:8.3f} s   c/a {c / a:6.1f}   bar updates {c_updates}")


if __name__ == "__main__":
    main()
