"""Labels made elsewhere: Cellpose, ilastik, label images; onto the annotation grid."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import types

import numpy as np
import pytest
import tifffile
import zarr

from napari_patchwise.engine.seed import _cellpose
from napari_patchwise.engine.seed.imports import (
    CELLPOSE_HINT,
    H5PY_HINT,
    cellpose_anisotropy,
    cellpose_model,
    read_cellpose_seg,
    read_label_image,
    read_probability,
    run_cellpose,
)


def _labels(shape=(4, 10, 12), dtype="uint16"):
    lab = np.zeros(shape, dtype)
    lab[1:3, 2:5, 2:6] = 1
    lab[0:2, 6:9, 7:11] = 7
    lab[3, 0, 0] = 3
    return lab


def _save_seg(path, masks):
    """A ``*_seg.npy`` as Cellpose writes it: np.save of a dict (pickled)."""
    n = int(masks.max())
    np.save(path, {
        "outlines": np.zeros_like(masks),
        "masks": masks,
        "chan_choose": [0, 0],
        "ismanual": np.zeros(n, bool),
        "filename": str(path).replace("_seg.npy", ".tif"),
        "flows": [np.zeros(masks.shape + (3,), "uint8"), np.zeros((3,) + masks.shape, "float32")],
        "diameter": 30.0,
    })
    return path


def _zarr_array(path, data):
    arr = zarr.create_array(store=str(path), shape=data.shape, dtype=data.dtype, chunks=data.shape)
    arr[...] = data
    return arr


# -- Cellpose files ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 10, 12), (10, 12)])
def test_read_cellpose_seg(tmp_path, shape):
    masks = _labels((4, 10, 12))[0 if len(shape) == 2 else slice(None)]
    p = _save_seg(tmp_path / "img_seg.npy", masks)
    out = read_cellpose_seg(p)
    np.testing.assert_array_equal(out, masks)
    assert out.dtype == masks.dtype


def test_read_label_image_delegates_seg_files(tmp_path):
    masks = _labels()
    p = _save_seg(tmp_path / "stack_seg.npy", masks)
    np.testing.assert_array_equal(read_label_image(p), masks)


def test_a_2d_cellpose_segmentation_is_a_single_plane(tmp_path):
    p = _save_seg(tmp_path / "plane_seg.npy", _labels()[1])
    with pytest.raises(ValueError, match="single plane .* z-stack"):
        read_label_image(p)


def test_read_cellpose_seg_errors(tmp_path):
    np.save(tmp_path / "a_seg.npy", np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="does not hold a dict like a Cellpose _seg.npy"):
        read_cellpose_seg(tmp_path / "a_seg.npy")
    np.save(tmp_path / "b_seg.npy", {"outlines": np.zeros((3, 3)), "filename": "b.tif"})
    with pytest.raises(ValueError, match="has no 'masks' \\(keys: outlines, filename\\)"):
        read_cellpose_seg(tmp_path / "b_seg.npy")
    np.save(tmp_path / "c_seg.npy", {"masks": np.zeros((2, 2, 3, 3), "uint16")})
    with pytest.raises(ValueError, match=r"shape \(2, 2, 3, 3\); expected a 2D or 3D"):
        read_cellpose_seg(tmp_path / "c_seg.npy")
    (tmp_path / "d_seg.npy").write_text("not numpy")
    with pytest.raises(ValueError, match="not a NumPy .npy file"):
        read_cellpose_seg(tmp_path / "d_seg.npy")
    with pytest.raises(FileNotFoundError, match="check the path"):
        read_cellpose_seg(tmp_path / "missing_seg.npy")


def test_read_cellpose_masks_tif(tmp_path):
    masks = _labels()
    tifffile.imwrite(tmp_path / "img_cp_masks.tif", masks)
    out = read_label_image(tmp_path / "img_cp_masks.tif")
    assert out.dtype == np.uint16 and out.shape == masks.shape
    np.testing.assert_array_equal(np.asarray(out), masks)


def test_read_compressed_label_tiff(tmp_path):
    masks = _labels(dtype="uint32")
    tifffile.imwrite(tmp_path / "m.tiff", masks, compression="zlib")
    np.testing.assert_array_equal(read_label_image(tmp_path / "m.tiff"), masks)


def test_a_pickled_npy_not_named_seg_is_not_unpickled(tmp_path):
    np.save(tmp_path / "renamed.npy", {"masks": _labels()})
    with pytest.raises(ValueError, match="pickled Python objects.*_seg.npy"):
        read_label_image(tmp_path / "renamed.npy")
    (tmp_path / "broken.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match="broken.npy is not a NumPy .npy file"):
        read_label_image(tmp_path / "broken.npy")


# -- label images: values and shapes -------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64", "int32", "int64"])
def test_integer_labels_are_returned_as_stored(tmp_path, dtype):
    lab = _labels(dtype=dtype)
    np.save(tmp_path / "l.npy", lab)
    out = read_label_image(tmp_path / "l.npy")
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(out), lab)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_integer_valued_floats_become_uint32(tmp_path, dtype):
    lab = _labels(dtype=dtype)
    tifffile.imwrite(tmp_path / "f.tif", lab)
    out = read_label_image(tmp_path / "f.tif")
    assert isinstance(out, np.ndarray) and out.dtype == np.uint32
    np.testing.assert_array_equal(out, lab.astype(np.uint32))


def test_float_labels_with_fractions_say_it_may_be_a_probability_map(tmp_path):
    prob = np.zeros((3, 4, 4), "float32")
    prob[1, 2, 2] = 0.37
    np.save(tmp_path / "p.npy", prob)
    with pytest.raises(ValueError) as e:
        read_label_image(tmp_path / "p.npy")
    msg = str(e.value)
    assert "labels must be integers; p.npy holds float values (e.g. 0.37)" in msg
    assert "import it as a probability map" in msg


def test_nan_labels_are_refused(tmp_path):
    lab = _labels(dtype="float32")
    lab[0, 0, 0] = np.nan
    np.save(tmp_path / "n.npy", lab)
    with pytest.raises(ValueError, match="labels must be integers"):
        read_label_image(tmp_path / "n.npy")


@pytest.mark.parametrize("dtype", ["int16", "float32"])
def test_negative_labels_are_refused(tmp_path, dtype):
    lab = _labels(dtype=dtype)
    lab[2, 2, 2] = -4
    np.save(tmp_path / "neg.npy", lab)
    with pytest.raises(ValueError, match=r"negative values \(down to -4\); label ids must be >= 0"):
        read_label_image(tmp_path / "neg.npy")


def test_float_ids_too_large_for_uint32_are_refused(tmp_path):
    lab = _labels(dtype="float64")
    lab[0, 0, 0] = 2.0**33
    np.save(tmp_path / "big.npy", lab)
    with pytest.raises(ValueError, match="fit in uint32"):
        read_label_image(tmp_path / "big.npy")


def test_boolean_masks_become_uint32(tmp_path):
    np.save(tmp_path / "b.npy", _labels() > 0)
    out = read_label_image(tmp_path / "b.npy")
    assert out.dtype == np.uint32 and set(np.unique(out).tolist()) == {0, 1}


@pytest.mark.parametrize("shape", [(1, 4, 10, 12), (4, 10, 12, 1), (1, 1, 4, 10, 12)])
def test_singleton_axes_are_squeezed(tmp_path, shape):
    lab = _labels().reshape(shape)
    tifffile.imwrite(tmp_path / "s.tif", lab)
    out = read_label_image(tmp_path / "s.tif")
    assert out.shape == (4, 10, 12)
    np.testing.assert_array_equal(np.asarray(out), _labels())


def test_single_planes_and_stacks_of_volumes_are_refused(tmp_path):
    np.save(tmp_path / "plane.npy", _labels()[:1])
    with pytest.raises(ValueError, match=r"single plane \(10, 12\).*3D \(z, y, x\).*z-stack"):
        read_label_image(tmp_path / "plane.npy")
    np.save(tmp_path / "four.npy", np.zeros((2, 3, 4, 5), "uint16"))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4, 5\); expected one 3D"):
        read_label_image(tmp_path / "four.npy")


def test_unknown_formats_and_paths(tmp_path):
    (tmp_path / "l.png").write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match=r"cannot read l.png: use a TIFF"):
        read_label_image(tmp_path / "l.png")
    with pytest.raises(FileNotFoundError, match="nothing at"):
        read_label_image(tmp_path / "none.tif")
    np.save(tmp_path / "l.npy", _labels())
    with pytest.raises(ValueError, match="dataset= is for Zarr and HDF5"):
        read_label_image(tmp_path / "l.npy", dataset="x")
    np.save(tmp_path / "c.npy", np.zeros((2, 3, 3), complex))
    with pytest.raises(ValueError, match="complex128 values; labels must be integers"):
        read_label_image(tmp_path / "c.npy")


def test_large_volumes_are_checked_in_blocks_of_planes(tmp_path):
    lab = np.zeros((40, 8, 8), "float32")
    lab[37, 3, 3] = 2.5  # past the first blocks
    np.save(tmp_path / "deep.npy", lab)
    with pytest.raises(ValueError, match=r"e.g. 2.5"):
        read_label_image(tmp_path / "deep.npy")


# -- Zarr -------------------------------------------------------------------------


def test_zarr_array_is_read_lazily(tmp_path):
    lab = _labels(dtype="uint32")
    _zarr_array(tmp_path / "l.zarr", lab)
    out = read_label_image(tmp_path / "l.zarr")
    assert isinstance(out, zarr.Array)
    np.testing.assert_array_equal(out[...], lab)


def test_zarr_group_first_array_or_dataset(tmp_path):
    a, b = _labels(dtype="uint16"), _labels(dtype="uint16") * 2
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("b_second", shape=b.shape, dtype=b.dtype, chunks=b.shape)[...] = b
    group.create_array("a_first", shape=a.shape, dtype=a.dtype, chunks=a.shape)[...] = a
    np.testing.assert_array_equal(np.asarray(read_label_image(tmp_path / "g.zarr")), a)
    np.testing.assert_array_equal(np.asarray(read_label_image(tmp_path / "g.zarr", dataset="b_second")), b)
    with pytest.raises(ValueError, match="no array 'c'; it has: a_first, b_second"):
        read_label_image(tmp_path / "g.zarr", dataset="c")


def test_zarr_float_labels_are_checked(tmp_path):
    lab = _labels(dtype="float32")
    lab[1, 1, 1] = 0.5
    _zarr_array(tmp_path / "f.zarr", lab)
    with pytest.raises(ValueError, match="probability map"):
        read_label_image(tmp_path / "f.zarr")


def test_zarr_single_array_with_dataset_is_an_error(tmp_path):
    _zarr_array(tmp_path / "l.zarr", _labels())
    with pytest.raises(ValueError, match="single Zarr array; leave dataset= unset"):
        read_label_image(tmp_path / "l.zarr", dataset="labels")


# -- HDF5 ---------------------------------------------------------------------------


def test_missing_h5py_names_the_install_command(tmp_path, monkeypatch):
    (tmp_path / "l.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"reading HDF5 needs h5py: pip install 'napari-patchwise\[hdf5\]'"):
        read_label_image(tmp_path / "l.h5")
    with pytest.raises(ImportError) as e:
        read_probability(tmp_path / "l.h5")
    assert str(e.value) == H5PY_HINT


def _h5(path, **datasets):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        for name, (data, attrs) in datasets.items():
            ds = f.create_dataset(name, data=data)
            for k, v in attrs.items():
                ds.attrs[k] = v
    return path


def test_hdf5_only_dataset(tmp_path):
    lab = _labels()
    p = _h5(tmp_path / "l.h5", labels=(lab, {}))
    out = read_label_image(p)
    np.testing.assert_array_equal(out, lab)


def test_hdf5_ilastik_exported_data_and_dataset_choice(tmp_path):
    lab = _labels(dtype="uint8")
    p = _h5(tmp_path / "ilastik.hdf5", exported_data=(lab, {}), other=(lab * 2, {}))
    np.testing.assert_array_equal(read_label_image(p), lab)
    np.testing.assert_array_equal(read_label_image(p, dataset="other"), lab * 2)
    with pytest.raises(ValueError, match="no dataset 'x'; it has: exported_data, other"):
        read_label_image(p, dataset="x")


def test_hdf5_dataset_named_in_the_path_as_every_command_takes_it(tmp_path):
    lab = _labels(dtype="uint8")
    p = _h5(tmp_path / "crop.lzf.h5", raw=(lab * 3, {}), groundtruth=(lab, {}))
    np.testing.assert_array_equal(read_label_image(f"{p}:groundtruth"), lab)
    np.testing.assert_array_equal(read_label_image(f"{p}/raw"), lab * 3)
    with pytest.raises(ValueError, match="no dataset 'gt'; it has: groundtruth, raw"):
        read_label_image(f"{p}:gt")


def test_hdf5_several_datasets_need_a_choice(tmp_path):
    p = _h5(tmp_path / "two.h5", a=(_labels(), {}), b=(_labels(), {}))
    with pytest.raises(ValueError, match=r"holds 2 datasets \(a, b\); choose one with dataset=<name>"):
        read_label_image(p)


def test_hdf5_ilastik_probabilities_use_axistags(tmp_path):
    prob = np.random.default_rng(0).random((3, 4, 5, 6)).astype("float32")  # (c, z, y, x) ...
    tags = json.dumps({"axes": [{"key": k, "typeFlags": 1} for k in "czyx"]})
    p = _h5(tmp_path / "probs.h5", exported_data=(prob, {"axistags": tags}))
    np.testing.assert_allclose(read_probability(p, channel=2), prob[2])  # ... not the smaller last axis


# -- probabilities ------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["zyxc", "czyx"])
def test_probability_channels(tmp_path, layout):
    rng = np.random.default_rng(1)
    prob = rng.random((5, 12, 14, 3)).astype("float32")
    data = prob if layout == "zyxc" else np.moveaxis(prob, -1, 0)
    np.save(tmp_path / "p.npy", data)
    with pytest.raises(ValueError, match=r"has 3 channels .*choose one with channel=0..2"):
        read_probability(tmp_path / "p.npy")
    for c in range(3):
        out = read_probability(tmp_path / "p.npy", channel=c)
        assert out.dtype == np.float32 and out.shape == (5, 12, 14)
        np.testing.assert_array_equal(out, prob[..., c])
    with pytest.raises(ValueError, match="channel=3 does not exist"):
        read_probability(tmp_path / "p.npy", channel=3)


def test_probability_explicit_channel_axis(tmp_path):
    prob = np.random.default_rng(2).random((4, 2, 6, 8)).astype("float32")  # (z, c, y, x)
    np.save(tmp_path / "p.npy", prob)
    np.testing.assert_array_equal(read_probability(tmp_path / "p.npy", channel=1, channel_axis=1), prob[:, 1])
    with pytest.raises(ValueError, match="channel_axis=5 does not exist"):
        read_probability(tmp_path / "p.npy", channel=0, channel_axis=5)


@pytest.mark.parametrize(("dtype", "value", "expected"), [("uint8", 51, 0.2), ("uint16", 65535, 1.0), ("uint8", 0, 0.0)])
def test_integer_probabilities_are_scaled_by_the_dtype_maximum(tmp_path, dtype, value, expected):
    data = np.full((2, 4, 4, 2), value, dtype)
    data[..., 1] = 255 if dtype == "uint8" else 0
    tifffile.imwrite(tmp_path / "p.tif", data)
    out = read_probability(tmp_path / "p.tif", channel=0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_single_channel_probabilities(tmp_path):
    prob = np.linspace(0, 1, 2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    np.save(tmp_path / "p.npy", prob[..., None])  # (z, y, x, 1)
    np.testing.assert_array_equal(read_probability(tmp_path / "p.npy"), prob)
    np.testing.assert_array_equal(read_probability(tmp_path / "p.npy", channel=0), prob)
    with pytest.raises(ValueError, match="single channel; channel=1 does not exist"):
        read_probability(tmp_path / "p.npy", channel=1)


def test_probabilities_outside_0_1_are_refused(tmp_path):
    np.save(tmp_path / "l.npy", _labels(dtype="float32"))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]; l.npy holds values from 0 to 7.*import it as labels"):
        read_probability(tmp_path / "l.npy")
    np.save(tmp_path / "i.npy", np.full((2, 3, 3), -5, "int8"))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        read_probability(tmp_path / "i.npy")
    np.save(tmp_path / "2d.npy", np.zeros((3, 3), "float32"))
    with pytest.raises(ValueError, match="expected a 3D"):
        read_probability(tmp_path / "2d.npy")


# -- Cellpose -------------------------------------------------------------------------


class _Cellpose4Like:
    """Stands in for a Cellpose model: records what ``eval`` gets."""

    def __init__(self, n_out=3, as_list=False):
        self.calls, self.n_out, self.as_list = [], n_out, as_list

    def eval(self, x, diameter=None, do_3D=False, anisotropy=None, z_axis=None, channel_axis=None,
             flow_threshold=0.4, cellprob_threshold=0.0, min_size=15, **kw):
        self.calls.append(dict(x=x, diameter=diameter, do_3D=do_3D, anisotropy=anisotropy, z_axis=z_axis,
                               channel_axis=channel_axis, flow_threshold=flow_threshold,
                               cellprob_threshold=cellprob_threshold, min_size=min_size, **kw))
        spatial = x.shape if channel_axis is None else tuple(np.delete(x.shape, channel_axis))
        masks = np.zeros(spatial, np.uint16)
        masks[0, :2, :2] = 1
        masks[-1, -2:, -2:] = 2
        out = ([masks] if self.as_list else masks, [np.zeros(1)], np.zeros(256))
        return out + (np.array([30.0]),) if self.n_out == 4 else out


@pytest.mark.parametrize("n_out", [3, 4])
def test_run_cellpose_passes_3d_and_anisotropy(n_out):
    model = _Cellpose4Like(n_out)
    img = np.random.default_rng(0).random((6, 16, 16)).astype("float32")
    masks = run_cellpose(img, model, diameter=12.0, anisotropy=cellpose_anisotropy((2.0, 0.5, 0.5)),
                         flow_threshold=0.6, augment=True)
    assert masks.dtype == np.uint32 and masks.shape == img.shape and masks.max() == 2
    (call,) = model.calls
    assert call["do_3D"] is True
    assert call["anisotropy"] == 4.0
    assert call["diameter"] == 12.0 and call["z_axis"] == 0 and call["channel_axis"] is None
    assert call["flow_threshold"] == 0.6 and call["cellprob_threshold"] == 0.0 and call["min_size"] == 15
    assert call["augment"] is True  # extra keywords reach eval
    np.testing.assert_array_equal(call["x"], img)


def test_run_cellpose_with_channels_and_a_list_of_masks():
    model = _Cellpose4Like(as_list=True)
    img = np.zeros((2, 5, 8, 8), "float32")  # (c, z, y, x)
    masks = run_cellpose(img, model, channel_axis=0, z_axis=1)
    assert masks.shape == (5, 8, 8)
    assert model.calls[0]["channel_axis"] == 0 and model.calls[0]["z_axis"] == 1


def test_run_cellpose_checks_what_comes_back():
    class Flat:
        def eval(self, x, **kw):
            return np.zeros(x.shape[1:], np.uint16), None, None

    with pytest.raises(ValueError, match=r"masks of shape \(8, 8\) for an image of shape \(3, 8, 8\).*do_3D=True"):
        run_cellpose(np.zeros((3, 8, 8)), Flat())

    class Two:
        def eval(self, x, **kw):
            return [np.zeros(x.shape), np.zeros(x.shape)], None, None

    with pytest.raises(ValueError, match="returned 2 mask arrays"):
        run_cellpose(np.zeros((3, 8, 8)), Two())


def test_run_cellpose_input_checks():
    with pytest.raises(ValueError, match="needs a 3D"):
        run_cellpose(np.zeros((8, 8)), _Cellpose4Like())
    with pytest.raises(ValueError, match="channel_axis=4 does not exist"):
        run_cellpose(np.zeros((2, 3, 8, 8)), _Cellpose4Like(), channel_axis=4)
    with pytest.raises(ValueError, match="anisotropy must be a positive number"):
        run_cellpose(np.zeros((3, 8, 8)), _Cellpose4Like(), anisotropy=0)
    with pytest.raises(ValueError, match="Cellpose's eval method"):
        run_cellpose(np.zeros((3, 8, 8)), object())


def test_cellpose_anisotropy():
    assert cellpose_anisotropy((2.0, 0.5, 0.5)) == 4.0
    assert cellpose_anisotropy((1.0, 1.0, 1.0)) == 1.0
    with pytest.raises(ValueError, match="three positive numbers"):
        cellpose_anisotropy((1.0, 0.0, 1.0))


def test_missing_cellpose_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "cellpose", None)
    with pytest.raises(ImportError) as e:
        cellpose_model()
    assert "pip install 'napari-patchwise[cellpose]'" in str(e.value)
    assert str(e.value) == CELLPOSE_HINT
    with pytest.raises(ImportError, match=r"napari-patchwise\[cellpose\]"):
        run_cellpose(np.zeros((3, 8, 8)))  # model None: builds the default model


def test_cellpose_model_builds_a_cellpose_model(monkeypatch):
    made = []

    class CellposeModel:
        def __init__(self, **kwargs):
            made.append(kwargs)

    models = types.SimpleNamespace(CellposeModel=CellposeModel)
    fake = types.ModuleType("cellpose")
    fake.models = models  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "cellpose", fake)
    monkeypatch.setitem(sys.modules, "cellpose.models", models)
    assert isinstance(cellpose_model(), CellposeModel)
    cellpose_model("nuclei", gpu=True, pretrained_model=_cellpose.__file__)
    assert made == [{"gpu": False}, {"gpu": True, "pretrained_model": _cellpose.__file__, "model_type": "nuclei"}]


def test_optional_and_gui_packages_are_not_imported_with_the_modules():
    code = (
        "import sys, napari_patchwise.engine.seed.imports, napari_patchwise.engine.seed.weaklabels; "
        "print(sorted(m for m in ('cellpose', 'h5py', 'napari', 'qtpy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("cellpose") is None, reason="Cellpose is not installed")
def test_real_cellpose_on_a_small_volume():  # pragma: no cover - needs Cellpose and its weights
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample((24, 96, 96))
    masks = run_cellpose(s.image[:, :48, :48], cellpose_model(), diameter=8.0,
                         anisotropy=cellpose_anisotropy(s.voxel_size))
    assert masks.shape == (24, 48, 48) and masks.max() > 0
