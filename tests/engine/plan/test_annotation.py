"""The annotation model: composition priority, background cropping, edits, ids."""

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_patchwise.engine.plan.annotation import (
    UNANNOTATED,
    class_overlap,
    compose,
    crop_background,
    effective_background,
    mark_edited,
    mark_edited_all,
    next_free_id,
)

small = st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5))


def _reference_classmap(a, b, bg, ign):
    out = np.full(a.shape, UNANNOTATED)
    for idx in np.ndindex(a.shape):
        if ign[idx]:
            out[idx] = 3
        elif a[idx]:
            out[idx] = 1
        elif b[idx]:
            out[idx] = 2
        elif bg[idx]:
            out[idx] = 0
    return out


@settings(max_examples=60, deadline=None)
@given(small.flatmap(lambda s: st.tuples(*(arrays(np.uint8, s, elements=st.integers(0, 2)) for _ in range(4)))))
def test_compose_priority_ignore_classes_background_unannotated(arrs):
    a, b, bg, ign = arrs
    comp = compose({"a": a, "b": b, "background": bg, "ignore": ign}, ["a", "b"])
    np.testing.assert_array_equal(comp.classmap, _reference_classmap(a, b, bg, ign))
    np.testing.assert_array_equal(comp.overlap, (a > 0) & (b > 0))
    # instances only where their class won the voxel
    assert not np.any(comp.instances["a"][ign > 0])
    assert not np.any(comp.instances["b"][(a > 0) | (ign > 0)])
    counts = comp.counts()
    assert sum(counts.values()) == a.size
    assert counts["ignore"] == int(np.count_nonzero(ign))


def test_compose_region_and_zarr_layers():
    store = zarr.storage.MemoryStore()
    g = zarr.open_group(store, mode="w")
    n = g.create_array("n", shape=(4, 6, 6), chunks=(2, 3, 3), dtype="uint32")
    bg = g.create_array("background", shape=(4, 6, 6), chunks=(2, 3, 3), dtype="uint8")
    n[1, 2, 2] = 9
    bg[1] = 1
    comp = compose({"n": n, "background": bg}, ["n"], (slice(1, 2), slice(1, 4), slice(1, 4)))
    assert comp.classmap.shape == (1, 3, 3)
    assert comp.classmap[0, 1, 1] == 1 and comp.instances["n"][0, 1, 1] == 9
    assert (comp.classmap == 0).sum() == 8


def test_compose_errors_name_the_problem():
    with pytest.raises(ValueError, match="no layer for classes"):
        compose({"a": np.zeros((1, 1, 1))}, ["a", "b"])
    with pytest.raises(ValueError, match="share one shape"):
        compose({"a": np.zeros((1, 1, 1)), "background": np.zeros((1, 1, 2))}, ["a"])
    with pytest.raises(ValueError, match="float"):
        compose({"a": np.zeros((1, 1, 1), float)}, ["a"])


def test_crop_background_only_in_region_and_only_under_classes():
    bg = np.ones((2, 4, 4), np.uint8)
    a = np.zeros((2, 4, 4), np.uint32)
    a[0, :2, :2] = 3
    a[1, 3, 3] = 4
    n = crop_background(bg, [a], (slice(0, 1), slice(0, 4), slice(0, 4)))
    assert n == 4
    assert bg[1, 3, 3] == 1  # outside the region: untouched
    assert crop_background(bg, [a]) == 1
    np.testing.assert_array_equal(bg, (a == 0).astype(np.uint8))
    np.testing.assert_array_equal(effective_background(bg, [a]), bg > 0)
    assert crop_background(bg, [a]) == 0  # idempotent


def test_crop_background_on_zarr_writes_back():
    arr = zarr.create_array(store=zarr.storage.MemoryStore(), shape=(2, 4, 4), chunks=(1, 2, 2), dtype="uint8")
    arr[:] = 1
    cls = np.zeros((2, 4, 4), np.uint32)
    cls[1, 1:3, 1:3] = 2
    assert crop_background(arr, [cls]) == 4
    assert arr[1, 1:3, 1:3].sum() == 0 and arr[:].sum() == 28


def test_class_overlap_counts_pairs():
    a = np.array([[[1, 1, 0, 0]]])
    b = np.array([[[0, 2, 2, 0]]])
    c = np.array([[[1, 1, 1, 0]]])
    assert class_overlap({"a": a, "b": b, "c": c}) == {("a", "b"): 1, ("a", "c"): 2, ("b", "c"): 2}
    assert class_overlap({"a": a}) == {}


def test_mark_edited():
    e = np.zeros((3, 3, 3), np.uint8)
    mark_edited(e, (slice(0, 2), slice(0, 1), slice(0, 1)))
    assert e.sum() == 2
    with pytest.raises(ValueError, match="edit mask has shape"):
        mark_edited(e, (slice(0, 1),) * 3, np.ones((2, 2, 2), bool))
    mark_edited(e, (slice(5, 9),) * 3)  # outside: nothing
    assert e.sum() == 2


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_marking_a_stroke_at_once_equals_marking_each_dab(data):
    shape = (4, 9, 11)
    parts = []
    for _ in range(data.draw(st.integers(0, 6))):
        lo = [data.draw(st.integers(-2, n - 1)) for n in shape]
        hi = [a + data.draw(st.integers(1, 5)) for a in lo]
        region = tuple(slice(a, b) for a, b in zip(lo, hi))
        size = tuple(b - a for a, b in zip(lo, hi))
        mask = None if data.draw(st.booleans()) else data.draw(arrays(bool, size))
        parts.append((region, mask))
    start = data.draw(arrays(np.uint8, shape, elements=st.integers(0, 1)))
    one_by_one = start.copy()
    for region, mask in parts:
        lo = [max(s.start, 0) for s in region]
        hi = [min(s.stop, n) for s, n in zip(region, shape)]
        if any(b <= a for a, b in zip(lo, hi)):
            continue
        m = np.ones([s.stop - s.start for s in region], bool) if mask is None else mask
        one_by_one[tuple(slice(a, b) for a, b in zip(lo, hi))][
            m[tuple(slice(a - s.start, b - s.start) for a, b, s in zip(lo, hi, region))]] = 1
    at_once = start.copy()
    n = mark_edited_all(at_once, parts)
    np.testing.assert_array_equal(at_once, one_by_one)
    assert n == int((one_by_one != start).sum())


def test_a_stroke_marks_each_zarr_chunk_once_and_nothing_when_already_marked():
    e = zarr.zeros((2, 64, 64), chunks=(1, 16, 16), dtype="uint8")
    writes = []
    real = type(e).__setitem__

    class Counting(type(e)):
        def __setitem__(self, key, value):
            writes.append(key)
            real(self, key, value)

    e.__class__ = Counting
    dabs = [((slice(1, 2), slice(y, y + 5), slice(y, y + 5)), None) for y in range(10, 40, 3)]
    assert mark_edited_all(e, dabs) > 0 and len(writes) == 1
    assert mark_edited_all(e, dabs) == 0 and len(writes) == 1  # marked already: nothing written
    assert int(e[1].sum()) == int(np.asarray(e[...]).sum())


def test_next_free_id_reads_in_slabs():
    a = np.zeros((70, 2, 2), np.uint32)
    a[65, 1, 1] = 41
    assert next_free_id(a) == 42
    assert next_free_id(np.zeros((3, 1, 1), np.uint8)) == 1
