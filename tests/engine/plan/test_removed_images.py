"""A removed image keeps its arrays in removed/ until purged; restore puts it back as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import ANNOTATIONS, open_annotations
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.plan_file import ProjectError, load_collection
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.project_images import add_image, remove_image
from napari_patchwise.engine.plan.removed_images import (
    REMOVED, purge_removed, removed_images, restore_image,
)

from project_helpers import make_plan


@pytest.fixture
def two(tmp_path) -> Path:
    a = make_plan()
    b = Plan(ImageRef((10, 30, 40), "uint8", (5.0, 4.0, 4.0), path="/data/fib crop.zarr", unit="nm"),
             a.preset, a.magnification, a.classes)
    b, _ = b.add_box((0, 0, 0), (10, 20, 20), notes="fib")
    folder = create_project(tmp_path / "p", Collection.from_plan(a).add_image(b, domain="fib-sem"))
    group = open_annotations(folder, image="fib_crop")
    group["nuclei"][0, 0, :5] = 3
    group["background"][1, :2, :2] = 1
    return folder


def test_removal_keeps_the_arrays_until_purged(two):
    before = load_collection(two).image("fib_crop")
    painted = np.asarray(open_annotations(two, image="fib_crop", mode="r")["nuclei"][:])
    assert remove_image(two, "fib_crop", confirm=True) == 9
    assert load_collection(two).names == ("raw",)
    assert not (two / ANNOTATIONS / "fib_crop").exists()
    [kept] = removed_images(two)
    assert (kept.name, kept.voxels) == ("fib_crop", 9)
    assert (kept.folder / "layers").is_dir()

    assert restore_image(two, "fib_crop") == "fib_crop"
    assert load_collection(two).image("fib_crop") == before  # boxes, reference and domain back
    back = np.asarray(open_annotations(two, image="fib_crop", mode="r")["nuclei"][:])
    np.testing.assert_array_equal(back, painted)
    assert removed_images(two) == [] and not any((two / REMOVED).iterdir())

    remove_image(two, "fib_crop", confirm=True)
    [gone] = purge_removed(two)
    assert gone.voxels == 9 and not (two / REMOVED).exists()
    with pytest.raises(ProjectError, match="no removed image named 'fib_crop'.*removed images: none"):
        restore_image(two, "fib_crop")


def test_restore_refuses_a_name_taken_again(two):
    remove_image(two, "fib_crop", confirm=True)
    other = make_plan().replace(image=ImageRef((4, 8, 8), path="/data/other.tif"))
    add_image(two, other, name="fib_crop")
    with pytest.raises(ProjectError, match="cannot restore image 'fib_crop'.*already has an image named 'fib_crop'"):
        restore_image(two, "fib_crop")
    assert [r.name for r in removed_images(two)] == ["fib_crop"]  # still waiting
    remove_image(two, "fib_crop")  # the new one (empty) goes too
    assert [r.voxels for r in removed_images(two)] == [9, 0]
    restore_image(two, "fib_crop")  # the newest removal comes back
    assert load_collection(two).plan("fib_crop").image.path == "/data/other.tif"
    assert [r.voxels for r in purge_removed(two, "fib_crop")] == [9]


def test_restore_refuses_an_image_that_no_longer_fits(two):
    remove_image(two, "fib_crop", confirm=True)
    coll = load_collection(two)
    plan = coll.plan("raw").replace(classes=(ClassSpec("cells"),))
    from napari_patchwise.engine.plan.project_images import save_collection
    save_collection(two, Collection.from_plan(plan, "raw"))
    with pytest.raises(ProjectError, match="cannot restore image 'fib_crop'.*every image of a project shares"):
        restore_image(two, "fib_crop")
    assert load_collection(two).names == ("raw",)
    assert (removed_images(two)[0].folder / "layers").is_dir()


def test_purge_of_a_name_not_removed_is_refused(two):
    with pytest.raises(ProjectError, match="no removed image named 'x'"):
        purge_removed(two, "x")
    assert purge_removed(two) == []
