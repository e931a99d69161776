"""The napari reader contribution for MRC, NRRD and NIfTI files: in napari, with the file's voxel size."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mrcfile")
pytest.importorskip("nrrd")
pytest.importorskip("nibabel")

from napari_patchwise._volume_reader import get_volume_reader  # noqa: E402
from napari_patchwise.engine.io.mrc import write_mrc  # noqa: E402
from napari_patchwise.engine.io.nifti import write_nifti  # noqa: E402
from napari_patchwise.engine.io.nrrd_io import write_nrrd  # noqa: E402


def test_claims_its_suffixes_only(tmp_path):
    for name in ("t.mrc", "t.REC", "t.nrrd", "t.nii", "t.nii.gz"):
        assert get_volume_reader(str(tmp_path / name)) is not None
    for name in ("t.tif", "t.h5", "plan.json", "t.gz"):
        assert get_volume_reader(str(tmp_path / name)) is None


def test_tomogram_opens_lazily_in_angstrom_and_labels_as_labels(tmp_path):
    tomo = np.random.default_rng(0).normal(size=(6, 20, 30)).astype("float32")
    p = write_mrc(tmp_path / "tomo.mrc", tomo, (13.5, 13.5, 13.5), "angstrom")
    (data, kwargs, kind), = get_volume_reader(str(p))(str(p))
    assert kind == "image" and kwargs["name"] == "tomo"
    assert kwargs["scale"] == pytest.approx((13.5,) * 3) and kwargs["units"] == ("angstrom",) * 3
    assert not isinstance(data, np.ndarray) and np.allclose(np.asarray(data), tomo)
    seg = np.zeros((6, 20, 30), "uint8")
    seg[2, 3, 4] = 1
    q = write_nifti(tmp_path / "tomo_seg.nii.gz", seg, (1.35, 1.35, 1.35), "nanometer")
    (labels, lkw, lkind), = get_volume_reader(str(q))(str(q))
    assert lkind == "labels" and isinstance(labels, np.ndarray) and labels[2, 3, 4] == 1
    assert lkw["units"] == ("micrometer",) * 3 and lkw["scale"] == pytest.approx((0.00135,) * 3)


def test_opened_in_a_viewer_through_the_plugin(make_napari_viewer, tmp_path):
    vol = np.zeros((4, 9, 13), "uint16")
    vol[1, 7, 11] = 500
    p = write_nrrd(tmp_path / "cell.nrrd", vol, (2.0, 0.5, 0.25), "micrometer")
    viewer = make_napari_viewer()
    layers = viewer.open(str(p), plugin="napari-patchwise")
    (layer,) = layers
    assert layer.name == "cell" and tuple(layer.scale) == (2.0, 0.5, 0.25)
    assert layer.data.shape == (4, 9, 13) and int(np.asarray(layer.data[1, 7, 11])) == 500
