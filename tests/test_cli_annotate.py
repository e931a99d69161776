"""``patchwise seed``, ``patchwise check`` and the seeded demo, run end to end."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import sys

import numpy as np
import pytest
import tifffile

from napari_patchwise.cli import main
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.seed.objectsize import MARKER_FRACTION
from napari_patchwise.engine.plan.project import create_project, save_plan
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.annotation_store import hidden_layer

SHAPE = (24, 96, 96)
#: box 1 in the dense region, box 2 in the sparse one (full-resolution corners)
BOXES = [((0, 0, 0), (16, 48, 48)), ((0, 0, 56), (16, 40, 96))]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """A small synthetic volume written as a TIFF, and the sample (with its ground truth)."""
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample(SHAPE)
    d = tmp_path_factory.mktemp("inputs")
    write_tiff(d / "image.tif", s.image, s.voxel_size)
    return d, s


def _plan(sample_dir, boxes=BOXES, mag=(1, 1, 1)) -> Plan:
    from napari_patchwise.engine.samples.nuclei import VOXEL_SIZE

    image = ImageRef(SHAPE, "uint16", VOXEL_SIZE, path=str(sample_dir / "image.tif"), name="image")
    preset = get_preset("custom", minimum=(16, 32, 32))
    return Plan(image, preset, mag).add_boxes(boxes)


@pytest.fixture
def project(sample, tmp_path):
    """A two-box project (custom preset, no rule errors) on the sample image."""
    return create_project(tmp_path / "proj", _plan(sample[0]))


def _layer(folder, name="nuclei"):
    return np.asarray(open_annotations(folder, mode="r")[name][...])


def _inside(plan, shape):
    mask = np.zeros(shape, bool)
    for b in plan.boxes:
        mask[b.slices(plan.magnification)] = True
    return mask


def _box(plan, box_id):
    return plan.box(box_id).slices(plan.magnification)


def _assert_objects_follow_truth(ids, truth):
    """Every object in ``ids`` lies inside ground-truth foreground and inside one nucleus."""
    fg = ids > 0
    assert fg.any()
    assert not (fg & (truth == 0)).any()
    for i in np.unique(ids[fg]):
        assert np.unique(truth[ids == i]).size == 1, f"object {i} spans two nuclei"


# ---------------------------------------------------------------------------- seed
def test_seed_otsu_on_a_proposed_project(sample, tmp_path, capsys):
    d, _ = sample
    out = tmp_path / "proposed"
    assert main(["propose", str(d / "image.tif"), "-o", str(out), "--n", "2",
                 "--preset", "custom", "--size", "16,32,32"]) == 0
    capsys.readouterr()
    assert [b.status for b in load_plan(out).boxes] == ["todo", "todo"]
    assert not _layer(out).any()

    assert main(["seed", str(out)]) == 0
    text = capsys.readouterr()
    assert "boxes with otsu (threshold" in text.out
    assert "nuclei objects" in text.out and "0 errors" in text.out
    assert "seeding (otsu)" in text.err and "100%" in text.err
    plan = load_plan(out)
    # a box where nothing passes the shared threshold is reported and left untouched
    empty = [b.id for b in plan.boxes if f"no objects found in boxes {b.id}" in text.out]
    assert [b.status for b in plan.boxes] == ["todo" if b.id in empty else "seeded" for b in plan.boxes]
    assert len(empty) < 2
    ids, bg = _layer(out), _layer(out, "background")
    inside = _inside(plan, ids.shape)
    assert not ids[~inside].any() and not bg[~inside].any()
    assert ids[inside].any()
    for b in plan.boxes:  # seeded boxes got background; an empty one was left untouched
        assert bg[_box(plan, b.id)].any() == (b.id not in empty)
    assert not (ids.astype(bool) & bg.astype(bool)).any()
    # ids are unique across boxes
    ids1, ids2 = (set(np.unique(ids[_box(plan, i)]).tolist()) - {0} for i in (1, 2))
    assert not ids1 & ids2


def test_seed_one_box_leaves_the_others_alone(project, capsys):
    assert main(["seed", str(project), "--boxes", "1"]) == 0
    assert "seeded 1 boxes with otsu" in capsys.readouterr().out
    plan = load_plan(project)
    assert [b.status for b in plan.boxes] == ["seeded", "todo"]
    ids = _layer(project)
    assert ids[_box(plan, 1)].any()
    ids[_box(plan, 1)] = 0
    assert not ids.any()
    assert not _layer(project, "background")[_box(plan, 2)].any()


def test_seed_again_replaces_the_earlier_seeds(project, capsys):
    assert main(["seed", str(project), "--boxes", "2"]) == 0
    first = _layer(project)
    assert main(["seed", str(project), "--boxes", "2", "--method", "li", "--smooth", "0.5"]) == 0
    assert "with li" in capsys.readouterr().out
    second = _layer(project)
    plan = load_plan(project)
    # old ids are gone (new ones continue after them), and nothing leaks outside the box
    old = set(np.unique(first).tolist()) - {0}
    assert old and not old & set(np.unique(second).tolist())
    assert not second[~_inside(plan, second.shape)].any()


def test_seed_manual_threshold(project, capsys, sample):
    _, s = sample
    thr = float(np.percentile(s.image, 90))
    assert main(["seed", str(project), "--method", "manual", "--threshold", str(thr),
                 "--no-split", "--min-size", "20", "--smooth", "0"]) == 0
    assert f"(threshold {thr:.4g})" in capsys.readouterr().out
    ids = _layer(project)
    plan = load_plan(project)
    box = _box(plan, 1)
    assert ids[box].any()
    assert (s.image[box][ids[box] > 0] >= thr).mean() > 0.9


def test_seed_prints_the_estimated_diameter_and_takes_a_given_one(project, capsys):
    assert main(["seed", str(project)]) == 0
    out = capsys.readouterr().out
    m = re.search(r"object diameter ([0-9.]+) \(estimated\); smoothing sigma ([0-9.]+), smallest object "
                  r"(\d+) voxels, min centre distance ([0-9.]+)", out)
    assert m, out
    diameter = float(m.group(1))
    assert 4 < diameter < 20  # the sample's nuclei: about 9 micrometres
    assert float(m.group(4)) == pytest.approx(MARKER_FRACTION * diameter, rel=0.01)
    assert main(["seed", str(project), "--diameter", "6", "--smooth", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "object diameter 6 (given); smoothing sigma 0.5," in out
    assert f"min centre distance {MARKER_FRACTION * 6:.3g}" in out


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--diameter", "0", "--diameter must be positive"),
    ("--diameter", "-3", "--diameter must be positive"),
    ("--smooth", "-1", "--smooth must be >= 0"),
    ("--min-size", "-5", "--min-size must be a number of voxels >= 0"),
])
def test_seed_bad_lengths_exit_2(project, capsys, flag, value, message):
    assert main(["seed", str(project), flag, value]) == 2
    assert message in capsys.readouterr().err


def test_seed_manual_without_threshold_exits_2(project, capsys):
    assert main(["seed", str(project), "--method", "manual"]) == 2
    err = capsys.readouterr().err
    assert "manual" in err and "--threshold" in err
    assert not _layer(project).any()
    assert [b.status for b in load_plan(project).boxes] == ["todo", "todo"]


def test_seed_threshold_without_manual_exits_2(project, capsys):
    assert main(["seed", str(project), "--threshold", "500"]) == 2
    err = capsys.readouterr().err
    assert "--method manual" in err
    assert not _layer(project).any()


@pytest.mark.parametrize("boxes, match", [("99", "no box 99"), ("1,99", "no box 99"),
                                          ("a,b", "box ids like 1,4,7"), (",", "box ids like 1,4,7")])
def test_seed_unknown_boxes_exit_2(project, capsys, boxes, match):
    assert main(["seed", str(project), "--boxes", boxes]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchwise seed: error:") and match in err
    assert not _layer(project).any()


def test_seed_unknown_class_and_missing_image_exit_2(project, sample, tmp_path, capsys):
    assert main(["seed", str(project), "--class", "mito"]) == 2
    assert "no class 'mito'" in capsys.readouterr().err
    plan = load_plan(project)
    moved = plan.replace(image=ImageRef(SHAPE, "uint16", plan.image.voxel_size, path="gone.tif"))
    save_plan(project, moved)
    assert main(["seed", str(project)]) == 2
    err = capsys.readouterr().err
    assert "gone.tif" in err and "is not there" in err
    assert main(["seed", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_seed_threshold_and_cellpose_refuse_from(project, sample, capsys):
    image = str(sample[0] / "image.tif")
    assert main(["seed", str(project), "--from", image]) == 2
    assert "--from is for imports (--method labels or probability)" in capsys.readouterr().err
    assert main(["seed", str(project), "--method", "cellpose", "--from", image]) == 2
    assert "use --method labels --from FILE" in capsys.readouterr().err
    assert not _layer(project).any()


def test_seed_the_same_box_twice_seeds_it_once(project, capsys):
    assert main(["seed", str(project), "--boxes", "2, 2"]) == 0
    assert "seeded 1 boxes" in capsys.readouterr().out
    assert [b.status for b in load_plan(project).boxes] == ["todo", "seeded"]


def test_seed_skips_a_box_off_the_grid_and_shows_why(sample, tmp_path, capsys):
    plan = _plan(sample[0], boxes=[((0, 0, 0), (16, 64, 64)), ((0, 1, 32), (16, 65, 96))], mag=(1, 2, 2))
    folder = create_project(tmp_path / "off", plan)
    assert main(["seed", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "seeded 1 boxes" in out and "skipped box 2: not on the magnification grid" in out
    # the validation error that explains the skip is printed with the seeded box's findings
    assert "box 2  not-aligned" in out and "1 errors" in out
    assert [b.status for b in load_plan(folder).boxes] == ["seeded", "todo"]
    assert not _layer(folder)[:, :, 32:].any()


def test_seed_at_a_magnification(sample, tmp_path, capsys):
    d, s = sample
    folder = create_project(tmp_path / "mag", _plan(d, boxes=[((0, 0, 0), (16, 64, 64))], mag=(1, 2, 2)))
    assert main(["seed", str(folder)]) == 0
    assert "seeded 1 boxes" in capsys.readouterr().out
    ids = _layer(folder)
    assert ids.shape == (24, 48, 48)
    assert ids[:16, :32, :32].any()
    ids[:16, :32, :32] = 0
    assert not ids.any()


# ------------------------------------------------------------------------- imports
@pytest.fixture(scope="module")
def label_files(sample):
    """Ground truth saved the ways other tools save labels."""
    d, s = sample
    truth = s.labels.astype(np.uint16)
    write_tiff(d / "labels.tif", truth, s.voxel_size)
    write_tiff(d / "image_cp_masks.tif", truth, s.voxel_size)
    np.save(d / "image_seg.npy", {"masks": truth, "outlines": np.zeros_like(truth),
                                  "filename": str(d / "image.tif"), "diameter": 15.0}, allow_pickle=True)
    write_tiff(d / "small.tif", truth[:, :48, :48], s.voxel_size)
    frac = s.labels.astype(np.float32)
    frac[0, 0, 0] = 0.25
    write_tiff(d / "fractions.tif", frac, s.voxel_size)
    fg = (s.labels > 0).astype(np.float32)
    tifffile.imwrite(d / "prob.tif", np.stack([1 - fg, fg]))
    return d


@pytest.mark.parametrize("name", ["labels.tif", "image_seg.npy", "image_cp_masks.tif"])
def test_seed_imports_labels(project, sample, label_files, capsys, name):
    _, s = sample
    assert main(["seed", str(project), "--method", "labels", "--from", str(label_files / name)]) == 0
    out = capsys.readouterr().out
    assert "seeded 2 boxes with labels import" in out
    plan = load_plan(project)
    assert [b.status for b in plan.boxes] == ["seeded", "seeded"]
    ids = _layer(project)
    inside = _inside(plan, ids.shape)
    assert not ids[~inside].any()
    for b in plan.boxes:
        box = _box(plan, b.id)
        _assert_objects_follow_truth(ids[box], s.labels[box])
        # touching nuclei were separated, most of each nucleus is kept
        n_truth = np.unique(s.labels[box]).size - 1
        assert np.unique(ids[box]).size - 1 >= 0.8 * n_truth
        assert np.count_nonzero(ids[box]) >= 0.8 * np.count_nonzero(s.labels[box])
    # the import follows the rules: no touching instances
    capsys.readouterr()
    assert main(["check", str(project)]) == 0
    assert "touching:" not in capsys.readouterr().out


def test_seed_imports_labels_at_a_magnification(sample, label_files, tmp_path, capsys):
    d, s = sample
    folder = create_project(tmp_path / "mag", _plan(d, boxes=[((0, 0, 0), (16, 64, 64))], mag=(1, 2, 2)))
    assert main(["seed", str(folder), "--method", "labels", "--from", str(label_files / "labels.tif")]) == 0
    ids = _layer(folder)
    sampled = s.labels[:, 1::2, 1::2]  # the centre voxel of each 1×2×2 block
    _assert_objects_follow_truth(ids[:16, :32, :32], sampled[:16, :32, :32])
    assert not ids[16:].any() and not ids[:, 32:].any() and not ids[:, :, 32:].any()


def test_seed_import_of_the_wrong_shape_exits_2(project, label_files, capsys):
    assert main(["seed", str(project), "--method", "labels", "--from", str(label_files / "small.tif")]) == 2
    err = capsys.readouterr().err
    assert "(24, 48, 48)" in err and "(24, 96, 96)" in err
    assert not _layer(project).any()


def test_seed_import_of_fractions_exits_2(project, label_files, capsys):
    assert main(["seed", str(project), "--method", "labels", "--from", str(label_files / "fractions.tif")]) == 2
    err = capsys.readouterr().err
    assert "float" in err and "probability map" in err


def test_seed_import_needs_from(project, capsys):
    assert main(["seed", str(project), "--method", "labels"]) == 2
    assert "needs --from FILE" in capsys.readouterr().err
    assert main(["seed", str(project), "--method", "labels", "--from", "no/such/file.tif"]) == 2
    assert "nothing at" in capsys.readouterr().err


def test_seed_imports_a_probability_channel(project, sample, label_files, capsys):
    _, s = sample
    prob = str(label_files / "prob.tif")
    assert main(["seed", str(project), "--method", "probability", "--from", prob]) == 2
    assert "2 channels" in capsys.readouterr().err
    assert main(["seed", str(project), "--method", "probability", "--from", prob, "--channel", "1"]) == 0
    assert "seeded 2 boxes with probability import" in capsys.readouterr().out
    plan = load_plan(project)
    ids, bg = _layer(project), _layer(project, "background").astype(bool)
    inside = _inside(plan, ids.shape)
    assert not ids[~inside].any() and not bg[~inside].any()
    truth_fg = s.labels > 0
    for b in plan.boxes:
        box = _box(plan, b.id)
        assert ids[box].any()
        assert not (ids[box].astype(bool) & ~truth_fg[box]).any()
        # background where the probability is low, never on a nucleus
        assert bg[box].any() and not (bg[box] & truth_fg[box]).any()
        assert bg[box].sum() + np.count_nonzero(ids[box]) >= 0.9 * ids[box].size
    assert [b.status for b in plan.boxes] == ["seeded", "seeded"]


def test_seed_cellpose_not_installed_exits_2(project, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cellpose", None)
    assert main(["seed", str(project), "--method", "cellpose"]) == 2
    err = capsys.readouterr().err
    assert "Cellpose is not installed" in err and "pip install" in err
    assert [b.status for b in load_plan(project).boxes] == ["todo", "todo"]


# --------------------------------------------------------------------------- edits
def test_seed_keeps_edits_unless_overwrite(project, capsys):
    assert main(["seed", str(project), "--boxes", "1"]) == 0
    plan = load_plan(project)
    group = open_annotations(project, plan, mode="r+")
    edited = (slice(2, 6), slice(4, 12), slice(4, 12))  # inside box 1
    group["nuclei"][edited] = 4242
    group["background"][edited] = 0
    hidden_layer(group, "edits")[edited] = 1
    n = 4 * 8 * 8
    capsys.readouterr()

    assert main(["seed", str(project), "--boxes", "1", "--method", "triangle"]) == 0
    assert f"{n} edited voxels kept" in capsys.readouterr().out
    ids = _layer(project)
    assert (ids[edited] == 4242).all() and np.count_nonzero(ids == 4242) == n
    assert ids[_box(plan, 1)].any()

    assert main(["seed", str(project), "--boxes", "1", "--overwrite-edits"]) == 0
    assert "edited voxels kept" not in capsys.readouterr().out
    assert not (_layer(project) == 4242).any()
    assert not np.asarray(open_annotations(project, mode="r")["edits"][...]).any()


# --------------------------------------------------------------------------- check
@pytest.fixture
def touching(project):
    """Box 1 holds two touching nuclei on background; box 2 background and edits."""
    plan = load_plan(project)
    group = open_annotations(project, plan, mode="r+")
    box1, box2 = _box(plan, 1), _box(plan, 2)
    group["background"][box1] = 1
    group["background"][box2] = 1
    ids = np.zeros((8, 16, 16), np.uint32)
    ids[:, :, :8] = 1
    ids[:, :, 8:] = 2
    group["nuclei"][4:12, 8:24, 8:24] = ids
    group["background"][4:12, 8:24, 8:24] = 0
    hidden_layer(group, "edits")[box2] = 1
    return project


def test_check_reports_touching_instances(touching, capsys):
    assert main(["check", str(touching)]) == 1
    out = capsys.readouterr().out
    assert f"{touching}: 2 boxes (1 in_progress, 1 seeded)" in out
    line = next(line for line in out.splitlines() if "touching:" in line)
    assert "error" in line and "box 1" in line and "1–2" in line
    assert "1 errors" in out
    # check writes nothing without --update-status
    assert [b.status for b in load_plan(touching).boxes] == ["todo", "todo"]


def test_check_json(touching, capsys):
    assert main(["check", "--json", str(touching)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"findings", "boxes"}
    codes = {(f["code"], f["box_id"], f["severity"]) for f in data["findings"]}
    assert ("touching", 1, "error") in codes
    assert data["boxes"]["1"]["status"] == "seeded"
    assert data["boxes"]["1"]["touching"] == {"nuclei": [[1, 2]]}
    assert data["boxes"]["1"]["counts"]["nuclei"] == 8 * 16 * 16
    assert data["boxes"]["2"] == {"status": "in_progress", "touching": {"nuclei": []},
                                  "counts": {"unannotated": 0, "background": 16 * 40 * 40,
                                             "nuclei": 0, "ignore": 0}}


def test_check_update_status(touching, capsys):
    assert main(["check", "--update-status", str(touching)]) == 1
    assert [b.status for b in load_plan(touching).boxes] == ["seeded", "in_progress"]
    assert (touching / "plan.json.bak").exists()


def test_check_connectivity(project, capsys):
    plan = load_plan(project)
    group = open_annotations(project, plan, mode="r+")
    group["background"][_box(plan, 1)] = 1
    group["nuclei"][4:8, 8:12, 8:12] = 1
    group["nuclei"][8:12, 12:16, 12:16] = 2  # meets object 1 at a corner only
    group["background"][4:12, 8:16, 8:16] = 0
    assert main(["check", str(project)]) == 0
    assert "touching:" not in capsys.readouterr().out
    assert main(["check", str(project), "--connectivity", "3"]) == 1
    assert "touching:" in capsys.readouterr().out


def test_check_a_clean_seeded_project(project, capsys):
    assert main(["check", str(project)]) == 0
    assert f"{project}: 2 boxes (2 todo)" in capsys.readouterr().out
    assert main(["seed", str(project)]) == 0
    capsys.readouterr()
    assert main(["check", str(project), "--update-status"]) == 0
    out = capsys.readouterr().out
    assert "(2 seeded)" in out and "0 errors" in out
    assert [b.status for b in load_plan(project).boxes] == ["seeded", "seeded"]


def test_check_bad_project_exits_2(tmp_path, capsys):
    assert main(["check", str(tmp_path)]) == 2
    assert "no plan.json" in capsys.readouterr().err


# ---------------------------------------------------------------------------- demo
def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "demo"
    code, out, _ = _run(["demo", "--out", str(folder)])
    return folder, code, out


def test_demo_seeds_every_box(demo):
    folder, code, out = demo
    assert code == 0
    assert "seeded 17 of 20 boxes with otsu" in out and "0 errors" in out
    assert "split-instance" not in out  # one id across touching boxes, yet one part inside each box
    assert "no objects found in boxes 1, 8, 15" in out  # the dim low-SNR boxes: nothing painted
    plan = load_plan(folder)
    assert len(plan.boxes) == 20
    assert [b.id for b in plan.boxes if b.status == "todo"] == [1, 8, 15]
    truth = tifffile.imread(folder / "ground_truth.tif")
    ids = _layer(folder)
    assert ids.shape == truth.shape
    assert not ids[~_inside(plan, ids.shape)].any()
    with_nuclei = 0
    from napari_patchwise.engine.samples.nuclei import make_sample

    low_lo, low_hi = make_sample().regions["low_snr"]
    for b in plan.boxes:
        box = _box(plan, b.id)
        nuclei = truth[box] > 0
        # one Otsu threshold over all boxes stays above the dim nuclei of the low-SNR region
        # (boxes lie at half-box steps, so some reach into it partly)
        dim = all(lo < hh and ll < hi for lo, hi, ll, hh in zip(b.lo, b.hi, low_lo, low_hi))
        if not nuclei.any() or dim:
            continue
        with_nuclei += 1
        seeded = ids[box] > 0
        assert seeded.any(), f"box {b.id} holds nuclei but no seeds"
        assert np.count_nonzero(seeded & nuclei) > 0.5 * np.count_nonzero(nuclei), f"box {b.id}"
    assert with_nuclei >= 10


def test_demo_passes_check(demo, capsys):
    folder, _, _ = demo
    assert main(["check", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "20 boxes (17 seeded, 3 todo)" in out and "0 errors" in out


def _not_annotated(out: str) -> list[int]:
    return [int(i) for i in re.findall(r"warning +box +(\d+) +not-annotated: ", out)]


def test_check_reports_the_boxes_export_skips_as_not_annotated(project, tmp_path, capsys):
    assert main(["check", str(project)]) == 0
    out = capsys.readouterr().out
    assert _not_annotated(out) == [1, 2] and "0 errors," in out
    assert main(["seed", str(project), "--boxes", "1"]) == 0
    capsys.readouterr()
    assert main(["check", str(project)]) == 0
    flagged = _not_annotated(capsys.readouterr().out)
    assert flagged == [2]
    assert main(["export", str(project), "--format", "omezarr", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"skipped box (\d+): (.*)", out) == [("2", "nothing annotated")]


def test_demo_check_step_names_the_boxes_its_export_skips(demo):
    _, _, out = demo
    skipped = [int(i) for i in re.findall(r"skipped box (\d+): nothing annotated", out)]
    assert skipped and _not_annotated(out) == skipped


def test_demo_project_can_be_seeded_again(demo, tmp_path, capsys):
    src, _, _ = demo
    folder = shutil.copytree(src, tmp_path / "copy")
    plan = load_plan(folder)
    assert main(["seed", str(folder), "--boxes", str(plan.boxes[0].id), "--method", "li"]) == 0
    assert "seeded 1 boxes with li" in capsys.readouterr().out


def test_demo_no_seed_leaves_layers_empty(tmp_path):
    folder = tmp_path / "plain"
    code, out, _ = _run(["demo", "--out", str(folder), "--no-seed"])
    assert code == 0
    assert "seeding skipped (--no-seed)" in out and "seeded " not in out
    plan = load_plan(folder)
    assert {b.status for b in plan.boxes} == {"todo"}
    group = open_annotations(folder, mode="r")
    for name in ("nuclei", "background", "ignore"):
        assert group[name].nchunks_initialized == 0
        assert not np.asarray(group[name][...]).any()
