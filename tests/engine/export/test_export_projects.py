"""Several projects into one dataset: unique case names, a manifest per project, dataset files over all,
adding into an existing dataset, replacing only one project's cases, clashing classes refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.export import ExportError, ExportOptions, export_project
from napari_patchwise.engine.export.manifest import read_manifest
from napari_patchwise.engine.export.projects import PROJECTS_FOLDER
from napari_patchwise.engine.export.run import export_projects
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import annotation_layers, open_annotations
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.project import create_project

SHAPE = (8, 48, 48)
EXTENTS = [((0, 0, 0), (8, 16, 16)), ((0, 0, 16), (8, 16, 32)), ((0, 16, 0), (8, 32, 16))]
VOXELS = {"cho": (2.0, 0.5, 0.5), "plant": (1.0, 0.25, 0.25), "fib": (0.5, 0.5, 0.5), "em": (1.0, 1.0, 1.0)}


def _paint(folder, image, box_ids=None, seed=0):
    plan = load_plan(folder, image)
    layers = annotation_layers(open_annotations(folder, plan, image=image), plan)
    for box in plan.boxes:
        if box_ids is not None and box.id not in box_ids:
            continue
        z, y, x = box.slices(plan.magnification)
        bg = np.ones((z.stop - z.start, y.stop - y.start, x.stop - x.start), np.uint8)
        ids = np.zeros(bg.shape, np.uint32)
        ids[2:6, 3:9, 3:9] = box.id + seed
        bg[ids > 0] = 0
        layers["background"][z, y, x] = bg
        layers[plan.classes[0].name][z, y, x] = ids


def _project(tmp_path, folder_name, names, n_boxes=2, painted=None, cls="nuclei"):
    """A project of the named images (boxes on each; ``painted`` boxes, default all, annotated)."""
    folder = tmp_path / folder_name
    plans = []
    for name in names:
        plan = Plan(ImageRef(SHAPE, "uint16", VOXELS[name], path=f"{name}.tif"),
                    get_preset("custom", minimum=(8, 16, 16)), (1, 1, 1), (ClassSpec(cls),))
        for i, (lo, hi) in enumerate(EXTENTS[:n_boxes]):
            plan, _ = plan.add_box(lo, hi, stratum="dense" if i % 2 else "sparse")
        plans.append(plan)
    coll = Collection.from_plan(plans[0], names[0])
    for name, plan in zip(names[1:], plans[1:]):
        coll = coll.add_image(plan, name)
    create_project(folder, coll)
    for k, name in enumerate(names):
        img = np.random.default_rng(k + len(folder_name)).integers(0, 1000, SHAPE).astype(np.uint16)
        write_tiff(folder / f"{name}.tif", img, VOXELS[name])
        _paint(folder, name, painted, 10 * k)
    return folder


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _opts(**kw):
    kw.setdefault("formats", ("nnunet",))
    return ExportOptions(**kw)


def test_two_projects_make_one_dataset_with_unique_names(tmp_path):
    a = _project(tmp_path, "lab_a", ["cho", "plant"])
    b = _project(tmp_path, "lab_b", ["cho", "fib"])
    out = tmp_path / "out"
    report = export_projects([a, b], out, _opts(formats=("nnunet", "stardist", "cellpose"),
                                                test_images=("lab_a:cho",)))
    root = report.folders["nnunet"]
    index = read_manifest(root)
    assert [(p["name"], p["naming"]) for p in index["projects"]] == [("lab_a", "project"), ("lab_b", "project")]
    cases = {c["case"]: c for c in index["cases"]}
    assert sorted(cases) == ["lab_a_cho_box_0001", "lab_a_cho_box_0002", "lab_a_plant_box_0001",
                             "lab_a_plant_box_0002", "lab_b_cho_box_0001", "lab_b_cho_box_0002",
                             "lab_b_fib_box_0001", "lab_b_fib_box_0002"]
    # one manifest per project, holding only its cases (and the dataset files at the top)
    for key in ("lab_a", "lab_b"):
        own = read_manifest(root / PROJECTS_FOLDER / f"{key}.json")
        assert own["project"] == str((tmp_path / key).resolve())
        assert {c["case"] for c in own["cases"]} == {c for c in cases if c.startswith(key)}
        assert own["files"] == {}
    assert {"dataset.json", f"{PROJECTS_FOLDER}/lab_a.json"} <= set(index["files"])
    # splits grouped by image across projects; the held-out image is test
    by_image: dict = {}
    for c in cases.values():
        by_image.setdefault((c["project"], c["image"]), set()).add(c["split"])
    assert all(len(s) == 1 for s in by_image.values())
    assert by_image[("lab_a", "cho")] == {"test"}
    dataset = json.loads((root / "dataset.json").read_text())
    assert dataset["numTraining"] == sum(c["split"] != "test" for c in cases.values()) == 6
    splits = json.loads((root / "splits_final.json").read_text())[0]
    assert sorted(splits["train"] + splits["val"]) == sorted(c for c in cases if cases[c]["split"] != "test")
    assert any("splits by image: train" in n and "across projects" in n for n in report.notes["nnunet"])
    # StarDist and Cellpose: one file per case, names unique
    stardist = sorted(p.name for p in (out / "stardist" / "images").iterdir())
    assert stardist == sorted(f"{c}.tif" for c in cases)
    assert {c["case"] for c in read_manifest(out / "cellpose")["cases"]} == set(cases)


def test_image_names_that_do_not_collide_need_no_prefix(tmp_path):
    a = _project(tmp_path, "a", ["cho"])
    b = _project(tmp_path, "b", ["fib", "plant"])
    report = export_projects([a, b], tmp_path / "out", _opts())
    names = {c["case"] for c in read_manifest(report.folders["nnunet"])["cases"]}
    assert names == {"cho_box_0001", "cho_box_0002", "fib_box_0001", "fib_box_0002",
                     "plant_box_0001", "plant_box_0002"}


def test_nnunet_integrity_check_passes_on_several_projects(tmp_path):
    pytest.importorskip("nnunetv2")
    from napari_patchwise.engine.export.nnunet import verify_nnunet

    a = _project(tmp_path, "a", ["cho", "plant"])
    b = _project(tmp_path, "b", ["cho"])
    report = export_projects([a, b], tmp_path / "out", _opts(test_images=("b:cho",)))
    assert "verify_dataset_integrity Done" in verify_nnunet(report.folders["nnunet"])


def test_another_project_is_added_and_reexports_replace_only_their_own(tmp_path):
    a = _project(tmp_path, "a", ["cho"], n_boxes=3, painted={1, 2})
    b = _project(tmp_path, "b", ["cho"])
    out = tmp_path / "out"
    first = export_project(a, out, _opts(formats=("nnunet", "stardist")))
    root = first.folders["nnunet"]
    assert first.written["nnunet"] == ["box_0001", "box_0002"]  # alone: the names of one project
    alone = read_manifest(root)
    a_files = {rel: (root / rel).read_bytes() for c in alone["cases"] for rel in c["files"]}

    second = export_project(b, out, _opts(formats=("nnunet", "stardist")))
    assert second.written["nnunet"] == ["cho_box_0001", "cho_box_0002"]  # no clash with box_NNNN
    assert second.kept["nnunet"] == ["box_0001", "box_0002"]
    for rel, data in a_files.items():
        assert (root / rel).read_bytes() == data
    index = read_manifest(root)
    assert [(p["name"], p["naming"]) for p in index["projects"]] == [("a", "box"), ("b", "image")]
    a_manifest = read_manifest(root / PROJECTS_FOLDER / "a.json")
    assert a_manifest["cases"] == alone["cases"]  # a's record moved as it was
    dataset = json.loads((root / "dataset.json").read_text())
    assert dataset["numTraining"] == 4

    # a new box of a joins; b's cases stay byte for byte
    b_bytes = {rel: data for rel, data in _tree(root).items() if "cho_box" in rel}
    _paint(a, "cho", {3})
    third = export_project(a, out, _opts(formats=("nnunet", "stardist")))
    assert third.written["nnunet"] == ["box_0003"]
    assert {rel: data for rel, data in _tree(root).items() if "cho_box" in rel} == b_bytes
    assert json.loads((root / "dataset.json").read_text())["numTraining"] == 5

    # overwrite replaces a's cases only
    _paint(a, "cho", {1}, seed=7)
    fourth = export_project(a, out, _opts(formats=("nnunet", "stardist"), overwrite=True))
    assert fourth.written["nnunet"] == ["box_0001", "box_0002", "box_0003"]
    assert fourth.kept["nnunet"] == ["cho_box_0001", "cho_box_0002"]
    assert {rel: data for rel, data in _tree(root).items() if "cho_box" in rel} == b_bytes
    assert len(read_manifest(root)["cases"]) == 5
    assert {c["case"] for c in read_manifest(out / "stardist")["cases"]} == \
        {"box_0001", "box_0002", "box_0003", "cho_box_0001", "cho_box_0002"}


def test_an_interrupted_export_leaves_the_dataset_as_it_was(tmp_path, monkeypatch):
    a = _project(tmp_path, "a", ["cho"])
    b = _project(tmp_path, "b", ["fib"])
    out = tmp_path / "out"
    root = export_project(a, out, _opts()).folders["nnunet"]
    before = _tree(out)
    from napari_patchwise.engine.export import nnunet

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(nnunet, "finish", boom)
    with pytest.raises(KeyboardInterrupt):
        export_project(b, out, _opts())
    monkeypatch.undo()
    assert _tree(out) == before
    assert [p.name for p in out.iterdir()] == [root.name]


def test_projects_with_other_classes_are_refused(tmp_path, capsys):
    a = _project(tmp_path, "a", ["cho"])
    b = _project(tmp_path, "b", ["fib"], cls="mito")
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"projects a and b have different classes \(a: nuclei \(instance\); "
                       r"b: mito \(instance\)\)"):
        export_projects([a, b], out, _opts())
    assert not out.exists() or not any(out.iterdir())
    export_project(a, out, _opts())
    before = _tree(out)
    with pytest.raises(ExportError, match=r"holds an export of a with other classes"):
        export_project(b, out, _opts())
    assert _tree(out) == before
    assert main(["export", str(a), str(b), "--format", "nnunet", "-o", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "projects a and b have different classes" in err and "Traceback" not in err


def test_image_names_across_projects(tmp_path):
    a = _project(tmp_path, "a", ["cho", "plant"])
    b = _project(tmp_path, "b", ["cho"])
    with pytest.raises(ExportError, match=r"test images cho: projects a and b both hold an image cho; name it "
                       r"PROJECT:IMAGE \(a:cho or b:cho\)"):
        export_projects([a, b], tmp_path / "out", _opts(test_images=("cho",)))
    with pytest.raises(ExportError, match="images nope: no project holds such an image"):
        export_projects([a, b], tmp_path / "out", _opts(images=("nope",)))
    with pytest.raises(ExportError, match="project .* is given twice"):
        export_projects([a, a], tmp_path / "out", _opts())
    report = export_projects([a, b], tmp_path / "out", _opts(images=("plant", "b:cho"), test_images=("plant",)))
    cases = read_manifest(report.folders["nnunet"])["cases"]
    assert {(c["project"], c["image"], c["split"]) for c in cases} == {("a", "plant", "test"),
                                                                       ("b", "cho", "train")}


def test_cli_exports_several_projects(tmp_path, capsys):
    a = _project(tmp_path, "a", ["cho"])
    b = _project(tmp_path, "b", ["fib"])
    out = tmp_path / "out"
    assert main(["export", str(a), str(b), "--format", "nnunet,omezarr", "-o", str(out),
                 "--test-images", "a:cho", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["written"]["nnunet"]) == ["cho_box_0001", "cho_box_0002", "fib_box_0001", "fib_box_0002"]
    assert sorted(data["written"]["omezarr"]) == sorted(data["written"]["nnunet"])


# ------------------------------------------------- dataset settings from every image
def test_stardist_and_nnunet_settings_come_from_every_image(tmp_path):
    # the first image is isotropic, the two others 4x coarser in z: the median crop is anisotropic
    folder = _project(tmp_path, "p", ["fib", "cho", "plant"])
    report = export_project(folder, tmp_path / "out", _opts(formats=("nnunet", "stardist"), split_by="box"))
    config = json.loads((tmp_path / "out" / "stardist" / "stardist_config.json").read_text())
    assert config["anisotropy"] == [4.0, 1.0, 1.0] and config["grid"] == [1, 2, 2]
    assert any("median over the train/val crops, whose images have 3 voxel sizes" in n
               for n in report.notes["stardist"])
    dataset = json.loads((report.folders["nnunet"] / "dataset.json").read_text())
    assert dataset["channel_names"] == {"0": "image"}
    assert dataset["description"] == "Training crops of 3 images (fib, cho, plant) exported by napari-patchwise."
    # another project joining names its images too
    other = _project(tmp_path, "q", ["em"])
    export_project(other, tmp_path / "out", _opts(formats=("nnunet",), split_by="box"))
    dataset = json.loads((report.folders["nnunet"] / "dataset.json").read_text())
    assert dataset["description"] == ("Training crops of 4 images (p:fib, p:cho, p:plant, q:em) exported by "
                                      "napari-patchwise.")


def test_one_image_keeps_its_dataset_text(tmp_path):
    folder = _project(tmp_path, "p", ["cho"])
    report = export_project(folder, tmp_path / "out", _opts(formats=("nnunet", "stardist")))
    dataset = json.loads((report.folders["nnunet"] / "dataset.json").read_text())
    assert dataset["channel_names"] == {"0": "image"}  # the image's display name, as before
    assert dataset["description"] == "Training crops of 'image' exported by napari-patchwise."
    config = json.loads((tmp_path / "out" / "stardist" / "stardist_config.json").read_text())
    assert config["anisotropy"] == [4.0, 1.0, 1.0]
    assert not any("median" in n for n in report.notes["stardist"])
