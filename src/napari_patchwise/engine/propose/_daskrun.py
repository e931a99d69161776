"""Running a dask graph locally or on a ``dask.distributed`` cluster, with progress."""

from __future__ import annotations

import sys

import dask
import dask.threaded

_LOCAL = {"threads", "threading", "sync", "synchronous", "single-threaded", "processes",
          "multiprocessing"}


class SchedulerError(ValueError):
    """A dask.distributed scheduler that cannot be reached (nothing was computed)."""


class _Progress:
    """Counts finished dask tasks and reports ``(done, total)``; given to one computation as the
    tuple of :meth:`as_tuple` (a ``dask.callbacks.Callback`` used as a context would register it
    for every computation of the process)."""

    def __init__(self, report):
        self._report, self._done, self._total, self._last = report, 0, 1, -1

    def _start_state(self, dsk, state):
        self._total = max(1, sum(len(state[k]) for k in ("ready", "waiting", "running")))
        self._report(0, self._total)

    def _posttask(self, key, result, dsk, state, worker_id):
        self._done = min(self._done + 1, self._total)
        if self._done - self._last >= max(1, self._total // 100):
            self._last = self._done
            self._report(self._done, self._total)

    def _finish(self, dsk, state, errored):
        if not errored:
            self._report(self._total, self._total)

    def as_tuple(self) -> tuple:
        """The callbacks as the tuple dask's schedulers take for one computation (``callbacks=[...]``)."""
        return (None, self._start_state, None, self._posttask, self._finish)


def _compute(objs, scheduler, progress):
    if isinstance(scheduler, str) and scheduler not in _LOCAL:
        try:
            from dask.distributed import Client
        except ImportError:
            raise ValueError(
                f"scheduler={scheduler!r} is treated as a dask.distributed address, but the "
                "'distributed' package is not installed; pip install distributed "
                "(or pass scheduler=None to use local threads)."
            ) from None
        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            raise SchedulerError(
                f"cannot reach the dask scheduler at {scheduler!r} ({type(e).__name__}: {e}); start it "
                "(dask scheduler), check the address (e.g. tcp://host:8786), or leave the scheduler "
                "out to use local threads."
            ) from None
        with client:  # task callbacks are local-only: report start/end
            if progress:
                progress(0, 1)
            out = dask.compute(*objs, scheduler=client)
        if progress:
            progress(1, 1)
        return out
    if not progress:
        return dask.compute(*objs, scheduler=_local_default(scheduler))
    # this computation's own callback, not one registered for every computation of the process (as a
    # dask ``Callback`` used in a ``with`` block would): computations at the same time each report their own
    return dask.compute(*objs, scheduler=_local_default(scheduler), callbacks=[_Progress(progress).as_tuple()])


def _local_default(scheduler):
    """``scheduler``, or dask's threaded scheduler itself when dask's default could only be it.

    With no scheduler given (or any scheduler named by a string), dask looks for
    a ``dask.distributed`` client by importing ``distributed`` (about a second,
    once per process). No client can exist while ``distributed`` was never
    imported, and none is configured when ``dask.config`` names no scheduler:
    then dask's default is its threads, so their scheduler function is passed
    and the import is saved.

    Examples
    --------
    >>> _local_default("sync")
    'sync'
    >>> with dask.config.set(scheduler="sync"):
    ...     _local_default(None) is None
    True
    """
    if scheduler is None and "distributed" not in sys.modules and not dask.config.get("scheduler", None):
        return dask.threaded.get
    return scheduler
