"""One runner for the docks' long work: a worker thread, progress, cancel, safe delivery.

A job is a plain function (an engine call) taking a ``progress(done, total)``
callback. :class:`Runner` runs it in a napari worker thread and brings its
progress and its result back to the main thread, where the dock's callbacks
run (so layers are only ever changed on the main thread).

Why the worker thread never touches a dock
------------------------------------------
The docks used to emit a ``progressed`` signal of their own widget from the
worker thread. PyQt binds ``widget.progressed`` to the raw C++ pointer of the
widget when the attribute is looked up; ``emit`` then calls
``QMetaObject::activate`` on that pointer without checking it again, and
releases the GIL while it does. When napari deleted the dock (closing the
dock or the viewer) while the export was running, the next ``emit`` ran on
freed memory and the process crashed. ``RuntimeError: wrapped C/C++ object
has been deleted`` is raised only by the attribute look-up, never by an
``emit`` bound earlier, and even a look-up just before the emit races the
deletion on the main thread.

Here the worker thread touches one Qt object only: the job's relay, a
parentless ``QObject`` created on the main thread, referenced by the job,
which the worker thread holds until it returns. Nothing else can delete the
relay, so it outlives every emit made from the thread. Its signals are
queued to the main thread; there the runner checks that the dock (the
*owner*) is alive, still in the window it was in when the job started, and
that window is not closing, before it updates a widget or calls back. When
the owner is gone the job is cancelled: its next ``progress`` call raises
:class:`JobCancelled`, which the engines let through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot

from . import gc_hold
from .messages import failure_message

#: At most one progress update of the dock per this many seconds (and per event-loop turn).
PROGRESS_INTERVAL = 0.05


class JobCancelled(Exception):
    """Raised by a job's ``progress`` callback once the job is cancelled (or its dock is gone)."""


def _alive(obj) -> bool:
    """Whether a Qt object's C++ side still exists (call on the main thread only)."""
    try:
        obj.objectName()
    except RuntimeError:  # wrapped C/C++ object has been deleted
        return False
    return True


def _root(widget):
    """The outermost parent of a widget (napari's main window when the widget is docked)."""
    while (parent := widget.parentWidget()) is not None:
        widget = parent
    return widget


class _Relay(QObject):
    """Carries one job's progress and end to the main thread.

    Parentless and created on the main thread; only the job refers to it, and
    the worker thread holds the job until it returns. It is deleted on the main
    thread once the worker has finished. It also watches the window the owner
    was in for a close.
    """

    progressed = Signal()
    ended = Signal()

    def __init__(self, job: Job):
        super().__init__()
        self.job: Job | None = job
        self.close_seen = False
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.flush)
        self.progressed.connect(self.on_progressed)
        self.ended.connect(self.on_ended)

    @Slot()
    def on_progressed(self) -> None:
        job = self.job
        if job is None or self.timer.isActive():
            return
        wait = job.shown_at + PROGRESS_INTERVAL - time.monotonic()
        if wait > 0:
            self.timer.start(max(1, round(wait * 1000)))
        else:
            self.flush()

    @Slot()
    def flush(self) -> None:
        job = self.job
        if job is None:
            return
        if time.monotonic() - job.shown_at < PROGRESS_INTERVAL:  # a timer may fire a little early
            self.on_progressed()
            return
        job.runner._show_progress(job)

    @Slot()
    def on_ended(self) -> None:
        job, self.job = self.job, None
        self.timer.stop()
        if job is not None:
            job.runner._end(job)

    @Slot()
    def release(self) -> None:
        """The worker thread is done with the relay: delete it here, on the main thread."""
        self.job = None
        self.timer.stop()
        self.deleteLater()

    @Slot()
    def check_close(self) -> None:
        job = self.job
        if job is not None and not job.runner._deliverable(job):
            job.stop()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Close:
            self.close_seen = True
            gc_hold.release_all()  # so the closing window's objects can be collected
            QTimer.singleShot(0, self.check_close)  # the window may still refuse to close
        return False


class Job:
    """One function running in a worker thread; made by :meth:`Runner.start`.

    Attributes
    ----------
    what : str
        What the job does, for messages ("Export" -> "Export failed: ...").
    worker : FunctionWorker
        The napari worker running it.
    cancelled : bool
        Cancelled by a person (:meth:`Runner.cancel`); nothing is delivered then.
    """

    def __init__(self, runner: Runner, fn: Callable, what: str, *, label: str, quiet: bool,
                 returned: Callable | None, failed: Callable | None, cancelled_message: str | None):
        self.runner, self.fn, self.what, self.label, self.quiet = runner, fn, what, label, quiet
        self.returned, self.failed = returned, failed
        self.cancelled_message = cancelled_message or f"{what} was cancelled."
        self.cancelled = False
        self.shown_at = -PROGRESS_INTERVAL
        self.outcome: tuple[bool, Any] | None = None
        self.worker = None
        self.window = None  # the window the owner was in when the job started
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: tuple[int, int] | None = None
        self._poked = False
        self.relay = _Relay(self)

    def stop(self) -> None:
        """Ask the job to stop: its next ``progress`` call raises :class:`JobCancelled`."""
        self._stop.set()

    def progress(self, done, total) -> None:
        """The job's progress callback (called in the worker thread)."""
        if self._stop.is_set():
            raise JobCancelled(self.what)
        with self._lock:
            self._latest = (int(done), int(total))
            if self._poked:  # an update is on its way; it will show the latest value
                return
            self._poked = True
        self.relay.progressed.emit()

    def take_progress(self) -> tuple[int, int] | None:
        """The latest progress not shown yet (main thread); lets the worker report again."""
        with self._lock:
            latest, self._latest, self._poked = self._latest, None, False
        return latest


def _run(job: Job) -> None:
    """The worker thread's body: the job, its outcome, then the relay's end signal."""
    try:
        job.outcome = (True, job.fn(job.progress))
    except BaseException as exc:  # noqa: BLE001 (every failure is delivered, none escapes the thread)
        job.outcome = (False, exc)
    job.relay.ended.emit()


class Runner:
    """Runs a dock's jobs in worker threads and keeps its busy state.

    Parameters
    ----------
    owner : QWidget
        The dock (or the part of it) the jobs belong to. Nothing is delivered
        once it is deleted, taken out of the window it was in when a job
        started (its dock was closed), or that window is closing; its jobs
        are cancelled then.
    progress : QProgressBar, optional
        Shown while a job that is not quiet runs, with that job's progress.
    controls : sequence of QWidget
        Disabled while a job that is not quiet runs.
    cancel_button : QAbstractButton, optional
        Shown while a job runs; cancels the running jobs.
    session : Session, optional
        The viewer's :class:`~napari_patchwise.layers.session.Session`: told
        when each job starts and ends, so its ``busy`` / ``idle`` signals
        cover every dock of the viewer.

    The pattern a dock copies::

        self.runner = Runner(self, progress=self.progress, controls=(self.apply_button,),
                             session=session_for(viewer))
        self.runner.start(lambda progress: engine_job(request, progress), what="Seeding",
                          returned=self._show_result)

    Failures are shown as ``"{what} failed: ..."``; nothing is delivered once
    the dock is closed.
    """

    def __init__(self, owner, *, progress=None, controls: Sequence = (), cancel_button=None, session=None):
        self.owner = owner
        self.session = session
        self.progress_bar = progress
        self.controls = tuple(controls)
        self.cancel_button = cancel_button
        self.jobs: list[Job] = []
        self._owner_deleted = False
        owner.destroyed.connect(self._on_owner_destroyed)
        if cancel_button is not None:
            cancel_button.clicked.connect(lambda *_: self.cancel())
            cancel_button.setVisible(False)
        if progress is not None:
            progress.setVisible(False)

    # -- state -------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A job that is not quiet is running."""
        return any(not job.quiet for job in self.jobs)

    @property
    def owner_alive(self) -> bool:
        return not self._owner_deleted and _alive(self.owner)

    def _deliverable(self, job: Job) -> bool:
        """Whether the job may still touch its dock and viewer (main thread)."""
        if not self.owner_alive:
            return False
        window = job.window
        if window is None:
            return True
        if not _alive(window) or (job.relay.close_seen and not window.isVisible()):
            return False  # the viewer is closing
        return _root(self.owner) is window  # else the dock was closed

    # -- starting and stopping -----------------------------------------------------
    def start(self, fn: Callable[[Callable[[int, int], None]], Any], *, what: str,
              returned: Callable[[Any], None] | None = None, failed: Callable[[str], None] | None = None,
              label: str = "%p%", quiet: bool = False, cancelled: str | None = None) -> Job:
        """Run ``fn(progress)`` in a worker thread.

        Parameters
        ----------
        fn : callable
            The work; called in the worker thread with a ``progress(done, total)``
            callback that raises :class:`JobCancelled` once the job is cancelled.
        what : str
            What it does, for messages: failures read ``"{what} failed: ..."``
            (:func:`.messages.failure_message`), shown as a napari error.
        returned : callable, optional
            Called on the main thread with ``fn``'s result.
        failed : callable, optional
            Called on the main thread with the failure message, after it is shown.
        label : str
            The progress bar's format while it runs (``%p%`` is the percentage).
        quiet : bool
            Background work: no progress bar, controls stay enabled, not :attr:`busy`.
        cancelled : str, optional
            What to say when a person cancels it (default ``"{what} was cancelled."``).

        Returns
        -------
        Job
        """
        job = Job(self, fn, what, label=label, quiet=quiet, returned=returned, failed=failed,
                  cancelled_message=cancelled)
        root = _root(self.owner)
        if root is not self.owner:
            job.window = root
            root.installEventFilter(job.relay)
        job.worker = create_worker(_run, job, _start_thread=False, _ignore_errors=True)
        job.worker.finished.connect(job.relay.release)
        self.jobs.append(job)
        gc_hold.hold(job)  # no full collection of the window's objects while it runs
        if self.session is not None:
            self.session.job_started()
        if not quiet and self.progress_bar is not None:
            self.progress_bar.setRange(0, 0)  # a busy indicator until the first report
            self.progress_bar.setValue(0)
        self._update()
        job.worker.start()
        return job

    def cancel(self) -> None:
        """Cancel the running jobs (they stop at their next progress report)."""
        for job in self.jobs:
            job.cancelled = True
            job.stop()
        if self.jobs and self.progress_bar is not None and self.owner_alive:
            self.progress_bar.setFormat("cancelling…")

    def _on_owner_destroyed(self, *_) -> None:
        self._owner_deleted = True
        for job in self.jobs:
            job.stop()

    # -- on the main thread ----------------------------------------------------------
    def _update(self) -> None:
        """Progress bar, controls and cancel button from the running jobs."""
        if not self.owner_alive:
            return
        busy = self.busy
        for widget in self.controls:
            widget.setEnabled(not busy)
        if self.progress_bar is not None:
            self.progress_bar.setVisible(busy)
            if busy:
                self.progress_bar.setFormat(self._shown_job().label)
        if self.cancel_button is not None:
            self.cancel_button.setVisible(busy)

    def _shown_job(self) -> Job | None:
        """The job whose progress the bar shows: the newest that is not quiet."""
        return next((job for job in reversed(self.jobs) if not job.quiet), None)

    def _show_progress(self, job: Job) -> None:
        """The job's latest progress on the bar (called at most every PROGRESS_INTERVAL)."""
        job.shown_at = time.monotonic()
        latest = job.take_progress()
        if not self._deliverable(job):
            job.stop()
            return
        self._set_bar(job, latest)

    def _set_bar(self, job: Job, latest: tuple[int, int] | None) -> None:
        bar = self.progress_bar
        if latest is None or bar is None or job.cancelled or job is not self._shown_job():
            return
        done, total = latest
        total = max(1, total)
        # QProgressBar.setValue repaints at once whenever its text changes, and a widget's repaint composes
        # the whole window (through software OpenGL on many machines): with updates off it is only marked,
        # and drawn with the window's next repaint.
        bar.setUpdatesEnabled(False)
        try:
            if bar.maximum() != total:
                bar.setRange(0, total)
            bar.setValue(min(max(done, 0), total))
        finally:
            bar.setUpdatesEnabled(True)  # schedules the bar's update

    def _end(self, job: Job) -> None:
        """The job returned or failed: deliver it if its dock and viewer are still there."""
        if job.window is not None and _alive(job.window):
            job.window.removeEventFilter(job.relay)
        deliver = self._deliverable(job)
        if deliver:
            self._set_bar(job, job.take_progress())  # its last report, before the bar hides
        self.jobs.remove(job)
        if self.session is not None:
            self.session.job_ended()
        (ok, value), job.outcome = job.outcome, None
        returned, failed = job.returned, job.failed
        job.fn = job.returned = job.failed = job.window = None  # keep no dock or viewer alive
        self._update()
        try:
            if deliver:
                self._deliver(job, ok, value, returned, failed)
        finally:
            gc_hold.release(job)

    def _deliver(self, job: Job, ok: bool, value, returned, failed) -> None:
        if job.cancelled or (not ok and isinstance(value, JobCancelled)):
            show_info(job.cancelled_message)
        elif ok:
            if returned is not None:
                returned(value)
        else:
            message = failure_message(job.what, value)
            show_error(message)
            if failed is not None:
                failed(message)
