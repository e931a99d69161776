"""Channel names a TIFF records (ImageJ / Fiji labels, OME-TIFF Channel Name) are read, so
``--channel-names`` is not needed, and ``patchwise images`` shows them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from napari_patchwise.cli.main import main
from napari_patchwise.engine.io.channels import imagej_channel_names, tiff_channel_names
from napari_patchwise.engine.io.volumes import read_volume
from napari_patchwise.engine.plan.plan_file import load_collection

SMALL = ["--preset", "custom", "--size", "4,32,32", "--n", "2"]
ZCYX = (8, 2, 64, 64)


def _imagej(path, labels, shape=ZCYX, axes="ZCYX"):
    data = np.random.default_rng(0).integers(0, 200, shape).astype(np.uint8)
    tifffile.imwrite(path, data, imagej=True, metadata={"axes": axes, "Labels": labels})
    return path


def _names(path):
    with tifffile.TiffFile(path) as tif:
        return tiff_channel_names(tif)


@pytest.mark.parametrize("labels", [
    ["DAPI", "GFP"],                                   # one per channel (as tifffile writes them)
    ["DAPI", "GFP"] * 8,                               # one per plane, z-major as ImageJ saves a ZCYX stack
    ["DAPI", "GFP"] + [""] * 14,                       # only the first plane of each channel labelled
])
def test_imagej_labels_name_the_channels(tmp_path, labels):
    p = _imagej(tmp_path / "ij.tif", labels)
    assert _names(p) == ("DAPI", "GFP")
    vol = read_volume(p)
    assert vol.data.shape == (2, 8, 64, 64) and vol.channel_names == ("DAPI", "GFP")


def test_labels_per_plane_follow_the_file_s_plane_order(tmp_path):
    shape = (2, 3, 2, 16, 16)  # t, z, c: planes run c fastest, then z, then t
    labels = [f"{'DAPI' if c == 0 else 'GFP'}" for t in range(2) for z in range(3) for c in range(2)]
    assert imagej_channel_names(labels, "TZCYX", shape) == ("DAPI", "GFP")
    z_fastest = [name for t in range(2) for name in ("DAPI", "GFP") for z in range(3)]
    assert imagej_channel_names(z_fastest, "TZCYX", shape) is None  # not how the planes are stored


@pytest.mark.parametrize("labels", [
    [f"z:{z + 1}/8 c:{c + 1}/2" for z in range(8) for c in range(2)],  # slice labels, not channel names
    ["stack.tif"] * 16,                                                 # one text on every plane
    ["DAPI", ""],                                                       # a channel without a name
    ["DAPI", "GFP", "RFP"],                                             # not one per channel nor per plane
])
def test_labels_that_do_not_name_channels_are_left_out(tmp_path, labels):
    p = _imagej(tmp_path / "ij.tif", labels)
    assert _names(p) is None
    assert read_volume(p).channel_names is None


def test_labels_of_a_stack_without_channels_name_nothing(tmp_path):
    p = _imagej(tmp_path / "z.tif", ["a", "b", "c", "d"], shape=(4, 16, 16), axes="ZYX")
    assert _names(p) is None


def test_an_ome_tiff_s_channel_names_are_read(tmp_path):
    p = tmp_path / "named.ome.tif"
    data = np.random.default_rng(1).integers(0, 200, (2, 8, 32, 32)).astype(np.uint8)
    tifffile.imwrite(p, data, ome=True, metadata={"axes": "CZYX", "Channel": {"Name": ["nuclei", "membrane"]}})
    assert _names(p) == ("nuclei", "membrane")
    assert read_volume(p).channel_names == ("nuclei", "membrane")


def test_propose_keeps_fiji_channel_names_and_images_shows_them(tmp_path, capsys):
    p = _imagej(tmp_path / "fiji.tif", ["DAPI", "GFP"] * 8)
    out = tmp_path / "proj"
    assert main(["propose", str(p), "--channel", "1", "-o", str(out), *SMALL]) == 0
    assert load_collection(out).images[0].plan.image.channel_names == ("DAPI", "GFP")
    capsys.readouterr()
    assert main(["images", str(out)]) == 0
    assert "2 (DAPI, GFP; measures GFP)" in capsys.readouterr().out
    assert main(["images", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["channel_names"] == ["DAPI", "GFP"]
    other = tmp_path / "given"
    assert main(["propose", str(p), "--channel-names", "nuclei,membrane", "-o", str(other), *SMALL]) == 0
    assert load_collection(other).images[0].plan.image.channel_names == ("nuclei", "membrane")  # given wins
