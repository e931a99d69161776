"""Exporting a project of several images: one dataset, cases named after their image, splits by image."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.export import ExportError, ExportOptions, export_project
from napari_patchwise.engine.export.images import assign_image_splits, image_split_counts
from napari_patchwise.engine.export.manifest import read_manifest
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import annotation_layers, open_annotations
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.project_images import add_image

SHAPE = (8, 48, 48)
EXTENTS = [((0, 0, 0), (8, 16, 16)), ((0, 0, 16), (8, 16, 32)), ((0, 16, 0), (8, 32, 16))]
#: image name -> voxel size (each image its own)
VOXELS = {"cho": (2.0, 0.5, 0.5), "plant": (1.0, 0.25, 0.25), "fib_a": (0.01, 0.01, 0.01),
          "fib_b": (0.02, 0.01, 0.01), "fib_c": (0.5, 0.5, 0.5)}


def _plan(name, n_boxes):
    plan = Plan(ImageRef(SHAPE, "uint16", VOXELS[name], path=f"{name}.tif"),
                get_preset("custom", minimum=(8, 16, 16)), (1, 1, 1), (ClassSpec("nuclei"),))
    for i, (lo, hi) in enumerate(EXTENTS[:n_boxes]):
        plan, _ = plan.add_box(lo, hi, stratum="dense" if i % 2 else "sparse")
    return plan


def _paint(folder, image, seed):
    plan = load_plan(folder, image)
    layers = annotation_layers(open_annotations(folder, plan, image=image), plan)
    for box in plan.boxes:
        z, y, x = box.slices(plan.magnification)
        bg = np.ones((z.stop - z.start, y.stop - y.start, x.stop - x.start), np.uint8)
        ids = np.zeros(bg.shape, np.uint32)
        ids[2:6, 3:9, 3:9] = box.id + seed
        bg[ids > 0] = 0
        layers["background"][z, y, x] = bg
        layers["nuclei"][z, y, x] = ids


def _project(tmp_path, names, n_boxes=2, folder_name="proj"):
    """A project of the named images, every box painted (one object in each)."""
    folder = tmp_path / folder_name
    plans = [_plan(n, n_boxes) for n in names]
    coll = Collection.from_plan(plans[0], names[0])
    for name, plan in zip(names[1:], plans[1:]):
        coll = coll.add_image(plan, name)
    create_project(folder, coll)
    for k, name in enumerate(names):
        img = np.random.default_rng(k).integers(0, 1000, SHAPE).astype(np.uint16)
        write_tiff(folder / f"{name}.tif", img, VOXELS[name])
        _paint(folder, name, 10 * k)
    return folder


def _export(folder, out, **opts):
    opts.setdefault("formats", ("nnunet",))
    return export_project(folder, out, ExportOptions(**opts))


def _cases(out, fmt="nnunet"):
    root = next(out.iterdir()) if fmt == "nnunet" else out / fmt
    return root, {c["case"]: c for c in read_manifest(root)["cases"]}


# ------------------------------------------------------------ names, manifest, spacing
def test_cases_are_named_after_their_image_with_its_spacing(tmp_path):
    folder = _project(tmp_path, ["cho", "plant", "fib_a"])
    out = tmp_path / "out"
    report = _export(folder, out, split_by="box")
    root, cases = _cases(out)
    expected = {f"{n}_box_{i:04d}" for n in ("cho", "plant", "fib_a") for i in (1, 2)}
    assert set(cases) == expected == set(report.written["nnunet"])
    manifest = read_manifest(root)
    assert manifest["image"] is None
    assert [i["name"] for i in manifest["images"]] == ["cho", "plant", "fib_a"]
    assert manifest["split"]["by"] == "box"
    for case, entry in cases.items():
        image = case.rsplit("_box_", 1)[0]
        assert entry["image"] == image
        folder_of = "imagesTr" if entry["split"] != "test" else "imagesTs"
        spacing = json.loads((root / folder_of / f"{case}.json").read_text())["spacing"]
        assert spacing == list(VOXELS[image])  # per case, from its own image
        assert (root / folder_of / f"{case}_0000.tiff").is_file()


def test_stardist_cellpose_and_omezarr_name_cases_the_same_way(tmp_path):
    folder = _project(tmp_path, ["cho", "plant"])
    out = tmp_path / "out"
    _export(folder, out, formats=("stardist", "cellpose", "omezarr"), context={"min_masks": 0})
    for fmt in ("stardist", "cellpose", "omezarr"):
        manifest = read_manifest(out / fmt)
        names = {c["case"] for c in manifest["cases"]}
        assert names == {f"{n}_box_{i:04d}" for n in ("cho", "plant") for i in (1, 2)}, fmt
        files = [f for c in manifest["cases"] for f in c["files"]]
        assert all(("cho_box_" in f) or ("plant_box_" in f) for f in files), fmt


# ------------------------------------------------------------ splits grouped by image
@pytest.mark.parametrize("n_images", [2, 3, 5, 8])
def test_image_splits_never_put_an_image_in_two_splits_over_seeds(n_images):
    names = [f"im{k}" for k in range(n_images)]
    for seed in range(25):
        splits = assign_image_splits(names, (0.7, 0.2, 0.1), seed=seed, test_images=names[-1:])
        assert set(splits) == set(names) and splits[names[-1]] == "test"
        rest = [splits[n] for n in names[:-1]]
        assert rest.count("train") >= 1
        if n_images >= 3:
            assert "val" in rest  # validation gets a whole image when there are two to share
    assert assign_image_splits(names, seed=4) == assign_image_splits(names, seed=4)
    assert image_split_counts(4, (0.8, 0.2, 0)) == [3, 1, 0]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_export_split_by_image_never_leaks_an_image_across_train_and_val(tmp_path, seed):
    names = ["cho", "plant", "fib_a", "fib_b"]
    folder = _project(tmp_path, names, n_boxes=3)
    out = tmp_path / "out"
    _export(folder, out, seed=seed)  # four images: split by image by default
    root, cases = _cases(out)
    per_image = {}
    for entry in cases.values():
        per_image.setdefault(entry["image"], set()).add(entry["split"])
    assert set(per_image) == set(names)
    assert all(len(s) == 1 for s in per_image.values()), per_image
    assert {s for v in per_image.values() for s in v} == {"train", "val"}
    assert read_manifest(root)["split"]["by"] == "image"
    splits = json.loads((root / "splits_final.json").read_text())[0]
    images_in = {k: {c.rsplit("_box_", 1)[0] for c in v} for k, v in splits.items()}
    assert not images_in["train"] & images_in["val"]


def test_split_by_box_with_repeating_box_ids_keeps_every_case(tmp_path):
    folder = _project(tmp_path, ["cho", "plant"], n_boxes=3)
    out = tmp_path / "out"
    _export(folder, out, fractions=(0.5, 0.5, 0))  # two images: by box by default
    root, cases = _cases(out)
    assert len(cases) == 6 and read_manifest(root)["split"]["by"] == "box"
    assert sorted(e["split"] for e in cases.values()).count("val") == 3


def test_test_images_go_whole_to_imagests(tmp_path):
    folder = _project(tmp_path, ["cho", "plant", "fib_a"])
    out = tmp_path / "out"
    _export(folder, out, test_images=("plant",))
    root, cases = _cases(out)
    for case, entry in cases.items():
        held = entry["image"] == "plant"
        assert (entry["split"] == "test") == held
        assert (root / ("imagesTs" if held else "imagesTr") / f"{case}_0000.tiff").is_file()
        assert (root / ("labelsTs" if held else "labelsTr") / f"{case}.tiff").is_file()
    assert read_manifest(root)["split"]["test_images"] == ["plant"]
    dataset = json.loads((root / "dataset.json").read_text())
    assert dataset["numTraining"] == 4


def test_adding_images_later_extends_the_dataset_and_keeps_splits(tmp_path):
    folder = _project(tmp_path, ["cho", "plant", "fib_a"])
    out = tmp_path / "out"
    _export(folder, out, images=("cho", "plant"), split_by="image")
    root, first = _cases(out)
    before = {c: (root / f"imagesTr/{c}_0000.tiff").stat().st_ino for c in first}
    report = _export(folder, out, split_by="image")
    _, second = _cases(out)
    assert sorted(report.written["nnunet"]) == ["fib_a_box_0001", "fib_a_box_0002"]
    assert {c: second[c]["split"] for c in first} == {c: e["split"] for c, e in first.items()}
    assert {c: (root / f"imagesTr/{c}_0000.tiff").stat().st_ino for c in first} == before
    assert len({e["split"] for e in second.values() if e["image"] == "fib_a"}) == 1


# ------------------------------------------------------------ one image: as before
def test_a_one_image_project_keeps_its_case_names_and_manifest(tmp_path):
    folder = _project(tmp_path, ["cho"])
    out = tmp_path / "out"
    _export(folder, out, split_by=None)
    root, cases = _cases(out)
    assert set(cases) == {"box_0001", "box_0002"}
    manifest = read_manifest(root)
    assert "images" not in manifest and manifest["image"]["shape"] == list(SHAPE)
    assert all("image" not in e for e in cases.values())
    assert "by" not in manifest["split"]
    # the image added later: the old export (names without images) is not mixed with the new names
    add_image(folder, _plan("plant", 1), "plant")
    write_tiff(folder / "plant.tif", np.zeros(SHAPE, np.uint16), VOXELS["plant"])
    with pytest.raises(ExportError, match="when it held one image"):
        _export(folder, out)


# ------------------------------------------------------------ bad input
def test_bad_image_names_and_test_boxes_are_refused(tmp_path):
    folder = _project(tmp_path, ["cho", "plant"])
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="images nope: the project has no such image; its images are cho, plant"):
        _export(folder, out, images=("nope",))
    with pytest.raises(ExportError, match="test images plant are not among the exported images"):
        _export(folder, out, images=("cho",), test_images=("plant",))
    with pytest.raises(ExportError, match="every exported image"):
        _export(folder, out, test_images=("cho", "plant"))
    with pytest.raises(ExportError, match="box ids repeat across the images"):
        _export(folder, out, test_boxes=(1,))
    with pytest.raises(ExportError, match="split_by takes image or box"):
        _export(folder, out, split_by="volume")
    assert not out.exists() or not any(out.iterdir())
    report = _export(folder, out, images=("cho",), test_boxes=(2,))  # one image chosen: its box ids are clear
    _, cases = _cases(out)
    assert cases["cho_box_0002"]["split"] == "test" and set(cases) == set(report.written["nnunet"])


@pytest.mark.parametrize("argv, phrase", [
    (["--images", "nope"], "images nope: the project has no such image"),
    (["--test-images", "cho,plant"], "every exported image"),
    (["--images", " , "], "--images takes image names"),
    (["--test-boxes", "1"], "hold out whole images as test"),
])
def test_cli_bad_names_exit_2_without_traceback(tmp_path, capsys, argv, phrase):
    folder = _project(tmp_path, ["cho", "plant"])
    code = main(["export", str(folder), "--format", "nnunet", "-o", str(tmp_path / "out"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and phrase in err and "Traceback" not in err


def test_cli_exports_every_image_with_a_held_out_one(tmp_path, capsys):
    folder = _project(tmp_path, ["cho", "plant", "fib_a"])
    out = tmp_path / "out"
    assert main(["export", str(folder), "--format", "nnunet", "-o", str(out), "--test-images", "fib_a",
                 "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]["nnunet"]
    assert sorted(written) == sorted(f"{n}_box_{i:04d}" for n in ("cho", "plant", "fib_a") for i in (1, 2))
    _, cases = _cases(out)
    assert {e["split"] for e in cases.values() if e["image"] == "fib_a"} == {"test"}


# ------------------------------------------------------------ nnU-Net's own check
@pytest.mark.parametrize("names, opts", [
    (["cho", "plant"], {}),
    (["cho", "plant", "fib_a"], {"test_images": ("fib_a",)}),
])
def test_nnunet_integrity_check_passes_on_several_images(tmp_path, names, opts):
    pytest.importorskip("nnunetv2")
    from napari_patchwise.engine.export.nnunet import verify_nnunet

    folder = _project(tmp_path, names)
    out = tmp_path / "out"
    report = _export(folder, out, **opts)
    assert "verify_dataset_integrity Done" in verify_nnunet(report.folders["nnunet"])


def _touching(folder, image, box_id):
    """Two objects touching inside one box of an image (an error finding)."""
    plan = load_plan(folder, image)
    layers = annotation_layers(open_annotations(folder, plan, image=image), plan)
    z, y, x = plan.box(box_id).slices(plan.magnification)
    ids = np.asarray(layers["nuclei"][z, y, x])
    ids[2:6, 3:9, 9:12] = 99  # right beside the box's object
    layers["nuclei"][z, y, x] = ids
    bg = np.asarray(layers["background"][z, y, x])
    bg[ids > 0] = 0
    layers["background"][z, y, x] = bg


def test_overrides_name_their_image(tmp_path):
    folder = _project(tmp_path, ["cho", "plant"])
    _touching(folder, "plant", 1)
    out = tmp_path / "out"
    report = _export(folder, out)
    assert [k for k, _ in report.skipped] == [("plant", 1)]  # keyed as an override names the box
    assert "skipped box plant:1: " in report.summary()
    skipped = read_manifest(_cases(out)[0])["skipped"]
    assert [(s["image"], s["box_id"]) for s in skipped] == [("plant", 1)]
    with pytest.raises(ExportError, match="name the image of each override"):
        _export(folder, tmp_path / "o2", overrides={1: "checked"})
    report = _export(folder, tmp_path / "o3", overrides={report.skipped[0][0]: "checked by hand"})
    _, cases = _cases(tmp_path / "o3")
    assert not report.skipped and cases["plant_box_0001"]["override"] == "checked by hand"
    assert cases["cho_box_0001"]["override"] is None
    with pytest.raises(ExportError, match="names image 'nope'"):
        _export(folder, tmp_path / "o4", overrides={("nope", 1): "checked"})


def test_a_dataset_without_a_training_case_is_refused(tmp_path):
    folder = _project(tmp_path, ["cho", "plant"], n_boxes=1)
    _touching(folder, "cho", 1)
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"every box that can be exported is in a test image \(plant\)(.|\n)*"
                                          r"box cho:1: error findings"):
        _export(folder, out, test_images=("plant",))
    assert not out.exists() or not any(out.iterdir())


def test_cli_override_of_an_image_box(tmp_path, capsys):
    folder = _project(tmp_path, ["cho", "plant"])
    _touching(folder, "plant", 2)
    out = tmp_path / "out"
    assert main(["export", str(folder), "--format", "nnunet", "-o", str(out), "--override",
                 "plant:2=checked by hand", "--json"]) == 0
    assert "plant_box_0002" in json.loads(capsys.readouterr().out)["written"]["nnunet"]
    assert main(["export", str(folder), "--format", "nnunet", "-o", str(tmp_path / "o2"), "--override",
                 ":2=x"]) == 2
    assert "IMAGE:BOX=REASON" in capsys.readouterr().err


def test_test_boxes_name_their_image_in_a_project_of_several_images(tmp_path):
    folder = _project(tmp_path, ["cho", "plant"])
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"test boxes plant:9 are not in the plan \(its boxes are cho:1, cho:2, "
                                          r"plant:1, plant:2\)"):
        _export(folder, out, test_boxes=(("plant", 9),))
    for split_by in ("box", "image"):
        _export(folder, out, test_boxes=(("cho", 2), ("plant", 1)), split_by=split_by, overwrite=True)
        root, cases = _cases(out)
        assert {c for c, e in cases.items() if e["split"] == "test"} == {"cho_box_0002", "plant_box_0001"}
        assert read_manifest(root)["split"]["test_boxes"] == ["cho:2", "plant:1"]
