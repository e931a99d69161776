"""``patchwise propose --voxel-size``, the unknown-voxel-size warning, HDF5 input, and the voxel size
reaching the exported spacing."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import tifffile

from napari_patchwise.cli import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.annotation_store import open_annotations

UNKNOWN = "voxel size unknown: using 1,1,1 — set it with --voxel-size Z,Y,X"
BOX = ["--preset", "custom", "--size", "16,32,32", "--n", "2"]


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _paint_boxes(folder):
    """One nucleus and background in every box of a project; returns its plan."""
    plan = load_plan(folder)
    group = open_annotations(folder, plan)
    for box in plan.boxes:
        region = box.slices(plan.magnification)
        ids = np.zeros(tuple(s.stop - s.start for s in region), np.uint32)
        ids[4:10, 8:20, 8:20] = box.id
        group["nuclei"][region] = ids
        group["background"][region] = (ids == 0).astype(np.uint8)
    return plan


@pytest.fixture
def bare_tiff(tmp_path, small_volume):
    """A TIFF that records no voxel size."""
    p = tmp_path / "bare.tif"
    tifffile.imwrite(p, small_volume)
    return p


def test_unknown_voxel_size_is_warned_and_kept_unknown(bare_tiff, tmp_path):
    code, out, err = _run("propose", bare_tiff, "-o", tmp_path / "p", *BOX)
    assert code == 0, err
    assert UNKNOWN in err
    image = load_plan(tmp_path / "p").image
    assert (image.voxel_size, image.unit, image.voxel_size_known) == ((1.0, 1.0, 1.0), "pixel", False)
    assert "voxel-size-unknown" in out  # the plan's findings say it too
    code, out, _ = _run("validate", tmp_path / "p")
    assert "voxel-size-unknown" in out


@pytest.mark.parametrize("given, expected", [
    ("0.5,0.2,0.2um", ((0.5, 0.2, 0.2), "micrometer")),
    ("10nm", ((10.0, 10.0, 10.0), "nanometer")),
    ("2.18,1,1", ((2.18, 1.0, 1.0), "micrometer")),
    ("2.18,1,1px", ((2.18, 1.0, 1.0), "pixel")),
])
def test_voxel_size_given_on_the_command_line(bare_tiff, tmp_path, given, expected):
    code, out, err = _run("propose", bare_tiff, "-o", tmp_path / "p", "--voxel-size", given, *BOX)
    assert code == 0, err
    assert UNKNOWN not in err and "voxel-size-unknown" not in out
    image = load_plan(tmp_path / "p").image
    assert (image.voxel_size, image.unit, image.voxel_size_known) == (*expected, True)


def test_numbers_without_a_unit_are_in_the_image_unit(tmp_path, small_volume):
    p = write_tiff(tmp_path / "nm.tif", small_volume, (40.0, 4.0, 4.0), unit="nanometer")
    code, out, err = _run("propose", p, "-o", tmp_path / "p", "--voxel-size", "30,4,4", *BOX)
    assert code == 0, err
    image = load_plan(tmp_path / "p").image
    assert (image.voxel_size, image.unit) == ((30.0, 4.0, 4.0), "nanometer")
    assert "instead of the file's 40,4,4 nanometer" in out


def test_file_voxel_size_is_used_without_the_option(tmp_path, small_volume):
    p = write_tiff(tmp_path / "um.tif", small_volume, (2.0, 0.5, 0.5))
    code, _, err = _run("propose", p, "-o", tmp_path / "p", *BOX)
    assert code == 0 and UNKNOWN not in err
    image = load_plan(tmp_path / "p").image
    assert (image.voxel_size, image.unit, image.voxel_size_known) == ((2.0, 0.5, 0.5), "micrometer", True)


@pytest.mark.parametrize("given", ["1,2", "0,1,1", "1,1,1 parsec"])
def test_bad_voxel_size_exits_2_and_writes_nothing(bare_tiff, tmp_path, given):
    code, _, err = _run("propose", bare_tiff, "-o", tmp_path / "p", "--voxel-size", given, *BOX)
    assert code == 2
    assert "patchwise propose: error:" in err and "Traceback" not in err
    assert not (tmp_path / "p").exists()


def test_existing_project_voxel_size_is_changed_with_a_note(bare_tiff, tmp_path):
    folder = tmp_path / "p"
    assert _run("propose", bare_tiff, "-o", folder, *BOX)[0] == 0
    boxes = load_plan(folder).boxes
    code, out, err = _run("propose", bare_tiff, "-o", folder, "--voxel-size", "2,0.5,0.5um", *BOX)
    assert code == 0, err
    plan = load_plan(folder)
    assert plan.image.voxel_size == (2.0, 0.5, 0.5) and plan.image.voxel_size_known
    assert plan.boxes[: len(boxes)] == boxes  # boxes are in voxels: they stay
    code, out, err = _run("propose", bare_tiff, "-o", folder, "--voxel-size", "1,0.5,0.5", *BOX)
    assert code == 0, err
    assert "voxel size changed from 2,0.5,0.5 micrometer to 1,0.5,0.5 micrometer" in out
    assert load_plan(folder).image.voxel_size == (1.0, 0.5, 0.5)
    code, out, err = _run("propose", bare_tiff, "-o", folder, *BOX)  # kept when not given
    assert load_plan(folder).image.voxel_size == (1.0, 0.5, 0.5) and UNKNOWN not in err


def test_hdf5_image_with_dataset_suffix(tmp_path, small_volume):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "vol.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("ch0", data=small_volume).attrs["element_size_um"] = [1.0, 0.25, 0.25]
        f.create_dataset("ch1", data=small_volume // 2)
    code, _, err = _run("propose", f"{p}:ch0", "-o", tmp_path / "p", *BOX)
    assert code == 0, err
    image = load_plan(tmp_path / "p").image
    assert (image.path, image.dataset, image.voxel_size) == (str(p), "ch0", (1.0, 0.25, 0.25))
    code, _, err = _run("propose", p, "-o", tmp_path / "q", *BOX)
    assert code == 2 and "vol.h5:ch0" in err  # two image datasets: says how to choose
    assert not (tmp_path / "q").exists()
    plan = _paint_boxes(tmp_path / "p")
    code, _, err = _run("export", tmp_path / "p", "-o", tmp_path / "out", "--format", "stardist",
                        "--patch-size", "16,32,32")
    assert code == 0, err
    box = plan.boxes[0]
    exported = tifffile.imread(tmp_path / "out" / "stardist" / "images" / f"box_{box.id:04d}.tif")
    np.testing.assert_array_equal(exported, small_volume[box.slices(plan.magnification)])  # ch0, not ch1


def test_voxel_size_from_the_command_line_reaches_the_exported_spacing(bare_tiff, tmp_path):
    folder, out = tmp_path / "p", tmp_path / "out"
    assert _run("propose", bare_tiff, "-o", folder, "--voxel-size", "2.18,1,1um", *BOX)[0] == 0
    _paint_boxes(folder)
    code, text, err = _run("export", folder, "-o", out, "--format", "nnunet,stardist,omezarr",
                           "--patch-size", "16,32,32")
    assert code == 0, err
    nn = next(out.glob("Dataset*"))
    sidecar = json.loads(next((nn / "imagesTr").glob("*.json")).read_text())
    assert sidecar["spacing"] == [2.18, 1.0, 1.0]
    with tifffile.TiffFile(next((out / "stardist" / "images").glob("*.tif"))) as tif:
        assert tif.imagej_metadata["spacing"] == pytest.approx(2.18)
    from napari_patchwise.engine.io.volumes import read_volume

    crop = read_volume(next((out / "omezarr").glob("*.zarr")))
    assert crop.voxel_size == pytest.approx((2.18, 1.0, 1.0)) and crop.unit == "micrometer"
