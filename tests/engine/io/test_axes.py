"""Axes of image files: from ImageJ, OME-TIFF and OME-Zarr metadata or given; time points read lazily;
channels kept and measured as one channel or the mean of them normalised."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import tifffile
import zarr

from napari_patchwise.engine.io.axes import AxisView, TiffPages
from napari_patchwise.engine.io.channels import measured_channel, read_measured
from napari_patchwise.engine.io.lazy import lazy_volume
from napari_patchwise.engine.io.volumes import read_time_points, read_volume

rng = np.random.default_rng(0)
TZYX = rng.integers(0, 250, (6, 3, 16, 20)).astype(np.uint8)


def _imagej(path, data, axes, **kw):
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": axes, "spacing": 2.0, "unit": "um"},
                     resolution=(4.0, 4.0), **kw)
    return path


def test_imagej_time_points_each_read_as_one_volume_with_the_voxel_size(tmp_path):
    p = _imagej(tmp_path / "t.tif", TZYX, "TZYX")
    vols = read_time_points(p)
    assert [v.time for v in vols] == list(range(6))
    assert {(v.axes, v.time_points, v.channels) for v in vols} == {("TZYX", 6, 1)}
    for t in (0, 4):
        assert vols[t].data.shape == (3, 16, 20)
        np.testing.assert_array_equal(np.asarray(vols[t].data), TZYX[t])
        np.testing.assert_array_equal(vols[t].data[1, 2:5, ::3], TZYX[t, 1, 2:5, ::3])
    assert vols[0].voxel_size == (2.0, 0.25, 0.25) and vols[0].unit == "micrometer"
    np.testing.assert_array_equal(np.asarray(read_volume(p, time=5).data), TZYX[5])
    with pytest.raises(ValueError, match="holds 6 time points .axes TZYX.; choose one"):
        read_volume(p)
    with pytest.raises(ValueError, match="outside 0-5"):
        read_volume(p, time=6)


def test_ome_tiff_axes_give_time_points_and_channels_first(tmp_path):
    data = rng.integers(0, 999, (3, 2, 4, 8, 8)).astype(np.uint16)  # t, c, z, y, x
    p = tmp_path / "o.ome.tif"
    tifffile.imwrite(p, data, ome=True, metadata={"axes": "TCZYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    vols = read_time_points(p, times=[2])
    assert len(vols) == 1 and vols[0].axes == "TCZYX" and vols[0].channels == 2 and vols[0].time == 2
    assert vols[0].channel_names == ("DAPI", "GFP")
    assert vols[0].data.shape == (2, 4, 8, 8)
    np.testing.assert_array_equal(np.asarray(vols[0].data), data[2])


def test_imagej_channels_in_the_middle_come_out_first(tmp_path):
    data = rng.integers(0, 250, (5, 2, 8, 8)).astype(np.uint8)  # z, c, y, x as ImageJ stores them
    vol = read_volume(_imagej(tmp_path / "c.tif", data, "ZCYX"))
    assert vol.axes == "ZCYX" and vol.channels == 2 and vol.time is None and vol.channel_names is None
    np.testing.assert_array_equal(np.asarray(vol.data), data.transpose(1, 0, 2, 3))
    np.testing.assert_array_equal(vol.data[1, 3], data[3, 1])


def test_ome_zarr_axes_name_the_channel_axis(tmp_path):
    data = rng.integers(0, 250, (2, 4, 8, 8)).astype(np.uint8)
    group = zarr.open_group(str(tmp_path / "c.zarr"), mode="w")
    group.create_array("0", shape=data.shape, dtype=data.dtype, chunks=(1, 2, 8, 8))[...] = data
    axes = [{"name": "c", "type": "channel"}] + [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    group.attrs["multiscales"] = [{"version": "0.4", "axes": axes, "datasets": [
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 2.0, 0.5, 0.5]}]}]}]
    group.attrs["omero"] = {"channels": [{"label": "nuclei"}, {"label": "membrane"}]}
    vol = read_volume(tmp_path / "c.zarr")
    assert vol.axes == "CZYX" and vol.channels == 2 and vol.voxel_size == (2.0, 0.5, 0.5)
    assert vol.channel_names == ("nuclei", "membrane")
    assert vol.data.chunks == (1, 2, 8, 8)
    np.testing.assert_array_equal(np.asarray(vol.data), data)


def test_given_axes_read_a_file_without_them_and_override_wrong_ones(tmp_path):
    p = tmp_path / "plain.tif"
    tifffile.imwrite(p, TZYX)  # tifffile's shape record: axes QQYX
    with pytest.raises(ValueError, match=r"has shape \(6, 3, 16, 20\) and its metadata names no axes.*--axes"):
        read_volume(p)
    np.testing.assert_array_equal(np.asarray(read_volume(p, axes="tzyx", time=1).data), TZYX[1])
    as_channels = read_volume(p, axes="CZYX")  # six channels, say
    assert as_channels.channels == 6 and as_channels.data.shape == (6, 3, 16, 20)
    wrong = _imagej(tmp_path / "wrong.tif", TZYX, "ZCYX")  # recorded as z and channels, really t and z
    assert read_volume(wrong).channels == 3
    assert [v.time for v in read_time_points(wrong, axes="TZYX")] == list(range(6))
    with pytest.raises(ValueError, match="name 4 axes, but the image has 5"):
        read_volume(tmp_path / "plain.tif", axes="TZYX") if False else read_time_points(
            _imagej(tmp_path / "five.tif", np.zeros((2, 3, 2, 4, 4), np.uint8), "TZCYX"), axes="TZYX")


def test_a_npy_volume_with_leading_axes_of_length_one_reads_as_before(tmp_path):
    np.save(tmp_path / "v.npy", TZYX[:1, None])
    vol = read_volume(tmp_path / "v.npy")
    assert vol.axes == "ZYX" and vol.data.shape == (3, 16, 20) and isinstance(vol.data, np.ndarray)


def test_one_time_point_of_a_compressed_file_reads_only_its_own_pages(tmp_path, monkeypatch):
    p = _imagej(tmp_path / "z.tif", TZYX, "TZYX", compression="zlib")
    read: list[int] = []
    original = TiffPages.read_pages

    def counting(self, pages):
        read.extend(pages)
        return original(self, pages)

    monkeypatch.setattr(TiffPages, "read_pages", counting)
    vols = read_time_points(p)
    assert isinstance(vols[4].data.base, TiffPages) and read == []  # opening reads no plane
    np.testing.assert_array_equal(lazy_volume(vols[4].data).compute(), TZYX[4])
    assert sorted(set(read)) == [12, 13, 14]  # time point 4 of 3 planes each: pages 12-14
    read.clear()
    assert vols[5].data[2, 0, 0] == TZYX[5, 2, 0, 0] and read == [17]
    assert pickle.loads(pickle.dumps(vols[5].data))[1].shape == (16, 20)  # for process schedulers


def test_one_time_point_of_a_plain_file_is_a_view_of_the_memory_map(tmp_path):
    p = _imagej(tmp_path / "m.tif", TZYX, "TZYX")
    view = read_time_points(p)[3].data
    assert isinstance(view, AxisView) and isinstance(view.base, np.memmap)
    np.testing.assert_array_equal(np.asarray(view), TZYX[3])


def test_a_chosen_channel_or_the_mean_of_the_channels_normalised_is_measured(tmp_path):
    low = rng.integers(0, 50, (4, 8, 8)).astype(np.uint16)
    data = np.stack([low, low * 100])  # the second channel 100 times brighter
    one = measured_channel(data, 1)
    assert one.shape == (4, 8, 8) and one.dtype == np.uint16
    np.testing.assert_array_equal(np.asarray(one), data[1])
    mean = np.asarray(measured_channel(data, None))
    alone = np.asarray(measured_channel(data[:1], None))
    assert mean.dtype == np.float32 and np.allclose(mean, alone, atol=1e-3)  # brightness does not weigh
    assert measured_channel(low, None) is low
    with pytest.raises(ValueError, match="expected a .z, y, x. or .c, z, y, x. image"):
        measured_channel(np.zeros((2, 2, 2, 2, 2)), None)


def test_read_measured_follows_the_image_reference(tmp_path):
    from napari_patchwise.engine.plan.image_ref import ImageRef

    data = rng.integers(0, 250, (3, 2, 8, 8)).astype(np.uint8)  # z, c, y, x
    p = _imagej(tmp_path / "c.tif", data, "ZCYX")
    ref = ImageRef((3, 8, 8), path=str(p), file_axes="ZCYX", channels=2, channel=1)
    np.testing.assert_array_equal(np.asarray(read_measured(p, ref)), data[:, 1])
    t = _imagej(tmp_path / "t.tif", TZYX, "TZYX")
    ref = ImageRef((3, 16, 20), path=str(t), file_axes="TZYX", time=2)
    np.testing.assert_array_equal(np.asarray(read_measured(t, ref)), TZYX[2])
