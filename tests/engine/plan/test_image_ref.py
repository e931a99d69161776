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
