"""Region arithmetic: clip, grow, union, overlap, shift and magnification of slices."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.geometry.box import Box
from napari_patchwise.engine.geometry.regions import (
    bounding_region,
    chunk_region,
    clip_region,
    full_region,
    grow_region,
    region_at_mag,
    region_from_bounds,
    region_from_mask,
    region_shape,
    region_to_full,
    regions_overlap,
    relative_region,
    union_region,
)

shapes = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9))
spans = st.tuples(st.integers(-5, 14), st.integers(0, 8)).map(lambda p: slice(p[0], p[0] + p[1]))
regions = st.tuples(spans, spans, spans)


def _mask(region, shape):
    m = np.zeros(shape, bool)
    m[clip_region(region, shape)] = True
    return m


def test_region_from_mask_and_clip():
    m = np.zeros((3, 3, 3), bool)
    m[2, 0, 1] = m[2, 2, 2] = True
    assert region_from_mask(m) == (slice(2, 3), slice(0, 3), slice(1, 3))
    assert clip_region(None, (2, 2, 2)) == full_region((2, 2, 2)) == (slice(0, 2),) * 3
    with pytest.raises(ValueError, match="step 1"):
        clip_region((slice(0, 2, 2),) * 3, (4, 4, 4))
    with pytest.raises(ValueError, match="3 slices"):
        clip_region((slice(0, 2),) * 2, (4, 4, 4))


@settings(max_examples=60, deadline=None)
@given(regions, shapes)
def test_clip_selects_what_numpy_selects(region, shape):
    """Clipping never changes which voxels a (non-negative) region indexes, and is never reversed."""
    clipped = clip_region(region, shape)
    assert all(0 <= s.start <= s.stop <= n for s, n in zip(clipped, shape))
    if all(s.start >= 0 for s in region):
        ref = np.zeros(shape, bool)
        ref[region] = True
        assert np.array_equal(_mask(clipped, shape), ref)
    assert region_shape(clipped) == np.zeros(shape)[clipped].shape


@settings(max_examples=60, deadline=None)
@given(regions, shapes, st.integers(0, 3))
def test_grow_is_a_dilation_by_a_cube(region, shape, width):
    from scipy import ndimage as ndi

    inner = _mask(region, shape)
    grown = _mask(grow_region(region, shape, width), shape)
    if inner.any() and width:
        ref = ndi.binary_dilation(inner, np.ones((3, 3, 3), bool), iterations=width)
        assert np.array_equal(grown, ref)
    assert (grown | ~inner).all()
    assert grow_region(region, shape, 0) == clip_region(region, shape)


def test_grow_clips_a_region_partly_outside():
    shape = (5, 6, 7)
    assert grow_region((slice(-4, 2), slice(3, 4), slice(6, 99)), shape, 2) == (
        slice(0, 4), slice(1, 6), slice(4, 7))
    assert grow_region((slice(1, 2),) * 3, shape, 0) == (slice(1, 2),) * 3
    assert grow_region((slice(None),) * 3, shape) == (slice(0, 5), slice(0, 6), slice(0, 7))


def test_grow_refuses_a_bad_width():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="whole number"):
            grow_region((slice(0, 1),) * 3, (2, 2, 2), bad)


@settings(max_examples=60, deadline=None)
@given(regions, regions)
def test_union_bounds_both_and_overlap_matches_voxels(a, b):
    shape = (30, 30, 30)
    a = clip_region(a, shape)
    b = clip_region(b, shape)
    u = union_region(a, b)
    assert union_region(None, a) == a and union_region(a, None) == a
    assert bounding_region([a, b]) == u
    assert (_mask(u, shape) | ~(_mask(a, shape) | _mask(b, shape))).all()
    assert regions_overlap(a, b) == bool((_mask(a, shape) & _mask(b, shape)).any())


def test_relative_region_indexes_a_cut_out():
    a = np.arange(6 * 7 * 8).reshape(6, 7, 8)
    outer = region_from_bounds((1, 2, 3), (5, 7, 8))
    inner = region_from_bounds((2, 3, 5), (4, 6, 7))
    assert np.array_equal(a[outer][relative_region(inner, [s.start for s in outer])], a[inner])


@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2), (2, 4, 4), (4, 2, 1)])
def test_magnification_round_trip_covers_the_box(mag):
    shape = (17, 23, 29)
    box = Box(1, (1, 3, 5), (9, 21, 27))
    at = region_at_mag(box.lo, box.hi, mag)
    assert at == box.slices(mag)
    full = region_to_full(at, mag, shape)
    assert all(f.start <= lo and hi <= f.stop for f, lo, hi in zip(full, box.lo, box.hi))
    assert all(f.stop - f.start - (hi - lo) < 2 * m for f, lo, hi, m in zip(full, box.lo, box.hi, mag))


def test_chunk_regions_tile_the_array():
    shape, chunks = (5, 7, 9), (2, 3, 4)
    count = np.zeros(shape, int)
    grid = [-(-n // c) for n, c in zip(shape, chunks)]
    for idx in np.ndindex(*grid):
        count[chunk_region(idx, chunks, shape)] += 1
    assert (count == 1).all()
