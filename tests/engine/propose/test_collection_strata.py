"""Strata over a collection: a much harder image gets more of the boxes; same seed, same boxes."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.jobs.spread import spread_boxes, spread_budget
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.plan_file import load_collection
from napari_patchwise.engine.propose.candidates import measure_candidates
from napari_patchwise.engine.propose.collection_strata import pool_strata, stratum_weights

SHAPE = (32, 128, 128)


def _blobs(n, amp, noise, seed):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(SHAPE)
    data = rng.normal(100, noise, SHAPE)
    for _ in range(n):
        c = [rng.integers(0, s) for s in SHAPE]
        data += amp * (((z - c[0]) / 3) ** 2 + ((y - c[1]) / 5) ** 2 + ((x - c[2]) / 5) ** 2 < 1)
    return np.clip(data, 0, 65535).astype(np.uint16)


@pytest.fixture(scope="module")
def volumes():
    """Same size, both informative throughout: bright sparse nuclei, and crowded dim noisy ones."""
    return {"easy": _blobs(60, 800, 5, 1), "hard": _blobs(200, 300, 12, 2)}


@pytest.fixture(scope="module")
def cands(volumes):
    return [measure_candidates(v, Plan(ImageRef(SHAPE)), size=(32, 32, 32), scheduler="sync")
            for v in volumes.values()]


def test_pooled_strata_put_the_collection_s_worst_blocks_in_the_hard_image(cands):
    easy, hard = pool_strata(cands)
    own_easy = cands[0].strata.counts()
    assert own_easy["worst"] > 0  # alone, the easy image has a worst fifth of its own ...
    assert easy.strata.counts()["worst"] == 0  # ... which is not hard beside the other image
    assert hard.strata.counts()["worst"] > cands[1].strata.counts()["worst"]
    # informative blocks and statistics stay each image's own
    for p, c in zip((easy, hard), cands):
        assert (p.strata.informative == c.strata.informative).all() and p.stats is c.stats


def test_the_hard_image_weighs_more_only_with_strata_over_the_collection(cands):
    per_image = stratum_weights(cands)
    pooled = stratum_weights(pool_strata(cands))
    assert abs(per_image[0] - per_image[1]) < 0.1  # each image's own strata: about an even split
    assert pooled[1] > 0.7 and sum(pooled) == pytest.approx(1.0)
    assert spread_boxes(10, pooled, 1, 9)[1] >= 7 > spread_boxes(10, per_image, 1, 9)[1]


def test_one_image_keeps_its_candidates(cands):
    assert pool_strata(cands[:1])[0] is cands[0]


def test_cli_per_image_gives_the_hard_image_more_boxes_same_seed_same_boxes(volumes, tmp_path, capsys):
    for name, v in volumes.items():
        write_tiff(tmp_path / f"{name}.tif", v, (1.0, 0.5, 0.5))
    args = [str(tmp_path / "easy.tif"), str(tmp_path / "hard.tif"), "--size", "32,32,32", "--n", "10",
            "--per-image", "1,9", "--seed", "3"]
    assert main(["propose", *args, "-o", str(tmp_path / "p1")]) == 0
    assert main(["propose", *args, "-o", str(tmp_path / "p2")]) == 0
    coll = load_collection(tmp_path / "p1")
    boxes = {e.name: e.plan.boxes for e in coll.images}
    assert len(boxes["hard"]) >= 7 and len(boxes["easy"]) + len(boxes["hard"]) == 10  # an even split gives 5
    assert "worst" in {b.stratum for b in boxes["hard"]}
    assert "worst" not in {b.stratum for b in boxes["easy"]}
    again = load_collection(tmp_path / "p2")
    assert [[(b.lo, b.hi, b.stratum) for b in e.plan.boxes] for e in again.images] == \
           [[(b.lo, b.hi, b.stratum) for b in e.plan.boxes] for e in coll.images]


def test_a_budget_counts_each_image_s_boxes_at_its_own_size():
    # 4000 voxels: boxes of 1000 and of 100 voxels; counted by the first image's size alone
    # (ceil(4000 / 1000) = 4 boxes, two each) they would hold 2200
    shares = spread_budget(4000, [1, 1], [1000, 100])
    assert shares[0] * 1000 + shares[1] * 100 >= 4000
    smaller = spread_boxes(sum(shares) - 1, [1, 1])
    assert smaller[0] * 1000 + smaller[1] * 100 < 4000  # the smallest total that holds it
    assert spread_budget(10**9, [1, 3], [10, 10], 1, 5) == (5, 5)
    with pytest.raises(ValueError, match="one box size"):
        spread_budget(100, [1, 1], [10])
