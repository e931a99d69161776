"""``patchwise propose`` on files with time points or channels: --axes, --time, --channel, --channel-names;
through seed and export (nnU-Net's own integrity check on a time-lapse and on a two-channel image)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_patchwise.cli.main import main
from napari_patchwise.engine.jobs.seed import project_image
from napari_patchwise.engine.plan.plan_file import load_collection

sys.path.insert(0, str(Path(__file__).parent / "engine" / "plan"))
from project_helpers import snapshot as _snapshot  # noqa: E402


def snapshot(folder: Path) -> dict:
    """Bytes and times of everything in the project (the folder's own time changes with its lock file)."""
    return {k: v for k, v in _snapshot(folder).items() if k != folder.as_posix()}

SMALL = ["--preset", "custom", "--size", "4,32,32", "--n", "2"]


def _blobs(shape, seed):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    data = rng.normal(30, 6, shape)
    for _ in range(10):
        c = [rng.integers(0, n) for n in shape]
        data += 150 * (((z - c[0]) / 2) ** 2 + ((y - c[1]) / 5) ** 2 + ((x - c[2]) / 5) ** 2 < 1)
    return np.clip(data, 0, 255).astype(np.uint8)


@pytest.fixture
def timelapse(tmp_path) -> Path:
    """Four time points of 6×64×64, ImageJ axes TZYX."""
    data = np.stack([_blobs((6, 64, 64), t) for t in range(4)])
    p = tmp_path / "movie.tif"
    tifffile.imwrite(p, data, imagej=True, metadata={"axes": "TZYX", "spacing": 1.0, "unit": "um"},
                     resolution=(5.0, 5.0))
    return p


def test_each_time_point_becomes_an_image_named_after_it(timelapse, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(timelapse), "-o", str(out), *SMALL]) == 0
    coll = load_collection(out)
    assert coll.names == ("movie_t000", "movie_t001", "movie_t002", "movie_t003")
    refs = [e.plan.image for e in coll.images]
    assert [r.time for r in refs] == [0, 1, 2, 3] and {r.file_axes for r in refs} == {"TZYX"}
    assert {r.shape for r in refs} == {(6, 64, 64)} and {r.voxel_size for r in refs} == {(1.0, 0.2, 0.2)}
    assert all(len(e.plan.boxes) == 2 for e in coll.images)
    assert "image movie_t002: " in capsys.readouterr().out
    saved = json.loads((out / "plan.json").read_text())["images"][3]["image"]
    assert saved["time"] == 3 and saved["file_axes"] == "TZYX"
    before = snapshot(out)
    assert main(["propose", str(timelapse), "-o", str(out), *SMALL]) == 0  # held already: nothing added
    assert snapshot(out) == before
    np.testing.assert_array_equal(np.asarray(project_image(out, coll.plan("movie_t002"))),
                                  tifffile.imread(timelapse)[2])


def test_time_chooses_time_points_and_a_later_run_adds_others(timelapse, tmp_path):
    out = tmp_path / "proj"
    assert main(["propose", str(timelapse), "--time", "0-3:2", "-o", str(out), *SMALL]) == 0
    assert load_collection(out).names == ("movie_t000", "movie_t002")
    assert main(["propose", str(timelapse), "--time", "1,2", "-o", str(out), *SMALL]) == 0
    assert load_collection(out).names == ("movie_t000", "movie_t002", "movie_t001")


def test_given_axes_read_a_file_that_records_none(tmp_path, capsys):
    data = np.stack([_blobs((6, 48, 48), t) for t in range(3)])
    p = tmp_path / "plain.tif"
    tifffile.imwrite(p, data)
    out = tmp_path / "proj"
    assert main(["propose", str(p), "-o", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert "plain.tif has shape (3, 6, 48, 48) and its metadata names no axes" in err and "--axes" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and not out.exists()
    assert main(["propose", str(p), "--axes", "TZYX", "--voxel-size", "1,0.2,0.2um", "-o", str(out),
                 *SMALL]) == 0
    assert load_collection(out).names == ("plain_t000", "plain_t001", "plain_t002")


@pytest.mark.parametrize("extra, phrase", [
    (["--axes", "TZY"], "must name z, y and x"),
    (["--axes", "TCZYX"], "name 5 axes, but the image has 4"),
    (["--time", "4"], "time point 4 is outside 0-3"),
    (["--time", "2-1"], "runs backwards"),
    (["--time", "a"], "--time takes time points like"),
    (["--channel", "0"], "--channel is for images with channels"),
    (["--channel-names", "a,b"], "--channel-names is for images with channels"),
])
def test_bad_axes_time_or_channel_options_exit_2_writing_nothing(timelapse, tmp_path, capsys, extra, phrase):
    out = tmp_path / "proj"
    assert main(["propose", str(timelapse), "-o", str(out), *SMALL, *extra]) == 2
    err = capsys.readouterr().err
    assert phrase in err and "Traceback" not in err
    assert not out.exists()


def test_time_on_a_file_without_time_points_exits_2(tmp_path, capsys):
    p = tmp_path / "still.tif"
    tifffile.imwrite(p, _blobs((6, 48, 48), 0))
    assert main(["propose", str(p), "--time", "0", "-o", str(tmp_path / "proj"), *SMALL]) == 2
    assert "--time picks time points, but" in capsys.readouterr().err


@pytest.fixture
def two_channels(tmp_path) -> Path:
    """A z, c, y, x ImageJ stack: blobs, and a smoothed, dimmer copy."""
    from scipy import ndimage as ndi

    raw = _blobs((8, 64, 64), 5)
    smooth = (ndi.gaussian_filter(raw.astype(float), 1.5) / 2).astype(np.uint8)
    p = tmp_path / "twochan.tif"
    tifffile.imwrite(p, np.stack([raw, smooth], axis=1), imagej=True,
                     metadata={"axes": "ZCYX", "spacing": 1.0, "unit": "um"}, resolution=(5.0, 5.0))
    return p


def test_channels_are_kept_from_propose_through_seed_to_export(two_channels, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(two_channels), "--channel-names", "nuclei,smooth", "--channel", "0",
                 "-o", str(out), *SMALL]) == 0
    ref = load_collection(out).plan("twochan").image
    assert (ref.channels, ref.channel_names, ref.channel, ref.file_axes) == (2, ("nuclei", "smooth"), 0, "ZCYX")
    assert "2 channels nuclei, smooth, measuring channel 0" in capsys.readouterr().out
    stack = tifffile.imread(two_channels)
    measured = np.asarray(project_image(out, load_collection(out).plan("twochan")))
    np.testing.assert_array_equal(measured, stack[:, 0])  # seeding measures the chosen channel
    assert main(["seed", str(out)]) == 0
    assert main(["export", str(out), "--format", "nnunet,stardist", "-o", str(tmp_path / "ex")]) == 0
    dataset = next((tmp_path / "ex").glob("Dataset*"))
    assert json.loads((dataset / "dataset.json").read_text())["channel_names"] == {"0": "nuclei", "1": "smooth"}
    names = sorted(p.name for p in (dataset / "imagesTr").glob("*.tiff"))
    assert names and len(names) % 2 == 0 and names[1].endswith("_0001.tiff")
    case = names[0][: -len("_0000.tiff")]
    box = next(b for b in load_collection(out).plan("twochan").boxes if case.endswith(f"{b.id:04d}"))
    region = tuple(slice(lo, hi) for lo, hi in zip(box.lo, box.hi))
    np.testing.assert_array_equal(tifffile.imread(dataset / "imagesTr" / f"{case}_0001.tiff"),
                                  stack[:, 1][region])
    star = next((tmp_path / "ex").glob("stardist*")) / "images" / f"{case}.tif"
    assert tifffile.imread(star).shape == (*tuple(h - lo for lo, h in zip(box.lo, box.hi)), 2)


def test_images_lists_channels_and_time_points(two_channels, timelapse, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(two_channels), "--channel-names", "nuclei,smooth", "--channel", "1",
                 "-o", str(out), *SMALL]) == 0
    assert main(["propose", str(timelapse), "--time", "2", "-o", str(out), *SMALL]) == 0
    capsys.readouterr()
    assert main(["images", str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "channels" in table[0].split()
    assert "2 (nuclei, smooth; measures smooth)" in table[1] and table[1].startswith("twochan ")
    assert table[2].startswith("movie_t002 ") and "  1  " in table[2]
    assert main(["images", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["channels"], r["channel_names"], r["channel"], r["time"]) for r in rows] == \
        [(2, ["nuclei", "smooth"], 1, None), (1, [], None, 2)]


def test_the_mean_of_the_channels_is_measured_by_default(two_channels, tmp_path):
    out = tmp_path / "proj"
    assert main(["propose", str(two_channels), "-o", str(out), *SMALL]) == 0
    plan = load_collection(out).plan("twochan")
    assert plan.image.channel is None and plan.image.channel_labels == ("channel_0", "channel_1")
    measured = np.asarray(project_image(out, plan))
    assert measured.dtype == np.float32 and measured.shape == (8, 64, 64)


def test_channel_names_an_ome_tiff_records_are_kept_unless_given(tmp_path):
    data = np.stack([_blobs((8, 64, 64), 1), _blobs((8, 64, 64), 2)])
    p = tmp_path / "named.ome.tif"
    tifffile.imwrite(p, data, ome=True, metadata={"axes": "CZYX", "Channel": {"Name": ["DAPI", "GFP"]}})
    assert main(["propose", str(p), "-o", str(tmp_path / "a"), *SMALL]) == 0
    assert load_collection(tmp_path / "a").images[0].plan.image.channel_names == ("DAPI", "GFP")
    assert main(["propose", str(p), "--channel-names", "x,y", "-o", str(tmp_path / "b"), *SMALL]) == 0
    assert load_collection(tmp_path / "b").images[0].plan.image.channel_names == ("x", "y")


# ---------------------------------------------------------------- real data and nnU-Net's own check
def test_cho_time_lapse_one_time_point_held_out_passes_nnunets_check(shared_data, tmp_path, capsys):
    pytest.importorskip("nnunetv2")
    from napari_patchwise.engine.export.nnunet import verify_nnunet

    cho = shared_data / "nuclei_cho_timelapse" / "Fluo-N3DH-CHO_02_img.tif"
    out = tmp_path / "cho"
    assert main(["propose", str(cho), "--axes", "TZYX", "--voxel-size", "1,0.202,0.202um", "--time", "0,5,10",
                 "--preset", "custom", "--size", "5,96,96", "--n", "3", "-o", str(out)]) == 0
    names = ("Fluo-N3DH-CHO_02_img_t000", "Fluo-N3DH-CHO_02_img_t005", "Fluo-N3DH-CHO_02_img_t010")
    assert load_collection(out).names == names
    assert main(["seed", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", str(out), "--format", "nnunet", "-o", str(tmp_path / "ex"),
                 "--test-images", names[2], "--json"]) == 0
    dataset = next((tmp_path / "ex").glob("Dataset*"))
    tests = sorted(p.name for p in (dataset / "imagesTs").glob("*_0000.tiff"))
    assert tests and all(n.startswith(names[2]) for n in tests)
    assert not any(p.name.startswith(names[2]) for p in (dataset / "imagesTr").iterdir())
    assert "verify_dataset_integrity Done" in verify_nnunet(dataset)


def test_two_channel_ovule_export_passes_nnunets_check(shared_data, tmp_path):
    pytest.importorskip("nnunetv2")
    import h5py
    from scipy import ndimage as ndi

    from napari_patchwise.engine.export.nnunet import verify_nnunet

    with h5py.File(shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5", "r") as f:
        raw = f["raw"][:]
    smooth = ndi.gaussian_filter(raw.astype(np.float32), 1.5).astype(np.uint8)
    p = tmp_path / "ovule2.tif"
    tifffile.imwrite(p, np.stack([raw, smooth], axis=1), imagej=True,
                     metadata={"axes": "ZCYX", "spacing": 0.284, "unit": "um"}, resolution=(1 / 0.128, 1 / 0.128))
    out = tmp_path / "proj"
    assert main(["propose", str(p), "--channel-names", "raw,smoothed", "--n", "3", "-o", str(out)]) == 0
    assert main(["seed", str(out)]) == 0
    assert main(["export", str(out), "--format", "nnunet", "-o", str(tmp_path / "ex")]) == 0
    dataset = next((tmp_path / "ex").glob("Dataset*"))
    assert json.loads((dataset / "dataset.json").read_text())["channel_names"] == {"0": "raw", "1": "smoothed"}
    assert "verify_dataset_integrity Done" in verify_nnunet(dataset)
