"""Corrections folders into and out of a project: box names, mask shapes, sums, the replace rule, round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nrrd")

from napari_patchwise.engine import ImageRef, Plan  # noqa: E402
from napari_patchwise.engine.corrections.merge import MergeCorrectionsRequest, merge_corrections, merge_masks  # noqa: E402
from napari_patchwise.engine.corrections.store import correction_arrays  # noqa: E402
from napari_patchwise.engine.corrections.mitk import (ExportCorrectionsRequest, ImportCorrectionsRequest,  # noqa: E402
                                                      export_correction_patches, import_corrections,
                                                      parse_box_name)
from napari_patchwise.engine.io.nrrd_io import write_nrrd  # noqa: E402
from napari_patchwise.engine.io.volumes import read_volume  # noqa: E402
from napari_patchwise.engine.plan.classes import parse_classes  # noqa: E402
from napari_patchwise.engine.plan.project import create_project, open_project  # noqa: E402


def _project(tmp_path, mag=1, name="p"):
    rng = np.random.default_rng(0)
    image = rng.random((24, 32, 32)).astype(np.float32)
    np.save(tmp_path / "img.npy", image)
    plan = Plan(ImageRef(image.shape, path=str(tmp_path / "img.npy")), magnification=mag,
                classes=parse_classes("membrane:semantic"))
    plan = plan.add_boxes([((0, 0, 0), (8, 16, 16)), ((8, 16, 16), (16, 32, 32))])
    return create_project(tmp_path / name, plan)


def _mask(shape, *points):
    m = np.zeros(shape, np.uint8)
    for p in points:
        m[p] = 1
    return m


def _arrays(proj):
    """The class's correction arrays that exist (none before the first import)."""
    _, group = open_project(proj)
    return {k: np.asarray(a[:]) for k, a in correction_arrays(group, "membrane", create=False).items()}


def test_box_names():
    assert parse_box_name("box_0003") == (None, 3)
    assert parse_box_name("box12") == (None, 12)
    assert parse_box_name("cell_t000_box_0002") == ("cell_t000", 2)
    assert parse_box_name("tomo_patch3") is None


def test_masks_summed_binarised_and_placed_in_their_box(tmp_path):
    proj = _project(tmp_path)
    c = tmp_path / "c" / "box_0002"
    c.mkdir(parents=True)
    write_nrrd(c / "Add1.nrrd", _mask((8, 16, 16), (1, 1, 1)))
    write_nrrd(c / "add_2.nrrd", _mask((8, 16, 16), (1, 1, 1), (2, 2, 2)) * 3)
    write_nrrd(c / "Remove.nrrd", _mask((8, 16, 16), (0, 0, 0)))
    (c / "notes.txt").write_text("x")
    report = import_corrections(ImportCorrectionsRequest(proj, tmp_path / "c"))
    assert [(b.image, b.box_id) for b in report.boxes] == [("img", 2)]
    assert report.boxes[0].counts == {"remove": (1, 1), "add": (2, 2), "ignore": (0, 0)}
    assert [p.name for p in report.not_masks] == ["notes.txt"]
    arrays = _arrays(proj)
    want = np.zeros((24, 32, 32), np.uint8)
    want[9, 17, 17] = want[10, 18, 18] = 1
    np.testing.assert_array_equal(arrays["add"], want)
    assert arrays["remove"][8, 16, 16] == 1 and arrays["remove"].sum() == 1
    assert arrays["ignore"].sum() == 0


def test_mask_shape_is_the_box_at_the_magnification(tmp_path):
    proj = _project(tmp_path, mag=(1, 2, 2))
    c = tmp_path / "c" / "box_0001"
    c.mkdir(parents=True)
    write_nrrd(c / "Add.nrrd", _mask((8, 16, 16), (1, 1, 1)))
    with pytest.raises(ValueError, match=r"shape \(8, 16, 16\).*\(8, 8, 8\)"):
        import_corrections(ImportCorrectionsRequest(proj, tmp_path / "c"))
    assert not any(a.any() for a in _arrays(proj).values())
    write_nrrd(c / "Add.nrrd", _mask((8, 8, 8), (1, 1, 1)), overwrite=True)
    import_corrections(ImportCorrectionsRequest(proj, tmp_path / "c"))
    assert _arrays(proj)["add"][1, 1, 1] == 1


@pytest.mark.parametrize("folder, reason", [("patch3", "not a box name"), ("box_0009", "has no box 9"),
                                            ("other_box_0001", "no image 'other'")])
def test_unknown_names_are_refused_and_nothing_is_written(tmp_path, folder, reason):
    proj = _project(tmp_path)
    for name in ("box_0001", folder):
        (tmp_path / "c" / name).mkdir(parents=True)
        write_nrrd(tmp_path / "c" / name / "Add.nrrd", _mask((8, 16, 16), (1, 1, 1)))
    with pytest.raises(ValueError, match=reason):
        import_corrections(ImportCorrectionsRequest(proj, tmp_path / "c"))
    assert not any(a.any() for a in _arrays(proj).values())


def test_existing_corrections_are_kept_unless_replaced(tmp_path):
    proj = _project(tmp_path)
    c = tmp_path / "c" / "box_0001"
    c.mkdir(parents=True)
    write_nrrd(c / "Ignore.nrrd", _mask((8, 16, 16), (3, 3, 3)))
    import_corrections(ImportCorrectionsRequest(proj, tmp_path / "c"))
    (c / "Ignore.nrrd").unlink()
    write_nrrd(c / "Add.nrrd", _mask((8, 16, 16), (4, 4, 4)))
    with pytest.raises(ValueError, match="already have 'membrane' corrections: box_0001.*--replace"):
        import_corrections(ImportCorrectionsRequest(proj, tmp_path / "c"))
    assert _arrays(proj)["ignore"][3, 3, 3] == 1 and _arrays(proj)["add"].sum() == 0
    import_corrections(ImportCorrectionsRequest(proj, tmp_path / "c", replace=True))
    arrays = _arrays(proj)
    assert arrays["ignore"].sum() == 0  # the box's corrections are the folder's now
    assert arrays["add"][4, 4, 4] == 1 and arrays["add"].sum() == 1


def test_round_trip_gives_the_labels_merge_corrections_gives(tmp_path):
    proj = _project(tmp_path)
    plan, group = open_project(proj)
    base = np.zeros((24, 32, 32), np.uint8)
    base[2:6, 2:12, 4] = 1
    base[10:14, 20:30, 22] = 1
    group["membrane"][:] = base
    background = base == 0
    background[:4] = False  # nobody annotated these planes: the label patch says 2 there, as training reads them
    group["background"][:] = background
    out = tmp_path / "mitk"
    names = export_correction_patches(ExportCorrectionsRequest(proj, out))
    assert names == ("box_0001", "box_0002")
    image = read_volume(out / "images" / "box_0001.nrrd")
    assert image.data.shape == (8, 16, 16)
    rng = np.random.default_rng(1)
    for name in names:
        for kind in ("Add", "Remove", "Ignore"):
            for n in range(2):
                write_nrrd(out / "corrections" / name / f"{kind}{n}.nrrd",
                           (rng.random((8, 16, 16)) > 0.93).astype(np.uint8))
    import_corrections(ImportCorrectionsRequest(proj, out / "corrections"))
    merge_corrections(MergeCorrectionsRequest(out / "labels", out / "corrections", tmp_path / "merged", border=2))
    arrays = _arrays(proj)
    for box in plan.boxes:
        region = box.slices(plan.magnification)
        patch = np.where(base[region] > 0, 1, np.where(background[region], 0, 2))
        mine = merge_masks(patch, border=2, **{k: arrays[k][region] for k in arrays})
        theirs = np.asarray(read_volume(tmp_path / "merged" / f"box_{box.id:04d}.nii.gz").data)
        np.testing.assert_array_equal(mine, theirs)
        assert 0 < (theirs == 1).sum() and (theirs[:2] == 2).all() and (theirs[2:-2, 2:-2, 2:-2] != 2).any()


def test_export_refuses_a_folder_that_holds_anything(tmp_path):
    proj = _project(tmp_path)
    (tmp_path / "mitk").mkdir()
    (tmp_path / "mitk" / "keep.txt").write_text("x")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        export_correction_patches(ExportCorrectionsRequest(proj, tmp_path / "mitk"))
    assert [p.name for p in Path(tmp_path / "mitk").iterdir()] == ["keep.txt"]
