"""The preset's ignore border reaches every export format (magnification 1 and 2, a box at the image edge)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.export import ExportOptions, cellpose_planes, export_project, nnunet, omezarr, stardist
from napari_patchwise.engine.export.manifest import read_manifest
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation import compose
from napari_patchwise.engine.plan.annotation_store import annotation_layers, open_annotations
from napari_patchwise.engine.plan.border import border_mask
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.project import create_project

SHAPE = (16, 64, 64)
BORDER = 2
#: box 1 touches three faces of the image (its border lies along its own faces there too)
BOX_AT_MAG = ((0, 0, 0), (10, 20, 20))


def _project(tmp_path, mag):
    """A project whose custom preset has a 2-voxel ignore border; one box at the image's corner.

    Background over the whole box with six objects inside, and one object painted in the
    border (kept in the arrays, ignored by export).
    """
    folder = tmp_path / f"proj{mag[1]}"
    preset = get_preset("custom", minimum=(8, 16, 16), ignore_border=BORDER)
    plan = Plan(ImageRef(SHAPE, "uint16", (2.0, 0.5, 0.5), path="image.tif"), preset, mag,
                (ClassSpec("nuclei"),))
    lo, hi = (tuple(v * m for v, m in zip(p, mag)) for p in BOX_AT_MAG)
    plan, _ = plan.add_box(lo, hi)
    create_project(folder, plan)
    image = np.random.default_rng(0).integers(0, 1000, SHAPE).astype(np.uint16)
    write_tiff(folder / "image.tif", image, (2.0, 0.5, 0.5))
    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan), plan)
    shape = tuple(h - l for l, h in zip(*BOX_AT_MAG))
    ids = np.zeros(shape, np.uint32)
    for i, (y, x) in enumerate([(3, 3), (3, 8), (3, 13), (9, 3), (9, 8), (9, 13)], start=1):
        ids[2:8, y:y + 3, x:x + 3] = i
    ids[0:2, 0:2, 0:2] = 7  # painted in the border
    bg = (ids == 0).astype(np.uint8)
    region = tuple(slice(l, h) for l, h in zip(*BOX_AT_MAG))
    layers["nuclei"][region] = ids
    layers["background"][region] = bg
    return folder, ids, bg


def _expected(ids, bg):
    """The composition without border, and the border mask, on the box at the magnification."""
    comp = compose({"nuclei": ids, "background": bg}, ["nuclei"])
    return comp, border_mask(ids.shape, BORDER)


@pytest.fixture(params=[(1, 1, 1), (1, 2, 2)], ids=["mag1", "mag2"])
def exported(request, tmp_path):
    mag = request.param
    folder, ids, bg = _project(tmp_path, mag)
    out = tmp_path / "out"
    report = export_project(folder, out, ExportOptions(
        formats=("nnunet", "stardist", "cellpose", "omezarr"), fractions=(1.0, 0.0, 0.0),
        context={"min_masks": 1}))
    return mag, folder, ids, bg, report


def test_plan_keeps_the_custom_border(tmp_path):
    folder, _, _ = _project(tmp_path, (1, 1, 1))
    assert load_plan(folder).preset.ignore_border == BORDER
    assert json.loads((folder / "plan.json").read_text())["preset"]["ignore_border"] == BORDER


def test_nnunet_labels_carry_the_border_as_ignore(exported):
    mag, folder, ids, bg, report = exported
    comp, border = _expected(ids, bg)
    case = nnunet.read_case(report.folders["nnunet"], "box_0001")
    labels = case["labels"]
    assert labels.shape == ids.shape
    assert np.all(labels[border] == 2)  # nnU-Net's ignore label (K + 1)
    assert np.array_equal(labels[~border], np.where(comp.classmap == -1, 2, comp.classmap)[~border])
    assert 1 in labels[~border] and 0 in labels[~border]
    dataset = json.loads((report.folders["nnunet"] / "dataset.json").read_text())
    assert dataset["labels"]["ignore"] == 2


def test_omezarr_classmap_carries_the_border_as_ignore(exported):
    mag, folder, ids, bg, report = exported
    comp, border = _expected(ids, bg)
    _, classmap, instances = omezarr.read_case(report.folders["omezarr"], "box_0001")
    assert np.all(classmap[border] == 2)
    assert np.array_equal(classmap[~border], comp.classmap[~border])
    assert np.all(instances["nuclei"][border] == 0)
    assert np.array_equal(instances["nuclei"][~border], ids[~border])


def test_stardist_masks_carry_the_border_as_minus_one(exported):
    mag, folder, ids, bg, report = exported
    _, border = _expected(ids, bg)
    _, masks = stardist.read_case(report.folders["stardist"], "box_0001")
    assert np.all(masks[border] == -1)
    assert np.array_equal(masks[~border], ids.astype(np.int32)[~border])


def test_cellpose_planes_are_cut_to_the_interior(exported):
    mag, folder, ids, bg, report = exported
    planes = cellpose_planes.read_case(report.folders["cellpose"], "box_0001")
    nz = ids.shape[0]
    assert sorted(planes) == [f"box_0001_yx{z:03d}" for z in range(BORDER, nz - BORDER)]
    inner = ids[:, BORDER:-BORDER, BORDER:-BORDER]
    for name, (image, masks) in planes.items():
        z = int(name[-3:])
        assert image.shape == masks.shape == inner.shape[1:]
        assert np.array_equal(masks > 0, inner[z] > 0)
    notes = " ".join(report.notes.get("cellpose", []))
    assert "2-voxel ignore border" in notes


def test_manifests_record_the_border_and_the_painting_stays(exported):
    mag, folder, ids, bg, report = exported
    for fmt, root in report.folders.items():
        m = read_manifest(root)
        assert m["ignore_border"] == {"voxels": BORDER, "full_resolution": [BORDER * f for f in mag]}, fmt
        counts = m["cases"][0]["counts"]
        assert counts["ignore"] == int(border_mask(ids.shape, BORDER).sum()), fmt
        assert counts["unannotated"] == 0, fmt
    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan, mode="r"), plan)
    region = tuple(slice(l, h) for l, h in zip(*BOX_AT_MAG))
    assert np.array_equal(np.asarray(layers["nuclei"][region]), ids)  # nothing painted was lost


def test_a_box_too_thin_for_the_border_is_an_error_and_is_not_exported(tmp_path):
    folder, _, _ = _project(tmp_path, (1, 1, 1))
    plan = load_plan(folder)
    from napari_patchwise.engine.plan.project import save_plan

    plan, _ = plan.add_box((12, 40, 40), (16, 60, 60))  # 4 voxels along z: no interior for a 2-voxel border
    save_plan(folder, plan)
    layers = annotation_layers(open_annotations(folder, plan), plan)
    layers["background"][12:16, 40:60, 40:60] = 1
    codes = {(f.code, f.box_id) for f in load_plan(folder).validate()}
    assert ("border-too-wide", 2) in codes
    report = export_project(folder, tmp_path / "out", ExportOptions(formats=("omezarr",)))
    assert [i for i, _ in report.skipped] == [2]


def test_membrane_preset_on_real_cryo_et_patches(tmp_path, shared_data):
    """A 160³ box of the membrane preset on a volume tiled from the cryo-ET patches: nnU-Net gets
    the 16-voxel border as ignore, the inside as painted."""
    import tifffile

    root = shared_data / "cryoet_filament_patches" / "train"
    names = sorted(p.stem for p in (root / "imgs").glob("*.tif"))
    if not names:
        pytest.skip(f"no cryo-ET patches in {root}")
    imgs = [tifffile.imread(root / "imgs" / f"{n}.tif") for n in names]
    masks = [tifffile.imread(root / "masks" / f"{n}_mask.tif") for n in names]
    s = imgs[0].shape[0]
    volume = np.zeros((2 * s,) * 3, np.uint8)
    labels = np.zeros_like(volume)
    for k, corner in enumerate(np.ndindex(2, 2, 2)):
        i = k % len(imgs)
        region = tuple(slice(c * s, (c + 1) * s) for c in corner)
        volume[region] = np.flip(imgs[i], axis=k % 3)
        labels[region] = np.flip(masks[i], axis=k % 3) > 0
    folder = tmp_path / "tomo"
    plan = Plan(ImageRef(volume.shape, "uint8", (25.0, 25.0, 25.0), unit="angstrom", path="tomo.tif"),
                get_preset("membrane"), (1, 1, 1), (ClassSpec("filament", "semantic"),))
    centre = volume.shape[0] // 2
    plan, box = plan.add_box((centre - 80,) * 3, (centre + 80,) * 3, source="points")
    create_project(folder, plan)
    write_tiff(folder / "tomo.tif", volume, (25.0, 25.0, 25.0), "angstrom")
    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan), plan)
    region = box.slices(plan.magnification)
    layers["filament"][region] = labels[region]
    layers["background"][region] = 1 - labels[region]
    report = export_project(folder, tmp_path / "out", ExportOptions(formats=("nnunet",)))
    got = nnunet.read_case(report.folders["nnunet"], "box_0001")["labels"]
    border = border_mask((160, 160, 160), 16)
    assert np.all(got[border] == 2)
    assert np.array_equal(got[~border], labels[region][~border])
    assert labels[region][border].any()  # the border held painted filament, left out of training
    assert read_manifest(report.folders["nnunet"])["ignore_border"]["voxels"] == 16
