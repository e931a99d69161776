"""A measurement's progress is its own: computations running at the same time in one process (a
proposal's measurement beside napari slicing a dask layer, or another job) neither report into each
other's progress nor leave a callback registered for the rest of the process."""

from __future__ import annotations

import threading

import dask.array as da
from dask.callbacks import Callback

from napari_patchwise.engine.propose._daskrun import _compute


def test_two_computations_at_once_each_report_their_own_tasks_and_leave_no_callback():
    small, large = da.ones((40, 40), chunks=10).sum(), da.ones((400, 400), chunks=10).sum()
    seen = {"small": [], "large": [], "plain": []}
    start = threading.Barrier(3)

    def run(name, x):
        start.wait()
        if name == "plain":  # no progress asked: it must not run the others' callbacks either
            seen[name].append(float(x.compute()))
            return
        seen[name].append(float(_compute((x,), None, lambda d, t: seen[name].append((d, t)))[0]))

    threads = [threading.Thread(target=run, args=a) for a in
               (("small", small), ("large", large), ("plain", da.ones((300, 300), chunks=10).sum()))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["small"][-1] == 1600.0 and seen["large"][-1] == 160000.0 and seen["plain"] == [90000.0]
    totals = {name: {t for d, t in seen[name][:-1]} for name in ("small", "large")}
    assert len(totals["small"]) == len(totals["large"]) == 1  # one total each, its own graph's
    assert totals["small"] != totals["large"]
    assert seen["small"][-2][0] == seen["small"][-2][1] and seen["large"][-2][0] == seen["large"][-2][1]
    assert Callback.active == set()
