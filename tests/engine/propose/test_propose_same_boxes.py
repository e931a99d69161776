"""Speed work on the measurement must not change the proposal: same seed, same boxes.

The box lists in ``data/propose_boxes.json`` were written by the proposal
before the measurement was made faster (``python tests/engine/propose/test_propose_same_boxes.py``
rewrites them; do that only for an intended change of the proposal).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import zarr
from scipy import ndimage as ndi

from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.propose.run import measure_candidates, propose
from napari_patchwise.engine.samples.nuclei import make_sample

GOLDEN = Path(__file__).parent / "data" / "propose_boxes.json"
SHAPE, CHUNKS = (48, 160, 192), (16, 64, 64)


def _blobs(shape, seed=0) -> np.ndarray:
    """Blobs on a noisy background (uint16), as in ``benchmarks/bench_blockstats.py``."""
    rng = np.random.default_rng(seed)
    field = ndi.gaussian_filter(rng.standard_normal(shape).astype(np.float32), (2, 3, 3))
    img = 100 + 800 * (field > 0.3 * field.std()) + rng.normal(0, 10, shape)
    return np.clip(img, 0, 65534).astype(np.uint16)


def _zarr_volume(folder: Path):
    z = zarr.create_array(store=str(folder / "vol.zarr"), shape=SHAPE, chunks=CHUNKS, dtype=np.uint16)
    z[:] = _blobs(SHAPE)
    return z


def _cases(folder: Path):
    sample = make_sample()
    yield "sample_instance", sample.image, "instance", {}
    yield "sample_labels", sample.image, "instance", {"labels": sample.labels}
    vol = _zarr_volume(folder)
    yield "zarr_instance", vol, "instance", {}
    yield "zarr_small_boxes", vol, "instance", {"size": (32, 32, 48)}


def _boxes(image, preset, extra, seed) -> list:
    plan = Plan(ImageRef(tuple(image.shape)), get_preset(preset), 1)
    cands = measure_candidates(image, plan, scheduler="synchronous", **extra)
    new, _ = propose(plan, cands, seed=seed)
    return [[list(map(int, b.lo)), list(map(int, b.hi)), b.stratum or ""] for b in new.boxes]


def _all_boxes(folder: Path) -> dict:
    return {f"{name}_seed{seed}": _boxes(image, preset, extra, seed)
            for name, image, preset, extra in _cases(folder) for seed in (0, 7)}


def test_same_seed_gives_the_same_boxes_as_before(tmp_path):
    if not GOLDEN.exists():
        pytest.skip(f"{GOLDEN.name} is missing")
    expected = json.loads(GOLDEN.read_text())
    got = _all_boxes(tmp_path)
    assert set(got) == set(expected)
    for key in expected:
        assert got[key], key
        assert got[key] == expected[key], key


if __name__ == "__main__":  # rewrite the box lists (only for an intended change of the proposal)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        GOLDEN.write_text(json.dumps(_all_boxes(Path(d)), indent=0) + "\n")
    print(f"wrote {GOLDEN}", file=sys.stderr)
