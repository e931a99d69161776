"""ImageRef: what a plan annotates, checked and round-tripped."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_patchwise.engine.plan.image_ref import ImageRef


def test_image_ref_normalises_fields():
    ref = ImageRef(np.array([10, 20, 30]), dtype=np.uint8, voxel_size=[2, 1, 1])
    assert ref.shape == (10, 20, 30)
    assert all(type(s) is int for s in ref.shape)
    assert ref.dtype == "uint8"
    assert ref.voxel_size == (2.0, 1.0, 1.0)
    assert ref.name == "image" and ref.path is None and ref.unit == "micrometer"


def test_image_ref_rejects_2d_shape_with_hint():
    with pytest.raises(ValueError, match=r"must be 3D \(z, y, x\)") as info:
        ImageRef((512, 512))
    msg = str(info.value)
    assert "2D image" in msg
    assert "z-stack" in msg


@pytest.mark.parametrize("shape", [(2, 64, 64, 64), (64,), (), (1, 1, 1, 1, 1)])
def test_image_ref_rejects_other_dimensionality(shape):
    with pytest.raises(ValueError, match=r"must be 3D") as info:
        ImageRef(shape)
    if len(shape) > 3:
        assert "single-channel" in str(info.value)


@pytest.mark.parametrize(
    ("shape", "match"),
    [((0, 64, 64), "positive"), ((64, -1, 64), "positive"), ((64, 64.5, 64), "whole numbers")],
)
def test_image_ref_rejects_bad_extents(shape, match):
    with pytest.raises(ValueError, match=match):
        ImageRef(shape)


@pytest.mark.parametrize(
    "vs", [(0, 1, 1), (1, -1, 1), (1, 1), (1, 1, 1, 1), (float("nan"), 1, 1), (1, float("inf"), 1)]
)
def test_image_ref_rejects_bad_voxel_size(vs):
    with pytest.raises(ValueError, match="voxel size must be three positive numbers"):
        ImageRef((4, 4, 4), voxel_size=vs)


def test_image_ref_dict_round_trip():
    ref = ImageRef((10, 20, 30), "float32", (2.5, 0.5, 0.5), path="img.tif", name="raw", unit="nm")
    d = ref.to_dict()
    assert d["axes"] == "zyx"
    assert d["shape"] == [10, 20, 30]
    assert ImageRef.from_dict(json.loads(json.dumps(d))) == ref


def test_image_ref_from_minimal_dict():
    assert ImageRef.from_dict({"shape": [4, 5, 6]}) == ImageRef((4, 5, 6))


# ------------------------------------------------------------------ time points and channels
V2_IMAGE = {"path": "/data/cells.tif", "name": "cells", "shape": [8, 64, 64], "dtype": "uint16",
            "voxel_size": [2.0, 0.5, 0.5], "unit": "micrometer", "voxel_size_known": True, "axes": "zyx"}


def test_a_version_2_image_without_the_new_fields_reads_and_writes_back_unchanged():
    ref = ImageRef.from_dict(V2_IMAGE)
    assert (ref.file_axes, ref.time, ref.channels, ref.channel_names, ref.channel) == (None, None, 1, None, None)
    assert ref.to_dict() == V2_IMAGE  # a single-channel image without time points writes what it did
    assert ref.read_options() == {"dataset": None, "axes": None, "time": None}


def test_a_time_point_with_channels_round_trips_through_json():
    ref = ImageRef((5, 64, 64), path="/data/cho.tif", name="cho_t007", file_axes="tczyx", time=7, channels=2,
                   channel_names=["nuclei", "membrane"], channel=1)
    d = json.loads(json.dumps(ref.to_dict()))
    assert d["file_axes"] == "TCZYX" and d["time"] == 7 and d["channels"] == 2
    assert d["channel_names"] == ["nuclei", "membrane"] and d["channel"] == 1
    back = ImageRef.from_dict(d)
    assert back == ref and back.channel_names == ("nuclei", "membrane")
    assert back.read_options() == {"dataset": None, "axes": "TCZYX", "time": 7}
    mean = ImageRef.from_dict({**d, "channel": None})
    assert mean.channel is None and mean.to_dict()["channel"] is None  # null: the mean of the channels


@pytest.mark.parametrize("fields, phrase", [
    ({"time": -1}, "time must be a whole number >= 0"),
    ({"time": "3"}, "time must be a whole number >= 0"),
    ({"channels": 0}, "channels must be a whole number >= 1"),
    ({"channels": 2, "channel": 2}, "channel 2 is outside 0-1"),
    ({"channels": 2, "channel_names": ["a"]}, "name 1 channels, but the image has 2"),
    ({"channels": 2, "channel_names": "ab"}, "must be a list of non-empty texts"),
    ({"file_axes": "TYX"}, "must name z, y and x"),
])
def test_bad_time_and_channel_fields_are_refused_by_name(fields, phrase):
    with pytest.raises(ValueError, match=phrase):
        ImageRef.from_dict({**V2_IMAGE, **fields})


def test_a_unit_written_a_common_way_is_stored_under_its_udunits_name():
    """The dock's unit list and every reader name units so; "nm" in a plan made the dock fall back."""
    assert [ImageRef((2, 2, 2), unit=u).unit for u in ("nm", "µm", "um", "Å", "micrometer", "pixel")] == [
        "nanometer", "micrometer", "micrometer", "angstrom", "micrometer", "pixel"]
    assert ImageRef((2, 2, 2), unit="furlong").unit == "furlong"  # not a length patchwise knows: kept as written
