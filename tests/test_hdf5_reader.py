"""The napari reader contribution for HDF5 files, without a viewer."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise._hdf5_reader import get_hdf5_reader

h5py = pytest.importorskip("h5py")


@pytest.fixture
def h5(tmp_path, small_volume):
    p = tmp_path / "vol.h5"
    with h5py.File(p, "w") as f:
        raw = f.create_dataset("raw", data=small_volume, chunks=(8, 32, 32))
        raw.attrs["element_size_um"] = [1.5, 0.25, 0.25]
        f.create_dataset("label", data=(small_volume > 300).astype(np.uint8))
        f.create_dataset("probabilities", data=small_volume.astype(np.float32) / 1000)
        f.create_dataset("meta/counts", data=np.arange(5))
    return p


def test_images_open_as_images_and_labels_as_labels_with_their_scale(h5, small_volume):
    layers = get_hdf5_reader(str(h5))(str(h5))
    kinds = {kw["name"]: kind for _, kw, kind in layers}
    assert kinds == {"vol raw": "image", "vol probabilities": "image", "vol label": "labels"}
    assert [kind for _, _, kind in layers] == ["image", "image", "labels"]  # labels on top
    data, kw, _ = next(t for t in layers if t[1]["name"] == "vol raw")
    assert kw["scale"] == (1.5, 0.25, 0.25) and kw["units"] == ("micrometer",) * 3
    assert not isinstance(data, np.ndarray)  # the image stays on disk
    lo, hi = kw["contrast_limits"]
    assert small_volume.min() <= lo < hi <= small_volume.max()
    labels, lkw, _ = next(t for t in layers if t[2] == "labels")
    assert isinstance(labels, np.ndarray)  # loaded, so it can be painted
    assert lkw["scale"] == (1.5, 0.25, 0.25)  # no attribute of its own: that of the raw volume beside it


def test_datasets_of_another_shape_without_attributes_keep_scale_one(tmp_path):
    with h5py.File(tmp_path / "m.h5", "w") as f:
        f.create_dataset("raw", data=np.zeros((4, 8, 8), np.uint8)).attrs["element_size_um"] = [2, 1, 1]
        f.create_dataset("small", data=np.zeros((2, 4, 4), np.uint8))
    layers = {kw["name"]: kw for _, kw, _ in get_hdf5_reader(str(tmp_path / "m.h5"))(str(tmp_path / "m.h5"))}
    assert layers["m raw"]["scale"] == (2.0, 1.0, 1.0)
    assert "scale" not in layers["m small"]
    assert layers["m small"]["metadata"]["napari-patchwise"]["voxel_size_known"] is False


def test_a_dataset_suffix_opens_one_dataset(h5):
    (data, kw, kind), = get_hdf5_reader(f"{h5}:label")(f"{h5}:label")
    assert (kind, kw["name"], data.dtype) == ("labels", "vol", np.uint8)
    with pytest.raises(ValueError, match="no dataset 'nope'"):
        get_hdf5_reader(str(h5))(f"{h5}:nope")


def test_other_paths_are_declined(tmp_path):
    assert get_hdf5_reader(str(tmp_path / "a.tif")) is None
    assert get_hdf5_reader([str(tmp_path / "a.h5"), str(tmp_path / "b.h5")]) is None


def test_missing_h5py_names_the_extra(h5, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"napari-patchwise\[hdf5\]"):
        get_hdf5_reader(str(h5))(str(h5))


def test_real_ovule_file_opens_raw_and_label_with_its_voxel_size(shared_data):
    path = str(shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5")
    layers = get_hdf5_reader(path)(path)
    assert [(kw["name"], kind) for _, kw, kind in layers] == [("1136_mini raw", "image"),
                                                             ("1136_mini label", "labels")]
    for _, kw, _ in layers:
        assert kw["scale"] == pytest.approx((0.284, 0.128, 0.128), abs=1e-3)
