"""Grid layouts: evenly spread, non-overlapping boxes on the magnification grid."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.box import Box, boxes_overlap
from napari_patchwise.engine.layout import grid_boxes

MAGS = [(1, 1, 1), (2, 2, 2), (1, 2, 2), (2, 4, 4), (4, 4, 4), (1, 1, 3)]
mags = st.one_of(
    st.sampled_from(MAGS), st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))
)


def _starts(extents, axis):
    return sorted({lo[axis] for lo, _ in extents})


def test_grid_boxes_example():
    assert grid_boxes((64, 140, 140), (64, 64, 64)) == [
        ((0, 0, 0), (64, 64, 64)),
        ((0, 0, 76), (64, 64, 140)),
        ((0, 76, 0), (64, 140, 64)),
        ((0, 76, 76), (64, 140, 140)),
    ]


def test_grid_boxes_fills_every_fitting_position():
    out = grid_boxes((96, 384, 384), (64, 64, 64))
    assert len(out) == 1 * 6 * 6
    assert _starts(out, 1) == [0, 64, 128, 192, 256, 320]


@pytest.mark.parametrize(
    ("shape", "size", "mag"),
    [
        ((63, 128, 128), (64, 64, 64), 1),
        ((128, 63, 128), (64, 64, 64), 1),
        ((128, 128, 63), (64, 64, 64), 1),
        ((10, 10, 10), (64, 64, 64), 1),
        ((65, 256, 256), (66, 64, 64), (2, 2, 2)),
        ((256, 256, 67), (64, 64, 68), (4, 4, 4)),
    ],
)
def test_grid_boxes_returns_empty_when_box_does_not_fit(shape, size, mag):
    assert grid_boxes(shape, size, mag) == []


def test_grid_boxes_uses_only_whole_grid_part_of_image():
    # 67 voxels along z at mag 4 leave 64 whole grid voxels: a 64 box fits at 0, no more
    out = grid_boxes((67, 64, 64), (64, 64, 64), (4, 4, 4))
    assert out == [((0, 0, 0), (64, 64, 64))]
    out = grid_boxes((65, 130, 131), (32, 64, 64), (2, 2, 2))
    assert all(hi[0] <= 64 and hi[1] <= 130 and hi[2] <= 130 for _, hi in out)
    assert max(hi[2] for _, hi in out) == 130


def test_grid_boxes_centres_a_single_box_on_the_grid():
    assert grid_boxes((64, 100, 100), (64, 64, 64)) == [((0, 18, 18), (64, 82, 82))]
    # centre 18 rounded down to the mag-4 grid
    assert grid_boxes((64, 100, 100), (64, 64, 64), (1, 4, 4)) == [((0, 16, 16), (64, 80, 80))]


def test_grid_boxes_spreads_to_both_ends():
    out = grid_boxes((64, 64, 1051), (64, 64, 100), (1, 2, 2))
    xs = _starts(out, 2)
    assert len(xs) == 10
    assert xs[0] == 0 and xs[-1] + 100 == 1050  # 1050 whole mag-2 voxels
    assert all(x % 2 == 0 for x in xs)


@pytest.mark.parametrize("max_boxes", [1, 2, 5, 10, 35])
def test_grid_boxes_max_boxes_takes_evenly_from_grid(max_boxes):
    full = grid_boxes((96, 384, 384), (64, 64, 64))
    out = grid_boxes((96, 384, 384), (64, 64, 64), max_boxes=max_boxes)
    assert len(out) == max_boxes
    assert set(out) <= set(full)
    assert out == [b for b in full if b in out]  # order kept
    assert out[0] == full[0]
    if max_boxes > 1:
        assert out[-1] == full[-1]


@pytest.mark.parametrize("max_boxes", [36, 37, 1000, None])
def test_grid_boxes_max_boxes_above_grid_keeps_all(max_boxes):
    full = grid_boxes((96, 384, 384), (64, 64, 64))
    assert len(full) == 36
    assert grid_boxes((96, 384, 384), (64, 64, 64), max_boxes=max_boxes) == full


def test_grid_boxes_max_boxes_zero_gives_none():
    assert grid_boxes((96, 384, 384), (64, 64, 64), max_boxes=0) == []


def test_grid_boxes_accepts_mag_string_and_rejects_bad_mag():
    assert grid_boxes((64, 140, 140), (64, 64, 64), "1,2,2") == grid_boxes((64, 140, 140), (64, 64, 64), (1, 2, 2))
    with pytest.raises(ValueError, match="positive"):
        grid_boxes((64, 140, 140), (64, 64, 64), 0)


@pytest.mark.parametrize(
    ("shape", "size", "mag"),
    [
        ((10, 10, 10), (3, 3, 3), 2),  # would give overlapping, unaligned boxes
        ((64, 256, 256), (64, 85, 85), (1, 2, 2)),
        ((64, 256, 256), (64, 64, 65), (2, 4, 4)),
    ],
)
def test_grid_boxes_rejects_box_size_not_a_multiple_of_mag(shape, size, mag):
    with pytest.raises(ValueError, match=r"(?i)multiple|magnification"):
        grid_boxes(shape, size, mag)


@pytest.mark.parametrize("size", [(0, 64, 64), (64, -64, 64), (64, 64)])
def test_grid_boxes_rejects_bad_box_size(size):
    with pytest.raises(ValueError, match="size"):
        grid_boxes((128, 128, 128), size)


@st.composite
def layouts(draw):
    mag = draw(mags)
    size = tuple(draw(st.integers(1, 40)) * f for f in mag)
    shape = tuple(draw(st.integers(1, 400)) for _ in range(3))
    fits = [(s // f * f) // b for s, f, b in zip(shape, mag, size)]
    assume(fits[0] * fits[1] * fits[2] <= 400)
    return shape, size, mag, fits


@settings(max_examples=200, deadline=None)
@given(case=layouts())
def test_grid_boxes_properties(case):
    shape, size, mag, fits = case
    out = grid_boxes(shape, size, mag)
    expected_n = fits[0] * fits[1] * fits[2]
    assert len(out) == expected_n
    assert len(set(out)) == len(out)
    for lo, hi in out:
        assert tuple(h - l for l, h in zip(lo, hi)) == size
        assert all(l % f == 0 for l, f in zip(lo, mag))
        assert all(0 <= l and h <= (s // f) * f for l, h, s, f in zip(lo, hi, shape, mag))
    boxes = [Box(i, lo, hi) for i, (lo, hi) in enumerate(out)]
    for a, b in itertools.combinations(boxes, 2):
        assert not boxes_overlap(a, b)
    assert out == sorted(out)
    # evenly spread: along every axis the gaps differ from the mean gap by at most one grid step
    if out:
        for ax in range(3):
            starts = _starts(out, ax)
            n = len(starts)
            assert n == fits[ax]
            lim = (shape[ax] // mag[ax]) * mag[ax]
            if n > 1:
                assert starts[0] == 0 and starts[-1] + size[ax] == lim
                mean_gap = (lim - n * size[ax]) / (n - 1)
                gaps = [b - a - size[ax] for a, b in itertools.pairwise(starts)]
                assert all(g >= 0 for g in gaps)
                assert all(abs(g - mean_gap) <= mag[ax] + 1 for g in gaps)


@settings(max_examples=150, deadline=None)
@given(case=layouts(), max_boxes=st.integers(0, 60))
def test_grid_boxes_max_boxes_property(case, max_boxes):
    shape, size, mag, fits = case
    full = grid_boxes(shape, size, mag)
    out = grid_boxes(shape, size, mag, max_boxes=max_boxes)
    assert len(out) == min(max_boxes, len(full))
    assert set(out) <= set(full)
    assert out == sorted(out)
