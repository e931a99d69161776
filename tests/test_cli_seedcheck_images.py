"""``patchwise seed`` and ``patchwise check`` on a project of two images: every image, or ``--images``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise.cli import main
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.plan_file import load_collection, load_plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.project_images import add_image

sys.path.insert(0, str(Path(__file__).parent / "engine" / "plan"))
from project_helpers import snapshot  # noqa: E402

SHAPE_A, SHAPE_B = (24, 96, 96), (24, 64, 80)
BOXES_A = [((0, 0, 0), (16, 48, 48)), ((0, 0, 56), (16, 40, 96))]
BOXES_B = [((0, 0, 0), (16, 48, 48))]


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Two synthetic volumes of different shapes, written as TIFFs, with their ground truth."""
    from napari_patchwise.engine.samples.nuclei import make_sample

    d = tmp_path_factory.mktemp("images")
    out = {}
    for name, shape, seed in (("a", SHAPE_A, 0), ("b", SHAPE_B, 1)):
        s = make_sample(shape, seed=seed)
        write_tiff(d / f"{name}.tif", s.image, s.voxel_size)
        write_tiff(d / f"{name}_labels.tif", s.labels.astype(np.uint16), s.voxel_size)
        out[name] = s
    return d, out


def _plan(d, name, shape, boxes) -> Plan:
    from napari_patchwise.engine.samples.nuclei import VOXEL_SIZE

    image = ImageRef(shape, "uint16", VOXEL_SIZE, path=str(d / f"{name}.tif"), name=name)
    return Plan(image, get_preset("custom", minimum=(16, 32, 32)), (1, 1, 1)).add_boxes(boxes)


@pytest.fixture
def project(samples, tmp_path):
    """Image ``a`` (two boxes) and image ``b`` (one box), made with the engine."""
    d, _ = samples
    folder = create_project(tmp_path / "proj", _plan(d, "a", SHAPE_A, BOXES_A))
    assert add_image(folder, _plan(d, "b", SHAPE_B, BOXES_B)) == "b"
    assert load_collection(folder).names == ("a", "b")
    return folder


def _content(folder: Path) -> dict:
    """Bytes and mtimes of everything in the project (the folder's own mtime follows the lock file)."""
    return {p: v for p, v in snapshot(folder).items() if p != folder.as_posix()}


def _ids(folder, image, layer="nuclei"):
    return np.asarray(open_annotations(folder, mode="r", image=image)[layer][...])


def _statuses(folder, image):
    return [b.status for b in load_plan(folder, image).boxes]


def _box(folder, image, box_id):
    plan = load_plan(folder, image)
    return plan.box(box_id).slices(plan.magnification)


def _sections(out: str) -> dict[str, str]:
    """The output of each image's section, by image name (the text after ``image NAME:``)."""
    parts: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line.startswith("total:"):
            current = None
        elif " image " in line and line.split(" image ")[1].split(":")[0] in ("a", "b"):
            current = line.split(" image ")[1].split(":")[0]
            parts[current] = line + "\n"
        elif current is not None:
            parts[current] += line + "\n"
    return parts


# ---------------------------------------------------------------------------- seed
def test_seed_covers_every_image_in_order(project, samples, capsys):
    assert main(["seed", str(project)]) == 0
    text = capsys.readouterr()
    sections = _sections(text.out)
    assert list(sections) == ["a", "b"]
    assert "seeded 2 boxes with otsu" in sections["a"] and "seeded 1 boxes with otsu" in sections["b"]
    assert "total: seeded 3 boxes in 2 images" in text.out
    assert "seeding a (otsu)" in text.err and "seeding b (otsu)" in text.err
    assert _statuses(project, "a") == ["seeded", "seeded"] and _statuses(project, "b") == ["seeded"]
    truth = samples[1]
    for name in ("a", "b"):  # each image's seeds lie in its own boxes, on its own nuclei
        ids = _ids(project, name)
        assert ids.shape == truth[name].labels.shape
        inside = np.zeros(ids.shape, bool)
        for b in load_plan(project, name).boxes:
            inside[_box(project, name, b.id)] = True
        assert ids[inside].any() and not ids[~inside].any()
        on_truth = (truth[name].labels[ids > 0] > 0).mean()  # seeded from its own image
        assert on_truth > 0.8, (name, on_truth)


def test_seed_images_narrows_to_the_named_image(project, capsys):
    assert main(["seed", str(project), "--images", "b"]) == 0
    out = capsys.readouterr().out
    assert list(_sections(out)) == ["b"] and "total: seeded 1 boxes in 1 images" in out
    assert not _ids(project, "a").any() and _statuses(project, "a") == ["todo", "todo"]
    assert _ids(project, "b").any() and _statuses(project, "b") == ["seeded"]


def test_seed_boxes_are_named_per_image(project, capsys):
    assert main(["seed", str(project), "--boxes", "a:2"]) == 0  # only image a, only its box 2
    out = capsys.readouterr().out
    assert list(_sections(out)) == ["a"]
    assert _statuses(project, "a") == ["todo", "seeded"] and _statuses(project, "b") == ["todo"]
    assert not _ids(project, "a")[_box(project, "a", 1)].any()
    # plain ids name boxes of the one image chosen with --images
    assert main(["seed", str(project), "--images", "b", "--boxes", "1"]) == 0
    assert _statuses(project, "b") == ["seeded"]


@pytest.mark.parametrize("argv, phrase", [
    (["--boxes", "1"], "write NAME:ID"),
    (["--boxes", "c:1"], "one of a, b"),
    (["--images", "a", "--boxes", "b:1"], "one of a"),
    (["--boxes", "b:2"], "no box 2"),
    (["--images", "x"], "no image named 'x'; its images are a, b"),
    (["--images", "a,b", "--method", "labels", "--from", "labels.tif"], "choose it with --images NAME"),
])
def test_seed_refuses_what_names_no_image_or_box(project, capsys, argv, phrase):
    before = _content(project)
    assert main(["seed", str(project), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchwise seed: error:") and phrase in err
    assert _content(project) == before  # nothing written


def test_seed_imports_labels_into_one_image(project, samples, capsys):
    d, truth = samples
    assert main(["seed", str(project), "--images", "b", "--method", "labels",
                 "--from", str(d / "b_labels.tif")]) == 0
    assert "seeded 1 boxes with labels import" in capsys.readouterr().out
    box = _box(project, "b", 1)
    ids = _ids(project, "b")
    assert np.count_nonzero(ids[box]) >= 0.8 * np.count_nonzero(truth["b"].labels[box])
    assert not _ids(project, "a").any()


# --------------------------------------------------------------------------- check
@pytest.fixture
def touching_b(project):
    """Image b's box holds two touching nuclei on background; image a is left unannotated."""
    group = open_annotations(project, image="b")
    box = _box(project, "b", 1)
    group["background"][box] = 1
    ids = np.zeros((8, 16, 16), np.uint32)
    ids[:, :, :8] = 1
    ids[:, :, 8:] = 2
    group["nuclei"][4:12, 8:24, 8:24] = ids
    group["background"][4:12, 8:24, 8:24] = 0
    return project


def test_check_reports_a_finding_under_its_image_only(touching_b, capsys):
    before = snapshot(touching_b)
    assert main(["check", str(touching_b)]) == 1
    out = capsys.readouterr().out
    sections = _sections(out)
    assert list(sections) == ["a", "b"]
    assert sections["a"].startswith(f"{touching_b} image a: 2 boxes (2 todo)")
    assert sections["b"].startswith(f"{touching_b} image b: 1 boxes (1 seeded)")
    assert "touching:" not in sections["a"] and "0 errors" in sections["a"]
    line = next(line for line in sections["b"].splitlines() if "touching:" in line)
    assert "error" in line and "box 1" in line and "1–2" in line
    assert "total: 2 images, 3 boxes; 1 errors" in out
    assert snapshot(touching_b) == before  # reads only


def test_check_images_narrows_and_sets_the_exit_code(touching_b, capsys):
    assert main(["check", str(touching_b), "--images", "a"]) == 0  # the error is in b
    out = capsys.readouterr().out
    assert list(_sections(out)) == ["a"] and "total: 1 images, 2 boxes; 0 errors" in out
    assert main(["check", str(touching_b), "--images", "b"]) == 1
    assert list(_sections(capsys.readouterr().out)) == ["b"]
    assert main(["check", str(touching_b), "--images", "a,nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("patchwise check: error:") and "'nope'; its images are a, b" in err


def test_check_json_is_a_list_per_image(touching_b, capsys):
    assert main(["check", "--json", str(touching_b)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [d["image"] for d in data] == ["a", "b"]
    assert set(data[0]) == {"image", "findings", "consistency", "boxes"}
    assert sorted(data[0]["boxes"]) == ["1", "2"] and list(data[1]["boxes"]) == ["1"]
    assert not [f for f in data[0]["findings"] if f["code"] == "touching"]
    assert ("touching", 1, "error") in {(f["code"], f["box_id"], f["severity"]) for f in data[1]["findings"]}
    assert data[1]["boxes"]["1"]["touching"] == {"nuclei": [[1, 2]]}
    assert main(["check", "--json", str(touching_b), "--images", "b"]) == 1
    assert [d["image"] for d in json.loads(capsys.readouterr().out)] == ["b"]


def test_check_update_status_saves_each_image(touching_b, capsys):
    assert main(["check", "--update-status", str(touching_b)]) == 1
    assert _statuses(touching_b, "a") == ["todo", "todo"] and _statuses(touching_b, "b") == ["seeded"]
    open_annotations(touching_b, image="a")["background"][_box(touching_b, "a", 2)] = 1
    assert main(["check", "--update-status", str(touching_b), "--images", "a"]) == 0
    assert _statuses(touching_b, "a") == ["todo", "seeded"]


def test_seed_then_check_covers_both_images(project, capsys):
    assert main(["seed", str(project)]) == 0
    capsys.readouterr()
    code = main(["check", str(project), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert [d["image"] for d in data] == ["a", "b"]
    assert [b["status"] for d in data for b in d["boxes"].values()] == ["seeded"] * 3
    assert code == (1 if any(f["severity"] == "error" for d in data for f in d["findings"]) else 0)


# ----------------------------------------------------------------------- one image
def test_one_image_prints_as_before_and_takes_its_name(samples, tmp_path, capsys):
    d, _ = samples
    folder = create_project(tmp_path / "one", _plan(d, "a", SHAPE_A, BOXES_A))
    assert main(["seed", str(folder), "--images", "a", "--boxes", "a:2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("seeded 1 boxes with otsu") and "image a:" not in out and "total:" not in out
    assert _statuses(folder, None) == ["todo", "seeded"]
    assert main(["check", str(folder), "--images", "a"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{folder}: 2 boxes (1 seeded, 1 todo)") and "total:" not in out
    assert main(["check", str(folder), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"findings", "boxes"}
    for command in ("seed", "check"):
        assert main([command, str(folder), "--images", "b"]) == 2
        assert "no image named 'b'; its images are a." in capsys.readouterr().err


# ----------------------------------------------------------------------- real volumes
def test_real_volumes_seeded_together_as_each_alone(shared_data, tmp_path, capsys):
    """The embryo and the ovule in one project: each image gets the seeds it gets as a project of its own."""
    embryo = shared_data / "nuclei_embryo_qcanet" / "8cell_raw.tif"
    ovule = shared_data / "nuclei_ovule_gonuclear" / "1136_mini.h5"
    alone = {"embryo": tmp_path / "embryo", "ovule": tmp_path / "ovule"}
    assert main(["propose", str(embryo), "-o", str(alone["embryo"]), "--voxel-size", "2.18,1,1", "--n", "2"]) == 0
    assert main(["propose", f"{ovule}:raw", "-o", str(alone["ovule"]), "--n", "2"]) == 0
    both = create_project(tmp_path / "both", load_plan(alone["embryo"]))
    assert add_image(both, load_plan(alone["ovule"]), name="ovule") == "ovule"
    first = load_collection(both).names[0]
    capsys.readouterr()
    for folder in (*alone.values(), both):
        assert main(["seed", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"{both} image {first}:" in out and f"{both} image ovule:" in out
    for name, folder in ((first, alone["embryo"]), ("ovule", alone["ovule"])):
        together = _ids(both, name)
        assert together.any()
        np.testing.assert_array_equal(together, _ids(folder, None))
        np.testing.assert_array_equal(_ids(both, name, "background"), _ids(folder, None, "background"))
        assert _statuses(both, name) == _statuses(folder, None)
    assert main(["check", str(both), "--json"]) in (0, 1)
    data = json.loads(capsys.readouterr().out)
    assert [d["image"] for d in data] == [first, "ovule"]
    for d, folder in zip(data, alone.values()):  # each image's findings are those of the image alone
        assert main(["check", str(folder), "--json"]) in (0, 1)
        assert d["findings"] == json.loads(capsys.readouterr().out)["findings"]
