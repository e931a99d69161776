"""Voxel size end to end in the engine: read from every format, given as text, unknown, in the plan."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import zarr

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.io.contrast import robust_contrast_limits
from napari_patchwise.engine.io.volumes import read_voxel_size, read_volume
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.geometry.voxelsize import (
    UNKNOWN_CODE,
    choose_voxel_size,
    normalize_unit,
    parse_voxel_size,
)

h5py = pytest.importorskip("h5py")

DATA = np.arange(3 * 8 * 10, dtype=np.uint16).reshape(3, 8, 10)


# -- text ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("0.5,0.2,0.2um", ((0.5, 0.2, 0.2), "micrometer")),
    ("0.5, 0.2, 0.2 µm", ((0.5, 0.2, 0.2), "micrometer")),
    ("10nm", ((10.0, 10.0, 10.0), "nanometer")),
    ("2.18,1,1", ((2.18, 1.0, 1.0), None)),
    ("2.18,1,1px", ((2.18, 1.0, 1.0), "pixel")),
    ("2x0.5x0.5 micron", ((2.0, 0.5, 0.5), "micrometer")),
    ("1e-3,5e-4,5e-4mm", ((1e-3, 5e-4, 5e-4), "millimeter")),
    ("25A", ((25.0, 25.0, 25.0), "angstrom")),
])
def test_voxel_size_text_is_read_with_its_unit(text, expected):
    assert parse_voxel_size(text) == expected


@pytest.mark.parametrize("text, match", [
    ("1,2", "Z,Y,X"), ("", "Z,Y,X"), ("a,b,c", "Z,Y,X"), ("1,0,1", "positive"),
    ("1,-1,1", "Z,Y,X|positive"), ("1,1,1 parsec", "unknown unit 'parsec'"),
])
def test_bad_voxel_size_text_says_what_to_write(text, match):
    with pytest.raises(ValueError, match=match):
        parse_voxel_size(text)


def test_units_are_normalised_from_how_files_write_them():
    for raw in ("µm", "um", "micron", "\\u00B5m", "Micrometer", b"um"):
        assert normalize_unit(raw) == "micrometer", raw
    assert normalize_unit("Å") == "angstrom" and normalize_unit("nm") == "nanometer"


def test_choice_prefers_given_then_project_then_file():
    file_vs = ((0.3, 0.1, 0.1), "micrometer")
    assert choose_voxel_size(None, *file_vs).voxel_size == (0.3, 0.1, 0.1)
    given = choose_voxel_size("1,0.2,0.2", *file_vs)
    assert (given.voxel_size, given.unit, given.known) == ((1.0, 0.2, 0.2), "micrometer", True)
    assert "instead of the file's" in given.notes[0]
    kept = choose_voxel_size(None, *file_vs, current=(2, 1, 1), current_unit="nanometer")
    assert (kept.voxel_size, kept.unit, kept.notes) == ((2.0, 1.0, 1.0), "nanometer", ())
    changed = choose_voxel_size("3,1,1", current=(2, 1, 1), current_unit="nanometer")
    assert changed.unit == "nanometer" and "changed from 2,1,1 nanometer to 3,1,1 nanometer" in changed.notes[0]
    unknown = choose_voxel_size(None)
    assert (unknown.voxel_size, unknown.unit, unknown.known) == ((1.0, 1.0, 1.0), "pixel", False)
    # an unknown project voxel size takes the given numbers in the file's unit, else micrometer
    fixed = choose_voxel_size("2.18,1,1", current=(1, 1, 1), current_unit="pixel", current_known=False)
    assert fixed.known and fixed.unit == "micrometer" and "no unit given" in fixed.notes[0]


# -- TIFF ------------------------------------------------------------------------------
def test_imagej_tiff_spacing_resolution_and_unit(tmp_path):
    p = write_tiff(tmp_path / "v.tif", DATA, (0.5, 0.2, 0.25), unit="nanometer")
    vol = read_volume(p)
    assert vol.voxel_size == pytest.approx((0.5, 0.2, 0.25)) and vol.unit == "nanometer"


def test_imagej_tiff_as_fiji_writes_it_micron_and_no_spacing_when_one(tmp_path):
    """Fiji writes ``unit=micron`` (or an escaped µ) and leaves out ``spacing`` when it is 1."""
    p = tmp_path / "fiji.tif"
    desc = "ImageJ=1.54f\nimages=3\nslices=3\nunit=\\u00B5m\nloop=false\n"
    tifffile.imwrite(p, DATA, description=desc, resolution=(1 / 0.2, 1 / 0.2), resolutionunit=1,
                     metadata=None)
    assert read_volume(p).voxel_size == pytest.approx((1.0, 0.2, 0.2))
    assert read_volume(p).unit == "micrometer"


def test_imagej_tiff_without_calibration_is_unknown(tmp_path):
    p = tmp_path / "plain.tif"
    tifffile.imwrite(p, DATA, imagej=True)
    assert read_voxel_size(p) == (None, None)
    tifffile.imwrite(tmp_path / "shaped.tif", DATA)
    assert read_volume(tmp_path / "shaped.tif").voxel_size is None


def test_ome_tiff_physical_sizes_in_mixed_units(tmp_path):
    p = tmp_path / "v.ome.tif"
    tifffile.imwrite(p, DATA, ome=True, metadata={
        "axes": "ZYX", "PhysicalSizeX": 0.2, "PhysicalSizeXUnit": "µm", "PhysicalSizeY": 0.2,
        "PhysicalSizeYUnit": "µm", "PhysicalSizeZ": 500, "PhysicalSizeZUnit": "nm"})
    vol = read_volume(p)
    assert vol.voxel_size == pytest.approx((0.5, 0.2, 0.2)) and vol.unit == "micrometer"
    q = tmp_path / "nm.ome.tif"
    tifffile.imwrite(q, DATA, ome=True, metadata={
        "axes": "ZYX", "PhysicalSizeX": 4, "PhysicalSizeXUnit": "nm", "PhysicalSizeY": 4,
        "PhysicalSizeYUnit": "nm", "PhysicalSizeZ": 40, "PhysicalSizeZUnit": "nm"})
    assert read_voxel_size(q) == ((40.0, 4.0, 4.0), "nanometer")


def test_ome_tiff_without_z_size_is_unknown(tmp_path):
    p = tmp_path / "xy.ome.tif"
    tifffile.imwrite(p, DATA, ome=True, metadata={"axes": "ZYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2})
    assert read_volume(p).voxel_size is None


# -- OME-Zarr ---------------------------------------------------------------------------
def _ome_zarr(path, scale, units, global_scale=None, v05=False):
    group = zarr.open_group(str(path), mode="w")
    group.create_array("0", shape=DATA.shape, dtype=DATA.dtype, chunks=DATA.shape)[...] = DATA
    ms = {"version": "0.5" if v05 else "0.4",
          "axes": [{"name": n, "type": "space", **({"unit": u} if u else {})} for n, u in zip("zyx", units)],
          "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}]}
    if global_scale:
        ms["coordinateTransformations"] = [{"type": "scale", "scale": global_scale}]
    if v05:
        group.attrs["ome"] = {"version": "0.5", "multiscales": [ms]}
    else:
        group.attrs["multiscales"] = [ms]


@pytest.mark.parametrize("v05", [False, True])
def test_ome_zarr_scale_with_axis_units(tmp_path, v05):
    _ome_zarr(tmp_path / "a.zarr", [40, 4, 4], ["nanometer"] * 3, v05=v05)
    vol = read_volume(tmp_path / "a.zarr")
    assert vol.voxel_size == (40.0, 4.0, 4.0) and vol.unit == "nanometer"


def test_ome_zarr_global_scale_and_mixed_units(tmp_path):
    _ome_zarr(tmp_path / "b.zarr", [1, 100, 100], ["micrometer", "nanometer", "nanometer"], [2, 1, 1])
    assert read_voxel_size(tmp_path / "b.zarr") == ((2000.0, 100.0, 100.0), "nanometer")


def test_ome_zarr_without_units_has_a_size_but_no_unit(tmp_path):
    _ome_zarr(tmp_path / "c.zarr", [2, 1, 1], [None] * 3)
    assert read_voxel_size(tmp_path / "c.zarr") == ((2.0, 1.0, 1.0), None)


# -- HDF5 -------------------------------------------------------------------------------
def _h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, (data, attrs) in datasets.items():
            ds = f.create_dataset(name, data=data, chunks=True)
            ds.attrs.update(attrs)
    return path


def test_hdf5_element_size_um_and_the_obvious_image_dataset(tmp_path):
    p = _h5(tmp_path / "v.h5", raw=(DATA, {"element_size_um": [0.5, 0.2, 0.2]}),
            label=(DATA.astype("uint8") % 3, {"element_size_um": [0.5, 0.2, 0.2]}))
    vol = read_volume(p)
    assert vol.dataset == "raw" and vol.voxel_size == (0.5, 0.2, 0.2) and vol.unit == "micrometer"
    assert not isinstance(vol.data, np.ndarray)  # lazy: an h5py dataset
    np.testing.assert_array_equal(vol.data[1], DATA[1])


@pytest.mark.parametrize("spec", ["v.h5:label", "v.h5/label"])
def test_hdf5_dataset_chosen_by_a_suffix(tmp_path, spec):
    _h5(tmp_path / "v.h5", raw=(DATA, {}), label=(DATA.astype("uint8"), {"resolution_nm_zyx": [40, 4, 4]}))
    vol = read_volume(tmp_path / spec)
    assert vol.dataset == "label" and vol.data.dtype == np.uint8
    assert (vol.voxel_size, vol.unit) == ((40.0, 4.0, 4.0), "nanometer")
    assert read_volume(tmp_path / "v.h5", dataset="label").dataset == "label"


def test_hdf5_attributes_in_xyz_order_or_on_the_file(tmp_path):
    p = tmp_path / "xyz.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("volumes/raw", data=DATA)
        f.attrs["voxel_size_xyz"] = [0.1, 0.2, 0.3]
        f.attrs["unit"] = "um"
    assert read_voxel_size(p) == ((0.3, 0.2, 0.1), "micrometer")


def test_hdf5_ambiguous_file_lists_its_datasets(tmp_path):
    p = _h5(tmp_path / "two.h5", a=(DATA, {}), b=(DATA, {}))
    with pytest.raises(ValueError, match=r"a 3×8×10 uint16; b 3×8×10 uint16.*two\.h5:a"):
        read_volume(p)
    with pytest.raises(ValueError, match="no dataset 'c'.*a 3×8×10"):
        read_volume(tmp_path / "two.h5:c")


def test_hdf5_without_attributes_is_unknown(tmp_path):
    assert read_volume(_h5(tmp_path / "n.h5", stack=(DATA, {}))).voxel_size is None


def test_not_an_hdf5_file_says_so(tmp_path):
    (tmp_path / "fake.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        read_volume(tmp_path / "fake.h5")


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    import sys

    p = _h5(tmp_path / "v.h5", raw=(DATA, {}))
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"napari-patchwise\[hdf5\]"):
        read_volume(p)


def test_npy_has_no_voxel_size(tmp_path):
    np.save(tmp_path / "v.npy", DATA)
    assert read_volume(tmp_path / "v.npy").voxel_size is None
    assert read_voxel_size(tmp_path / "v.npy") == (None, None)


# -- real files -------------------------------------------------------------------------
def test_real_ovule_hdf5_has_its_voxel_size(shared_data):
    vol = read_volume(shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5")
    assert vol.dataset == "raw" and vol.data.shape == (100, 100, 100)
    assert vol.voxel_size == pytest.approx((0.284, 0.128, 0.128), abs=1e-3)
    assert vol.unit == "micrometer"


def test_real_fibsem_hdf5_reads_resolution_nm(shared_data):
    vol = read_volume(shared_data / "fibsem_neuroproof" / "training_sample2_crop128.h5")
    assert (vol.dataset, vol.voxel_size, vol.unit) == ("raw", (10.0, 10.0, 10.0), "nanometer")
    gt = read_volume(f"{shared_data}/fibsem_neuroproof/training_sample2_crop128.h5:groundtruth")
    assert gt.data.dtype == np.uint16


def test_real_plant_hdf5_picks_raw_and_has_no_voxel_size(shared_data):
    vol = read_volume(shared_data / "plant_membrane" / "sample_patch.h5")
    assert vol.dataset == "raw" and vol.data.dtype == np.uint16 and vol.voxel_size is None


def test_real_embryo_tiff_records_no_voxel_size(shared_data):
    vol = read_volume(shared_data / "nuclei_embryo_qcanet" / "8cell_raw.tif")
    assert vol.data.shape == (51, 120, 122) and vol.voxel_size is None


# -- the plan ---------------------------------------------------------------------------
def test_unknown_voxel_size_is_a_plan_warning_and_survives_a_round_trip():
    plan = Plan(ImageRef((4, 8, 8), unit="pixel", voxel_size_known=False, dataset="raw", path="v.h5"))
    (f,) = [f for f in plan.validate() if f.code == UNKNOWN_CODE]
    assert f.severity == "warning" and f.box_id is None and "--voxel-size Z,Y,X" in f.message
    back = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert back == plan and not back.image.voxel_size_known and back.image.dataset == "raw"
    known = Plan(ImageRef((4, 8, 8)))
    assert not [f for f in known.validate() if f.code == UNKNOWN_CODE]
    # plans written before the field existed read as known
    old = known.to_dict()
    del old["image"]["voxel_size_known"]
    assert Plan.from_dict(old).image.voxel_size_known


# -- contrast ---------------------------------------------------------------------------
def test_contrast_ignores_a_saturated_stripe_of_the_sample():
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample((32, 128, 128))
    assert (s.image == np.iinfo(s.image.dtype).max).any()
    lo, hi = robust_contrast_limits(s.image)
    inside = s.image[s.labels > 0]
    assert hi < 0.1 * np.iinfo(s.image.dtype).max
    assert np.median(inside) > lo + 0.2 * (hi - lo)  # nuclei are clearly visible


def test_contrast_of_a_chunked_volume_reads_a_few_chunks(tmp_path):
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample((64, 256, 256))
    z = zarr.create_array(str(tmp_path / "v.zarr"), shape=s.image.shape, chunks=(16, 32, 32), dtype="uint16")
    z[...] = s.image
    reads = []

    class Counting:  # counts the reads robust_contrast_limits makes
        shape, dtype, chunks = z.shape, z.dtype, z.chunks

        def __getitem__(self, key):
            reads.append(key)
            return z[key]

    lo, hi = robust_contrast_limits(Counting())
    n_chunks = 4 * 8 * 8
    assert len(reads) < n_chunks // 2  # not the whole volume
    assert (lo, hi) == pytest.approx(robust_contrast_limits(s.image), rel=0.1, abs=20)
    assert hi < 0.1 * 65535
