"""What the engine refuses (with a message naming the fix) instead of accepting silently."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.geometry.box import Box, as_box_id
from napari_patchwise.engine.export.model import ExportContext, ExportError, ExportOptions
from napari_patchwise.engine.export.run import export_project
from napari_patchwise.engine.plan.paths import PathError, check_name_fits, os_error_reason
from napari_patchwise.engine.plan.plan_file import ProjectError, load_plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.seed.run import import_into_boxes
from napari_patchwise.engine.plan.store_check import damaged_chunks, damaged_message


def _tree(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("value", [0, -5, "3", True, 2.5, float("nan"), None])
def test_box_ids_that_are_not_positive_whole_numbers_are_refused(value):
    with pytest.raises(ValueError, match="box id must be a whole number >= 1"):
        as_box_id(value)


@pytest.mark.parametrize("box_id", [0, -5])
def test_a_plan_refuses_boxes_with_ids_below_1(box_id):
    with pytest.raises(ValueError, match=f"got {box_id}"):
        Plan(ImageRef((8, 8, 8)), boxes=(Box(box_id, (0, 0, 0), (4, 4, 4)),))


def test_a_text_shape_is_refused_not_read_character_by_character():
    with pytest.raises(ValueError, match="image shape must be a list of three numbers .* the text '128'"):
        ImageRef("128")


def test_plan_json_with_box_id_0_is_refused_on_load(tmp_path):
    plan = Plan(ImageRef((8, 8, 8))).add_boxes([((0, 0, 0), (4, 4, 4))])
    folder = create_project(tmp_path / "p", plan)
    text = (folder / "plan.json").read_text().replace('"id": 1', '"id": 0')
    (folder / "plan.json").write_text(text)
    with pytest.raises(ProjectError, match=r"boxes\[0\]: box id must be a whole number >= 1; got 0"):
        load_plan(folder)


@pytest.mark.parametrize("size", [(0, 0, 0), (16, 0, 16), (-1, 8, 8), "abc"])
def test_a_patch_size_without_voxels_is_refused(size):
    with pytest.raises(ExportError, match="patch_size"):
        ExportContext(Plan(ImageRef((8, 8, 8))), patch_size=size)


def test_negative_min_masks_is_refused():
    with pytest.raises(ExportError, match="min_masks"):
        ExportContext(Plan(ImageRef((8, 8, 8))), min_masks=-1)


@pytest.fixture
def seeded(tmp_path):
    """A two-box project whose box 1 holds seeds (ids 1 and 2)."""
    from napari_patchwise.engine.io.tiff_write import write_tiff

    plan = Plan(ImageRef((8, 16, 16), path="image.tif"), get_preset("custom", minimum=(4, 4, 4))).add_boxes(
        [((0, 0, 0), (8, 8, 8)), ((0, 8, 8), (8, 16, 16))])
    folder = create_project(tmp_path / "p", plan)
    write_tiff(folder / "image.tif", np.zeros((8, 16, 16), "uint16"), (1.0, 1.0, 1.0))
    group = open_annotations(folder, plan)
    labels = np.zeros(plan.annotation_shape, np.int32)
    labels[1:3, 1:3, 1:3] = 1
    labels[4:6, 4:6, 4:6] = 2
    import_into_boxes(plan, group, labels, box_ids=[1])
    return folder, plan, group


def test_negative_imported_labels_are_refused_before_anything_is_written(seeded):
    folder, plan, group = seeded
    before = _tree(folder)
    labels = np.zeros(plan.annotation_shape, np.int32)
    labels[:, 8:, 8:] = 3   # box 2 is fine, box 1 holds a -1 border: nothing at all is written
    labels[0, :8, :8] = -1
    with pytest.raises(ValueError, match="negative values in box 1 .*-1.*Nothing was written"):
        import_into_boxes(plan, group, labels)
    assert _tree(folder) == before


def test_float_imported_labels_are_refused(seeded):
    _, plan, group = seeded
    with pytest.raises(ValueError, match="float64 values"):
        import_into_boxes(plan, group, np.zeros(plan.annotation_shape))


def test_an_export_into_the_project_store_is_refused_and_writes_nothing(seeded):
    folder, plan, _ = seeded
    before = _tree(folder)
    with pytest.raises(ExportError, match="lies inside the project's annotations.zarr"):
        export_project(folder, folder / "annotations.zarr" / "export", ExportOptions())
    assert _tree(folder) == before
    assert not (folder / "annotations.zarr" / "export").exists()


def test_an_export_with_a_too_long_dataset_name_names_that_reason(seeded, tmp_path):
    folder, _, _ = seeded
    options = ExportOptions(context={"dataset_name": "n" * 300})
    with pytest.raises(ExportError, match="311 characters long; the file system allows at most"):
        export_project(folder, tmp_path / "out", options)


def test_names_that_fit_pass(tmp_path):
    check_name_fits(tmp_path, "Dataset501_Patchwise", "the nnU-Net folder name", reserve=18)
    with pytest.raises(PathError, match="Choose a shorter name"):
        check_name_fits(tmp_path, "x" * 256, "the name")


@pytest.mark.parametrize("code, phrase", [(errno.ENOSPC, "the disk is full"),
                                          (errno.ENAMETOOLONG, "longer than the file system allows"),
                                          (errno.EACCES, "permission denied")])
def test_os_errors_are_said_with_their_reason(code, phrase):
    assert phrase in os_error_reason(OSError(code, "x", "/some/file"))


def test_damaged_chunks_are_named_with_their_boxes(seeded):
    folder, plan, _ = seeded
    assert damaged_chunks(folder) == []
    chunk = folder / "annotations.zarr" / "image" / "nuclei" / "c" / "0" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[:5])
    found = damaged_chunks(folder)
    assert [(c.array, c.key) for c in found] == [("image/nuclei", "c/0/0/0")]
    text = damaged_message(folder, found, plan)
    assert "boxes 1, 2" in text and "--boxes 1,2" in text and "plan.json.bak" in text


def test_an_unreachable_scheduler_is_named(monkeypatch):
    pytest.importorskip("distributed")
    import dask

    from napari_patchwise.engine.propose._daskrun import SchedulerError, _compute

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(SchedulerError, match="cannot reach the dask scheduler at 'tcp://127.0.0.1:9'"):
            _compute([dask.delayed(1)], "tcp://127.0.0.1:9", None)
