"""Every format writes every channel of an image with channels, as its tool expects them."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from napari_patchwise.engine.export import cellpose_planes, nnunet, omezarr, stardist
from napari_patchwise.engine.export.crops import ImageLevel, crop_image, read_crop
from napari_patchwise.engine.export.model import Crop, ExportError
from napari_patchwise.engine.geometry.box import Box

sys.path.insert(0, str(Path(__file__).parent))
from test_export_formats import SHAPE, make_crop, make_ctx, write_all  # noqa: E402

NAMES = ("nuclei stain", "membrane")


def two_channel(ctx, crop: Crop, names=NAMES) -> tuple:
    """The context of an image with two channels, and the crop with a second, distinct channel."""
    image = dataclasses.replace(ctx.plan.image, channels=2, channel_names=names)
    ctx = dataclasses.replace(ctx, plan=ctx.plan.replace(image=image))
    second = (crop.image[::-1] // 3 + 7).astype(crop.image.dtype)
    return ctx, dataclasses.replace(crop, image=np.stack([crop.image, second]))


def crops(ctx):
    out = []
    for i, split in enumerate(("train", "train", "val", "test"), start=1):
        ctx2, crop = two_channel(ctx, make_crop(ctx, i, split, seed=i))
        out.append(crop)
    return ctx2, out


def test_nnunet_writes_a_file_per_channel_and_names_them(tmp_path):
    ctx, cs = crops(make_ctx())
    write_all(nnunet, tmp_path, ctx, cs)
    for c in cs:
        folder = "imagesTs" if c.split == "test" else "imagesTr"
        for k in range(2):
            np.testing.assert_array_equal(tifffile.imread(tmp_path / folder / f"{c.case}_{k:04d}.tiff"), c.image[k])
        assert not (tmp_path / folder / f"{c.case}_0002.tiff").exists()
    dataset = json.loads((tmp_path / "dataset.json").read_text())
    assert dataset["channel_names"] == {"0": "nuclei stain", "1": "membrane"}
    back = nnunet.read_case(tmp_path, cs[0].case)
    np.testing.assert_array_equal(back["image"], cs[0].image)


def test_nnunet_refuses_an_image_whose_channels_are_not_the_dataset_s(tmp_path):
    ctx = make_ctx()
    _, crop = two_channel(ctx, make_crop(ctx))
    with pytest.raises(ExportError, match="has 2 channel.s. but the dataset 1"):
        nnunet.write_case(tmp_path, crop, ctx)


def test_nnunet_integrity_check_passes_with_two_channels(tmp_path):
    pytest.importorskip("nnunetv2")
    ctx, cs = crops(make_ctx())
    folder = tmp_path / nnunet.folder_name(ctx)
    write_all(nnunet, folder, ctx, cs)
    assert "verify_dataset_integrity Done" in nnunet.verify_nnunet(folder)


def test_stardist_writes_channels_last_and_says_so_in_its_config(tmp_path):
    ctx, cs = crops(make_ctx(instance_class="nuclei"))
    write_all(stardist, tmp_path, ctx, cs)
    image, masks = stardist.read_case(tmp_path, cs[0].case)
    assert image.shape == (*SHAPE, 2) and masks.shape == SHAPE
    np.testing.assert_array_equal(image, np.moveaxis(cs[0].image, 0, -1))
    with tifffile.TiffFile(tmp_path / "images" / f"{cs[0].case}.tif") as tif:
        assert tif.series[0].axes == "ZYXC" and tif.pages[0].tags["XResolution"].value == (2, 1)
    config = json.loads((tmp_path / stardist.CONFIG_NAME).read_text())
    assert config["axes"] == "ZYXC" and config["n_channel_in"] == 2
    assert config["train_patch_size"] is not None  # the spatial shape, not the channels, sizes it


def test_cellpose_planes_carry_the_channel_axis_first(tmp_path):
    ctx = make_ctx(instance_class="nuclei", min_masks=1, cellpose_planes=("yx", "zx"))
    ctx, crop = two_channel(ctx, make_crop(ctx))
    out = cellpose_planes.write_case(tmp_path, crop, ctx)
    planes = cellpose_planes.read_case(tmp_path, crop.case)
    assert out.images == len(planes) > 0
    yx = planes[f"{crop.case}_yx000"]
    assert yx[0].shape == (2, SHAPE[1], SHAPE[2]) and yx[1].shape == SHAPE[1:]
    np.testing.assert_array_equal(yx[0], crop.image[:, 0])
    zx = next(v for k, v in planes.items() if "_zx" in k)
    assert zx[0].shape[0] == 2 and zx[0].shape[1:] == zx[1].shape


def test_ome_zarr_has_a_channel_axis_and_the_channel_names(tmp_path):
    ctx = make_ctx(instance_class="nuclei")
    ctx, crop = two_channel(ctx, make_crop(ctx))
    omezarr.write_case(tmp_path, crop, ctx)
    image, classmap, _ = omezarr.read_case(tmp_path, crop.case)
    np.testing.assert_array_equal(image, crop.image)
    attrs = zarr.open_group(str(tmp_path / f"{crop.case}.zarr"), mode="r").attrs
    ms = attrs["multiscales"][0]
    assert [a["name"] for a in ms["axes"]] == ["c", "z", "y", "x"] and ms["axes"][0]["type"] == "channel"
    scale, shift = (t[t["type"]] for t in ms["datasets"][0]["coordinateTransformations"])
    assert scale[0] == 1.0 and shift[0] == 0.0 and len(scale) == len(shift) == 4
    assert [c["label"] for c in attrs["omero"]["channels"]] == list(NAMES)
    assert classmap.shape == SHAPE


def test_one_channel_writes_what_it_always_did(tmp_path):
    ctx = make_ctx(instance_class="nuclei")
    crop = make_crop(ctx)
    nnunet.write_case(tmp_path / "n", crop, ctx)
    assert sorted(p.name for p in (tmp_path / "n" / "imagesTr").iterdir()) == ["box_0001.json", "box_0001_0000.tiff"]
    stardist.write_case(tmp_path / "s", crop, ctx)
    assert tifffile.imread(tmp_path / "s" / "images" / "box_0001.tif").shape == SHAPE
    (tmp_path / "o").mkdir()
    omezarr.write_case(tmp_path / "o", crop, ctx)
    attrs = dict(zarr.open_group(str(tmp_path / "o" / "box_0001.zarr"), mode="r").attrs)
    assert "omero" not in attrs and [a["name"] for a in attrs["multiscales"][0]["axes"]] == ["z", "y", "x"]


def test_crops_keep_every_channel_at_any_magnification():
    from napari_patchwise.engine.plan.image_ref import ImageRef
    from napari_patchwise.engine.plan.plan import Plan

    image = np.random.default_rng(1).integers(0, 100, (2, 4, 8, 8)).astype(np.uint16)
    box = Box(1, (0, 0, 0), (4, 8, 8))
    full = crop_image([ImageLevel(image)], box, (1, 1, 1))
    np.testing.assert_array_equal(full, image)
    half = crop_image([ImageLevel(image)], box, (1, 2, 2))
    assert half.shape == (2, 4, 4, 4)
    np.testing.assert_allclose(half[1], image[1].reshape(4, 4, 2, 4, 2).mean(axis=(2, 4)))
    plan = Plan(ImageRef((4, 8, 8), channels=2))
    layers = {"nuclei": np.ones((4, 8, 8), np.uint32), "background": np.zeros((4, 8, 8), np.uint8)}
    assert read_crop(plan, layers, [ImageLevel(image)], box).image.shape == (2, 4, 8, 8)
