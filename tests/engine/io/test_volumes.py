"""Reading and writing volumes: TIFF, .npy, Zarr v3 and OME-Zarr."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import zarr

from napari_patchwise.engine.io.volumes import Volume, read_volume
from napari_patchwise.engine.io.tiff_write import write_tiff

IMAGEJ_DTYPES = ["uint8", "uint16", "float32"]


def _data(dtype, shape=(5, 12, 16)):
    n = int(np.prod(shape))
    if np.dtype(dtype).kind == "f":
        return (np.arange(n, dtype=dtype) / 7 - 3).reshape(shape)
    info = np.iinfo(dtype)
    vals = np.arange(n, dtype=np.int64) * 37 % (int(info.max) - int(info.min)) + int(info.min)
    return vals.astype(dtype).reshape(shape)


# -- TIFF ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "int32"])
def test_tiff_round_trip_data(tmp_path, dtype):
    data = _data(dtype)
    p = write_tiff(tmp_path / "v.tif", data, (2.0, 0.5, 0.25))
    assert p == tmp_path / "v.tif"
    vol = read_volume(p)
    assert isinstance(vol, Volume)
    assert vol.path == str(p)
    assert vol.data.shape == data.shape
    assert vol.data.dtype == data.dtype
    np.testing.assert_array_equal(np.asarray(vol.data), data)
    # a recorded voxel size is never wrong
    if vol.voxel_size is not None:
        assert vol.voxel_size == pytest.approx((2.0, 0.5, 0.25), rel=1e-5)


@pytest.mark.parametrize("dtype", IMAGEJ_DTYPES)
@pytest.mark.parametrize("vs", [(2.0, 0.5, 0.25), (1.0, 1.0, 1.0), (0.3, 0.1, 0.2), (40.0, 4.0, 4.0)])
def test_tiff_records_voxel_size_for_imagej_dtypes(tmp_path, dtype, vs):
    p = write_tiff(tmp_path / "v.tiff", _data(dtype, (3, 4, 5)), vs)
    vol = read_volume(p)
    assert vol.voxel_size is not None
    assert vol.voxel_size == pytest.approx(vs, rel=1e-5)
    assert all(isinstance(v, float) for v in vol.voxel_size)


@pytest.mark.parametrize("dtype", IMAGEJ_DTYPES)
def test_tiff_without_voxel_size_reads_none(tmp_path, dtype):
    vol = read_volume(write_tiff(tmp_path / "v.tif", _data(dtype, (3, 4, 5))))
    assert vol.voxel_size is None


def test_tiff_written_in_place_leaves_no_partial_file(tmp_path):
    p = write_tiff(tmp_path / "v.tif", _data("uint8"), (1.0, 1.0, 1.0))
    assert sorted(f.name for f in tmp_path.iterdir()) == ["v.tif"]
    # overwriting replaces the content
    new = np.full((2, 3, 4), 7, "uint16")
    write_tiff(p, new)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["v.tif"]
    np.testing.assert_array_equal(np.asarray(read_volume(p).data), new)


def test_tiff_is_memory_mapped_when_uncompressed(tmp_path):
    data = _data("uint16", (4, 16, 16))
    vol = read_volume(write_tiff(tmp_path / "v.tif", data))
    assert isinstance(vol.data, np.memmap)
    np.testing.assert_array_equal(vol.data, data)


def test_compressed_tiff_is_read(tmp_path):
    data = _data("uint16", (4, 16, 16))
    p = tmp_path / "c.tif"
    tifffile.imwrite(p, data, compression="zlib")
    vol = read_volume(p)
    np.testing.assert_array_equal(np.asarray(vol.data), data)
    assert vol.data.ndim == 3


def test_tiff_suffix_is_case_insensitive(tmp_path):
    p = tmp_path / "V.TIF"
    tifffile.imwrite(p, _data("uint8", (2, 3, 4)))
    assert read_volume(p).data.shape == (2, 3, 4)


def test_tiff_with_singleton_channel_is_squeezed(tmp_path):
    data = _data("uint8", (1, 3, 8, 8))
    p = tmp_path / "c.tif"
    tifffile.imwrite(p, data)
    vol = read_volume(p)
    assert vol.data.shape == (3, 8, 8)
    np.testing.assert_array_equal(np.asarray(vol.data), data[0])


def test_2d_tiff_is_rejected(tmp_path):
    p = tmp_path / "plane.tif"
    tifffile.imwrite(p, np.zeros((16, 16), "uint8"))
    with pytest.raises(ValueError, match=r"plane\.tif has shape \(16, 16\).*3D \(z, y, x\)"):
        read_volume(p)


# -- .npy ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "int32", "float64"])
def test_npy_is_memory_mapped(tmp_path, dtype):
    data = _data(dtype)
    p = tmp_path / "v.npy"
    np.save(p, data)
    vol = read_volume(p)
    assert isinstance(vol.data, np.memmap)
    assert vol.voxel_size is None
    assert vol.data.dtype == data.dtype
    np.testing.assert_array_equal(vol.data, data)


@pytest.mark.parametrize("shape", [(1, 4, 5, 6), (1, 1, 4, 5, 6)])
def test_npy_singleton_leading_axes_are_squeezed(tmp_path, shape):
    data = _data("uint16", shape)
    p = tmp_path / "v.npy"
    np.save(p, data)
    vol = read_volume(p)
    assert vol.data.shape == shape[-3:]
    np.testing.assert_array_equal(np.asarray(vol.data), data.reshape(shape[-3:]))


@pytest.mark.parametrize("shape", [(2, 4, 5, 6), (1, 3, 4, 5, 6), (4, 1, 5, 6)])
def test_npy_non_singleton_extra_axes_are_rejected(tmp_path, shape):
    p = tmp_path / "multi.npy"
    np.save(p, np.zeros(shape, "uint8"))
    with pytest.raises(ValueError, match="one 3D") as info:
        read_volume(p)
    msg = str(info.value)
    assert str(shape) in msg
    assert "--axes" in msg


@pytest.mark.parametrize("shape", [(16, 16), (16,)])
def test_npy_low_dimensional_is_rejected(tmp_path, shape):
    p = tmp_path / "low.npy"
    np.save(p, np.zeros(shape, "uint8"))
    with pytest.raises(ValueError, match=r"3D \(z, y, x\)"):
        read_volume(p)


# -- Zarr / OME-Zarr -------------------------------------------------------------


def _zarr_array(path, data, chunks=(2, 8, 8)):
    arr = zarr.create_array(store=str(path), shape=data.shape, dtype=data.dtype, chunks=chunks)
    arr[...] = data
    return arr


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "int32"])
def test_zarr_array_is_read_lazily(tmp_path, dtype):
    data = _data(dtype, (4, 16, 16))
    p = tmp_path / "v.zarr"
    _zarr_array(p, data)
    vol = read_volume(p)
    assert isinstance(vol.data, zarr.Array)  # not loaded into memory
    assert vol.data.shape == data.shape and vol.data.dtype == data.dtype
    assert vol.voxel_size is None
    np.testing.assert_array_equal(vol.data[1:3, 4:9, :5], data[1:3, 4:9, :5])


def test_zarr_directory_without_suffix_is_recognised(tmp_path):
    data = _data("uint8", (2, 4, 4))
    p = tmp_path / "volume"
    _zarr_array(p, data, chunks=(2, 4, 4))
    np.testing.assert_array_equal(np.asarray(read_volume(p).data[...]), data)


def _ome_zarr(path, data, scale, *, v05=False, dataset="0", extra_levels=True):
    group = zarr.open_group(str(path), mode="w")
    arr = group.create_array(dataset, shape=data.shape, dtype=data.dtype, chunks=data.shape)
    arr[...] = data
    datasets = [{"path": dataset, "coordinateTransformations": [{"type": "scale", "scale": list(scale)}]}]
    if extra_levels:
        half = data[..., ::2, ::2]
        low = group.create_array("1", shape=half.shape, dtype=data.dtype, chunks=half.shape)
        low[...] = half
        datasets.append(
            {"path": "1", "coordinateTransformations": [
                {"type": "scale", "scale": list(scale[:-2]) + [2 * scale[-2], 2 * scale[-1]]}
            ]}
        )
    axes = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]
    if len(scale) == 5:
        axes = [{"name": "t", "type": "time"}, {"name": "c", "type": "channel"}, *axes]
    ms = [{"version": "0.5" if v05 else "0.4", "axes": axes, "datasets": datasets}]
    if v05:
        group.attrs["ome"] = {"version": "0.5", "multiscales": ms}
    else:
        group.attrs["multiscales"] = ms
    return group


@pytest.mark.parametrize("v05", [False, True])
def test_ome_zarr_reads_full_resolution_level_with_voxel_size(tmp_path, v05):
    data = _data("uint16", (4, 16, 16))
    p = tmp_path / "image.ome.zarr"
    _ome_zarr(p, data, (2.0, 0.5, 0.5), v05=v05)
    vol = read_volume(p)
    assert isinstance(vol.data, zarr.Array)
    assert vol.data.shape == (4, 16, 16)  # level 0, not the half-size level 1
    assert vol.voxel_size == pytest.approx((2.0, 0.5, 0.5))
    np.testing.assert_array_equal(vol.data[...], data)


def test_ome_zarr_5d_singleton_takes_spatial_scale(tmp_path):
    data = _data("uint8", (1, 1, 3, 8, 8))
    p = tmp_path / "tczyx.zarr"
    _ome_zarr(p, data, (1.0, 1.0, 3.0, 0.25, 0.5), dataset="s0", extra_levels=False)
    vol = read_volume(p)
    assert vol.data.shape == (3, 8, 8)
    assert vol.voxel_size == pytest.approx((3.0, 0.25, 0.5))
    np.testing.assert_array_equal(np.asarray(vol.data), data[0, 0])


def test_ome_zarr_of_four_unnamed_axes_asks_for_axes(tmp_path):
    data = np.zeros((2, 3, 8, 8), "uint8")
    p = tmp_path / "czyx.zarr"
    group = zarr.open_group(str(p), mode="w")
    group.create_array("0", shape=data.shape, dtype=data.dtype, chunks=data.shape)[...] = data
    group.attrs["multiscales"] = [{"version": "0.4", "datasets": [{"path": "0"}]}]
    with pytest.raises(ValueError, match="names no axes.*--axes"):
        read_volume(p)


def test_ome_zarr_without_scale_has_no_voxel_size(tmp_path):
    data = _data("uint8", (2, 4, 4))
    p = tmp_path / "noscale.zarr"
    group = zarr.open_group(str(p), mode="w")
    group.create_array("0", shape=data.shape, dtype=data.dtype, chunks=data.shape)[...] = data
    group.attrs["multiscales"] = [{"version": "0.4", "datasets": [{"path": "0"}]}]
    vol = read_volume(p)
    assert vol.voxel_size is None
    np.testing.assert_array_equal(vol.data[...], data)


def test_plain_zarr_group_reads_first_array(tmp_path):
    p = tmp_path / "plain.zarr"
    group = zarr.open_group(str(p), mode="w")
    a = _data("uint8", (2, 4, 4))
    b = np.zeros((3, 5, 5), "uint8")
    group.create_array("b_second", shape=b.shape, dtype=b.dtype, chunks=b.shape)[...] = b
    group.create_array("a_first", shape=a.shape, dtype=a.dtype, chunks=a.shape)[...] = a
    vol = read_volume(p)
    assert vol.data.shape == (2, 4, 4)
    np.testing.assert_array_equal(vol.data[...], a)


def test_zarr_group_without_arrays_is_rejected(tmp_path):
    p = tmp_path / "empty.zarr"
    zarr.open_group(str(p), mode="w")
    with pytest.raises(ValueError, match="without arrays; point at the array"):
        read_volume(p)


def test_zarr_2d_array_is_rejected(tmp_path):
    p = tmp_path / "flat.zarr"
    _zarr_array(p, np.zeros((8, 8), "uint8"), chunks=(8, 8))
    with pytest.raises(ValueError, match=r"one 3D \(z, y, x\) volume"):
        read_volume(p)


# -- errors ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["missing.tif", "missing.npy", "missing.zarr", "missing.png"])
def test_missing_file_raises_file_not_found(tmp_path, name):
    with pytest.raises(FileNotFoundError, match="check the path") as info:
        read_volume(tmp_path / name)
    assert name in str(info.value)


@pytest.mark.parametrize("name", ["image.png", "image.txt", "image"])
def test_unsupported_format_raises_value_error(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"not an image")
    with pytest.raises(ValueError, match=f"cannot read {name}") as info:
        read_volume(p)
    msg = str(info.value)
    assert "TIFF" in msg and ".zarr" in msg and ".npy" in msg


def test_plain_directory_is_not_a_volume(tmp_path):
    d = tmp_path / "folder"
    d.mkdir()
    with pytest.raises(ValueError, match="cannot read folder"):
        read_volume(d)


def test_read_volume_accepts_str_path(tmp_path):
    p = tmp_path / "v.npy"
    np.save(p, np.ones((2, 2, 2), "uint8"))
    assert read_volume(str(p)).data.shape == (2, 2, 2)
