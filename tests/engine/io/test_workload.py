"""Sizes from file headers are checked before the proposal allocates anything for them."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import zarr

from napari_patchwise.engine.propose.block_grid import candidate_grid
from napari_patchwise.engine.propose.candidates import measure_candidates
from napari_patchwise.engine.propose.cellstats import candidate_layout
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.io.workload import (
    ProposalWork,
    check_proposal,
    proposal_memory,
    stored_chunks,
)

HUGE = (10**6,) * 3


def _plan(shape, path="vol.zarr"):
    return Plan(ImageRef(shape, path=path, name="vol"), get_preset("instance"), 1)


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("fmt", [2, 3])
def test_stored_chunks_counts_written_chunks_of_zarr_v2_and_v3(tmp_path, fmt):
    z = zarr.create_array(tmp_path / "v.zarr", shape=(64, 64, 96), chunks=(32, 32, 32), dtype="u2",
                          zarr_format=fmt)
    assert stored_chunks(z) == (0, 12)
    z[:40, :10, :10] = 7
    z.attrs["note"] = "attributes are not chunks"
    assert stored_chunks(z) == (2, 12)


def test_stored_chunks_of_an_ome_zarr_level_counts_that_level_only(tmp_path):
    g = zarr.open_group(tmp_path / "img.zarr", mode="w")
    s0 = g.create_array("0", shape=(32, 32, 32), chunks=(16, 16, 16), dtype="u1")
    s1 = g.create_array("1", shape=(16, 16, 16), chunks=(16, 16, 16), dtype="u1")
    s1[:] = 1
    assert stored_chunks(s0) == (0, 8)
    s0[:16] = 1
    assert stored_chunks(s0) == (4, 8)
    assert stored_chunks(g["1"]) == (1, 1)


def test_stored_chunks_of_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "v.h5", "w") as f:
        chunked = f.create_dataset("c", shape=(64, 64, 64), chunks=(32, 32, 32), dtype="u1")
        plain = f.create_dataset("p", shape=(8, 8, 8), dtype="u1")
        assert stored_chunks(chunked) == (0, 8)
        assert stored_chunks(plain) == (0, 1)
        chunked[:1, :1, :1] = 1
        plain[0] = 1
        assert stored_chunks(chunked) == (1, 8)
        assert stored_chunks(plain) == (1, 1)


def test_stored_chunks_unknown_for_arrays_in_memory():
    assert stored_chunks(np.zeros((4, 4, 4))) is None


def test_candidate_layout_lays_no_grid_for_a_huge_claimed_shape():
    # the layout is a few arrays per axis; the candidates are only counted
    peak = _peak(lambda: candidate_layout(HUGE, (64, 64, 64)))
    lay = candidate_layout(HUGE, (64, 64, 64))
    assert len(lay) == 31_249**3 and lay.n_cells == 31_250**3
    assert peak < 20 * 2**20


def test_candidate_grid_refuses_a_grid_that_cannot_fit():
    with pytest.raises(ValueError, match=r"1,000,000×1,000,000×1,000,000 voxels has 3,814,697,265,625 blocks"):
        candidate_grid(HUGE, (64, 64, 64))


def test_measure_candidates_refuses_a_huge_zarr_before_allocating(tmp_path):
    # an 8 KB folder claiming 10^18 voxels, one chunk written: the message names file and shape
    path = tmp_path / "huge.zarr"
    z = zarr.create_array(path, shape=HUGE, chunks=(64, 64, 64), dtype="u2")
    z[:64, :64, :64] = np.arange(64**3, dtype="u2").reshape((64,) * 3)
    errors = []

    def run():
        try:
            measure_candidates(z, _plan(HUGE, str(path)), scheduler="sync")
        except ValueError as e:
            errors.append(str(e))

    peak = _peak(run)
    assert errors, "no error for a volume claiming 10^18 voxels"
    assert str(path) in errors[0] and "1,000,000×1,000,000×1,000,000 voxels" in errors[0]
    assert "larger magnification" in errors[0] and "metadata is wrong" in errors[0]
    assert peak < 50 * 2**20


def test_measure_candidates_says_an_unwritten_zarr_is_empty(tmp_path):
    path = tmp_path / "empty.zarr"
    z = zarr.create_array(path, shape=(4096,) * 3, chunks=(64, 256, 256), dtype="u2")
    started = []
    with pytest.raises(ValueError, match=r"empty.zarr holds no data: none of its 16,384 chunks is stored"):
        measure_candidates(z, _plan(z.shape, str(path)), scheduler="sync", on_start=started.append)
    assert started == []


def test_measure_candidates_reports_the_work_before_measuring(tmp_path):
    s = make_sample((32, 128, 128))
    path = tmp_path / "part.zarr"
    z = zarr.create_array(path, shape=s.image.shape, chunks=(32, 64, 64), dtype=s.image.dtype)
    z[:, :64] = s.image[:, :64]  # two of four chunks written
    events = []
    c = measure_candidates(z, _plan(z.shape, str(path)), size=(32, 32, 32), scheduler="sync",
                           on_start=events.append,
                           progress=lambda done, total: events.append((done, total)))
    work = events[0]
    assert isinstance(work, ProposalWork)
    assert all(isinstance(e, tuple) for e in events[1:]) and len(events) > 1
    assert work.n_candidates == len(c) == 49 and work.chunks == (2, 4)
    assert "49 candidate boxes of 32×32×32" in work.summary()
    assert "2 of 4 chunks hold data" in work.summary()


def test_check_proposal_weighs_the_memory_it_may_use():
    need = proposal_memory(1000, 1000)
    ok = check_proposal(None, "v.tif", (64, 512, 512), (64, 64, 64), 1000, 1000, available=2 * need)
    assert ok.memory == need and ok.chunks is None
    with pytest.raises(ValueError, match=r"v.tif claims 64×512×512 voxels; .* more than the"):
        check_proposal(None, "v.tif", (64, 512, 512), (64, 64, 64), 1000, 1000, available=need)


def test_read_volume_refuses_an_npy_header_claiming_more_than_the_file(tmp_path):
    from numpy.lib import format as npy_format

    from napari_patchwise.engine.io.volumes import read_volume

    path = tmp_path / "huge.npy"
    with open(path, "wb") as f:
        npy_format.write_array_header_1_0(f, {"descr": "<u2", "fortran_order": False, "shape": HUGE})
        f.write(bytes(1000))
    with pytest.raises(ValueError, match=r"huge.npy claims shape \(1000000, 1000000, 1000000\) of uint16 "
                                         r"\(2,000,000,000,000,000,000 bytes\) but holds only 1,000 bytes"):
        read_volume(path)
    np.save(tmp_path / "ok.npy", np.ones((2, 3, 4), np.uint8))
    assert read_volume(tmp_path / "ok.npy").data.shape == (2, 3, 4)


def test_read_volume_refuses_tiff_tags_claiming_more_than_the_file(tmp_path):
    import struct

    import tifffile

    from napari_patchwise.engine.io.volumes import read_volume

    path = tmp_path / "tags.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint16))
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        where = [(tags[k].valueoffset, tags[k].dtype) for k in ("ImageWidth", "ImageLength")]
    data = bytearray(path.read_bytes())
    for offset, dtype in where:  # 60,000 × 60,000 pixels in an 8 KB file
        fmt = "<I" if int(dtype) == 4 else "<H"
        data[offset:offset + struct.calcsize(fmt)] = struct.pack(fmt, 60000)
    path.write_bytes(bytes(data))

    def read():
        with pytest.raises(ValueError, match=r"tags.tif claims 60,000×60,000 pixels of uint16 .* "
                                             r"not compressed; the file is truncated or its tags"):
            read_volume(path)

    assert _peak(read) < 50 * 2**20  # the 6.7 GiB it claims are never allocated


def test_a_huge_box_is_refused_before_its_image_or_annotation_is_loaded(tmp_path):
    from napari_patchwise.engine.plan.annotation import compose
    from napari_patchwise.engine.geometry.box import Box
    from napari_patchwise.engine.plan.box_arrays import image_at_mag

    image = zarr.create_array(tmp_path / "img.zarr", shape=HUGE, chunks=(64, 64, 64), dtype="u2")
    nuclei = zarr.create_array(tmp_path / "n.zarr", shape=HUGE, chunks=(64, 64, 64), dtype="i4")
    box = Box(7, (0, 0, 0), (100_000,) * 3)
    errors = []

    def run():
        for fn in (lambda: image_at_mag(image, box, (1, 1, 1)),
                   lambda: compose({"nuclei": nuclei}, ["nuclei"], box.slices())):
            try:
                fn()
            except ValueError as e:
                errors.append(str(e))

    assert _peak(run) < 20 * 2**20
    assert len(errors) == 2
    assert errors[0].startswith("box 7 spans 100,000×100,000×100,000 voxels")
    assert errors[1].startswith("the annotation region 0:100000×0:100000×0:100000 spans")
    assert all("Shrink or split the box" in e for e in errors)
    small = Box(8, (0, 0, 0), (4, 4, 4))
    assert image_at_mag(image, small, (1, 1, 1)).shape == (4, 4, 4)
