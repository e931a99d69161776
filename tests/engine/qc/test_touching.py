"""Tests for touching instances: contacts, the live index and separation."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage as ndi

from napari_patchwise.engine.qc import _boxfaces, _touchscan
from napari_patchwise.engine.qc.contact_index import ContactIndex
from napari_patchwise.engine.qc.separation import Separation, SkippedPair, apply_separation, separate
from napari_patchwise.engine.qc.touching import (
    CONNECTIVITIES,
    Contacts,
    TouchingPair,
    find_contacts,
    neighbour_offsets,
    touching_pairs,
    within_boxes,
)

DTYPES = ["uint8", "uint16", "uint32", "int32", "int64", "uint64"]


# ----------------------------------------------------------------------------- reference
def brute_contacts(lab, connectivity, region=None):
    """Every touching voxel pair by looping over voxels and the full neighbourhood.

    Each pair is stored once, ordered so that the first voxel comes first in C order.
    """
    struct = ndi.generate_binary_structure(3, connectivity)
    offsets = [tuple(int(v) for v in o) for o in np.argwhere(struct) - 1 if any(o)]
    lo = [0, 0, 0] if region is None else [s.start for s in region]
    hi = list(lab.shape) if region is None else [s.stop for s in region]
    out = set()
    for p in itertools.product(*(range(a, b) for a, b in zip(lo, hi))):
        for o in offsets:
            q = tuple(pi + oi for pi, oi in zip(p, o))
            if not all(a <= qi < b for a, qi, b in zip(lo, q, hi)):
                continue
            u, v = int(lab[p]), int(lab[q])
            if u and v and u != v:
                out.add((p, q, u, v) if p < q else (q, p, v, u))
    return out


def as_set(c: Contacts):
    return {(tuple(f), tuple(s), int(a), int(b))
            for f, s, a, b in zip(c.first.tolist(), c.second.tolist(), c.a.tolist(),
                                  c.b.tolist())}


def pair_set(pairs):
    return {(int(a), int(b)) for a, b in np.asarray(pairs).reshape(-1, 2).tolist()}


def small_chunks(chunk, slab):
    """Scan in tiny pieces so that chunk and slab seams are crossed."""
    return mock.patch.multiple(_touchscan, _CHUNK=chunk, _SLAB_VOXELS=slab)


def to_zarr(lab, chunks):
    z = zarr.create_array(store=zarr.storage.MemoryStore(), shape=lab.shape,
                          chunks=chunks, dtype=lab.dtype)
    z[...] = lab
    return z


shapes = st.tuples(st.integers(1, 8), st.integers(1, 10), st.integers(1, 10))


@st.composite
def label_volumes(draw, max_id=4, dtypes=DTYPES):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(shapes)
    return draw(hnp.arrays(dtype, shape, elements=st.integers(0, max_id)))


@st.composite
def regions(draw, shape):
    out = []
    for n in shape:
        a = draw(st.integers(-3, n + 2))
        b = draw(st.integers(-3, n + 3))
        out.append(slice(a, b))
    return tuple(out)


def clip(region, shape):
    return tuple(slice(min(max(s.start, 0), n), min(max(max(s.start, 0), min(s.stop, n)), n))
                 for s, n in zip(region, shape))


# ----------------------------------------------------------------------------- offsets
@pytest.mark.parametrize("connectivity", CONNECTIVITIES)
def test_offsets_are_half_the_scipy_neighbourhood(connectivity):
    off = neighbour_offsets(connectivity)
    assert off.dtype == np.int64 and off.shape[1] == 3
    full = {tuple(int(v) for v in o) for o in np.argwhere(
        ndi.generate_binary_structure(3, connectivity)) - 1 if any(o)}
    half = {tuple(o) for o in off.tolist()}
    assert len(half) * 2 == len(full)
    assert half | {tuple(-v for v in o) for o in half} == full
    assert neighbour_offsets() .tolist() == neighbour_offsets(1).tolist()


# ----------------------------------------------------------------------------- find_contacts
@settings(max_examples=150, deadline=None)
@given(lab=label_volumes(), connectivity=st.sampled_from(CONNECTIVITIES),
       chunk=st.sampled_from([1, 5, 64, 1 << 16]))
def test_find_contacts_matches_brute_force(lab, connectivity, chunk):
    with small_chunks(chunk, 1 << 22):
        c = find_contacts(lab, connectivity=connectivity)
    ref = brute_contacts(lab, connectivity)
    assert as_set(c) == ref
    assert len(c) == len(ref)  # no contact reported twice
    assert c.first.dtype == c.second.dtype == np.int64
    assert c.a.dtype == c.b.dtype == lab.dtype
    assert pair_set(c.pairs()) == {(min(a, b), max(a, b)) for _, _, a, b in ref}
    assert pair_set(touching_pairs(lab, connectivity=connectivity)) == pair_set(c.pairs())
    counts = c.pair_counts()
    for p, q in list(pair_set(c.pairs())) + [(0, 1), (3, 3), (5, 9)]:
        sub = {t for t in ref if {t[2], t[3]} == {p, q}}
        assert as_set(c.for_pair(q, p)) == sub and counts.get((p, q), 0) == len(sub)
        if sub:
            loc = tuple(int(v) for v in c.location(p, q))
            assert any(loc in (t[0], t[1]) for t in sub)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), connectivity=st.sampled_from(CONNECTIVITIES))
def test_region_contacts_are_the_reference_inside_the_region(data, connectivity):
    lab = data.draw(label_volumes())
    region = data.draw(regions(lab.shape))
    box = clip(region, lab.shape)
    c = find_contacts(lab, region, connectivity=connectivity)
    ref = brute_contacts(lab, connectivity)
    inside = {t for t in ref if all(s.start <= v < s.stop for s, v in zip(box, t[0] + t[1]))
              if all(s.start <= v < s.stop for s, v in zip(box, t[1]))}
    assert as_set(c) == inside


@settings(max_examples=60, deadline=None)
@given(data=st.data(), connectivity=st.sampled_from(CONNECTIVITIES),
       slab=st.sampled_from([1, 30, 100, 1 << 22]))
def test_strided_views_and_zarr_give_the_same_contacts(data, connectivity, slab):
    lab = data.draw(label_volumes(dtypes=["uint32"]))
    region = data.draw(st.one_of(st.none(), regions(lab.shape)))
    ref = as_set(find_contacts(lab, region, connectivity=connectivity))
    chunks = tuple(data.draw(st.integers(1, n)) for n in lab.shape)
    with small_chunks(7, slab):
        for arr in (np.asfortranarray(lab), lab[::-1, :, ::-1][::-1, :, ::-1],
                    to_zarr(lab, chunks)):
            assert as_set(find_contacts(arr, region, connectivity=connectivity)) == ref


def test_bool_labels_and_ids_beyond_32_bits():
    assert len(find_contacts(np.ones((3, 3, 3), bool))) == 0
    lab = np.zeros((1, 2, 3), np.uint64)
    lab[0, 0] = [2**40, 2**63 + 5, 7]
    assert touching_pairs(lab).tolist() == [[7, 2**63 + 5], [2**40, 2**63 + 5]]
    assert touching_pairs(lab).dtype == np.uint64
    neg = np.array([[[-3, 4, 0, -3, 9]]], np.int32)
    assert touching_pairs(neg).tolist() == [[-3, 4], [-3, 9]]
    assert len(find_contacts(lab).for_pair(2**63 + 5, 7)) == 1
    assert find_contacts(neg).for_pair(4, -3).first.tolist() == [[0, 0, 0]]
    assert find_contacts(neg).pair_counts() == {(-3, 4): 1, (-3, 9): 1}
    assert touching_pairs(np.zeros((2, 2, 2), np.uint16)).shape == (0, 2)


def test_region_reads_only_the_region():
    class Spy:
        shape, dtype, ndim = (6, 8, 8), np.dtype(np.uint32), 3

        def __init__(self):
            self.data, self.reads = np.zeros(self.shape, np.uint32), []

        def __getitem__(self, key):
            self.reads.append(key)
            return self.data[key]

    spy = Spy()
    spy.data[2:4, 2:5, 2:5] = 1
    spy.data[2:4, 5:7, 2:5] = 2
    c = find_contacts(spy, (slice(1, 5), slice(2, 7), slice(3, 5)))
    assert all(k[1:] == (slice(2, 7), slice(3, 5)) for k in spy.reads) and spy.reads
    assert all(k[0].start >= 1 and k[0].stop <= 5 for k in spy.reads)
    assert c.pairs().tolist() == [[1, 2]] and len(c) == 4


# ----------------------------------------------------------------------------- Contacts
def test_contacts_methods():
    lab = np.zeros((3, 6, 6), np.uint32)
    lab[:, :3, :3], lab[:, 3:, :3], lab[:, :3, 3:] = 4, 9, 2
    c = find_contacts(lab)
    assert c.pairs().tolist() == [[2, 4], [4, 9]]
    assert c.pair_counts() == {(2, 4): 9, (4, 9): 9}
    assert c.n == len(c) == 18
    sub = c.for_pair(9, 4)
    assert len(sub) == 9 and as_set(sub) == as_set(c.for_pair(4, 9))
    assert len(c.for_pair(2, 9)) == 0
    loc = c.location(4, 9)
    assert all(isinstance(v, float) for v in loc)
    assert tuple(int(v) for v in loc) in {tuple(v) for v in sub.first.tolist()} | {
        tuple(v) for v in sub.second.tolist()}
    assert loc[0] == 1.0  # the middle plane of the contact
    with pytest.raises(ValueError, match="ids 2 and 9 do not touch"):
        c.location(2, 9)
    vox = c.voxels()
    assert vox.tolist() == sorted(map(list, {tuple(v) for v in np.concatenate(
        [c.first, c.second]).tolist()})) and vox.dtype == np.int64
    both = Contacts.concat([sub, c.for_pair(2, 4)])
    assert as_set(both) == as_set(c)
    empty = Contacts.empty()
    assert len(empty) == 0 and empty.pairs().shape == (0, 2) and empty.voxels().shape == (0, 3)
    assert empty.pair_counts() == {} and len(Contacts.concat([])) == 0
    assert repr(c) == "Contacts(n=18, pairs=2)"
    # the pairs as typed rows: ids, contact counts and a location for "jump to"
    rows = c.touching_pairs("cells")
    assert [(p.a, p.b, p.n_contacts, p.name) for p in rows] == [(2, 4, 9, "cells"), (4, 9, 9, "cells")]
    assert rows[1] == TouchingPair(4, 9, 9, loc, "cells") and all(type(p.a) is int for p in rows)
    assert empty.touching_pairs() == []
    with pytest.raises(ValueError, match="one row per pair"):
        Contacts(c.first, c.second[:2], c.a, c.b)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, match", [
    (lambda: find_contacts(np.zeros((2, 2, 2), np.float32)),
     r"dtype float32.*integers.*np\.round\(labels\)\.astype\(np\.uint32\)"),
    (lambda: find_contacts(np.zeros((4, 4), np.uint32)), r"\(4, 4\) \(2D\).*labels\[np\.newaxis\]"),
    (lambda: find_contacts(np.zeros((1, 2, 2, 2), np.uint32)), r"4D"),
    (lambda: find_contacts(np.zeros((2, 2, 2), complex)), r"complex128.*integers"),
    (lambda: find_contacts([[[1]]]), r"np\.asarray"),
    (lambda: find_contacts(np.zeros((2, 2, 2), np.uint8), connectivity=0), r"connectivity.*1.*2.*3"),
    (lambda: find_contacts(np.zeros((2, 2, 2), np.uint8), connectivity=4), r"got 4"),
    (lambda: touching_pairs(np.zeros((2, 2, 2), np.uint8), connectivity=True), r"got True"),
    (lambda: neighbour_offsets("1"), r"got '1'"),
    (lambda: find_contacts(np.zeros((2, 2, 2), np.uint8), (slice(0, 2, 2),) * 3), r"step 1"),
    (lambda: find_contacts(np.zeros((2, 2, 2), np.uint8), (slice(0, 2),) * 2), r"3 slices"),
    (lambda: find_contacts(np.zeros((2, 2, 2), np.uint8), (0, 1, 2)), r"3 slices"),
    (lambda: find_contacts(np.zeros((2, 2, 2), np.uint8), (slice(0.5, 2),) * 3), r"whole"),
    (lambda: ContactIndex((4, 4, 4)).update(np.zeros((4, 4, 5), np.uint8), (slice(0, 1),) * 3),
     r"\(4, 4, 5\).*\(4, 4, 4\).*new ContactIndex"),
    (lambda: ContactIndex((4, 4, 4), bucket=(0, 4, 4)), r"bucket.*positive"),
    (lambda: apply_separation(np.zeros((2, 2, 2), np.uint8), np.zeros((2, 2), bool),
                              Separation(np.zeros((1, 3), np.int64), np.zeros((0, 2)))),
     r"background has shape \(2, 2\)"),
    (lambda: apply_separation(np.zeros((2, 2, 2), np.uint8), None,
                              Separation(np.array([[0, 0, 2]]), np.zeros((0, 2)))),
     r"outside the labels"),
    (lambda: separate(np.ones((1, 1, 2), np.uint8), [(1.5, 2)]), r"whole-number ids"),
])
def test_bad_input_messages(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_contacts_of_empty_regions():
    lab = np.ones((2, 2, 2), np.uint8)
    lab[0] = 2
    assert len(find_contacts(lab, (slice(1, 1), slice(None), slice(None)))) == 0
    assert len(find_contacts(lab, (slice(5, 9), slice(None), slice(None)))) == 0


# ----------------------------------------------------------------------------- ContactIndex
@st.composite
def paint_sequences(draw):
    shape = draw(st.tuples(st.integers(1, 8), st.integers(2, 12), st.integers(2, 12)))
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 12))
    bucket = draw(st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5)))
    return shape, seed, n, bucket


def _strokes(shape, seed, n, max_id=5):
    """Random boxes and blobs (painted with an id or erased) and a region holding each."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        lo = rng.integers(0, shape)
        hi = np.minimum(shape, lo + rng.integers(1, 5, size=3))
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))
        value = int(rng.integers(0, max_id + 1))
        mask = rng.random(tuple(hi - lo)) < (1.0 if rng.random() < 0.5 else 0.6)
        pad = tuple(slice(max(0, s.start - int(rng.integers(0, 2))), s.stop + int(
            rng.integers(0, 2))) for s in box)  # regions may be larger than the change
        yield box, mask, value, pad


@settings(max_examples=80, deadline=None)
@given(seq=paint_sequences(), connectivity=st.sampled_from(CONNECTIVITIES))
def test_index_updates_equal_a_full_rescan(seq, connectivity):
    shape, seed, n, bucket = seq
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 6, shape).astype(np.uint32)
    lab[rng.random(shape) < 0.4] = 0
    index = ContactIndex(shape, connectivity=connectivity, bucket=bucket)
    index.rebuild(lab)
    assert as_set(index.contacts()) == as_set(find_contacts(lab, connectivity=connectivity))
    for box, mask, value, region in _strokes(shape, seed, n):
        before, version = as_set(index.contacts()), index.version
        lab[box][mask] = value
        changed = index.update(lab, region)
        full = find_contacts(lab, connectivity=connectivity)
        now = as_set(index.contacts())
        assert now == as_set(full)
        assert changed == (now != before)
        assert index.version == version + changed
        assert len(index) == len(full)
        assert index.pairs().tolist() == full.pairs().tolist()
        assert index.n_pairs == len(full.pairs())
        assert index.voxels().tolist() == full.voxels().tolist()
        for key, c in index._buckets.items():  # every contact sits in its first voxel's bucket
            assert len(c) and (c.first // bucket == key).all()


def test_index_on_zarr_and_across_bucket_seams():
    shape = (6, 20, 20)
    lab = np.zeros(shape, np.uint32)
    lab[:, 2:10, 2:8] = 1  # id 1 ends at x = 7, the last column of x bucket 0
    z = to_zarr(lab, (2, 8, 8))
    index = ContactIndex(shape, bucket=(4, 8, 8))
    index.rebuild(z)
    assert len(index) == 0 and index.version == 1
    # paint id 2 just across the seam (x = 8, bucket 1) and across the y seam at 8
    z[3, 6:12, 8:11] = 2
    stroke = (slice(3, 4), slice(6, 12), slice(8, 11))
    assert index.update(z, stroke)
    assert as_set(index.contacts()) == as_set(find_contacts(z))
    assert index.pairs().tolist() == [[1, 2]] and len(index) == 4
    first = index.contacts().first
    assert (first[:, 2] == 7).all()  # the first voxels live in x bucket 0, not the stroke's
    assert {k[1] for k in index._buckets} == {0, 1} and {k[2] for k in index._buckets} == {0}
    # erasing the stroke drops contacts filed under buckets the stroke itself is not in
    z[3, 6:12, 8:11] = 0
    assert index.update(z, stroke)
    assert len(index) == 0 and index._buckets == {} and index.n_pairs == 0
    assert not index.update(z, stroke)
    assert not index.update(z, (slice(3, 3), slice(0, 20), slice(0, 20)))  # empty region
    assert index.version == 3 and index.pairs().shape == (0, 2)
    z[0:6, 0:20, 8] = 3  # a wall of id 3 along the whole seam, then a full rescan
    assert index.update(z, (slice(0, 6), slice(0, 20), slice(8, 9)))
    fresh = ContactIndex(shape, bucket=(4, 8, 8))
    fresh.rebuild(z)
    assert as_set(index.contacts()) == as_set(fresh.contacts()) == as_set(find_contacts(z))


@pytest.mark.parametrize("seed", range(4))
def test_index_built_slab_by_slab_from_zarr_equals_one_built_from_memory(seed, monkeypatch):
    """Buckets that straddle the slabs read (and the one-plane seams between them) are joined,
    and the pair counts of every slab summed."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(9, 23)), int(rng.integers(5, 14)), int(rng.integers(5, 14)))
    lab = rng.integers(0, 7, shape).astype(np.uint32)
    lab[rng.random(shape) < 0.3] = 0
    chunks = (int(rng.integers(1, 4)), 4, 4)
    monkeypatch.setattr(_touchscan, "_SLAB_VOXELS", chunks[0] * shape[1] * shape[2])  # a slab per chunk row
    bucket = (int(rng.integers(2, 6)), 4, 8)  # z seams of buckets and slabs do not line up
    z = to_zarr(lab, chunks)
    assert len(list(_touchscan.blocks(z, tuple(slice(0, n) for n in shape)))) > 4
    memory, slabs = ContactIndex(shape, bucket=bucket), ContactIndex(shape, bucket=bucket)
    memory.rebuild(lab)
    slabs.rebuild(z)
    full = find_contacts(lab)
    assert as_set(slabs.contacts()) == as_set(memory.contacts()) == as_set(full)
    assert slabs._counts == memory._counts == full.pair_counts()
    assert len(slabs) == len(full) and slabs.pairs().tolist() == full.pairs().tolist()
    assert set(slabs._buckets) == set(memory._buckets)
    for key, c in slabs._buckets.items():
        assert as_set(c) == as_set(memory._buckets[key]) and (c.first // bucket == key).all()


def _across_brute_force(c: Contacts, boxes) -> np.ndarray:
    """Every contact against every box: the rule as written."""
    lo = np.array([[s.start for s in b] for b in boxes])
    hi = np.array([[s.stop for s in b] for b in boxes])
    f = ((c.first[:, None] >= lo) & (c.first[:, None] < hi)).all(axis=2)
    s = ((c.second[:, None] >= lo) & (c.second[:, None] < hi)).all(axis=2)
    return f.any(axis=1) & s.any(axis=1) & ~(f & s).any(axis=1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("connectivity", CONNECTIVITIES)
def test_contacts_across_boxes_equal_every_contact_checked_against_every_box(seed, connectivity):
    """Only contacts with a box face between their voxels are looked at: the same contacts as the
    brute force, for boxes that touch, overlap, nest and stick out of the volume."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(6, 20)), int(rng.integers(6, 40)), int(rng.integers(6, 40)))
    lab = rng.integers(1, 5, shape).astype(np.uint32)
    c = find_contacts(lab, connectivity=connectivity)
    boxes = []
    for _ in range(int(rng.integers(1, 12))):
        lo = [int(rng.integers(-2, n)) for n in shape]
        hi = [a + int(rng.integers(1, n + 2)) for a, n in zip(lo, shape)]
        boxes.append(tuple(slice(a, b) for a, b in zip(lo, hi)))
    boxes.append(tuple(slice(b.stop, b.stop + 4) for b in boxes[0]))  # touches the first box's corner
    lo = np.array([[s.start for s in b] for b in boxes])
    hi = np.array([[s.stop for s in b] for b in boxes])
    expected = _across_brute_force(c, boxes)
    for rows in (1, int(rng.integers(2, 500)), 1 << 16):
        got = _boxfaces.across_boxes(c.first, c.second, lo, hi, rows=rows)
        assert got.tolist() == expected.tolist()
    assert as_set(within_boxes(c, boxes)) == as_set(c._take(~expected))


def test_index_keeps_contacts_that_leave_the_halo():
    """A contact with one voxel just outside the recheck halo is kept untouched."""
    lab = np.zeros((1, 1, 8), np.uint32)
    lab[0, 0, :4], lab[0, 0, 4:] = 1, 2
    index = ContactIndex(lab.shape, bucket=(1, 1, 2))
    index.rebuild(lab)
    lab[0, 0, 7] = 3
    assert index.update(lab, (slice(0, 1), slice(0, 1), slice(7, 8)))
    assert as_set(index.contacts()) == as_set(find_contacts(lab))
    assert index.pairs().tolist() == [[1, 2], [2, 3]]


# ----------------------------------------------------------------------------- separation
def _check_separation(before, sep, connectivity, selected=None):
    after, bg = before.copy(), np.zeros(before.shape, bool)
    cleared = apply_separation(after, bg, sep)
    assert cleared == sep.n_voxels == len(sep.voxels)
    assert (bg == (after != before)).all()  # background set exactly at cleared voxels
    assert {tuple(v) for v in np.argwhere(bg).tolist()} == {tuple(v) for v in sep.voxels.tolist()}
    assert (before[bg] != 0).all() and (after[bg] == 0).all()
    assert set(np.unique(after).tolist()) - {0} == set(np.unique(before).tolist()) - {0}  # no id vanishes
    touching_before = pair_set(touching_pairs(before, connectivity=connectivity))
    wanted = touching_before if selected is None else touching_before & selected
    done, skipped = pair_set(sep.pairs), {(s.a, s.b) for s in sep.skipped}
    assert done | skipped == wanted and not done & skipped
    touching_after = pair_set(touching_pairs(after, connectivity=connectivity))
    assert not done & touching_after
    assert touching_after <= touching_before  # carving never makes contacts
    ids_done = {i for p in done for i in p}
    assert set(np.unique(before[bg]).tolist()) <= ids_done  # only ids of separated pairs lose voxels
    for i in set(np.unique(before).tolist()) - ids_done - {0}:
        assert ((before == i) == (after == i)).all()
    return after


@settings(max_examples=120, deadline=None)
@given(data=st.data(), connectivity=st.sampled_from(CONNECTIVITIES))
def test_separate_then_apply_leaves_no_selected_pair_touching(data, connectivity):
    lab = data.draw(label_volumes(max_id=5, dtypes=["uint16", "uint32", "int64"]))
    touching = sorted(pair_set(touching_pairs(lab, connectivity=connectivity)))
    if data.draw(st.booleans()):
        sel = None
    else:
        sel = set(data.draw(st.lists(st.sampled_from(touching))) if touching else [])
        sel.add((8, 9))  # a pair that does not touch is ignored
    pairs = None if sel is None else [(b, a) for a, b in sel]  # order within a pair is free
    sep = separate(lab, pairs, connectivity=connectivity)
    assert sep.voxels.dtype == np.int64 and sep.voxels.shape[1] == 3
    assert sep.pairs.tolist() == sorted(sep.pairs.tolist())
    snapshot = lab.copy()
    _check_separation(lab, sep, connectivity, sel)
    assert (lab == snapshot).all()  # separate() is pure


def test_separate_carves_the_bigger_side_and_skips_when_both_vanish():
    lab = np.zeros((3, 8, 8), np.uint32)
    lab[:, :, :5] = 1  # big
    lab[:, :, 5:] = 2  # small
    sep = separate(lab)
    assert sep.pairs.tolist() == [[1, 2]] and sep.skipped == ()
    assert set(sep.voxels[:, 2].tolist()) == {4}  # the big side loses its face
    # a one-voxel id next to a bigger one: the bigger side gives way
    lab[1, 3, 6] = 7
    sep = separate(lab, [(7, 2)])
    assert sep.pairs.tolist() == [[2, 7]]
    assert (lab[tuple(sep.voxels.T)] == 2).all()
    _check_separation(lab, sep, 1, {(2, 7)})
    # both sides one voxel: skipped with the reason
    one = np.zeros((1, 1, 4), np.uint32)
    one[0, 0, 1:3] = (7, 3)
    sep = separate(one)
    assert sep.n_voxels == 0 and sep.pairs.shape == (0, 2)
    assert sep.skipped == (SkippedPair(3, 7, "carving either side would delete a whole object "
                                             "(id 3 or id 7)"),)
    assert apply_separation(one, None, sep) == 0
    # ids that the labels' dtype cannot hold never match (257 must not wrap round to 1)
    small = np.array([[[1, 1, 2]]], np.uint8)
    assert separate(small, [(257, 2)]).pairs.shape == (0, 2)
    assert separate(small, [(2, 1)]).pairs.tolist() == [[1, 2]]


def test_separate_keeps_an_id_that_two_pairs_would_empty_together():
    # id 5 (4 voxels) lies between 1 and 2 (3 voxels each): each pair alone would carve 5,
    # the bigger one, but the two carvings together would delete it, so 1 and 2 give way
    lab = np.zeros((1, 3, 6), np.uint32)
    lab[0, 0, :3], lab[0, 1, 1:5], lab[0, 2, 3:] = 1, 5, 2
    sep = separate(lab)
    after = _check_separation(lab, sep, 1)
    assert sep.pairs.tolist() == [[1, 5], [2, 5]]
    assert (after == 5).sum() == 4 and (after == 1).sum() == 1 and (after == 2).sum() == 1


def test_separate_in_a_region_and_on_zarr():
    lab = np.zeros((4, 10, 10), np.uint32)
    lab[:, :, :5], lab[:, :, 5:] = 1, 2
    region = (slice(0, 4), slice(0, 5), slice(0, 10))
    sep = separate(lab, region=region)
    assert (sep.voxels[:, 1] < 5).all() and sep.n_voxels == 4 * 5
    z, bg = to_zarr(lab, (2, 4, 4)), to_zarr(np.zeros_like(lab, dtype=np.uint8), (2, 4, 4))
    assert apply_separation(z, bg, sep) == 20
    assert (bg[...] == (z[...] != lab)).all() and int(bg[...].sum()) == 20
    assert len(find_contacts(z, region)) == 0 and len(find_contacts(z)) == 4 * 5
    again = apply_separation(z, None, sep)
    assert again == 0  # already cleared
