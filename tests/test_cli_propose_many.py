"""``patchwise propose`` on several images: a new project, adding to one, re-runs, bounds, bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_collection

sys.path.insert(0, str(Path(__file__).parent / "engine" / "plan"))
from project_helpers import snapshot as _snapshot  # noqa: E402


def snapshot(folder: Path) -> dict:
    """Bytes and times of everything in the project (the folder's own time changes with its lock file)."""
    return {k: v for k, v in _snapshot(folder).items() if k != folder.as_posix()}

SIZE = ["--size", "32,32,32"]


def _volume(shape, seed):
    """Blobs on a noisy background: content with strata to propose on."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    data = rng.normal(40, 8, shape)
    for _ in range(12):
        c = [rng.integers(0, n) for n in shape]
        data += 120 * (((z - c[0]) / 3) ** 2 + ((y - c[1]) / 6) ** 2 + ((x - c[2]) / 6) ** 2 < 1)
    return np.clip(data, 0, 255).astype(np.uint8)


@pytest.fixture
def images(tmp_path) -> Path:
    d = tmp_path / "images"
    d.mkdir()
    write_tiff(d / "alpha.tif", _volume((32, 96, 96), 1), (1.0, 0.25, 0.25))
    write_tiff(d / "beta.tif", _volume((32, 128, 96), 2), (2.0, 0.5, 0.5))
    write_tiff(d / "gamma.tif", _volume((48, 96, 128), 3), (1.0, 0.2, 0.2))
    return d


def boxes_of(project) -> dict:
    coll = load_collection(project)
    return {e.name: [(b.lo, b.hi) for b in e.plan.boxes] for e in coll.images}


def test_two_images_make_a_new_project_each_with_its_voxel_size_and_boxes(images, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), str(images / "beta.tif"), "-o", str(out),
                 *SIZE, "--n", "3"]) == 0
    text = capsys.readouterr().out
    coll = load_collection(out)
    assert coll.names == ("alpha", "beta")
    assert [e.plan.image.voxel_size for e in coll.images] == [(1.0, 0.25, 0.25), (2.0, 0.5, 0.5)]
    assert [len(e.plan.boxes) for e in coll.images] == [3, 3]
    assert {e.plan.preset.name for e in coll.images} == {"instance"}
    assert "  alpha: proposed 3 boxes; content strata covered" in text
    assert "  beta: proposed 3 boxes" in text
    assert "6 new boxes on 2 new images; 2 images in" in text
    assert "Next: patchwise seed" in text and "Open it in napari" not in text  # the dock: one image for now
    assert main(["images", str(out), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["boxes"]) for r in rows] == [("alpha", 3), ("beta", 3)]


def test_same_seed_same_boxes_and_each_image_as_if_proposed_alone(images, tmp_path):
    args = [str(images / "alpha.tif"), str(images / "beta.tif"), *SIZE, "--n", "4", "--seed", "7"]
    assert main(["propose", *args, "-o", str(tmp_path / "p1")]) == 0
    assert main(["propose", *args, "-o", str(tmp_path / "p2")]) == 0
    assert boxes_of(tmp_path / "p1") == boxes_of(tmp_path / "p2")
    assert main(["propose", str(images / "beta.tif"), *SIZE, "--n", "4", "--seed", "7",
                 "-o", str(tmp_path / "alone")]) == 0
    assert boxes_of(tmp_path / "alone")["beta"] == boxes_of(tmp_path / "p1")["beta"]


def test_an_existing_project_gets_only_the_images_it_lacks_and_a_rerun_adds_nothing(images, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), "-o", str(out), *SIZE, "--n", "2"]) == 0
    first = boxes_of(out)["alpha"]
    capsys.readouterr()
    assert main(["propose", str(images), "-o", str(out), *SIZE, "--n", "2"]) == 0  # the folder: all three
    text = capsys.readouterr().out
    assert "alpha.tif is already image 'alpha'" in text and "skipped" in text
    boxes = boxes_of(out)
    assert list(boxes) == ["alpha", "beta", "gamma"]
    assert boxes["alpha"] == first and len(boxes["beta"]) == len(boxes["gamma"]) == 2
    before = snapshot(out)
    assert main(["propose", f"{images}/*.tif", "-o", str(out), *SIZE, "--n", "2"]) == 0
    assert "nothing to add" in capsys.readouterr().out
    assert snapshot(out) == before


def test_one_image_the_project_holds_gets_more_boxes_as_before(images, tmp_path):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), str(images / "beta.tif"), "-o", str(out),
                 *SIZE, "--n", "2"]) == 0
    assert main(["propose", str(images / "beta.tif"), "-o", str(out), *SIZE, "--n", "2", "--seed", "3"]) == 0
    boxes = boxes_of(out)
    assert len(boxes["alpha"]) == 2 and len(boxes["beta"]) == 4


def test_globs_and_folders_expand_sorted_and_a_taken_name_gets_a_suffix(images, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    write_tiff(other / "alpha.tif", _volume((32, 96, 96), 9), (1.0, 0.25, 0.25))
    out = tmp_path / "proj"
    assert main(["propose", f"{images}/[ab]*.tif", str(other), "-o", str(out), *SIZE, "--n", "1"]) == 0
    coll = load_collection(out)
    assert coll.names == ("alpha", "beta", "alpha_2")
    assert Path(coll.plan("alpha_2").image.path) == (other / "alpha.tif").resolve()


def test_per_image_spreads_the_total_within_the_bounds(images, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(images), "-o", str(out), *SIZE, "--n", "9", "--per-image", "2,4"]) == 0
    counts = {k: len(v) for k, v in boxes_of(out).items()}
    assert all(2 <= n <= 4 for n in counts.values()) and sum(counts.values()) == 9
    assert counts["gamma"] >= counts["alpha"]  # the largest volume is not given fewer
    out2 = tmp_path / "capped"
    assert main(["propose", str(images), "-o", str(out2), *SIZE, "--n", "30", "--per-image", "1,2"]) == 0
    assert "30 boxes cannot be spread over 3 images with 1 to 2 each; asking for 6" in capsys.readouterr().out
    assert [len(v) for v in boxes_of(out2).values()] == [2, 2, 2]


@pytest.mark.parametrize("extra, phrase", [
    (["--per-image", "2,4"], "--per-image MIN,MAX bounds a total"),
    (["--per-image", "4,2", "--n", "5"], "--per-image takes MIN,MAX"),
    (["--labels", "w.tif"], "--labels belong to one image, but 2 images"),
    (["--points", "p.csv"], "--points belong to one image"),
])
def test_options_that_do_not_fit_several_images_exit_2_writing_nothing(images, tmp_path, capsys, extra, phrase):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), str(images / "beta.tif"), "-o", str(out), *SIZE,
                 *extra]) == 2
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("bad, phrase", [
    (lambda d: str(d / "missing.tif"), "no image at"),
    (lambda d: f"{d}/*.nothing", "matches no file"),
    (lambda d: str(write_tiff(d / "flat.tif", np.zeros((32, 32), np.uint8))), "patchwise needs one 3D"),
])
def test_a_bad_image_among_several_exits_2_before_anything_is_written(images, tmp_path, capsys, bad, phrase):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), bad(tmp_path), "-o", str(out), *SIZE]) == 2
    assert phrase in capsys.readouterr().err
    assert not out.exists()
    assert main(["propose", str(images / "alpha.tif"), "-o", str(out), *SIZE, "--n", "1"]) == 0
    before = snapshot(out)
    assert main(["propose", str(images / "beta.tif"), bad(tmp_path), "-o", str(out), *SIZE]) == 2
    assert snapshot(out) == before


def test_other_classes_than_the_project_s_are_refused(images, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), "-o", str(out), *SIZE, "--n", "1",
                 "--classes", "nuclei:instance,mito:semantic"]) == 0
    before = snapshot(out)
    capsys.readouterr()
    assert main(["propose", str(images / "beta.tif"), str(images / "gamma.tif"), "-o", str(out), *SIZE,
                 "--classes", "cells:instance"]) == 2
    err = capsys.readouterr().err
    assert "has the classes nuclei:instance,mito:semantic, not cells:instance" in err
    assert snapshot(out) == before
    assert main(["propose", str(images / "beta.tif"), "-o", str(out), *SIZE, "--n", "1"]) == 0
    assert [c.name for c in load_collection(out).plan("beta").classes] == ["nuclei", "mito"]


def test_real_volumes_of_different_voxel_sizes_in_one_project(shared_data, tmp_path, capsys):
    ovule = shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5"
    fib = shared_data / "fibsem_neuroproof" / "training_sample2_crop128.h5"
    out = tmp_path / "proj"
    assert main(["propose", f"{ovule}:raw", f"{fib}:raw", "-o", str(out), "--size", "32,32,32",
                 "--n", "8", "--per-image", "2,6"]) == 0
    capsys.readouterr()
    assert main(["images", str(out), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == ["1136_mini", "training_sample2_crop128"]
    ov, fb = rows["1136_mini"], rows["training_sample2_crop128"]
    assert ov["shape"] == [100, 100, 100] and fb["shape"] == [128, 128, 128]
    assert ov["voxel_size_known"] and ov["voxel_size"] == pytest.approx([0.284, 0.128, 0.128], rel=1e-2)
    assert fb["voxel_size_known"] and (fb["voxel_size"], fb["unit"]) == ([10.0, 10.0, 10.0], "nanometer")
    assert ov["boxes"] + fb["boxes"] == 8 and all(2 <= r["boxes"] <= 6 for r in rows.values())


def test_one_image_of_another_shape_joins_a_one_image_project(images, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), "-o", str(out), *SIZE, "--n", "2"]) == 0
    assert main(["propose", str(images / "gamma.tif"), "-o", str(out), *SIZE, "--n", "5",
                 "--per-image", "1,3"]) == 0
    assert {k: len(v) for k, v in boxes_of(out).items()} == {"alpha": 2, "gamma": 3}
    assert main(["propose", str(images / "alpha.tif"), "-o", str(out), *SIZE, "--n", "9",
                 "--per-image", "0,1"]) == 0  # one image the project holds: the bounds cap its new boxes
    assert {k: len(v) for k, v in boxes_of(out).items()} == {"alpha": 3, "gamma": 3}


def test_points_for_an_image_joining_a_project_are_refused(images, tmp_path, capsys):
    out = tmp_path / "proj"
    assert main(["propose", str(images / "alpha.tif"), "-o", str(out), *SIZE, "--n", "1"]) == 0
    before = snapshot(out)
    (tmp_path / "p.csv").write_text("z,y,x\n16,40,40\n")
    assert main(["propose", str(images / "gamma.tif"), "-o", str(out), *SIZE, "--points",
                 str(tmp_path / "p.csv")]) == 2
    assert "does not hold this image yet: add it first" in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.parametrize("many", [False, True])
def test_a_big_endian_file_records_its_dtype_by_name(images, tmp_path, capsys, many):
    """A TIFF written big-endian (as some microscopes do) is read as '>u2'; the plan says uint16."""
    import tifffile

    tifffile.imwrite(tmp_path / "big.tif", np.arange(32 * 48 * 48, dtype=">u2").reshape(32, 48, 48),
                     byteorder=">")
    extra = [str(images / "alpha.tif")] if many else []
    out = tmp_path / "proj"
    assert main(["propose", str(tmp_path / "big.tif"), *extra, "-o", str(out), *SIZE, "--n", "1"]) in (0, 1)
    assert load_collection(out).plan("big").image.dtype == "uint16"
