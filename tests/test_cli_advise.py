"""``patchwise advise``: the JSON answer's shape, the text answer, the voxel-size rule, bad input
(exit 2, no traceback) and the answers on the real volumes in ../shared/data."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import tifffile

from napari_patchwise.cli import main
from napari_patchwise.engine.io.tiff_write import write_tiff

KEYS = ["problems", "recommend", "reasons", "magnification", "box_size", "boxes", "measures"]


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def _blobs():
    zz, yy, xx = np.indices((40, 80, 80))
    lab = np.zeros((40, 80, 80), np.uint16)
    for i, (z, y, x) in enumerate([(12, 16, 16), (12, 16, 60), (28, 56, 20), (28, 60, 60), (20, 40, 40)], 1):
        lab[(zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 <= 49] = i
    img = (20 + 40 * (lab > 0) + np.random.default_rng(0).normal(0, 4, lab.shape)).astype(np.float32)
    return img, lab


@pytest.fixture
def blobs_h5(tmp_path):
    """An HDF5 file with ``raw`` (voxel size recorded) and ``label``."""
    h5py = pytest.importorskip("h5py")
    img, lab = _blobs()
    p = tmp_path / "blobs.h5"
    with h5py.File(p, "w") as f:
        f["raw"] = img
        f["raw"].attrs["element_size_um"] = [1.0, 0.5, 0.5]
        f["label"] = lab
    return p


@pytest.fixture
def bare_tiff(tmp_path):
    """A TIFF that records no voxel size."""
    p = tmp_path / "bare.tif"
    tifffile.imwrite(p, _blobs()[0])
    return p


def test_json_has_exactly_the_advice_keys(blobs_h5):
    code, out, err = _run("advise", f"{blobs_h5}:raw", "--labels", f"{blobs_h5}:label", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert list(d) == KEYS
    assert set(d["problems"]) <= {"boundary", "snr", "topology", "none"} and d["problems"]
    assert d["recommend"] in {"stardist", "cellpose", "nnunet"}
    assert d["reasons"] and all(isinstance(r, str) for r in d["reasons"])
    assert len(d["magnification"]) == 3 and all(isinstance(v, int) and v >= 1 for v in d["magnification"])
    assert len(d["box_size"]) == 3 and all(isinstance(v, int) for v in d["box_size"])
    assert isinstance(d["boxes"], int) and d["boxes"] > 0
    m = d["measures"]
    assert m["voxel_size"] == [1.0, 0.5, 0.5] and m["unit"] == "micrometer"
    assert m["objects"]["n_objects"] == 5 and m["objects"]["source"] == "labels"
    assert m["preset"] == "instance" and m["difficulty"] in {"moderate", "difficult", "extreme"}
    assert (d["problems"], d["recommend"]) == (["none"], "stardist")


def test_text_answer_says_why_and_what_to_run_next(blobs_h5):
    code, out, err = _run("advise", f"{blobs_h5}:raw", "--labels", f"{blobs_h5}:label")
    assert code == 0, err
    assert "recommend: stardist" in out and "why:" in out
    assert "objects (labels): 5;" in out
    assert "next: patchwise propose" in out and "--mag" in out


def test_unknown_voxel_size_is_an_error_asking_for_it(bare_tiff):
    code, out, err = _run("advise", bare_tiff)
    assert code == 2
    assert "records no voxel size" in err and "--voxel-size" in err
    assert "Traceback" not in err and out == ""


def test_voxel_size_and_unit_from_the_command_line(bare_tiff):
    code, out, err = _run("advise", bare_tiff, "--voxel-size", "1,0.5,0.5um", "--unit", "nm", "--json")
    assert code == 0, err
    m = json.loads(out)["measures"]
    assert m["voxel_size"] == [1000.0, 500.0, 500.0] and m["unit"] == "nanometer"
    code, out, err = _run("advise", bare_tiff, "--voxel-size", "2,1,1", "--unit", "nm", "--json")
    assert code == 0, err
    m = json.loads(out)["measures"]
    assert m["voxel_size"] == [2.0, 1.0, 1.0] and m["unit"] == "nanometer"


def test_file_voxel_size_is_used(tmp_path):
    p = write_tiff(tmp_path / "v.tif", _blobs()[0], (2.0, 0.5, 0.5))
    code, out, err = _run("advise", p, "--json")
    assert code == 0, err
    assert json.loads(out)["measures"]["voxel_size"] == [2.0, 0.5, 0.5]


@pytest.mark.parametrize("extra, message", [
    (["--unit", "parsec"], "unknown unit"),
    (["--voxel-size", "1,2"], "voxel size must be"),
    (["--voxel-size", "1,1,1px", "--unit", "nm"], "cannot give lengths in nanometer"),
    (["--voxel-size", "1um", "--labels", "missing.tif"], "no image at"),
])
def test_bad_input_exits_2_naming_the_fix(bare_tiff, extra, message):
    code, out, err = _run("advise", bare_tiff, *extra)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_labels_of_another_shape_and_a_4d_image_exit_2(tmp_path, blobs_h5):
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, np.zeros((4, 8, 8), np.uint16))
    code, _, err = _run("advise", f"{blobs_h5}:raw", "--labels", other)
    assert code == 2 and "labels have shape" in err
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.zeros((3, 4, 16, 16), np.uint8))
    code, _, err = _run("advise", movie, "--voxel-size", "1,1,1um")
    assert code == 2 and "3D" in err


REAL = {
    "ovule nuclei": ("nuclei_ovule_gonuclear/1136_mini.h5:raw", "nuclei_ovule_gonuclear/1136_mini.h5:label", None),
    "plant cells": ("plant_membrane/sample_patch.h5:raw", "plant_membrane/sample_patch.h5:label", "0.5,0.25,0.25um"),
    "EM neurons": ("fibsem_neuroproof/training_sample2_crop128.h5:raw",
                   "fibsem_neuroproof/training_sample2_crop128.h5:groundtruth", None),
    "cryo-ET filaments": ("cryoet_filament_patches/train/imgs/0_0_30_47_25.tif",
                          "cryoet_filament_patches/train/masks/0_0_30_47_25_mask.tif", "25A"),
}


@pytest.mark.parametrize("case, recommend, has, lacks", [
    ("ovule nuclei", "stardist", [], ["topology", "boundary"]),
    ("plant cells", "cellpose", ["boundary"], ["topology"]),
    ("EM neurons", "nnunet", ["boundary", "topology"], []),
    ("cryo-ET filaments", "nnunet", ["snr"], []),
])
def test_real_volumes(shared_data, case, recommend, has, lacks):
    image, labels, vs = REAL[case]
    if ".h5" in image:
        pytest.importorskip("h5py")
    extra = ["--voxel-size", vs] if vs else []
    code, out, err = _run("advise", shared_data / image, "--labels", shared_data / labels, *extra, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["recommend"] == recommend, d["reasons"]
    assert set(has) <= set(d["problems"]) and not set(lacks) & set(d["problems"])
