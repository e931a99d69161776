"""MRC, NRRD and NIfTI: round trips with voxel size and axis order, label dtypes, lazy reading,
the message when the package is missing."""

from __future__ import annotations

import builtins
import os

import numpy as np
import pytest

pytest.importorskip("mrcfile")
pytest.importorskip("nrrd")
pytest.importorskip("nibabel")

from napari_patchwise.engine.io import lazy_volume, read_volume, read_voxel_size  # noqa: E402
from napari_patchwise.engine.io.mrc import open_mrc, write_mrc  # noqa: E402
from napari_patchwise.engine.io.nifti import write_nifti  # noqa: E402
from napari_patchwise.engine.io.nrrd_io import write_nrrd  # noqa: E402

SHAPE = (5, 7, 11)  # z, y, x all different
MARKER = (1, 5, 8)


def _volume(dtype="uint16"):
    data = np.zeros(SHAPE, dtype)
    data[MARKER] = 9
    data[0, 0, 1] = 3  # a second value, on the fastest axis
    return data


WRITERS = {
    "t.mrc": write_mrc,
    "t.rec": write_mrc,
    "t.nrrd": write_nrrd,
    "t.nii": write_nifti,
    "t.nii.gz": write_nifti,
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_round_trip_keeps_axes_marker_and_voxel_size(tmp_path, name):
    data = _volume()
    path = WRITERS[name](tmp_path / name, data, (4.0, 2.0, 1.0), "nanometer")
    vol = read_volume(path)
    assert vol.data.shape == SHAPE
    back = np.asarray(vol.data)
    assert back[MARKER] == 9 and back[0, 0, 1] == 3
    assert int(np.count_nonzero(back)) == 2
    assert int(vol.data[MARKER[0]][MARKER[1], MARKER[2]]) == 9  # a slab read alone lands on the marker
    # each format keeps its own unit (MRC: ångström; NIfTI: micrometer), the size is the same
    from napari_patchwise.engine.geometry.voxelsize import convert

    assert vol.unit is not None
    assert [convert(v, vol.unit, "nanometer") for v in vol.voxel_size] == pytest.approx([4.0, 2.0, 1.0])
    assert read_voxel_size(path) == (vol.voxel_size, vol.unit)


def test_mrc_voxel_size_is_in_angstrom_in_the_header(tmp_path):
    import mrcfile

    path = write_mrc(tmp_path / "t.mrc", _volume(), (4.0, 2.0, 1.0), "nanometer")
    with mrcfile.open(path) as mrc:
        assert (float(mrc.voxel_size.x), float(mrc.voxel_size.y), float(mrc.voxel_size.z)) == (10.0, 20.0, 40.0)
        assert mrc.data.shape == SHAPE
    assert read_volume(path).voxel_size == (40.0, 20.0, 10.0)


def test_mrc_from_mrcfile_without_voxel_size_records_none(tmp_path):
    import mrcfile

    with mrcfile.new(tmp_path / "t.mrc") as mrc:
        mrc.set_data(_volume("int16"))
        mrc.voxel_size = 0
    vol = read_volume(tmp_path / "t.mrc")
    assert vol.voxel_size is None and vol.unit is None
    assert np.asarray(vol.data)[MARKER] == 9


def test_mrc_with_permuted_axis_mapping_reads_as_z_y_x(tmp_path):
    import mrcfile

    data = _volume("int16")
    stored = data.transpose(2, 1, 0)  # slowest axis x, fastest z
    with mrcfile.new(tmp_path / "p.mrc") as mrc:
        mrc.set_data(np.ascontiguousarray(stored))
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 2, 1
        mrc.voxel_size = 1.0
    vol = read_volume(tmp_path / "p.mrc")
    assert vol.data.shape == SHAPE
    assert np.array_equal(np.asarray(vol.data), data)


def test_nifti_stores_x_first(tmp_path):
    import nibabel

    path = write_nifti(tmp_path / "t.nii.gz", _volume(), (4.0, 2.0, 1.0), "micrometer")
    img = nibabel.load(str(path))
    assert img.shape == SHAPE[::-1]
    assert np.asarray(img.dataobj)[MARKER[::-1]] == 9
    assert tuple(float(z) for z in img.header.get_zooms()) == (1.0, 2.0, 4.0)


def test_nifti_written_by_nibabel_in_mm(tmp_path):
    import nibabel

    img = nibabel.Nifti1Image(_volume().transpose(2, 1, 0), np.diag([0.5, 0.25, 2.0, 1.0]))
    img.header.set_xyzt_units("mm")
    nibabel.save(img, str(tmp_path / "m.nii"))
    vol = read_volume(tmp_path / "m.nii")
    assert vol.voxel_size == (2.0, 0.25, 0.5) and vol.unit == "millimeter"
    assert np.asarray(vol.data)[MARKER] == 9


def test_nrrd_with_axes_stored_in_another_order(tmp_path):
    import nrrd

    data = _volume()
    stored = data.transpose(1, 0, 2)  # C order (y, z, x): file axes fastest first x, z, y
    header = {"space dimension": 3, "space directions": np.array([[1.0, 0, 0], [0, 0, 4.0], [0, 2.0, 0]]),
              "space units": ["nm", "nm", "nm"], "encoding": "raw"}
    nrrd.write(str(tmp_path / "p.nrrd"), np.ascontiguousarray(stored), header, index_order="C")
    vol = read_volume(tmp_path / "p.nrrd")
    assert vol.data.shape == SHAPE
    assert np.array_equal(np.asarray(vol.data), data)
    assert vol.voxel_size == (4.0, 2.0, 1.0) and vol.unit == "nanometer"


def test_nrrd_fortran_order_as_mitk_writes_it(tmp_path):
    import nrrd

    data = _volume("uint8")
    header = {"space": "left-posterior-superior", "space directions": np.diag([1.0, 2.0, 4.0])}
    nrrd.write(str(tmp_path / "m.nrrd"), data.transpose(2, 1, 0), header)  # pynrrd's default: x first
    vol = read_volume(tmp_path / "m.nrrd")
    assert np.array_equal(np.asarray(vol.data), data)
    assert vol.voxel_size == (4.0, 2.0, 1.0) and vol.unit is None


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16", "int32", "uint32", "int64", "bool"])
@pytest.mark.parametrize("name", ["l.mrc", "l.nrrd", "l.nii.gz"])
def test_label_dtypes_keep_their_values(tmp_path, name, dtype):
    labels = np.zeros(SHAPE, dtype)
    top = 1 if dtype == "bool" else min(np.iinfo(dtype).max, 40000)
    labels[MARKER] = top
    labels[0, 0, 1] = 1
    path = WRITERS["t" + name[1:]](tmp_path / name, labels, (1.0, 1.0, 1.0), "nanometer")
    back = np.asarray(read_volume(path).data)
    assert back.shape == SHAPE
    assert np.array_equal(back.astype(np.int64), labels.astype(np.int64))
    assert back.dtype.kind in "iuf"


def test_labels_beyond_float32_precision_refused_for_mrc(tmp_path):
    labels = np.zeros(SHAPE, "uint32")
    labels[MARKER] = 2 ** 24 + 1
    with pytest.raises(ValueError, match="do not fit MRC"):
        write_mrc(tmp_path / "l.mrc", labels)
    assert not (tmp_path / "l.mrc").exists()


@pytest.mark.parametrize("writer,name", [(write_mrc, "t.mrc"), (write_nrrd, "t.nrrd"), (write_nifti, "t.nii.gz")])
def test_writers_never_overwrite_unless_asked(tmp_path, writer, name):
    path = writer(tmp_path / name, _volume())
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="exists"):
        writer(path, np.ones(SHAPE, "uint16"))
    assert path.read_bytes() == before
    writer(path, np.ones(SHAPE, "uint16"), overwrite=True)
    assert np.asarray(read_volume(path).data).min() == 1


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_large_mrc_is_read_a_slab_at_a_time(tmp_path):
    """A 1 GiB tomogram (a sparse file) is memory-mapped: reading one slab maps only that slab."""
    import mrcfile

    shape = (256, 2048, 2048)  # int8: 1 GiB
    with mrcfile.new_mmap(tmp_path / "big.mrc", shape, mrc_mode=0) as mrc:
        mrc.voxel_size = 13.48
        mrc.data[100, 5, 7] = 42
    data, vs, unit, _ = open_mrc(tmp_path / "big.mrc")
    assert isinstance(data, np.memmap) and os.fspath(data.filename) == os.fspath((tmp_path / "big.mrc").resolve())
    assert data.offset == 1024 and vs == pytest.approx((13.48,) * 3) and unit == "angstrom"
    before = _rss_kib()
    vol = read_volume(tmp_path / "big.mrc")
    lazy = lazy_volume(vol.data)
    slab = lazy[99:102].compute()
    assert slab[1, 5, 7] == 42 and slab.shape == (3, 2048, 2048)
    grown_mib = (_rss_kib() - before) / 1024
    assert grown_mib < 100, f"reading a 12 MiB slab of a 1 GiB file took {grown_mib:.0f} MiB"
    assert lazy.numblocks[0] == 256  # one block per plane: a slab computes only its planes


def test_truncated_mrc_named(tmp_path):
    path = write_mrc(tmp_path / "t.mrc", _volume())
    with open(path, "r+b") as f:
        f.truncate(1024 + 100)
    with pytest.raises(ValueError, match="t.mrc is truncated"):
        read_volume(path)


@pytest.mark.parametrize("name, body", [("bad.nii", b"not a NIfTI file"), ("bad.nii.gz", b"\x1f\x8b garbage"),
                                        ("bad.nrrd", b"NRRD0004\ntype: what\n\n")])
def test_damaged_nifti_or_nrrd_named_with_the_fix(tmp_path, name, body):
    (tmp_path / name).write_bytes(body)
    with pytest.raises(ValueError, match=f"{name} is not a readable .* file .*convert it"):
        read_volume(tmp_path / name)


@pytest.mark.parametrize("module,name", [("mrcfile", "t.mrc"), ("nrrd", "t.nrrd"), ("nibabel", "t.nii.gz")])
def test_missing_package_names_the_extra(tmp_path, monkeypatch, module, name):
    path = WRITERS[name](tmp_path / name, _volume())
    real_import = builtins.__import__

    def refuse(mod, *args, **kwargs):
        if mod == module or mod.startswith(module + "."):
            raise ImportError(f"No module named {mod!r}")
        return real_import(mod, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    import importlib

    monkeypatch.setattr(importlib, "import_module", lambda mod, *a: refuse(mod))
    with pytest.raises(ImportError, match=r"pip install 'napari-patchwise\[cryoet\]'"):
        read_volume(path)


@pytest.mark.parametrize("name", ["seg.mrc", "seg.nrrd", "seg.nii.gz"])
def test_label_files_import_for_seeding_in_z_y_x(tmp_path, name):
    from napari_patchwise.engine.seed.imports import read_label_image

    labels = np.zeros(SHAPE, "uint16")
    labels[MARKER] = 7
    path = WRITERS["t" + name[3:]](tmp_path / name, labels, (1.0, 1.0, 1.0), "nanometer")
    back = np.asarray(read_label_image(path))
    assert back.shape == SHAPE and back[MARKER] == 7 and int(np.count_nonzero(back)) == 1


def test_images_named_after_their_file_without_the_format_suffix():
    from napari_patchwise.engine import ImageRef
    from napari_patchwise.engine.plan.collection import default_image_name

    assert [default_image_name(ImageRef(SHAPE, path=f"/data/{n}")) for n in
            ("tomo_01.mrc", "tomo_01.rec", "mask.nrrd", "brain.nii", "brain.nii.gz")] == [
        "tomo_01", "tomo_01", "mask", "brain", "brain"]


@pytest.mark.parametrize("name", ["t.mrc", "t.nrrd"])
def test_the_voxel_size_of_a_compressed_file_comes_from_its_header_only(tmp_path, name):
    """Reading the voxel size of a gzip MRC or NRRD read the whole file; the header is enough."""
    import gzip

    import mrcfile

    data = np.arange(8 * 16 * 16, dtype="uint16").reshape(8, 16, 16)
    if name.endswith(".mrc"):
        path = tmp_path / name
        with mrcfile.new(path, overwrite=True, compression="gzip") as mrc:
            mrc.set_data(data)
            mrc.voxel_size = (4.0, 2.0, 2.0)  # x, y, z
        want = ((2.0, 2.0, 4.0), "angstrom")
        whole = gzip.decompress(path.read_bytes())
        path.write_bytes(gzip.compress(whole[:1024 + 100]))  # the data cut short: only the header is whole
    else:
        path = write_nrrd(tmp_path / name, data, (3.0, 1.0, 1.0), "micrometer", compress=True)
        want = ((3.0, 1.0, 1.0), "micrometer")
        text = path.read_bytes()
        header_end = text.index(b"\n\n") + 2
        path.write_bytes(text[:header_end + 10])  # the compressed data cut short
    assert read_voxel_size(path) == want
