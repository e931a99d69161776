"""Stratified proposal, points and uncertainty: the engine, without Qt."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.propose.block_grid import candidate_grid
from napari_patchwise.engine.propose.blockstats import STAT_NAMES
from napari_patchwise.engine.propose.cellstats import candidate_layout
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import PRESET_NAMES, TARGET_TOTAL_VOXELS, get_preset
from napari_patchwise.engine.propose.run import (
    Candidates,
    box_size_for,
    boxes_from_points,
    measure_candidates,
    propose,
    propose_by_uncertainty,
    repropose_box,
)
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.propose.block_grid import edge_blocks
from napari_patchwise.engine.propose.strata import STRATA, assign_strata
from napari_patchwise.engine.plan.rules import validate_plan


@pytest.fixture(scope="module")
def sample():
    return make_sample()


@pytest.fixture(scope="module")
def plan(sample):
    return Plan(ImageRef(sample.image.shape), get_preset("instance"), 1)


@pytest.fixture(scope="module")
def cands(sample, plan):
    return measure_candidates(sample.image, plan)


def _overlap(box, region):
    lo = np.maximum(box.lo, region[0])
    hi = np.minimum(box.hi, region[1])
    return int(np.prod(np.clip(hi - lo, 0, None)))


def _members(cands, name):
    return np.flatnonzero(cands.strata.member[:, STRATA.index(name)] & cands.strata.informative)


def _pairwise_disjoint(boxes):
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not all(al < bh and bl < ah for al, ah, bl, bh in zip(a.lo, a.hi, b.lo, b.hi)), \
                (a, b)


# ------------------------------------------------------------------ strata
def test_every_stratum_is_found_on_the_sample(cands):
    counts = cands.strata.counts()
    for name in STRATA:
        if name == "uncertain":
            assert counts[name] == 0  # no probability map was given
        else:
            assert counts[name] > 0, name


def test_strata_hold_what_their_names_say(cands, sample):
    s = cands.stats
    low, best = _members(cands, "low_snr"), _members(cands, "best")
    assert np.nan_to_num(s["snr"][low]).max() < np.nanmin(s["snr"][best])
    dense, sparse = _members(cands, "dense"), _members(cands, "sparse")
    assert s["density"][dense].min() > s["density"][sparse].max()
    art = _members(cands, "artifact")
    assert np.all((s["blank"][art] >= 0.02) | (s["saturated"][art] >= 0.005))
    edge = _members(cands, "edge")
    ends = cands.grid.origins + np.array(cands.block)
    touches = (cands.grid.origins[:, 1:] == 0) | (ends[:, 1:] == np.array(cands.grid.image_shape[1:]))
    assert np.all(touches[edge].any(axis=1))
    typical = _members(cands, "typical")
    others = cands.strata.member[typical][:, [STRATA.index(n) for n in STRATA if n != "typical"]]
    assert not others.any()
    # the planted regions land in their strata
    def inside(region):
        lo, hi = np.array(region[0]), np.array(region[1])
        return np.flatnonzero(np.all((cands.grid.origins >= lo) & (ends <= hi), axis=1))
    assert set(inside(sample.regions["low_snr"])) <= set(low)
    assert set(inside(sample.regions["dense"])) & set(_members(cands, "worst"))
    empty = inside(sample.regions["empty"])
    assert len(empty) >= 1 and not cands.strata.informative[empty].any()


def test_uncertain_stratum_with_a_probability_map(sample, plan):
    prob = np.full(sample.image.shape, 0.98, np.float32)
    prob[:, 128:192, 0:64] = 0.5  # the model is unsure in one block
    c = measure_candidates(sample.image, plan, probability=prob)
    unsure = _members(c, "uncertain")
    assert len(unsure) >= 1
    assert np.argmax(c.stats["uncertainty"]) in unsure
    assert c.extent(int(np.argmax(c.stats["uncertainty"])))[0] == (0, 128, 0)


def test_edge_blocks_ignore_axes_the_blocks_fill():
    o = candidate_grid((96, 256, 256), (64, 64, 64)).origins
    e = edge_blocks(o, (64, 64, 64), (96, 256, 256))
    inner = np.all((o[:, 1:] > 0) & (o[:, 1:] < 192), axis=1)
    assert not e[inner].any() and e[~inner].all()


# ------------------------------------------------------------------ proposal on the sample
def test_sample_proposal_lands_in_every_region_and_never_in_empty_space(sample, plan, cands):
    new, report = propose(plan, cands, seed=0)
    assert len(new.boxes) == plan.preset.suggested_count
    assert report.strata_covered == tuple(s for s in STRATA if report.strata_available[s])
    for kind in ("dense", "sparse", "low_snr", "edge"):
        assert any(_overlap(b, sample.regions[kind]) >= 0.5 * b.nvoxels for b in new.boxes), kind
    for kind in ("saturated", "blank"):
        assert any(_overlap(b, sample.regions[kind]) > 0 for b in new.boxes), kind
    assert all(_overlap(b, sample.regions["empty"]) < 0.9 * b.nvoxels for b in new.boxes)
    per_box = [f for f in new.validate() if f.box_id is not None]
    assert per_box == []
    plan_level = {f.code for f in new.validate()}
    assert "total-voxels" not in plan_level and "clustered" not in plan_level
    assert sum(b.nvoxels for b in new.boxes) >= TARGET_TOTAL_VOXELS[0]
    for b in new.boxes:
        assert b.source == "proposal" and b.stratum in STRATA
        assert b.stratum in b.stats["strata"]
        assert set(STAT_NAMES) <= set(b.stats)


def test_same_seed_same_boxes_other_seed_other_boxes(plan, cands):
    a, _ = propose(plan, cands, n=8, seed=3)
    b, _ = propose(plan, cands, n=8, seed=3)
    c, _ = propose(plan, cands, n=8, seed=4)
    key = lambda p: [(x.lo, x.stratum) for x in p.boxes]  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(c)


def test_n_strata_boxes_cover_every_stratum(plan, cands):
    n = sum(1 for s in STRATA if cands.strata.counts()[s] and s != "typical")
    for seed in range(10):
        _, report = propose(plan, cands, n=n, seed=seed)
        assert f"content strata covered {n}/{n}:" in report.summary()


def test_budget_stops_the_proposal(plan, cands):
    per_box = 64**3
    new, _ = propose(plan, cands, budget=3 * per_box + 1)
    assert len(new.boxes) == 4
    with pytest.raises(ValueError, match="either a box count"):
        propose(plan, cands, n=2, budget=10)
    with pytest.raises(ValueError, match="whole number"):
        propose(plan, cands, n=-1)


def test_existing_and_locked_boxes_are_kept_and_never_overlapped(plan, cands):
    start = plan.add_boxes([((0, 100, 100), (64, 164, 164))], source="manual")
    start, locked = start.add_box((0, 300, 10), (64, 364, 74), source="proposal", locked=True)
    first, _ = propose(start, cands, n=6, seed=1)
    _pairwise_disjoint(first.boxes)
    again, _ = propose(first, cands, n=6, seed=2, replace=True)
    ids = {b.id for b in again.boxes}
    assert {1, locked.id} <= ids  # manual and locked boxes stay
    dropped = {b.id for b in first.boxes if b.source == "proposal" and not b.locked}
    assert not (dropped & ids)  # earlier unlocked proposals were replaced
    _pairwise_disjoint(again.boxes)


def test_excluded_regions_are_not_proposed(plan, cands):
    first, _ = propose(plan, cands, n=10, seed=0)
    rejected = [(b.lo, b.hi) for b in first.boxes[:3]]
    again, _ = propose(plan, cands, n=10, seed=0, exclude=rejected)
    for b in again.boxes:  # not even partly: candidates overlap, a shifted twin is refused too
        assert not any(_overlap(b, r) for r in rejected)


# ------------------------------------------------------------- candidates reach every voxel
def test_a_feature_in_the_lattice_remainder_gets_a_box():
    # 96 planes and 64³ boxes: on a lattice from the origin nothing could start below z 64
    img = make_sample((96, 128, 192), seed=3).image.copy()
    img[72:90, 40:80, 60:100] = np.iinfo(img.dtype).max  # saturated: the only artifact
    plan = Plan(ImageRef(img.shape), get_preset("instance"), 1)
    c = measure_candidates(img, plan)
    assert (c.grid.origins[:, 0] == 32).any()
    new, report = propose(plan, c, n=len(STRATA), seed=0)
    art = [b for b in new.boxes if b.stratum == "artifact"]
    assert art and art[0].lo[0] == 32 and _overlap(art[0], ((72, 40, 60), (90, 80, 100))) > 0
    _pairwise_disjoint(new.boxes)


def test_a_small_volume_gets_boxes_of_distinct_strata_not_a_tiling():
    s = make_sample((64, 192, 192))  # 2.4 M voxels: 9 lattice blocks of 64³ would tile it
    plan = Plan(ImageRef(s.image.shape), get_preset("instance"), 1)
    new, report = propose(plan, measure_candidates(s.image, plan), seed=0)
    assert len(new.boxes) == 4  # half the volume holds four boxes
    strata = [b.stratum for b in new.boxes]
    assert len(set(strata)) == len(strata)
    assert any("fewer than the 5 million" in m and "half" in m for m in report.messages)
    _pairwise_disjoint(new.boxes)
    more, _ = propose(plan, measure_candidates(s.image, plan), n=9, seed=0)
    assert len(more.boxes) > 4  # asked for: more than half, as far as they fit


def test_the_summary_counts_the_strata_it_lists(plan, cands):
    new, report = propose(plan, cands, seed=0)  # the demo's default proposal: 20 boxes
    text = report.summary()
    head, _, rest = text.partition(": ")
    k, n = (int(v) for v in head.rsplit(" ", 1)[1].split("/"))
    content, _, typical = rest.partition("; typical ")
    named = [part.split(" ")[0] for part in content.split(", ")]
    assert len(named) == n and len(set(named)) == n and "typical" not in named
    assert k == sum("missing" not in part for part in content.split(", "))
    per = {b.stratum for b in new.boxes}
    assert ("typical" in per) == bool(typical)
    listed = sum(int(p.split(" ")[1]) for p in content.split(", ") if p.split(" ")[1].isdigit())
    assert listed + (int(typical) if typical else 0) == len(new.boxes)


def test_empty_space_only_when_asked(plan, cands):
    informative = cands.strata.informative
    assert not informative.all()
    everything, report = propose(plan, cands, n=len(cands), include_empty=False)
    taken = [cands.grid.origins.tolist().index(list(b.lo)) for b in everything.boxes]
    assert informative[taken].all()
    assert not (informative & ~_covers(cands, everything.boxes)).any()  # no room left
    assert report.messages and "only" in report.messages[0]
    with_empty, _ = propose(plan, cands, n=len(cands), include_empty=True)
    assert _covers(cands, with_empty.boxes).all()  # every candidate is taken or overlapped
    assert len(with_empty.boxes) > len(everything.boxes)


def test_repropose_keeps_the_stratum_and_moves_the_box(plan, cands):
    new, _ = propose(plan, cands, n=8, seed=0)
    box = next(b for b in new.boxes if b.stratum == "low_snr")
    swapped, new_id = repropose_box(new, cands, box.id, seed=0)
    assert new_id is not None and new_id != box.id
    nb = swapped.box(new_id)
    assert nb.stratum == "low_snr" and nb.lo != box.lo
    _pairwise_disjoint(swapped.boxes)
    locked = new.update_box(box.id, locked=True)
    with pytest.raises(ValueError, match="locked"):
        repropose_box(locked, cands, box.id)


def test_candidates_from_another_plan_are_refused(plan, cands):
    other = Plan(ImageRef((96, 384, 384)), get_preset("instance"), (1, 2, 2))
    with pytest.raises(ValueError, match="another image shape or magnification"):
        propose(other, cands)
    with pytest.raises(TypeError, match="measure_candidates"):
        propose(plan, "cands")


# ------------------------------------------------------------------ uncertainty ranking
def test_uncertainty_ranking_takes_the_least_sure_blocks_first(sample, plan):
    rng = np.random.default_rng(0)
    prob = np.full(sample.image.shape, 0.99, np.float32)
    levels = {(0, 0, 128): 0.5, (0, 192, 320): 0.6, (0, 320, 64): 0.7}
    for (z, y, x), p in levels.items():
        prob[z:z + 64, y:y + 64, x:x + 64] = p
    c = measure_candidates(sample.image, plan, probability=prob + rng.uniform(0, 1e-3, prob.shape))
    new, report = propose_by_uncertainty(plan, c, n=3)
    assert [b.lo for b in new.boxes] == list(levels)
    assert {b.source for b in new.boxes} == {"uncertainty"}
    small = Plan(ImageRef((96, 128, 128)), get_preset("instance"), 1)
    with pytest.raises(ValueError, match="probability map"):
        propose_by_uncertainty(small, measure_candidates(sample.image[:, :128, :128], small), n=1)


def test_class_probabilities_give_uncertainty(sample, plan):
    prob = np.zeros((3, *sample.image.shape), np.float32)
    prob[0] = 1.0
    prob[:, :, :64, :64] = 1 / 3
    c = measure_candidates(sample.image, plan, probability=prob)
    assert c.stats["uncertainty"][0] == pytest.approx(1.0)
    apart = ~_covers(c, [Plan(ImageRef(sample.image.shape)).add_box((0, 0, 0),
                                                                     (96, 64, 64))[1]])
    assert np.nanmax(c.stats["uncertainty"][apart]) == pytest.approx(0.0)


# ------------------------------------------------------------------ bad input
def test_bad_images_get_clear_messages(plan, sample):
    with pytest.raises(ValueError, match="2D.*z axis"):
        measure_candidates(sample.image[0], plan)
    flat_plan = Plan(ImageRef((64, 128, 128)), get_preset("instance"), 1)
    with pytest.raises(ValueError, match="constant.*nothing can be proposed"):
        measure_candidates(np.full((64, 128, 128), 9, np.uint16), flat_plan)
    img = sample.image[:64, :128, :128].astype(np.float32)
    img[40, 100, 3] = np.nan
    with pytest.raises(ValueError, match="NaN.*fill"):
        measure_candidates(img, flat_plan)
    with pytest.raises(ValueError, match=r"probability array has shape \(96, 384, 100\)"):
        measure_candidates(sample.image, plan, probability=np.zeros((96, 384, 100), np.float32))
    with pytest.raises(ValueError, match=r"plan was made for \(96, 384, 384\)"):
        measure_candidates(np.zeros((64, 128, 128), np.uint16), plan)
    with pytest.raises(ValueError, match="below the instance preset's minimum"):
        measure_candidates(sample.image, plan, size=(16, 64, 64))
    big = Plan(ImageRef((96, 384, 384)), get_preset("membrane"), 1)
    with pytest.raises(ValueError, match="no box fits.*only 96 voxels along z.*instance preset"):
        measure_candidates(sample.image, big)
    with pytest.raises(ValueError, match="more than the image.*smaller box size"):
        measure_candidates(sample.image, plan, size=(128, 64, 64))


def test_out_of_core_zarr_input(tmp_path, sample, plan, cands):
    z = zarr.create_array(store=str(tmp_path / "img.zarr"), shape=sample.image.shape,
                          chunks=(32, 96, 96), dtype=sample.image.dtype)
    z[:] = sample.image
    c = measure_candidates(zarr.open_array(str(tmp_path / "img.zarr"), mode="r"), plan)
    a, _ = propose(plan, c, n=8)
    b, _ = propose(plan, cands, n=8)
    assert [x.lo for x in a.boxes] == [x.lo for x in b.boxes]


# ------------------------------------------------------------------ rules, property-based
def _fake_candidates(plan, rng):
    block = box_size_for(plan)
    grid = candidate_layout(plan.image.shape, block, mag=plan.magnification).grid
    n = len(grid)
    stats = {k: rng.random(n) for k in STAT_NAMES}
    stats["p99"] = stats["p01"] + 0.05 + rng.random(n)
    stats["snr"] = rng.uniform(0, 40, n)
    stats["density"] = rng.uniform(0, 3, n)
    stats["blank"] = np.where(rng.random(n) < 0.2, rng.random(n), 0.0)
    stats["saturated"] = np.where(rng.random(n) < 0.1, rng.random(n) * 0.1, 0.0)
    hi = np.asarray(grid.image_shape) - grid.origins - np.asarray(grid.block)
    stats["border_distance"] = np.minimum(grid.origins, hi).min(axis=1).astype(float)
    stats["uncertainty"] = rng.random(n) if rng.random() < 0.5 else np.full(n, np.nan)
    table = assign_strata(stats, edge=edge_blocks(grid.origins, grid.block, grid.image_shape))
    return Candidates(grid, stats, table)


MAGS = [(1, 1, 1), (1, 2, 2), (2, 2, 2), (1, 3, 3), (2, 4, 4)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(PRESET_NAMES),
    mag=st.sampled_from(MAGS),
    k=st.tuples(*[st.integers(1, 4)] * 3),
    extra=st.tuples(*[st.integers(0, 7)] * 3),
    n=st.one_of(st.none(), st.integers(0, 30)),
    seed=st.integers(0, 2**16),
    n_manual=st.integers(0, 2),
)
def test_every_proposed_box_passes_the_rules(preset, mag, k, extra, n, seed, n_manual):
    p = get_preset(preset, minimum=(30, 90, 90)) if preset == "custom" else get_preset(preset)
    shape = tuple(ki * f + e for ki, f, e in zip(k, p.size_at(mag), extra))
    plan = Plan(ImageRef(shape), p, mag)
    full = box_size_for(plan)  # the preset's default, or refitted for voxels anisotropic at mag
    rng = np.random.default_rng(seed)
    for _ in range(n_manual):  # hand-drawn boxes anywhere on the grid
        lo = tuple(int(rng.integers(0, (s - f) // m + 1)) * m for s, f, m in zip(shape, full, mag))
        if not any(all(a < bh and b < ah for a, ah, b, bh in
                       zip(lo, np.add(lo, full), x.lo, x.hi)) for x in plan.boxes):
            plan, _ = plan.add_box(lo, tuple(np.add(lo, full)))
    cands = _fake_candidates(plan, rng)
    new, report = propose(plan, cands, n=n, seed=seed)
    added = [b for b in new.boxes if b.id in report.added]
    if n is not None:
        assert len(added) <= n
    findings = validate_plan(new.boxes, shape, mag, p)
    assert [f for f in findings if f.box_id is not None] == []
    _pairwise_disjoint(new.boxes)
    again, _ = propose(plan, cands, n=n, seed=seed)
    assert [b.lo for b in again.boxes] == [b.lo for b in new.boxes]
    if n is None:  # the default fills up to the target, or says the volume has no more room
        per_box = math.prod(f // m for f, m in zip(full, mag))
        total = sum(math.prod(s // m for s, m in zip(b.size, mag)) for b in new.boxes)
        volume = math.prod(s // m for s, m in zip(shape, mag))
        small = volume < TARGET_TOTAL_VOXELS[0]
        target = max(TARGET_TOTAL_VOXELS[0], per_box * p.suggested_count)
        if small:  # at most half of a small image (or one box), and said so
            assert total <= max(volume // 2, per_box) or len(added) == 0
            assert any("fewer than the 5 million" in m for m in report.messages)
        if any("fit without overlapping" in m or "is free" in m for m in report.messages):
            free = cands.strata.informative & ~_covers(cands, new.boxes)
            assert not free.any()
        elif not small:
            assert total >= target or len(new.boxes) >= p.suggested_count


def _covers(cands, boxes):
    lo = cands.grid.origins
    hi = lo + np.asarray(cands.block)
    hit = np.zeros(len(cands), bool)
    for b in boxes:
        hit |= np.all((lo < np.asarray(b.hi)) & (hi > np.asarray(b.lo)), axis=1)
    return hit


# ------------------------------------------------------------------ points
def test_points_at_the_border_shift_or_reject():
    shape, size = (200, 300, 300), (160, 160, 160)
    pts = [[100, 150, 150], [5, 150, 150], [100, 299, 2]]
    shifted = boxes_from_points(pts, size, shape, border="shift")
    assert shifted.points == (0, 1, 2)
    assert shifted.extents[0] == ((20, 70, 70), (180, 230, 230))
    assert shifted.extents[1] == ((0, 70, 70), (160, 230, 230))
    assert shifted.extents[2] == ((20, 140, 0), (180, 300, 160))
    assert len(shifted.messages) == 2 and "shifted inside" in shifted.messages[0]
    rejected = boxes_from_points(pts, size, shape, border="reject")
    assert rejected.points == (0,)
    assert all("rejected" in m for m in rejected.messages) and len(rejected.messages) == 2


def test_points_snap_to_the_magnification_and_stay_centred():
    res = boxes_from_points([[50, 101, 101]], (32, 64, 64), (100, 400, 400), mag=(1, 2, 2))
    (lo, hi), = res.extents
    assert all(v % m == 0 for v, m in zip(lo, (1, 2, 2)))
    centre = np.add(lo, hi) / 2
    assert np.all(np.abs(centre - [50.5, 101.5, 101.5]) <= 1)


@pytest.mark.parametrize("points, match", [
    (np.zeros((3, 2)), r"\(N, 3\)"),
    ([[1, 2, np.nan]], "missing or infinite"),
    ([[1, 2, 3], [500, 2, 3]], "outside the image.*point 1 at \\(500, 2, 3\\).*voxel"),
])
def test_bad_points(points, match):
    with pytest.raises(ValueError, match=match):
        boxes_from_points(points, (32, 32, 32), (100, 100, 100))


def test_bad_point_options():
    with pytest.raises(ValueError, match='"shift" or "reject"'):
        boxes_from_points([[50, 50, 50]], (32, 32, 32), (100, 100, 100), border="clip")
    with pytest.raises(ValueError, match="does not fit"):
        boxes_from_points([[50, 50, 50]], (160, 32, 32), (100, 100, 100))


def test_dask_probability_and_labels(sample, plan):
    labels = da.from_array(sample.labels, chunks=(48, 192, 192))
    c = measure_candidates(sample.image, plan, labels=labels)
    assert c.strata.counts()["dense"] > 0
