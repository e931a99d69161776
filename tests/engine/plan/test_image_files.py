"""Image arguments: files, folders of images and globs expanded in a fixed order."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.image_files import expand_image_args, held_image, image_key


@pytest.fixture
def files(tmp_path) -> Path:
    for name in ("b.tif", "a.TIF", "c.h5", "notes.txt", ".hidden.tif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "store.zarr").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.tif").write_bytes(b"")
    return tmp_path


def names(specs):
    return [Path(s).name for s in specs]


def test_a_folder_gives_its_images_sorted_and_a_zarr_store_is_one_image(files):
    assert names(expand_image_args([files])) == ["a.TIF", "b.tif", "c.h5", "store.zarr"]
    assert names(expand_image_args([files / "store.zarr"])) == ["store.zarr"]


def test_globs_files_and_hdf5_datasets_in_the_order_given_each_once(files):
    specs = expand_image_args([f"{files}/sub/*.tif", str(files / "b.tif"), f"{files}/*.tif",
                               f"{files}/c.h5:raw", f"{files}/c.h5:label", str(files / "sub/../b.tif")])
    assert names(specs) == ["d.tif", "b.tif", "c.h5:raw", "c.h5:label"]


@pytest.mark.parametrize("arg, error, phrase", [
    ("missing.tif", FileNotFoundError, "no image at"),
    ("*.nothing", FileNotFoundError, "matches no file"),
    ("sub2", ValueError, "holds no image"),
])
def test_what_names_no_image_is_refused_by_name(files, arg, error, phrase):
    (files / "sub2").mkdir()
    with pytest.raises(error, match=phrase):
        expand_image_args([files / "b.tif", str(files / arg) if arg != "*.nothing" else f"{files}/{arg}"])


def test_no_argument_is_refused():
    with pytest.raises(ValueError, match="no image given"):
        expand_image_args([])


def test_held_image_matches_the_file_and_dataset_whatever_the_spelling(files):
    coll = Collection.from_plan(Plan(ImageRef((4, 8, 8), path=str(files / "b.tif"))))
    coll = coll.add_image(Plan(ImageRef((4, 8, 8), path="c.h5", dataset="raw")))  # relative to the project
    assert held_image(coll, image_key(files / "sub" / ".." / "b.tif")) == "b"
    assert held_image(coll, image_key(files / "c.h5", "raw"), folder=files) == "c"
    assert held_image(coll, image_key(files / "c.h5", "label"), folder=files) is None
    assert held_image(coll, image_key(files / "a.TIF")) is None
