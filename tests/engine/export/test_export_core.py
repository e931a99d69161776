"""The export core: choosing boxes, splits, reading crops, staging, manifests."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import zarr

from napari_patchwise.engine import Box, ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.export import (
    FORMAT_NAMES,
    MANIFEST_NAME,
    CaseOutput,
    ExportError,
    ExportOptions,
    assign_splits,
    export_project,
)
from napari_patchwise.engine.export.crops import (
    ImageLevel,
    content_hash,
    crop_image,
    exportable,
    image_levels,
    read_crop,
)
from napari_patchwise.engine.export.manifest import read_manifest, sha256_file
from napari_patchwise.engine.export.splits import check_fractions
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.project import create_project, save_plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.annotation_store import annotation_layers
from napari_patchwise.engine.findings import Finding
from napari_patchwise.engine.geometry.resample import downsample_mean

SHAPE = (16, 128, 128)  # 262,144 voxels: boxes below 230,000 get the few-voxels warning
#: four boxes of 8×32×32, one per quadrant of the upper half
EXTENTS = [((0, 0, 0), (8, 32, 32)), ((0, 0, 32), (8, 32, 64)),
           ((0, 32, 0), (8, 64, 32)), ((0, 32, 32), (8, 64, 64))]


# ------------------------------------------------------------------ helpers
def _image():
    return np.random.default_rng(0).integers(0, 1000, SHAPE).astype(np.uint16)


def _project(tmp_path, n_boxes=4, mag=(1, 1, 1), name="proj"):
    folder = tmp_path / name
    plan = Plan(ImageRef(SHAPE, "uint16", (2.0, 0.5, 0.5), path="image.tif"),
                get_preset("custom", minimum=(8, 16, 16)), mag, (ClassSpec("nuclei"),))
    for i, (lo, hi) in enumerate(EXTENTS[:n_boxes]):
        plan, _ = plan.add_box(lo, hi, stratum="dense" if i % 2 else "sparse")
    create_project(folder, plan)
    write_tiff(folder / "image.tif", _image(), (2.0, 0.5, 0.5))
    return folder


def _paint(folder, box_id, value=1):
    """Background over the box with one object (ids from ``value``) inside it."""
    from napari_patchwise.engine.plan.plan_file import load_plan

    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan), plan)
    z, y, x = plan.box(box_id).slices(plan.magnification)
    bg = np.ones((z.stop - z.start, y.stop - y.start, x.stop - x.start), np.uint8)
    ids = np.zeros(bg.shape, np.uint32)
    ids[2:5, 4:10, 4:10] = value
    bg[ids > 0] = 0
    layers["background"][z, y, x] = bg
    layers["nuclei"][z, y, x] = ids


def _fake_writer(fail_on: int | None = None, calls: list | None = None):
    """A format writer storing each case as two .npy files and a case list."""
    count = {"n": 0}

    def write_case(root, crop, ctx):
        count["n"] += 1
        if calls is not None:
            calls.append(crop.case)
        if fail_on is not None and count["n"] == fail_on:
            raise RuntimeError("disk full")
        d = Path(root) / crop.split
        d.mkdir(exist_ok=True)
        np.save(d / f"{crop.case}_image.npy", crop.image)
        np.save(d / f"{crop.case}_labels.npy", crop.composition.classmap)
        return CaseOutput((f"{crop.split}/{crop.case}_image.npy", f"{crop.split}/{crop.case}_labels.npy"),
                          ("a writer note",))

    def finish(root, cases, ctx):
        (Path(root) / "cases.json").write_text(json.dumps([[c.case, c.split] for c in cases]))
        return ("cases.json",)

    return SimpleNamespace(folder_name=lambda ctx: "FakeSet", write_case=write_case, finish=finish,
                           label_mapping=lambda ctx: {"background": 0, "nuclei": 1, "ignore": 2})


def _export(folder, out, writer=None, **opts):
    opts.setdefault("fractions", (0.5, 0.5, 0.0))
    return export_project(folder, out, ExportOptions(**opts), writers={"nnunet": writer or _fake_writer()})


def _tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------- splits
def _boxes(n, strata=("a", "b", None)):
    return [Box(i, (0, 0, 0), (4, 4, 4), stratum=strata[i % len(strata)]) for i in range(1, n + 1)]


def test_splits_are_stratified_and_seedable():
    boxes = _boxes(30)
    splits = assign_splits(boxes, (0.6, 0.2, 0.2), seed=3)
    per = Counter((b.stratum, splits[b.id]) for b in boxes)
    for stratum in ("a", "b", None):  # 10 boxes each: 6 / 2 / 2
        assert [per[(stratum, s)] for s in ("train", "val", "test")] == [6, 2, 2]
    assert assign_splits(boxes, (0.6, 0.2, 0.2), seed=3) == splits
    assert any(assign_splits(boxes, (0.6, 0.2, 0.2), seed=s) != splits for s in range(4, 8))
    # one box per stratum still gives a validation set
    singles = [Box(i, (0, 0, 0), (4, 4, 4), stratum=f"s{i}") for i in range(1, 8)]
    assert Counter(assign_splits(singles, (0.8, 0.2, 0)).values()) == {"train": 6, "val": 1}


def test_pinned_test_boxes_and_existing_splits_and_no_leakage():
    boxes = _boxes(20)
    first = assign_splits(boxes[:12], (0.7, 0.3, 0.0), seed=1, test_boxes=[2, 5])
    assert first[2] == first[5] == "test"
    assert set(first) == {b.id for b in boxes[:12]}  # every box exactly one split
    grown = assign_splits(boxes, (0.7, 0.3, 0.0), seed=9, test_boxes=[2, 5], existing=first)
    assert all(grown[i] == s for i, s in first.items())
    assert [i for i, s in grown.items() if s == "test"] == [2, 5]
    with pytest.raises(ValueError, match="pinned to the test split but was already exported as"):
        assign_splits(boxes, (0.7, 0.3, 0), test_boxes=[1], existing={1: "val"})


@pytest.mark.parametrize("bad, match", [
    ((0.8, 0.2), "three numbers"), ((1, -1, 0), "not negative"), ((0, 1, 0), "train fraction"),
    ("0.8,0.2,0", "three numbers"), ((1, float("nan"), 0), "finite"), ((1, "x", 0), "numbers"),
])
def test_bad_fractions(bad, match):
    with pytest.raises(ValueError, match=match):
        check_fractions(bad)


# ------------------------------------------------------------ choosing boxes
def test_exportable_skips_errors_unless_overridden_but_never_geometry():
    boxes = tuple(Box(i, (0, 0, 0), (4, 4, 4), status="in_progress") for i in (1, 2, 3))
    boxes += (Box(4, (0, 0, 0), (4, 4, 4)),)
    plan = Plan(ImageRef((8, 8, 8)), boxes=boxes)
    findings = [Finding("error", "touching", 2, "2 pairs touch."), Finding("warning", "overlap", 1, "w"),
                Finding("error", "outside-image", 3, "reaches outside.")]
    counts = {i: {"unannotated": 0, "background": 5, "nuclei": 1, "ignore": 0} for i in (1, 2, 3)}
    counts[4] = {"unannotated": 60, "background": 0, "nuclei": 0, "ignore": 4}
    ok, skipped, over = exportable(plan, findings, {2: "checked", 3: "please"}, counts)
    assert [b.id for b in ok] == [1, 2] and over == {2: "checked"}
    reasons = dict(skipped)
    assert "cannot be overridden" in reasons[3] and reasons[4] == "nothing annotated"
    _, skipped, _ = exportable(plan, findings, {}, counts)
    assert "touching" in dict(skipped)[2] and "override" in dict(skipped)[2]
    with pytest.raises(ExportError, match="no reason"):
        exportable(plan, findings, {2: "  "})
    with pytest.raises(ExportError, match="does not have"):
        exportable(plan, findings, {9: "x"})


# ------------------------------------------------------------ reading crops
class _Recorder:
    """An array wrapper that records every index it is read with."""

    def __init__(self, data):
        self.data, self.reads = data, []

    @property
    def shape(self):
        return self.data.shape

    def __getitem__(self, index):
        self.reads.append(index)
        return self.data[index]


def _pyramid(path: Path, full: np.ndarray, use_scale=True, v05=False):
    half = downsample_mean(full, (1, 2, 2))
    group = zarr.open_group(str(path), mode="w")
    datasets = []
    for name, data, s in (("0", full, 1), ("1", half, 2)):
        group.create_array(name, shape=data.shape, dtype=data.dtype, chunks=(4, 16, 16))[...] = data
        entry = {"path": name}
        if use_scale:
            entry["coordinateTransformations"] = [{"type": "scale", "scale": [2.0, 0.5 * s, 0.5 * s]}]
        datasets.append(entry)
    ms = [{"version": "0.4", "axes": [{"name": a} for a in "zyx"], "datasets": datasets}]
    if v05:
        group.attrs["ome"] = {"version": "0.5", "multiscales": ms}
    else:
        group.attrs["multiscales"] = ms
    return half


@pytest.mark.parametrize("use_scale, v05", [(True, False), (False, False), (True, True)])
@pytest.mark.parametrize("mag", [(1, 2, 2), (1, 4, 4), (2, 4, 4)])
def test_pyramid_level_is_used_without_touching_full_resolution(tmp_path, mag, use_scale, v05):
    full = _image().astype(np.float32)
    _pyramid(tmp_path / "img.zarr", full, use_scale, v05)
    plan = Plan(ImageRef(SHAPE, "float32", path=str(tmp_path / "img.zarr")), magnification=mag)
    levels = image_levels(tmp_path, plan)
    assert [lv.factor for lv in levels] == [(1, 1, 1), (1, 2, 2)]
    wrapped = [ImageLevel(_Recorder(lv.data), lv.factor) for lv in levels]
    box = Box(1, (0, 16, 32), (8, 48, 64))
    got = crop_image(wrapped, box, mag)
    expect = downsample_mean(full[0:8, 16:48, 32:64], mag)
    np.testing.assert_allclose(got, expect, rtol=1e-6)
    assert got.dtype == np.float32
    assert wrapped[0].data.reads == []  # full resolution never read
    assert wrapped[1].data.reads == [(slice(0, 8), slice(8, 24), slice(16, 32))]  # only the box


def test_export_reads_a_pyramid_project_at_its_magnification(tmp_path):
    folder = _project(tmp_path, n_boxes=2, mag=(1, 2, 2))
    full = _image().astype(np.float32)
    _pyramid(folder / "image.ome.zarr", full)
    from napari_patchwise.engine.plan.plan_file import load_plan

    plan = load_plan(folder)
    save_plan(folder, plan.replace(image=ImageRef(SHAPE, "float32", (2.0, 0.5, 0.5), path="image.ome.zarr")))
    _paint(folder, 2)
    report = _export(folder, tmp_path / "out")
    assert report.written["nnunet"] == ["box_0002"]
    root = tmp_path / "out" / "FakeSet"
    split = read_manifest(root)["cases"][0]["split"]
    got = np.load(root / split / "box_0002_image.npy")
    np.testing.assert_allclose(got, downsample_mean(full[0:8, 0:32, 32:64], (1, 2, 2)), rtol=1e-6)


def test_full_resolution_is_read_by_box_and_keeps_dtype_at_mag_1(tmp_path):
    img = _Recorder(_image())
    box = Box(1, (0, 0, 32), (8, 32, 64))
    out = crop_image([ImageLevel(img)], box, (1, 1, 1))
    assert out.dtype == np.uint16 and np.array_equal(out, img.data[0:8, 0:32, 32:64])
    assert img.reads == [(slice(0, 8), slice(0, 32), slice(32, 64))]
    np.testing.assert_allclose(crop_image([ImageLevel(img)], box, (2, 2, 2)),
                               downsample_mean(img.data[0:8, 0:32, 32:64], (2, 2, 2)))


def test_read_crop_and_content_hash(tmp_path):
    folder = _project(tmp_path, mag=(1, 2, 2))
    _paint(folder, 1)
    from napari_patchwise.engine.plan.plan_file import load_plan

    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan, mode="r"), plan)
    levels = image_levels(folder, plan)
    crop = read_crop(plan, layers, levels, plan.box(1), "val", (), None)
    assert crop.image.shape == crop.composition.classmap.shape == (8, 16, 16)
    assert crop.voxel_size == (2.0, 1.0, 1.0) and crop.split == "val"
    assert crop.composition.counts()["nuclei"] == 3 * 6 * 6
    h = content_hash(crop)
    assert h == content_hash(read_crop(plan, layers, levels, plan.box(1)))
    annotation_layers(open_annotations(folder, plan), plan)["nuclei"][0, 0, 0] = 7
    assert h != content_hash(read_crop(plan, layers, levels, plan.box(1)))


def test_missing_image_names_path_and_fix(tmp_path):
    folder = _project(tmp_path)
    _paint(folder, 1)
    (folder / "image.tif").unlink()
    with pytest.raises(ExportError, match=r"image .*image\.tif is missing; put it back"):
        _export(folder, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# ------------------------------------------------------------------ export
def test_export_writes_cases_manifest_and_checksums(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    folder = _project(tmp_path)
    for i in (1, 2, 3):
        _paint(folder, i)
    calls, seen = [], []
    report = export_project(folder, tmp_path / "out",
                            ExportOptions(fractions=(0.5, 0.5, 0), test_boxes=(3,)),
                            progress=lambda d, t: seen.append((d, t)),
                            writers={"nnunet": _fake_writer(calls=calls)})
    root = tmp_path / "out" / "FakeSet"
    assert report.folders == {"nnunet": root}
    assert report.written["nnunet"] == calls == ["box_0001", "box_0002", "box_0003"]
    assert report.skipped == [(4, "nothing annotated")]
    assert seen[0] == (0, 3) and seen[-1] == (3, 3)
    assert any("a writer note" in w for w in report.warnings)
    m = read_manifest(root)
    assert m["created"] == "2023-11-14T22:13:20Z" and m["export_format"] == "nnunet"
    assert m["labels"] == {"background": 0, "nuclei": 1, "ignore": 2}
    assert m["image"]["path"] == str((folder / "image.tif").resolve())
    assert m["split"] == {"fractions": [0.5, 0.5, 0.0], "seed": 0, "test_boxes": [3]}
    assert m["skipped"] == [{"box_id": 4, "reason": "nothing annotated"}]
    cases = {c["case"]: c for c in m["cases"]}
    assert cases["box_0003"]["split"] == "test"
    assert {cases["box_0001"]["split"], cases["box_0002"]["split"]} <= {"train", "val"}
    c1 = cases["box_0001"]
    assert c1["lo"] == [0, 0, 0] and c1["hi"] == [8, 32, 32] and c1["counts"]["nuclei"] == 108
    assert c1["content_hash"].startswith("sha256:")
    assert any(f["code"] == "few-voxels" for f in c1["findings"])  # warnings travel
    listed = {rel for c in m["cases"] for rel in c["files"]} | set(m["files"])
    assert listed | {MANIFEST_NAME} == set(_tree(root))
    for c in m["cases"]:
        for rel, digest in c["files"].items():
            assert sha256_file(root / rel) == digest
    assert not [p for p in (tmp_path / "out").iterdir() if p.name != "FakeSet"]  # no stage left


def test_error_boxes_are_skipped_and_overrides_recorded(tmp_path):
    folder = _project(tmp_path)
    _paint(folder, 1)
    _paint(folder, 2)
    from napari_patchwise.engine.plan.plan_file import load_plan

    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan), plan)
    layers["nuclei"][3, 4:10, 42] = 2  # touches the object of box 2 (x 36..41)
    layers["background"][3, 4:10, 42] = 0
    report = _export(folder, tmp_path / "out")
    assert report.written["nnunet"] == ["box_0001"]
    assert "touching" in dict(report.skipped)[2]
    report = _export(folder, tmp_path / "out2", overrides={2: "contacts are real"})
    assert report.written["nnunet"] == ["box_0001", "box_0002"]
    case = {c["case"]: c for c in read_manifest(tmp_path / "out2" / "FakeSet")["cases"]}["box_0002"]
    assert case["override"] == "contacts are real"
    assert any(f["code"] == "touching" and f["severity"] == "error" for f in case["findings"])


def test_no_exportable_box_lists_why(tmp_path):
    folder = _project(tmp_path, n_boxes=2)
    with pytest.raises(ExportError, match=r"no box can be exported:\n  box 1: nothing annotated\n  box 2"):
        _export(folder, tmp_path / "out")
    plan = Plan(ImageRef(SHAPE, path="image.tif"))
    save_plan(folder, plan.replace(boxes=()))
    with pytest.raises(ExportError, match="the plan has no boxes"):
        _export(folder, tmp_path / "out")


def test_unknown_format_and_setting(tmp_path):
    folder = _project(tmp_path, n_boxes=1)
    _paint(folder, 1)
    with pytest.raises(ExportError, match="choose from " + ", ".join(FORMAT_NAMES)):
        export_project(folder, tmp_path / "out", ExportOptions(formats=("nnunet", "ilastik")))
    with pytest.raises(ExportError, match="unknown export setting colour"):
        _export(folder, tmp_path / "out", context={"colour": 1})
    with pytest.raises(ExportError, match="test boxes 9 are not in the plan"):
        _export(folder, tmp_path / "out", test_boxes=(9,))


def test_refuses_foreign_folder_unless_overwrite(tmp_path):
    folder = _project(tmp_path, n_boxes=1)
    _paint(folder, 1)
    (tmp_path / "out" / "FakeSet").mkdir(parents=True)
    (tmp_path / "out" / "FakeSet" / "mine.txt").write_text("keep me")
    with pytest.raises(ExportError, match=r"FakeSet exists and holds no napari-patchwise export.*--overwrite"):
        _export(folder, tmp_path / "out")
    assert (tmp_path / "out" / "FakeSet" / "mine.txt").read_text() == "keep me"
    _export(folder, tmp_path / "out", overwrite=True)
    assert not (tmp_path / "out" / "FakeSet" / "mine.txt").exists()
    # another project's export with other classes is refused as well
    other = _project(tmp_path, n_boxes=1, name="other")
    plan = load_plan(other)
    save_plan(other, plan.replace(classes=(ClassSpec("cells"),)))
    group = open_annotations(other)
    group["background"][:8, :16, :16] = 1
    group["cells"][2:5, 4:10, 4:10] = 1
    group["background"][2:5, 4:10, 4:10] = 0
    with pytest.raises(ExportError, match=r"holds an export of proj with other classes \(nuclei \(instance\), "
                       r"not cells \(instance\)\).*--overwrite"):
        _export(other, tmp_path / "out")


def test_new_boxes_join_an_export_and_old_files_stay_untouched(tmp_path):
    folder = _project(tmp_path)
    _paint(folder, 1)
    _paint(folder, 2)
    first = _export(folder, tmp_path / "out")
    root = tmp_path / "out" / "FakeSet"
    old = read_manifest(root)
    old_files = {rel: (root / rel).stat().st_ino for c in old["cases"] for rel in c["files"]}
    old_bytes = _tree(root)
    _paint(folder, 3)
    _paint(folder, 4)
    second = _export(folder, tmp_path / "out", seed=5)
    assert second.kept["nnunet"] == first.written["nnunet"] == ["box_0001", "box_0002"]
    assert second.written["nnunet"] == ["box_0003", "box_0004"]
    for rel, inode in old_files.items():
        assert (root / rel).read_bytes() == old_bytes[rel]
        assert (root / rel).stat().st_ino == inode
    new = read_manifest(root)
    cases = {c["case"]: c for c in new["cases"]}
    for c in old["cases"]:
        assert cases[c["case"]] == c  # old entries (split, files, hash) unchanged
    assert json.loads((root / "cases.json").read_text())[-1][0] == "box_0004"
    # a box changed after its export is reported, not rewritten
    from napari_patchwise.engine.plan.plan_file import load_plan

    plan = load_plan(folder)
    annotation_layers(open_annotations(folder, plan), plan)["nuclei"][2, 4, 4] = 0
    before = _tree(root)
    third = _export(folder, tmp_path / "out")
    assert third.written["nnunet"] == [] and _tree(root) == before
    assert any("box 1 changed since it was exported" in w and "overwrite" in w for w in third.warnings)


def test_same_inputs_give_identical_files(tmp_path):
    folder = _project(tmp_path)
    for i in (1, 2, 3):
        _paint(folder, i, value=i)
    _export(folder, tmp_path / "a", seed=4, test_boxes=(2,))
    _export(folder, tmp_path / "b", seed=4, test_boxes=(2,))
    a, b = _tree(tmp_path / "a" / "FakeSet"), _tree(tmp_path / "b" / "FakeSet")
    ma, mb = (json.loads(t.pop(MANIFEST_NAME)) for t in (a, b))
    assert a == b
    ma.pop("created"), mb.pop("created")
    assert ma == mb


@pytest.mark.parametrize("fresh", [True, False])
def test_failure_half_way_leaves_previous_folder_intact(tmp_path, fresh):
    folder = _project(tmp_path)
    _paint(folder, 1)
    out = tmp_path / "out"
    if not fresh:
        _export(folder, out)
    before = _tree(out / "FakeSet") if not fresh else None
    _paint(folder, 2)
    _paint(folder, 3)
    with pytest.raises(RuntimeError, match="disk full"):
        _export(folder, out, writer=_fake_writer(fail_on=2))
    if fresh:
        assert list(out.iterdir()) == []
    else:
        assert [p.name for p in out.iterdir()] == ["FakeSet"]
        assert _tree(out / "FakeSet") == before


def test_unwritable_output_folder_gives_clear_message(tmp_path):
    folder = _project(tmp_path, n_boxes=1)
    _paint(folder, 1)
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(ExportError, match="cannot write to the output folder .*a_file"):
        _export(folder, tmp_path / "a_file" / "out")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions
            pytest.skip("permissions are not enforced for this user")
        with pytest.raises(ExportError, match="cannot write to the output folder"):
            _export(folder, locked)
    finally:
        locked.chmod(0o700)


def test_settings_of_other_formats_do_not_block_adding_cases(tmp_path):
    """A new nnU-Net dataset name changes nothing for the StarDist folder: its cases are kept."""
    folder = _project(tmp_path)
    _paint(folder, 1)
    _paint(folder, 2)
    out = tmp_path / "out"
    export_project(folder, out, ExportOptions(formats=("stardist",), context={"dataset_name": "First"}))
    report = export_project(folder, out, ExportOptions(formats=("stardist",), context={"dataset_name": "Other"}))
    assert report.written["stardist"] == [] and report.kept["stardist"]
    with pytest.raises(ExportError, match="other settings.*patch_size"):
        export_project(folder, out, ExportOptions(formats=("stardist",), context={"patch_size": (8, 8, 8)}))


def test_only_done_skips_boxes_not_reviewed(tmp_path):
    from napari_patchwise.engine.plan.plan_file import load_plan

    folder = _project(tmp_path)
    _paint(folder, 1)
    _paint(folder, 2)
    done = 2
    save_plan(folder, load_plan(folder).update_box(done, status="done"))
    report = export_project(folder, tmp_path / "a", ExportOptions(formats=("stardist",), only_done=True))
    assert report.written["stardist"] == [f"box_{done:04d}"]
    assert [i for i, why in report.skipped if "not marked done" in why] == [1]
    report = export_project(folder, tmp_path / "b", ExportOptions(formats=("stardist",)))
    assert any("not marked done" in w for w in report.warnings)


def test_a_seeded_project_exports_its_seeded_boxes(seeded_project, tmp_path):
    """The conftest chain's seeded project, straight to nnU-Net: one case per box, none skipped."""
    from napari_patchwise.engine import ExportOptions, export_project

    report = export_project(seeded_project, tmp_path / "out", ExportOptions(formats=("nnunet",)))
    dataset = report.folders["nnunet"]
    assert json.loads((dataset / "dataset.json").read_text())["numTraining"] == 2
    assert "skipped" not in report.summary()
