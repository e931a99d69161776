"""measure_each: several images measured two at a time give each image's own candidates, and each
computation reports its own progress (no callback left registered for the rest of the process)."""

from __future__ import annotations

import threading

import dask.array as da
import numpy as np
import pytest
from dask.callbacks import Callback

from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.propose.candidates import measure_candidates, measure_each
from napari_patchwise.engine.samples.nuclei import make_sample

SIZE = (32, 32, 32)


def _job(shape, seed):
    image = da.from_array(make_sample(shape, seed=seed).image, chunks=(32, 64, 64))
    return {"image": image, "plan": Plan(ImageRef(shape), get_preset("instance"), 1), "size": SIZE}


def test_each_image_gets_the_candidates_it_gets_alone_and_one_progress_runs_to_the_end():
    jobs = [_job((32, 96, 96), 0), _job((64, 128, 96), 1), _job((32, 64, 128), 2)]
    seen = []
    got = measure_each(jobs, progress=lambda done, total: seen.append((done, total)))
    for job, cands in zip(jobs, got):
        alone = measure_candidates(job["image"], job["plan"], size=SIZE)
        assert np.array_equal(cands.grid.origins, alone.grid.origins)
        for name, values in alone.stats.items():
            np.testing.assert_array_equal(cands.stats[name], values, err_msg=name)
    assert seen[-1] == (3000, 3000) and all(0 <= d <= t == 3000 for d, t in seen)
    assert Callback.active == set()


def test_a_failing_image_raises_its_error_and_leaves_no_callback_behind():
    bad = _job((32, 96, 96), 0)
    bad["size"] = (64, 256, 256)  # larger than the image
    other = {}

    def elsewhere():  # a computation of the process meanwhile sees none of the measurement's callbacks
        other["value"] = float(da.ones((64, 64), chunks=8).sum().compute())
        other["active"] = set(Callback.active)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with pytest.raises(ValueError):
        measure_each([_job((32, 96, 96), 1), bad, _job((32, 64, 64), 2)], progress=lambda done, total: None)
    thread.join()
    assert other == {"value": 4096.0, "active": set()} and Callback.active == set()
