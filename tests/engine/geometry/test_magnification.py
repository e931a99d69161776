"""Magnifications: parsing, scaled shapes, voxel sizes and snapping to the grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.geometry.magnification import (
    as_magnification,
    scaled_shape,
    snap_box,
    voxel_size_at,
)

COMMON_MAGS = [(1, 1, 1), (2, 2, 2), (4, 4, 4), (1, 2, 2), (2, 4, 4), (1, 1, 4), (1, 4, 2)]

mags = st.one_of(
    st.sampled_from(COMMON_MAGS),
    st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 8)),
)
coord = st.integers(-300, 300)


@st.composite
def extents(draw):
    """A non-empty half-open extent ``[lo, hi)`` per axis."""
    lo = tuple(draw(coord) for _ in range(3))
    size = tuple(draw(st.integers(1, 200)) for _ in range(3))
    return lo, tuple(l + s for l, s in zip(lo, size))


# -- as_magnification ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, (1, 1, 1)),
        (2, (2, 2, 2)),
        (2.0, (2, 2, 2)),
        (np.int64(4), (4, 4, 4)),
        ((1, 2, 2), (1, 2, 2)),
        ([2, 4, 4], (2, 4, 4)),
        (np.array([1, 2, 2]), (1, 2, 2)),
        ((1.0, 2.0, 2.0), (1, 2, 2)),
        ("1,2,2", (1, 2, 2)),
        ("1, 2, 2", (1, 2, 2)),
        ("1x2x2", (1, 2, 2)),
        ("1 2 2", (1, 2, 2)),
        ("2,4,4", (2, 4, 4)),
    ],
)
def test_as_magnification_accepts(value, expected):
    out = as_magnification(value)
    assert out == expected
    assert all(type(v) is int for v in out)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (0, "positive"),
        (-1, "positive"),
        ((1, 0, 2), "positive"),
        ((1, -2, 2), "positive"),
        ("0,1,1", "positive"),
        (1.5, "whole numbers"),
        ((1, 1.5, 2), "whole numbers"),
        ("1.5,2,2", "whole numbers"),
        (float("nan"), "whole numbers"),
        (float("inf"), "whole numbers"),
        ("a,b,c", "whole numbers"),
        ("two", "whole numbers"),
        ("1,2", "three values"),
        ("", "three values"),
        ((1, 2), "three values"),
        ((1, 2, 2, 2), "three values"),
        ([], "three values"),
    ],
)
def test_as_magnification_rejects_with_clear_message(value, match):
    with pytest.raises(ValueError, match=match) as info:
        as_magnification(value)
    assert "magnification" in str(info.value)


def test_as_magnification_wrong_length_suggests_format():
    with pytest.raises(ValueError, match=r"e\.g\. '1,2,2'"):
        as_magnification((1, 2))


# -- scaled_shape / voxel_size_at ------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "mag", "expected"),
    [
        ((96, 385, 384), (1, 2, 2), (96, 193, 192)),
        ((64, 256, 256), 1, (64, 256, 256)),
        ((64, 256, 256), 2, (32, 128, 128)),
        ((65, 257, 255), (2, 4, 4), (33, 65, 64)),
        ((1, 1, 1), (4, 4, 4), (1, 1, 1)),
        ((3, 3, 3), "1x2x2", (3, 2, 2)),
    ],
)
def test_scaled_shape_examples(shape, mag, expected):
    assert scaled_shape(shape, mag) == expected


@settings(max_examples=150, deadline=None)
@given(shape=st.tuples(*[st.integers(1, 5000)] * 3), mag=mags)
def test_scaled_shape_is_ceil(shape, mag):
    out = scaled_shape(shape, mag)
    for s, f, o in zip(shape, mag, out):
        assert o == math.ceil(s / f)
        assert (o - 1) * f < s <= o * f


def test_scaled_shape_rejects_bad_mag():
    with pytest.raises(ValueError, match="positive"):
        scaled_shape((10, 10, 10), 0)


@pytest.mark.parametrize(
    ("vs", "mag", "expected"),
    [
        ((2.0, 0.5, 0.5), (1, 2, 2), (2.0, 1.0, 1.0)),
        ((1.0, 1.0, 1.0), 4, (4.0, 4.0, 4.0)),
        ((30, 4, 4), (2, 4, 4), (60.0, 16.0, 16.0)),
    ],
)
def test_voxel_size_at(vs, mag, expected):
    out = voxel_size_at(vs, mag)
    assert out == pytest.approx(expected)
    assert all(isinstance(v, float) for v in out)


@pytest.mark.parametrize(
    "vs", [(0.0, 1.0, 1.0), (-1.0, 1.0, 1.0), (1.0, 1.0), (1.0, 1.0, 1.0, 1.0), (float("nan"), 1, 1)]
)
def test_voxel_size_at_rejects_bad_voxel_size(vs):
    with pytest.raises(ValueError, match="voxel size must be three positive numbers"):
        voxel_size_at(vs, 1)


def test_voxel_size_at_rejects_bad_mag():
    with pytest.raises(ValueError, match="magnification"):
        voxel_size_at((1.0, 1.0, 1.0), (1, 2))


# -- snap_box: examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "mag", "mode", "expected"),
    [
        ((3, 5, 5), (35, 90, 90), (1, 2, 2), "shrink", ((3, 6, 6), (35, 90, 90))),
        ((3, 5, 5), (35, 91, 91), (2, 4, 4), "expand", ((2, 4, 4), (36, 92, 92))),
        ((3, 5, 5), (35, 91, 91), (2, 4, 4), "shrink", ((4, 8, 8), (34, 88, 88))),
        ((3, 5, 7), (35, 91, 93), (2, 4, 4), "nearest", ((4, 4, 8), (36, 92, 92))),
        ((-3, -5, -6), (5, 5, 6), 4, "shrink", ((0, -4, -4), (4, 4, 4))),
        ((-3, -5, -6), (5, 5, 6), 4, "expand", ((-4, -8, -8), (8, 8, 8))),
        ((0, 0, 0), (8, 8, 8), (2, 4, 4), "shrink", ((0, 0, 0), (8, 8, 8))),
        ((0, 0, 0), (8, 8, 8), (2, 4, 4), "expand", ((0, 0, 0), (8, 8, 8))),
        ((0, 0, 0), (8, 8, 8), (2, 4, 4), "nearest", ((0, 0, 0), (8, 8, 8))),
        # thinner than one step: shrink collapses, nearest keeps one step
        ((1, 1, 1), (3, 3, 3), 4, "shrink", ((4, 4, 4), (4, 4, 4))),
        ((1, 1, 1), (2, 2, 2), 4, "nearest", ((0, 0, 0), (4, 4, 4))),
    ],
)
def test_snap_box_examples(lo, hi, mag, mode, expected):
    assert snap_box(lo, hi, mag, mode) == expected


def test_snap_box_default_mode_is_shrink():
    assert snap_box((1, 1, 1), (9, 9, 9), 2) == ((2, 2, 2), (8, 8, 8))


def test_snap_box_returns_python_ints():
    lo, hi = snap_box(np.array([1, 2, 3]), np.array([9, 9, 9]), (1, 2, 2), "nearest")
    assert all(type(v) is int for v in (*lo, *hi))


@pytest.mark.parametrize("mode", ["round", "", "Shrink", None])
def test_snap_box_rejects_unknown_mode(mode):
    with pytest.raises(ValueError, match="mode must be 'shrink', 'expand' or 'nearest'"):
        snap_box((0, 0, 0), (4, 4, 4), 2, mode)


def test_snap_box_rejects_bad_mag():
    with pytest.raises(ValueError, match="positive"):
        snap_box((0, 0, 0), (4, 4, 4), (1, 0, 1))


# -- snap_box: properties ----------------------------------------------------------


def _aligned(values, mag):
    return all(v % f == 0 for v, f in zip(values, mag))


@settings(max_examples=200, deadline=None)
@given(ext=extents(), mag=mags, mode=st.sampled_from(["shrink", "expand", "nearest"]))
def test_snap_box_is_aligned_and_idempotent(ext, mag, mode):
    lo, hi = ext
    slo, shi = snap_box(lo, hi, mag, mode)
    assert _aligned(slo, mag) and _aligned(shi, mag)
    assert all(h >= l for l, h in zip(slo, shi))
    if all(h > l for l, h in zip(slo, shi)):
        assert snap_box(slo, shi, mag, mode) == (slo, shi)


@settings(max_examples=200, deadline=None)
@given(ext=extents(), mag=mags)
def test_snap_box_shrink_is_largest_aligned_extent_inside(ext, mag):
    lo, hi = ext
    slo, shi = snap_box(lo, hi, mag, "shrink")
    for l, h, sl, sh, f in zip(lo, hi, slo, shi, mag):
        fits = math.ceil(l / f) * f + f <= h  # a whole grid cell lies inside [l, h)
        if fits:
            assert l <= sl < sh <= h
            # largest: one more step on either side would leave the input
            assert sl - f < l
            assert sh + f > h
        else:
            assert sl == sh  # collapses to an empty extent
            assert sl >= l


@settings(max_examples=200, deadline=None)
@given(ext=extents(), mag=mags)
def test_snap_box_expand_is_smallest_aligned_extent_around(ext, mag):
    lo, hi = ext
    slo, shi = snap_box(lo, hi, mag, "expand")
    for l, h, sl, sh, f in zip(lo, hi, slo, shi, mag):
        assert sl <= l < h <= sh
        assert l - sl < f
        assert sh - h < f


@settings(max_examples=200, deadline=None)
@given(ext=extents(), mag=mags)
def test_snap_box_nearest_moves_edges_at_most_half_a_step(ext, mag):
    lo, hi = ext
    slo, shi = snap_box(lo, hi, mag, "nearest")
    for l, h, sl, sh, f in zip(lo, hi, slo, shi, mag):
        assert sh - sl >= f  # at least one grid step thick
        assert abs(sl - l) <= f / 2
        if h - l >= f:
            assert abs(sh - h) <= f / 2
        else:
            assert sh == sl + f


@settings(max_examples=100, deadline=None)
@given(ext=extents(), mag=mags)
def test_snap_box_expand_contains_shrink_and_nearest(ext, mag):
    """Per axis, expand contains shrink, and nearest when the extent is at least one step."""
    lo, hi = ext
    elo, ehi = snap_box(lo, hi, mag, "expand")
    slo, shi = snap_box(lo, hi, mag, "shrink")
    nlo, nhi = snap_box(lo, hi, mag, "nearest")
    for ax, f in enumerate(mag):
        if shi[ax] > slo[ax]:
            assert elo[ax] <= slo[ax] < shi[ax] <= ehi[ax]
        if hi[ax] - lo[ax] >= f:
            assert elo[ax] <= nlo[ax] < nhi[ax] <= ehi[ax]


@settings(max_examples=100, deadline=None)
@given(ext=extents(), mag=mags, mode=st.sampled_from(["shrink", "expand", "nearest"]))
def test_snap_box_accepts_mag_as_string(ext, mag, mode):
    lo, hi = ext
    text = ",".join(map(str, mag))
    assert snap_box(lo, hi, text, mode) == snap_box(lo, hi, mag, mode)
