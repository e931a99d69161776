"""Image files joining a project (the Plan step's *Add images…*) and the counts of its image list."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.image_adding import add_image_files
from napari_patchwise.engine.plan.image_stats import image_stats, summary_text
from napari_patchwise.engine.plan.plan_file import ProjectError, load_collection
from napari_patchwise.engine.plan.project import create_project, open_annotations


@pytest.fixture
def folder(tmp_path):
    plan = Plan(ImageRef((8, 32, 32), "uint8", (2.0, 0.5, 0.5), path=str(tmp_path / "a.tif")),
                get_preset("custom", minimum=(4, 16, 16)), magnification=(1, 2, 2), box_size=(4, 16, 16))
    write_tiff(tmp_path / "a.tif", np.zeros((8, 32, 32), np.uint8), (2.0, 0.5, 0.5))
    return create_project(tmp_path / "proj", plan.add_boxes([((0, 0, 0), (4, 16, 16))]))


def test_a_time_lapse_adds_one_image_per_time_point_and_channels_are_kept(folder, tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "movie.tif", np.zeros((3, 4, 24, 24), np.uint8), imagej=True,
                     metadata={"axes": "TZYX"})
    tifffile.imwrite(tmp_path / "two.tif", np.zeros((4, 2, 24, 24), np.uint8), imagej=True,
                     metadata={"axes": "ZCYX"})
    result = add_image_files(folder, [str(tmp_path / "movie.tif"), str(tmp_path / "two.tif")])
    assert result.added == ("movie_t000", "movie_t001", "movie_t002", "two")
    coll = load_collection(folder)
    assert [coll.plan(n).image.time for n in result.added[:3]] == [0, 1, 2]
    two = coll.plan("two").image
    assert (two.shape, two.channels, two.channel, two.file_axes) == ((4, 24, 24), 2, None, "ZCYX")
    again = add_image_files(folder, [str(tmp_path / "movie.tif")])
    assert again.added == () and [n for _, n in again.skipped] == ["movie_t000", "movie_t001", "movie_t002"]


def test_added_images_take_the_projects_settings_and_their_own_voxel_size(folder, tmp_path):
    write_tiff(tmp_path / "b.tif", np.zeros((6, 40, 40), np.uint16), (1.0, 0.25, 0.25))
    write_tiff(tmp_path / "c.tif", np.zeros((4, 20, 20), np.uint8))
    result = add_image_files(folder, [str(tmp_path / "b.tif"), str(tmp_path / "c.tif"), str(tmp_path / "a.tif")])
    assert result.added == ("b", "c")
    assert result.skipped == ((str(tmp_path / "a.tif"), "a"),)
    assert len(result.notes) == 1 and result.notes[0].startswith("c: the file records no voxel size")
    coll = load_collection(folder)
    a, b, c = (coll.plan(n) for n in ("a", "b", "c"))
    assert b.image.shape == (6, 40, 40) and b.image.dtype == "uint16" and b.image.voxel_size == (1.0, 0.25, 0.25)
    assert not c.image.voxel_size_known and c.image.unit == "pixel"
    for p in (b, c):
        assert (p.preset, p.magnification, p.classes, p.box_size) == (a.preset, a.magnification, a.classes, a.box_size)
        assert not p.boxes
    assert open_annotations(folder, image="b", mode="r")["nuclei"].shape == (6, 20, 20)  # at the magnification


def test_a_file_that_cannot_be_read_adds_nothing(folder, tmp_path):
    write_tiff(tmp_path / "b.tif", np.zeros((6, 40, 40), np.uint16))
    (tmp_path / "bad.tif").write_bytes(b"not a tiff")
    before = (folder / "plan.json").read_bytes()
    with pytest.raises(ProjectError, match="nothing was added"):
        add_image_files(folder, [str(tmp_path / "b.tif"), str(tmp_path / "bad.tif")])
    with pytest.raises(ProjectError, match="no image at"):
        add_image_files(folder, [str(tmp_path / "missing.tif")])
    assert (folder / "plan.json").read_bytes() == before


def test_the_counts_follow_boxes_labels_and_strata(folder, tmp_path):
    write_tiff(tmp_path / "b.tif", np.zeros((6, 40, 40), np.uint16))
    add_image_files(folder, [str(tmp_path / "b.tif")])
    assert summary_text(image_stats(folder)) == "2 images · 1 box · 0 annotated voxels"
    open_annotations(folder, image="b")["background"][0, :2, :3] = 1
    stats = image_stats(folder)
    assert [(s.name, s.boxes, s.annotated) for s in stats] == [("a", 1, 0), ("b", 0, 6)]
    assert summary_text(stats) == "2 images · 1 box · 6 annotated voxels"
