"""The grid index behind the overlap and clustered findings gives what testing every pair gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.geometry.box import Box, boxes_overlap
from napari_patchwise.engine.geometry.overlaps import box_extents, overlap_pairs, overlap_partners
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.plan.rules import validate_plan
from napari_patchwise.engine.findings import Finding

INSTANCE = get_preset("instance")


# -- brute-force references (every pair; the rules as written before the index) --------


def brute_partners(boxes):
    out: dict[int, list[int]] = {}
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if boxes_overlap(a, b):
                out.setdefault(a.id, []).append(b.id)
                out.setdefault(b.id, []).append(a.id)
    return {k: sorted(v) for k, v in sorted(out.items())}


def brute_clustered(boxes, shape):
    """The clustered rule box by box, in plain Python."""
    n = len(boxes)
    if n < 2:
        return None
    median = [sorted(b.size[ax] for b in boxes)[n // 2] if n % 2 else
              (sorted(b.size[ax] for b in boxes)[n // 2 - 1]
               + sorted(b.size[ax] for b in boxes)[n // 2]) / 2 for ax in range(3)]
    splits = [2 if s >= 1.5 * e else 1 for s, e in zip(shape, median)]
    n_parts = math.prod(splits)
    if n_parts < 2:
        return None
    if n >= n_parts:
        counts: dict[tuple, int] = {}
        for b in boxes:
            key = tuple(min(k - 1, int(c * k // s)) if k > 1 else 0
                        for c, k, s in zip(b.center, splits, shape))
            counts[key] = counts.get(key, 0) + 1
        empty = n_parts - len(counts)
        key, crowded = max(counts.items(), key=lambda kv: kv[1])
        if 2 * empty >= n_parts and crowded >= max(3, math.ceil(n / 2)):
            return ("crowded", key, crowded, empty)
    for ax in range(3):
        if splits[ax] > 1 and n >= 3:
            low = sum(b.center[ax] < shape[ax] / 2 for b in boxes)
            if low in (0, n):
                return ("one-sided", ax, bool(low))
    return None


def _as_reference(finding: Finding | None, shape):
    """The fast finding in the reference's terms, read back from its message."""
    if finding is None:
        return None
    m = finding.message
    if m.startswith("all "):
        ax = "zyx".index(m.split(" along ")[1][0])
        return ("one-sided", ax, " low half" in m)
    crowded = int(m.split(" of ")[0])
    empty = int(m.split(" while ")[1].split(" of ")[0])
    where = m.split("(")[1].split(")")[0].split(", ")
    key = [0, 0, 0]
    for part in where:
        key["zyx".index(part[0])] = 1 if "high" in part else 0
    return ("crowded", tuple(key), crowded, empty)


@st.composite
def plans(draw):
    shape = draw(st.tuples(*[st.integers(8, 300)] * 3))
    n = draw(st.integers(0, 60))
    big = draw(st.integers(1, 120))
    boxes = []
    for i in range(n):
        lo = tuple(draw(st.integers(-20, s)) for s in shape)
        size = tuple(draw(st.integers(1, big)) for _ in range(3))
        boxes.append(Box(draw(st.integers(1, 10**6)) * 1000 + i, lo, tuple(l + s for l, s in zip(lo, size))))
    return boxes, shape


@settings(max_examples=300, deadline=None)
@given(plans())
def test_overlap_findings_equal_every_pair_tested(plan):
    boxes, shape = plan
    assert overlap_partners(boxes) == brute_partners(boxes)
    found = {f.box_id: f.message for f in validate_plan(boxes, shape, 1, INSTANCE) if f.code == "overlap"}
    assert sorted(found) == sorted(brute_partners(boxes))
    for bid, partners in brute_partners(boxes).items():
        assert f"box{'es' if len(partners) > 1 else ''} {', '.join(map(str, partners))};" in found[bid]


@settings(max_examples=300, deadline=None)
@given(plans())
def test_clustered_finding_equals_the_rule_box_by_box(plan):
    boxes, shape = plan
    found = [f for f in validate_plan(boxes, shape, 1, INSTANCE) if f.code == "clustered"]
    assert len(found) <= 1
    assert _as_reference(found[0] if found else None, shape) == brute_clustered(boxes, shape)


@pytest.mark.parametrize("seed", range(4))
def test_overlap_pairs_on_mixed_sizes(seed):
    # many small boxes, a few huge ones and flat slabs: the grid coarsens, pairs stay exact
    rng = np.random.default_rng(seed)
    n = 400
    lo = rng.integers(0, 2000, (n, 3))
    size = rng.integers(1, 40, (n, 3))
    size[:5] = 1500  # huge boxes touch many cells
    size[5:20, 0] = 1  # slabs
    size[5:20, 1:] = 1800
    hi = lo + size
    fast = {tuple(p) for p in overlap_pairs(lo, hi).tolist()}
    every = {(i, j) for i in range(n) for j in range(i + 1, n)
             if np.all((lo[i] < hi[j]) & (lo[j] < hi[i]))}
    assert fast == every
    assert len(every) > 0


def test_overlap_pairs_of_identical_boxes_lists_every_pair():
    lo = np.zeros((30, 3), int)
    assert len(overlap_pairs(lo, lo + 5)) == 30 * 29 // 2


def test_overlap_pairs_far_apart_and_beyond_int64():
    boxes = [Box(1, (0, 0, 0), (4, 4, 4)), Box(2, (2, 2, 2), (6, 6, 6)),
             Box(3, (10**30, 0, 0), (10**30 + 4, 4, 4)), Box(4, (-(10**12), 0, 0), (-(10**12) + 4, 4, 4))]
    lo, hi = box_extents(boxes)
    assert lo.dtype == np.int64
    assert overlap_partners(boxes) == {1: [2], 2: [1]}


def test_overlap_pairs_on_a_tiled_plane():
    # 10,000 boxes side by side in one z range (the old sweep along z tested ~50 million pairs)
    k = 100
    yx = np.stack(np.meshgrid(np.arange(k), np.arange(k), indexing="ij"), -1).reshape(-1, 2) * 64
    lo = np.column_stack([np.zeros(len(yx), int), yx])
    hi = lo + 64
    hi[::2, 2] += 1  # every other box reaches one voxel into its x neighbour
    pairs = overlap_pairs(lo, hi)
    every_odd = {(i, i + 1) for i in range(0, k * k, 2) if (i % k) != k - 1}
    assert {tuple(p) for p in pairs.tolist()} == every_odd


def test_a_few_huge_boxes_do_not_coarsen_the_grid_for_many_small_ones():
    # 8,000 one-voxel-apart small boxes packed in one corner and one box across a huge volume:
    # a single grid coarse enough for the huge box would test every pair of small boxes (32 M)
    from napari_patchwise.engine.geometry.overlaps import _sharing_a_cell, _size_levels

    small = np.stack(np.meshgrid(*[np.arange(20) * 3] * 3, indexing="ij"), -1).reshape(-1, 3)
    lo = np.concatenate([small, [[0, 0, 0]]])
    hi = np.concatenate([small + 2, [[10**6] * 3]])
    levels = _size_levels(lo, hi)
    assert [len(idx) for idx, _ in levels] == [len(small), 1]
    candidates = sum(len(_sharing_a_cell(lo, hi, a, b, cell)[0])
                     for i, (a, _) in enumerate(levels) for b, cell in levels[i:])
    assert candidates < 20 * len(lo)
    pairs = overlap_pairs(lo, hi)
    assert {tuple(p) for p in pairs.tolist()} == {(i, len(small)) for i in range(len(small))}
