"""Correction masks applied to a class: precedence, regions, composition, check and export, the store."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.corrections import correction_arrays, has_corrections
from napari_patchwise.engine.corrections.apply import correct_class
from napari_patchwise.engine.export import CaseOutput, ExportOptions, export_project
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation import compose
from napari_patchwise.engine.plan.annotation_store import annotation_layers, open_annotations
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.project import create_project, save_plan
from napari_patchwise.engine.qc.checks import check_project

KINDS = ("base", "remove", "add", "ignore")


def _reference(base, remove, add, ignore):
    """MemBrain-seg's order written out voxel by voxel: ignore over add over remove over the class."""
    if ignore:
        return "ignore"
    if add:
        return "class"
    if remove:
        return "background"
    return "class" if base else "unannotated"


def _every_combination():
    """One voxel per combination of base / remove / add / ignore (16 voxels in a row)."""
    combos = list(itertools.product((0, 1), repeat=4))
    arrays = {k: np.array([[[c[i] for c in combos]]], np.uint8) for i, k in enumerate(KINDS)}
    return combos, arrays


def test_every_combination_of_masks_matches_the_reference():
    combos, a = _every_combination()
    fixed = correct_class(a["base"], {k: a[k] for k in KINDS[1:]})
    comp = compose({"m": a["base"], **{f"corrections/m/{k}": a[k] for k in KINDS[1:]}}, ["m"])
    meaning = {-1: "unannotated", 0: "background", 1: "class", 2: "ignore"}
    for i, c in enumerate(combos):
        want = _reference(*c)
        assert meaning[int(comp.classmap[0, 0, i])] == want, c
        assert int(fixed.ids[0, 0, i]) == (1 if want == "class" else 0), c
        assert bool(fixed.ignore[0, 0, i]) == (want == "ignore"), c
        assert bool(fixed.removed[0, 0, i]) == (want == "background"), c
    assert set(meaning[v] for v in comp.classmap.ravel().tolist()) == set(meaning.values())


def test_missing_kinds_are_empty_masks():
    combos, a = _every_combination()
    only_remove = correct_class(a["base"], {"remove": a["remove"]})
    assert only_remove.ids.tolist() == ((a["base"] > 0) & (a["remove"] == 0)).astype(np.uint8).tolist()
    assert not only_remove.ignore.any()


def test_region_by_region_equals_the_whole_volume():
    rng = np.random.default_rng(3)
    shape = (6, 11, 13)
    base = (rng.random(shape) < 0.4).astype(np.uint8)
    masks = {k: (rng.random(shape) < 0.2).astype(np.uint8) for k in ("remove", "add", "ignore")}
    whole = correct_class(base, masks)
    layers = {"m": base, "background": (rng.random(shape) < 0.3).astype(np.uint8),
              **{f"corrections/m/{k}": v for k, v in masks.items()}}
    whole_comp = compose(layers, ["m"])
    for _ in range(20):
        lo = rng.integers(0, shape)
        hi = [int(rng.integers(l + 1, s + 1)) for l, s in zip(lo, shape)]
        region = tuple(slice(int(a), b) for a, b in zip(lo, hi))
        part = correct_class(base, masks, region)
        assert np.array_equal(part.ids, whole.ids[region])
        assert np.array_equal(part.ignore, whole.ignore[region])
        assert np.array_equal(part.removed, whole.removed[region])
        assert np.array_equal(compose(layers, ["m"], region).classmap, whole_comp.classmap[region])


def test_instance_class_keeps_ids_and_refuses_add_outside_objects():
    ids = np.array([[[0, 4, 4, 9, 9]]], np.uint32)
    fixed = correct_class(ids, {"remove": np.array([[[0, 0, 1, 0, 0]]]), "add": np.array([[[0, 1, 0, 0, 0]]]),
                                "ignore": np.array([[[0, 0, 0, 0, 1]]])}, instance=True)
    assert fixed.ids.tolist() == [[[0, 4, 0, 9, 0]]] and fixed.ids.dtype == np.uint32
    with pytest.raises(ValueError, match="outside its objects"):
        correct_class(ids, {"add": np.array([[[1, 0, 0, 0, 0]]])}, instance=True, name="'cells'")


def test_a_mask_of_another_shape_is_refused():
    with pytest.raises(ValueError, match="shape"):
        correct_class(np.zeros((1, 2, 2)), {"add": np.zeros((1, 2, 3))})


def test_remove_under_another_class_leaves_that_class():
    a = np.array([[[1, 1, 0]]], np.uint8)
    b = np.array([[[0, 1, 1]]], np.uint8)
    comp = compose({"a": a, "b": b, "corrections/a/remove": np.array([[[0, 1, 1]]], np.uint8)}, ["a", "b"])
    assert comp.classmap.tolist() == [[[1, 2, 2]]]
    assert not comp.overlap.any()


# ------------------------------------------------------------------ a project
SHAPE = (16, 64, 64)


def _project(tmp_path):
    folder = tmp_path / "proj"
    plan = Plan(ImageRef(SHAPE, "uint16", (1.0, 1.0, 1.0), path="image.tif"),
                get_preset("custom", minimum=(8, 16, 16)), (1, 1, 1), (ClassSpec("membrane", kind="semantic"),))
    plan, _ = plan.add_box((0, 0, 0), (16, 32, 32), stratum="dense")
    create_project(folder, plan)
    write_tiff(folder / "image.tif", np.random.default_rng(0).integers(0, 1000, SHAPE).astype(np.uint16),
               (1.0, 1.0, 1.0))
    group = open_annotations(folder, plan)
    group["background"][:, :32, :32] = 1
    base = np.zeros(SHAPE, np.uint8)
    base[4:12, 8:24, 8:24] = 1
    group["membrane"][:] = base
    group["background"][:] = np.where(base > 0, 0, group["background"][:])
    return folder, plan


def _correct(folder, plan):
    group = open_annotations(folder, plan)
    arrays = correction_arrays(group, "membrane")
    arrays["remove"][4:12, 8:16, 8:24] = 1
    arrays["add"][4:12, 24:28, 8:24] = 1
    arrays["ignore"][0:2, 0:32, 0:32] = 1
    return group


def _expected():
    want = np.zeros((16, 32, 32), np.int16)  # background everywhere in the box
    want[4:12, 16:28, 8:24] = 1
    want[0:2] = 2
    return want


def test_annotation_layers_carry_the_masks_and_compose_applies_them(tmp_path):
    folder, plan = _project(tmp_path)
    assert not any(k.startswith("corrections/") for k in annotation_layers(open_annotations(folder, plan), plan))
    group = _correct(folder, plan)
    layers = annotation_layers(group, plan)
    assert sorted(k for k in layers if k.startswith("corrections/")) == [
        "corrections/membrane/add", "corrections/membrane/ignore", "corrections/membrane/remove"]
    comp = compose(layers, ["membrane"], plan.box(1).slices(plan.magnification))
    assert np.array_equal(comp.classmap, _expected())


def test_check_and_export_see_the_corrected_class(tmp_path):
    folder, plan = _project(tmp_path)
    _, _, before = check_project(folder)
    _correct(folder, plan)
    _, _, after = check_project(folder)
    assert before.boxes[1].counts["ignore"] == 0 and before.boxes[1].counts["membrane"] == 8 * 16 * 16
    assert after.boxes[1].counts["ignore"] == 2 * 32 * 32
    assert after.boxes[1].counts["membrane"] == int((_expected() == 1).sum())
    seen = {}

    def write_case(root, crop, ctx):
        seen[crop.case] = crop.composition.classmap.copy()
        Path(root).mkdir(parents=True, exist_ok=True)
        return CaseOutput((), ())

    writer = SimpleNamespace(SETTINGS=(), folder_name=lambda ctx: "Set", write_case=write_case, finish=lambda r, c, x: (),
                             label_mapping=lambda ctx: {"background": 0, "membrane": 1, "ignore": 2})
    export_project(folder, tmp_path / "out", ExportOptions(formats=("nnunet",), fractions=(1.0, 0.0, 0.0)), writers={"nnunet": writer})
    assert list(seen) == ["box_0001"]
    assert np.array_equal(seen["box_0001"], _expected())


def test_saving_the_plan_keeps_the_masks(tmp_path):
    folder, plan = _project(tmp_path)
    _correct(folder, plan)
    save_plan(folder, load_plan(folder))
    group = open_annotations(folder, mode="r")
    assert has_corrections(group, "membrane")
    assert int(np.asarray(group["corrections/membrane/add"][:]).sum()) == 8 * 4 * 16


def test_a_new_magnification_refuses_while_masks_are_painted(tmp_path):
    from napari_patchwise.engine.plan.plan_file import ProjectError

    folder, plan = _project(tmp_path)
    group = open_annotations(folder, plan)
    group["membrane"][:] = 0
    group["background"][:] = 0
    arrays = correction_arrays(group, "membrane")
    arrays["ignore"][0, 0, 0] = 1
    with pytest.raises(ProjectError, match="corrections/membrane/ignore"):
        save_plan(folder, _replace_mag(plan))
    arrays["ignore"][0, 0, 0] = 0
    save_plan(folder, _replace_mag(plan))
    assert not has_corrections(open_annotations(folder, mode="r"), "membrane")


def _replace_mag(plan):
    import dataclasses

    return dataclasses.replace(plan, magnification=(1, 2, 2), boxes=())


def test_removing_and_restoring_an_image_keeps_its_masks(tmp_path):
    from napari_patchwise.engine.plan.plan_file import ProjectError
    from napari_patchwise.engine.plan.project_images import add_image, remove_image
    from napari_patchwise.engine.plan.removed_images import restore_image

    folder = create_project(tmp_path / "p", Plan(ImageRef((4, 8, 8), path="a.tif")))
    add_image(folder, Plan(ImageRef((2, 8, 8), path="b.tif")))
    arrays = correction_arrays(open_annotations(folder, image="b"), "nuclei")
    arrays["ignore"][0, 0, :3] = 1  # only a mask is painted: the image still holds work
    with pytest.raises(ProjectError, match="3 annotated voxels"):
        remove_image(folder, "b")
    assert remove_image(folder, "b", confirm=True) == 3
    assert restore_image(folder, "b") == "b"
    group = open_annotations(folder, image="b", mode="r")
    assert int(np.asarray(group["corrections/nuclei/ignore"][:]).sum()) == 3


def test_box_checks_read_an_instance_class_after_its_corrections(tmp_path):
    folder = tmp_path / "inst"
    plan = Plan(ImageRef((8, 32, 32), "uint16", (1.0, 1.0, 1.0), path="image.tif"),
                get_preset("custom", minimum=(8, 16, 16)), (1, 1, 1), (ClassSpec("cells"),))
    plan, _ = plan.add_box((0, 0, 0), (8, 32, 32))
    create_project(folder, plan)
    write_tiff(folder / "image.tif", np.zeros((8, 32, 32), np.uint16), (1.0, 1.0, 1.0))
    group = open_annotations(folder, plan)
    cells = np.zeros((8, 32, 32), np.uint32)
    cells[2:6, 4:10, 4:10] = 1
    cells[2:6, 4:10, 10:16] = 2  # touches cell 1
    group["cells"][:] = cells
    _, _, report = check_project(folder)
    assert len(report.boxes[1].touching["cells"])
    correction_arrays(group, "cells")["remove"][2:6, 4:10, 10:11] = 1  # a gap between them
    _, _, report = check_project(folder)
    assert not len(report.boxes[1].touching["cells"])
    assert report.boxes[1].objects["cells"] == {1, 2}
