"""MemBrain-seg export: layout, names, labels 0 / 1 / 2, voxel size, tokens, classes, never overwriting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")

from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset  # noqa: E402
from napari_patchwise.engine.export import MANIFEST_NAME, ExportError, ExportOptions, export_project  # noqa: E402
from napari_patchwise.engine.export import membrain  # noqa: E402
from napari_patchwise.engine.export.model import CaseRef, Crop, ExportContext  # noqa: E402
from napari_patchwise.engine.geometry.box import Box  # noqa: E402
from napari_patchwise.engine.io.tiff_write import write_tiff  # noqa: E402
from napari_patchwise.engine.plan.annotation import compose  # noqa: E402
from napari_patchwise.engine.plan.annotation_store import annotation_layers, open_annotations  # noqa: E402
from napari_patchwise.engine.plan.plan_file import load_plan  # noqa: E402
from napari_patchwise.engine.plan.project import create_project  # noqa: E402

SHAPE = (16, 64, 64)
VS = (1.2, 0.8, 0.8)  # nm
BOXES = [((0, 0, 0), (8, 32, 32)), ((0, 0, 32), (8, 32, 64)), ((0, 32, 0), (8, 64, 32)),
         ((0, 32, 32), (8, 64, 64))]
MEMBRANE = (ClassSpec("membrane", "semantic"),)


def _ctx(classes=MEMBRANE, **kw):
    plan = Plan(ImageRef((8, 16, 16), voxel_size=VS, unit="nanometer", name="tomo"), classes=classes)
    return ExportContext(plan, **kw)


def _crop(ctx, split="train", box_id=3, case=None, image=None):
    """Every meaning once: unannotated, background, each class, ignore."""
    shape = (4, 6, 8)
    layers = {name: np.zeros(shape, np.uint8) for name in ctx.class_names}
    background = np.ones(shape, np.uint8)
    ignore = np.zeros(shape, np.uint8)
    background[0] = 0  # plane 0 unannotated
    for i, name in enumerate(ctx.class_names):
        layers[name][1, i, :] = 1
        background[1, i, :] = 0
    ignore[3, :2, :2] = 1
    comp = compose({**layers, "background": background, "ignore": ignore}, ctx.class_names)
    img = np.random.default_rng(box_id).normal(size=shape).astype(np.float32) if image is None else image
    box = Box(box_id, (0, 0, 0), shape)
    return Crop(case or f"box_{box_id:04d}", box, img, comp, VS, split=split)


def _load(path: Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).dataobj).transpose(2, 1, 0)


# ------------------------------------------------------------------ writer
def test_case_files_labels_and_header(tmp_path):
    ctx = _ctx(membrain_token="spinach")
    crop = _crop(ctx)
    out = membrain.write_case(tmp_path, crop, ctx)
    assert out.files == ("imagesTr/spinach_tomo_patch3_0000.nii.gz", "labelsTr/spinach_tomo_patch3.nii.gz")
    labels = _load(tmp_path / out.files[1])
    assert labels.dtype == np.uint8 and labels.shape == crop.image.shape
    cm = crop.composition.classmap
    assert (labels[cm == -1] == 2).all() and (cm == -1).any()  # unannotated -> ignore
    assert (labels[cm == 2] == 2).all() and (cm == 2).any()  # ignore -> 2
    assert (labels[cm == 1] == 1).all() and (cm == 1).any()
    assert (labels[cm == 0] == 0).all() and (cm == 0).any()
    np.testing.assert_array_equal(_load(tmp_path / out.files[0]), crop.image)
    header = nib.load(str(tmp_path / out.files[0])).header
    # x, y, z zooms in micrometres (NIfTI has no nanometre), as engine/io/nifti writes them
    np.testing.assert_allclose(header.get_zooms()[:3], [v / 1000 for v in reversed(VS)], rtol=1e-6)
    assert header.get_xyzt_units()[0] == "micron"
    got = membrain.read_case(tmp_path, crop.case, ctx)
    assert got["split"] == "train" and got["unit"] == "micrometer"
    np.testing.assert_allclose(got["voxel_size"], [v / 1000 for v in VS], rtol=1e-6)
    np.testing.assert_array_equal(got["labels"], labels)


@pytest.mark.parametrize("split, folders", [("val", ("imagesVal", "labelsVal")), ("test", ("imagesTs", "labelsTs"))])
def test_split_folders(tmp_path, split, folders):
    ctx = _ctx(membrain_token="t")
    out = membrain.write_case(tmp_path, _crop(ctx, split=split), ctx)
    assert [f.split("/")[0] for f in out.files] == list(folders)


def test_finish_makes_the_four_folders_and_warns_without_val(tmp_path):
    ctx = _ctx(membrain_token="t")
    done = membrain.finish(tmp_path, [CaseRef("box_0001", "train"), CaseRef("box_0002", "test")], ctx)
    assert all((tmp_path / d).is_dir() for d in ("imagesTr", "labelsTr", "imagesVal", "labelsVal"))
    assert any("no val patches" in w for w in done.warnings)
    assert any("imagesTs" in n for n in done.notes)


def test_names_keep_the_image_and_project_part():
    assert membrain.patch_stem("p1_tomo_box_0012", 12, "tomo", "ds") == "ds_p1_tomo_patch12"
    assert membrain.patch_stem("box_0001", 1, "a b.mrc", "ds") == "ds_a-b-mrc_patch1"
    # MemBrain-seg's dataset token is the file name up to the first "_"
    assert membrain.patch_stem("x_box_0001", 1, "x", "ds").split("_")[0] == "ds"


@pytest.mark.parametrize("token", ["my_data", "a b", "", "é"])
def test_bad_tokens_are_refused_with_the_fix(token):
    with pytest.raises(ExportError, match="letters, digits and '-'"):
        membrain.folder_name(_ctx(membrain_token=token))


def test_default_token_from_the_project_name():
    ctx = membrain.context_defaults(_ctx(), [Path("/data/spinach_tomo 3")])
    assert ctx.membrain_token == "spinachtomo3" and ctx.membrain_class == "membrane"
    assert membrain.context_defaults(_ctx(membrain_token="own"), [Path("/x/p")]).membrain_token == "own"


def test_several_classes_need_the_membrane_class(tmp_path):
    two = (ClassSpec("actin", "semantic"), ClassSpec("membrane", "semantic"))
    with pytest.raises(ExportError, match="--membrain-class actin"):
        membrain.folder_name(_ctx(two))
    with pytest.raises(ExportError, match="'lipid' is not a class"):
        membrain.folder_name(_ctx(two, membrain_class="lipid"))
    ctx = _ctx(two, membrain_class="membrane", membrain_token="t")
    crop = _crop(ctx)
    labels = _load(tmp_path / membrain.write_case(tmp_path, crop, ctx).files[1])
    cm = crop.composition.classmap
    assert (labels[cm == 1] == 0).all() and (cm == 1).any()  # actin: no membrane
    assert (labels[cm == 2] == 1).all() and (cm == 2).any()  # membrane
    assert (labels[cm == 3] == 2).all() and (cm == 3).any()  # ignore


def test_channels_are_refused(tmp_path):
    ctx = _ctx(membrain_token="t")
    crop = _crop(ctx, image=np.zeros((2, 4, 6, 8), np.float32))
    with pytest.raises(ExportError, match="one-channel"):
        membrain.write_case(tmp_path, crop, ctx)


# ------------------------------------------------------------------ through export_project
def _project(tmp_path, name="spinach_tomo", classes=MEMBRANE):
    folder = tmp_path / name
    plan = Plan(ImageRef(SHAPE, "float32", VS, unit="nanometer", path="image.tif", name="tomo"),
                get_preset("custom", minimum=(8, 16, 16)), (1, 1, 1), classes)
    for lo, hi in BOXES:
        plan, _ = plan.add_box(lo, hi)
    create_project(folder, plan)
    image = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    write_tiff(folder / "image.tif", image, VS)
    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan), plan)
    for box in plan.boxes:
        z, y, x = box.slices(plan.magnification)
        bg = np.ones((z.stop - z.start, y.stop - y.start, x.stop - x.start), np.uint8)
        mem = np.zeros(bg.shape, np.uint8)
        mem[:, 10:12, 3:] = 1
        bg[mem > 0] = 0
        bg[:, :, :3] = 0  # unannotated strip
        layers["background"][z, y, x] = bg
        layers[classes[0].name][z, y, x] = mem
    return folder, image


def test_export_project_writes_membrains_layout(tmp_path):
    folder, image = _project(tmp_path)
    out = tmp_path / "out"
    report = export_project(folder, out, ExportOptions(formats=("membrain",), fractions=(0.5, 0.5, 0)))
    root = report.folders["membrain"]
    assert root == out / "membrain"
    labels = sorted(p.name for d in ("labelsTr", "labelsVal") for p in (root / d).iterdir())
    assert labels == [f"spinachtomo_tomo_patch{i}.nii.gz" for i in range(1, 5)]
    for d_img, d_lab in (("imagesTr", "labelsTr"), ("imagesVal", "labelsVal")):
        assert sorted(p.name for p in (root / d_img).iterdir()) == \
            sorted(p.name.replace(".nii.gz", "_0000.nii.gz") for p in (root / d_lab).iterdir())
        assert (root / d_lab).iterdir()
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["labels"]["membrane"] == 1 and manifest["labels"]["unannotated"] == 2
    assert manifest["settings"] == {"membrain_token": "spinachtomo", "membrain_class": "membrane"}
    plan = load_plan(folder)
    for case in manifest["cases"]:
        box = plan.box(case["box_id"])
        got = membrain.read_case(root, case["case"], ExportContext(plan, membrain_token="spinachtomo"))
        np.testing.assert_array_equal(got["image"], image[box.slices((1, 1, 1))])
        lab = got["labels"]
        assert (lab[:, :, :3] == 2).all() and (lab[:, 10:12, 3:] == 1).all()
        assert set(np.unique(lab)) == {0, 1, 2}
    # again: nothing rewritten, nothing lost
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*.nii.gz")}
    again = export_project(folder, out, ExportOptions(formats=("membrain",), fractions=(0.5, 0.5, 0)))
    assert again.written["membrain"] == [] and len(again.kept["membrain"]) == 4
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*.nii.gz")} == before


def test_export_project_refuses_another_token_without_overwrite(tmp_path):
    folder, _ = _project(tmp_path)
    out = tmp_path / "out"
    export_project(folder, out, ExportOptions(formats=("membrain",), fractions=(0.5, 0.5, 0)))
    before = sorted(p.name for p in (out / "membrain").rglob("*"))
    opts = ExportOptions(formats=("membrain",), fractions=(0.5, 0.5, 0), context={"membrain_token": "other"})
    with pytest.raises(ExportError, match="overwrite"):
        export_project(folder, out, opts)
    assert sorted(p.name for p in (out / "membrain").rglob("*")) == before


def test_export_project_refuses_a_bad_token_before_writing(tmp_path):
    folder, _ = _project(tmp_path)
    opts = ExportOptions(formats=("membrain",), context={"membrain_token": "my_data"})
    with pytest.raises(ExportError, match="has a '_'"):
        export_project(folder, tmp_path / "out", opts)
    assert not (tmp_path / "out").exists()


def test_membrain_seg_loads_the_export(tmp_path):
    """MemBrain-seg's own dataset class reads the patches (when membrain-seg is installed)."""
    pytest.importorskip("membrain_seg")
    from membrain_seg.segmentation.dataloading.memseg_dataset import CryoETMemSegDataset

    folder, _ = _project(tmp_path)
    root = export_project(folder, tmp_path / "out",
                          ExportOptions(formats=("membrain",), fractions=(0.5, 0.5, 0))).folders["membrain"]
    for img_dir, lab_dir in (("imagesTr", "labelsTr"), ("imagesVal", "labelsVal")):
        ds = CryoETMemSegDataset(img_folder=str(root / img_dir), label_folder=str(root / lab_dir), train=False)
        names = sorted((root / lab_dir).iterdir())
        assert len(ds) == len(names) > 0
        assert set(ds.dataset_labels) == {"spinachtomo"}
        for lab in ds.labels:  # its loader turns (z, y, x) into (y, x, z)
            assert lab.shape == (32, 32, 8) and set(np.unique(lab)) <= {0.0, 1.0, 2.0}
        sample = ds[0]
        assert "image" in sample and "label" in sample


def test_without_nibabel_the_export_names_the_extra_before_writing(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nibabel", None)  # import nibabel fails as when it is not installed
    with pytest.raises(ExportError, match=r"napari-patchwise\[cryoet\]"):
        membrain.folder_name(_ctx(membrain_token="t"))
