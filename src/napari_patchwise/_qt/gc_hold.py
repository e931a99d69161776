"""No full garbage collection of the window's objects while the docks' jobs run.

A napari window with the Patchwise dock holds a few hundred thousand objects
that CPython's cyclic garbage collector tracks. A full (generation 2)
collection walks all of them: 100–200 ms with the GIL held, so the GUI thread
stands still whichever thread set it off. Jobs allocate a lot (dask graphs,
per-chunk results), so full collections come while they run, and the window
stutters in the middle of a proposal or an export.

While at least one job runs, :func:`hold` keeps the objects that existed when
the first job started out of the collector's walks (:func:`gc.freeze`), after a
collection of the young generations has freed their garbage; what the jobs
make is collected as usual. When the last job has delivered its result, or the
window it runs in is closing, :func:`release` gives them back
(:func:`gc.unfreeze`, into the oldest generation): a cycle among them that
became garbage meanwhile is freed by the next full collection, as it would have
been, only later. Nothing is frozen for good, and a freeze made by someone else
(``gc.get_freeze_count()`` not zero when the first job starts) is left alone:
then this does nothing.

Main thread only (the runner calls it from there).

Examples
--------
>>> import gc
>>> gc.get_freeze_count() == 0
True
>>> hold("export"); hold("seed")
>>> gc.get_freeze_count() > 0
True
>>> release("export"); gc.get_freeze_count() > 0   # one job still runs
True
>>> release("seed"); gc.get_freeze_count()
0
"""

from __future__ import annotations

import gc

_holders: set[int] = set()  # the running jobs (their ids)
_froze = False  # whether the freeze in place is ours


def hold(job) -> None:
    """``job`` starts: freeze the tracked objects if no other job runs."""
    global _froze
    first = not _holders
    _holders.add(id(job))
    if first and not _froze and gc.isenabled() and gc.get_freeze_count() == 0:
        gc.collect(1)  # the young garbage first (a few ms): only what lives is frozen
        gc.freeze()
        _froze = True


def release(job) -> None:
    """``job`` has ended (its result delivered): unfreeze once no job runs."""
    _holders.discard(id(job))
    if not _holders:
        _unfreeze()


def release_all() -> None:
    """A window is closing: unfreeze now, whatever still runs, so its objects can be collected.

    The jobs running now no longer count; jobs started later hold again.
    """
    _holders.clear()
    _unfreeze()


def _unfreeze() -> None:
    global _froze
    if _froze:
        gc.unfreeze()
        _froze = False
