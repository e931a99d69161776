"""StrokeBuffer: reads and writes through it equal the same on a numpy array, held or not; a held
stroke writes each chunk it touched once, at its release; napari's dtype probe reads no plane twice."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import hidden_layer, open_annotations
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan import stroke_buffer
from napari_patchwise.engine.plan.stroke_buffer import StrokeBuffer, forget_planes
from napari_patchwise.engine.plan.stroke_keys import _box

SHAPE = (10, 40, 36)
CHUNKS = (4, 16, 16)


class CountingArray:
    """A Zarr array that counts the chunk writes and plane reads reaching it."""

    def __init__(self, array):
        self.array, self.writes, self.reads = array, [], []

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    chunks = property(lambda self: self.array.chunks)
    attrs = property(lambda self: self.array.attrs)

    def __getitem__(self, key):
        self.reads.append(key)
        return self.array[key]

    def __setitem__(self, key, value):
        self.writes.append(key)
        self.array[key] = value


def _zarr():
    return zarr.zeros(SHAPE, chunks=CHUNKS, dtype="uint32")


def _random_key(rng):
    """A basic index as napari and the checks write: ints, slices, sometimes an Ellipsis or a short key."""
    key = []
    for n in SHAPE:
        if rng.random() < 0.3:
            key.append(int(rng.integers(-n, n)))
        else:
            a = int(rng.integers(0, n))
            key.append(slice(a, int(rng.integers(a, n + 1))))
    r = rng.random()
    if r < 0.1:
        return (Ellipsis, key[2])
    if r < 0.2:
        return tuple(key[:2])
    return tuple(key)


@pytest.mark.parametrize("seed", range(6))
def test_random_reads_and_writes_equal_numpy_held_or_not(seed):
    rng = np.random.default_rng(seed)
    ref = np.zeros(SHAPE, np.uint32)
    z = _zarr()
    b = StrokeBuffer(z, max_held=int(rng.integers(2, 40)))
    for step in range(150):
        if rng.random() < 0.1:
            b.release() if b.holding else b.hold()
        key = _random_key(rng)
        if rng.random() < 0.55:
            shape = ref[key].shape
            value = int(rng.integers(0, 9)) if rng.random() < 0.5 else rng.integers(0, 9, shape).astype(np.uint32)
            ref[key] = value
            b[key] = value
        elif rng.random() < 0.15:  # napari's fancy index (data_setitem), over a few chunks or many
            near = rng.random() < 0.6
            corner = [int(rng.integers(0, n - 6)) for n in SHAPE]
            idx = tuple((c + rng.integers(0, 6, 7)) if near else rng.integers(0, n, 7)
                        for c, n in zip(corner, SHAPE))
            value = int(rng.integers(0, 9)) if rng.random() < 0.5 else rng.integers(0, 9, 7).astype(np.uint32)
            np.testing.assert_array_equal(np.asarray(b[idx]), ref[idx])
            ref[idx] = value
            b[idx] = value
            np.testing.assert_array_equal(np.asarray(b[idx]), ref[idx])
        elif rng.random() < 0.05 and not b.holding:  # another writer, who opens the project for writing
            key = _random_key(rng)
            ref[key] = 6
            z[key] = 6
            forget_planes()
        else:
            np.testing.assert_array_equal(np.asarray(b[key]), ref[key])
        if rng.random() < 0.2:
            z0 = 0 if rng.random() < 0.5 else int(rng.integers(0, SHAPE[0]))
            np.testing.assert_array_equal(b[z0], ref[z0])  # the kept plane follows the writes
        if not b.holding:
            assert b.pending == 0  # outside a stroke the array on disk is the truth
    b.release()
    np.testing.assert_array_equal(z[...], ref)
    np.testing.assert_array_equal(np.asarray(b), ref)


def test_a_held_stroke_writes_each_chunk_once_at_its_release():
    z = CountingArray(_zarr())
    b = StrokeBuffer(z)
    b.hold()
    for k in range(20):  # twenty dabs across two chunks of one plane
        b[5, 2:12, k:k + 5] = 2
    assert z.writes == [] and b.pending == 2
    assert int(np.asarray(z.array[5]).sum()) == 0  # not on disk yet, but read back through the buffer
    assert int(b[5, 2:12, :].sum()) == 2 * 10 * 24
    assert b.release() == 2
    assert len(z.writes) == 2
    assert int(np.asarray(z.array[5]).sum()) == 2 * 10 * 24


def test_dabs_that_change_nothing_read_each_chunk_once_and_write_nothing():
    """A drag with the label already under the brush: napari reads each dab's box and
    writes nothing; the chunks are read from the array once for the whole stroke."""
    z = CountingArray(_zarr())
    z.array[5, :, :] = 3
    b = StrokeBuffer(z)
    b.hold()
    for k in range(20):  # twenty dabs across two chunks of one plane
        assert int(b[5:6, 2:7, k:k + 5].min()) == 3
    assert len(z.reads) == 2 and b.pending == 0
    b[5:6, 2:7, 0:5] = 4  # one dab that changes something
    assert b.release() == 1 and len(z.writes) == 1
    assert int(z.array[5, 2, 0]) == 4 and int(z.array[5, 2, 30]) == 3
    z.reads.clear()
    assert int(b[5, 2, 30]) == 3 and z.reads == []  # the stroke's chunks, kept for the checks
    z.array[5, 2, 30] = 8  # another writer, who opens the project for writing
    forget_planes()
    assert int(b[5, 2, 30]) == 8 and len(z.reads) == 1


def test_the_chunks_of_a_stroke_are_kept_a_moment_and_the_next_stroke_reads_the_array(monkeypatch):
    z = CountingArray(_zarr())
    b = StrokeBuffer(z)
    b.hold()
    b[2:3, 0:4, 0:4] = 5
    b.release()
    z.reads.clear()
    assert int(b[2, 1, 1]) == 5 and z.reads == []
    z.array[2, 1, 1] = 6  # written behind the buffer's back (no writer opening the project)
    b.hold()  # a new stroke reads what it changes from the array
    b[2:3, 3:4, 3:4] = 7
    assert int(b[2, 1, 1]) == 6 and len(z.reads) == 1
    monkeypatch.setattr("napari_patchwise.engine.plan.stroke_buffer.KEEP_SECONDS", -1.0)
    b.release()
    z.array[2, 1, 1] = 8
    assert int(b[2, 1, 1]) == 8  # the moment has passed


def test_unheld_writes_go_straight_to_the_array():
    z = CountingArray(_zarr())
    b = StrokeBuffer(z)
    b[1, 2:5, 3:9] = 4
    assert z.writes == [(1, slice(2, 5), slice(3, 9))] and b.pending == 0


def test_a_fancy_index_during_a_stroke_is_held_too_and_a_wide_one_writes_the_held_chunks_first():
    z = CountingArray(_zarr())
    b = StrokeBuffer(z)
    b.hold()
    b[2, 0:4, 0:4] = 5
    idx = (np.array([2, 2]), np.array([1, 20]), np.array([1, 1]))  # napari's data_setitem: two chunks
    assert b[idx].tolist() == [5, 0]
    b[idx] = 9
    assert b.pending == 2 and z.writes == [] and b[idx].tolist() == [9, 9]
    wide = (np.arange(10), np.arange(10) * 4, np.arange(10) * 3)  # a diagonal: more chunks than a dab's
    b[wide] = 4
    assert b.pending == 0 and int(z.array[2, 1, 1]) == 9 and int(z.array[2, 0, 0]) == 5
    assert int(z.array[3, 12, 9]) == 4 and b.release() == 0


def test_a_long_stroke_is_written_once_too_many_chunks_are_held():
    z = CountingArray(_zarr())
    b = StrokeBuffer(z, max_held=3)
    b.hold()
    b[0, :, :] = 1  # 9 chunks
    assert b.pending == 0 and len(z.writes) == 9
    assert b.holding


def test_the_dtype_probe_reads_a_plane_once_and_a_writer_opening_the_project_makes_it_read_again(tmp_path):
    plan = Plan(ImageRef(SHAPE), classes=(ClassSpec("nuclei"),))
    folder = create_project(tmp_path / "p", plan)
    z = CountingArray(open_annotations(folder, plan)["nuclei"])
    b = StrokeBuffer(z)
    for _ in range(5):
        assert b[0].dtype == np.uint32  # napari: get_dtype(layer) -> layer.data[0].dtype, before every dab
    assert len(z.reads) == 1
    with pytest.raises(ValueError):
        b[0][0, 0] = 1  # the kept plane is read-only
    open_annotations(folder, plan)["nuclei"][0, 0, 0] = 7  # another writer
    assert int(b[0][0, 0]) == 7 and len(z.reads) == 2
    b[0, 1, 1] = 3  # a write into the kept plane through the buffer changes it, not read again
    assert int(b[0][1, 1]) == 3 and len(z.reads) == 2
    b.hold()
    for k in range(4):  # a held stroke on plane 0: the probe before each dab reads no plane
        b[0:1, 2:4, k:k + 2] = 5
        assert b[0].dtype == np.uint32 and int(b[0][3, k + 1]) == 5
    b.release()
    b[(np.array([0]), np.array([5]), np.array([5]))] = 9  # a fancy write drops it
    assert int(b[0][5, 5]) == 9
    open_annotations(folder, plan, mode="r")  # readers do not make it read again
    b[0]
    assert np.array_equal(b[0], np.asarray(z.array[0]))
    assert sum(1 for key in z.reads if key == (0, Ellipsis)) == 3


def test_a_writer_of_hidden_arrays_only_leaves_the_kept_planes(tmp_path):
    """The QC dock opens the project for its edits array only: the layers' buffers keep their planes
    (re-reading a plane of a gigabyte layer cost the first stroke after it 85 ms)."""
    plan = Plan(ImageRef(SHAPE), classes=(ClassSpec("nuclei"),))
    folder = create_project(tmp_path / "p", plan)
    z = CountingArray(open_annotations(folder, plan)["nuclei"])
    b = StrokeBuffer(z)
    b[0]
    hidden_layer(open_annotations(folder, plan, keep_planes=True), "edits")[0, 0, 0] = 1
    b[0]
    assert len(z.reads) == 1
    open_annotations(folder, plan)  # a writer that may write the layers
    b[0]
    assert len(z.reads) == 2


def test_basic_keys_and_others():
    assert _box((Ellipsis, 2), (3, 4, 5)) == ((0, 0, 2), (3, 4, 3), (2,))
    assert _box((slice(3, 1),), (5,)) == ((3,), (3,), ())
    assert _box((5,), (5,)) is None
    assert _box((np.array([1]),), (5,)) is None
    assert _box((True,), (5,)) is None


def test_a_plane_read_ahead_is_handed_to_its_read_once_and_dropped_by_any_write_or_in_time(monkeypatch):
    z = zarr.zeros((4, 16, 16), chunks=(2, 8, 8), dtype="uint32")
    z[2] = 5
    buffer = StrokeBuffer(z)
    buffer.read_ahead(2)
    z[2, 0, 0] = 9  # behind the buffer's back, without forget_planes: the read ahead is what was on disk then
    first = buffer[2, :, :]
    assert first[0, 0] == 5 and first.flags.writeable  # napari may write into its slice
    assert buffer[2, :, :][0, 0] == 9  # once: the next read goes to the array

    buffer.read_ahead(2)
    buffer[0, 0, 0] = 1  # any write through the buffer drops it
    assert buffer[2, :, :][0, 0] == 9 and buffer._warm is None
    buffer.read_ahead(2)
    forget_planes()  # a writer opened the project
    assert buffer._warm is None
    buffer.read_ahead(2)
    z[1, 3, 3], z[2, 0, 0] = 4, 7  # behind its back again
    assert buffer[1, :, :][3, 3] == 4 and buffer[2, 0:2, :][0, 0] == 7  # other reads go to the array
    assert buffer[2, :, :][0, 0] == 9 and buffer._warm is None  # ... and leave it for its read
    monkeypatch.setattr(stroke_buffer, "WARM_SECONDS", -1.0)  # expired as soon as read
    buffer.read_ahead(2)
    z[2, 0, 0] = 8
    assert buffer[2, :, :][0, 0] == 8 and buffer._warm is None  # too late: the array
    monkeypatch.undo()
    buffer.read_ahead(7)  # outside the array: nothing
    assert buffer._warm is None
    buffer.read_ahead(3)
    np.testing.assert_array_equal(buffer[3:4, :, :], z[3:4])  # a read of another shape is not served
    assert buffer._warm is not None
