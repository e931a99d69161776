"""A project is a collection of images: the schema, version 1 projects read and migrated,
images added and removed, and one image's plan used as before."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import ANNOTATIONS, open_annotations
from napari_patchwise.engine.plan.collection import (
    COLLECTION_VERSION, Collection, ImageEntry, default_image_name,
)
from napari_patchwise.engine.plan.plan_file import ProjectError, load_collection, load_plan
from napari_patchwise.engine.plan.project import create_project, open_project, save_plan
from napari_patchwise.engine.plan.project_images import (
    add_image, annotated_voxels, remove_image, save_collection,
)
from napari_patchwise.engine.plan import store_layout

from project_helpers import ANN_SHAPE, make_plan, make_v1_project, snapshot


def two_images() -> Collection:
    a = make_plan()
    b = Plan(ImageRef((10, 30, 40), "uint8", (5.0, 4.0, 4.0), path="/data/fib crop.zarr", unit="nm"),
             a.preset, a.magnification, a.classes)
    b, _ = b.add_box((0, 0, 0), (10, 20, 20), notes="fib")
    return Collection.from_plan(a).add_image(b, domain="fib-sem")


# ------------------------------------------------------------------ the schema
def test_round_trip_keeps_every_image():
    coll = two_images()
    d = coll.to_dict()
    assert d["version"] == COLLECTION_VERSION == 2
    assert [e["name"] for e in d["images"]] == ["raw", "fib_crop"]
    assert [e["domain"] for e in d["images"]] == [None, "fib-sem"]
    assert "boxes" not in d and "classes" not in d["images"][0]  # shared once, boxes per image
    back = Collection.from_dict(json.loads(json.dumps(d)))
    assert back == coll
    assert back.plan("fib_crop").boxes[0].notes == "fib"
    assert back.plan("raw") == make_plan()


@pytest.mark.parametrize("change, phrase", [
    (lambda d: d["images"].append(dict(d["images"][0])), "two images are named 'raw' and 'raw'"),
    (lambda d: d["images"][1].__setitem__("name", "RAW"), "two images are named 'raw' and 'RAW'"),
    (lambda d: d["images"][1].__setitem__("name", "../up"), "not a safe file name"),
    (lambda d: d["images"][1].__setitem__("name", None), "not a safe file name"),
    (lambda d: d.__setitem__("images", []), "at least one image"),
    (lambda d: d["images"][1]["image"].__setitem__("shape", "128"), r"images\[1\] \('fib_crop'\): .*got the text"),
    (lambda d: d["images"][1]["boxes"][0].__setitem__("id", 0), r"images\[1\] \('fib_crop'\): boxes\[0\]"),
    (lambda d: d.pop("classes"), "missing entry 'classes'"),
    (lambda d: d.__setitem__("version", 3), "version 3 is not supported.*upgrade"),
    (lambda d: d.__setitem__("version", "2"), "whole number"),
])
def test_bad_collections_are_refused_with_the_reason(change, phrase):
    d = json.loads(json.dumps(two_images().to_dict()))
    change(d)
    with pytest.raises(ValueError, match=phrase):
        Collection.from_dict(d)


def test_every_image_shares_classes_and_magnification():
    coll = Collection.from_plan(make_plan())
    other = make_plan(classes=(ClassSpec("cells"),))
    with pytest.raises(ValueError, match=r"image 'x' has classes \['cells'\].*image 'raw' has classes "
                       r"\['nuclei', 'mito'\].*give 'x' the same ones"):
        coll.add_image(other, "x")
    with pytest.raises(ValueError, match="magnification"):
        coll.add_image(make_plan(magnification=(1, 1, 1)), "x")
    # one image alone may change its classes (a class added in the dock)
    assert Collection.from_plan(make_plan()).replace("raw", other).plan("raw").classes == other.classes
    with pytest.raises(ValueError, match="image 'raw' has classes"):
        two_images().replace("raw", other)


def test_names_edits_and_lookups():
    coll = two_images()
    assert coll.add_image(make_plan()).names == ("raw", "fib_crop", "raw_2")
    with pytest.raises(ValueError, match="already has an image named 'raw'"):
        coll.add_image(make_plan(), "Raw")
    assert coll.remove_image("raw").names == ("fib_crop",)
    with pytest.raises(ValueError, match="only image"):
        coll.remove_image("raw").remove_image("fib_crop")
    with pytest.raises(KeyError, match="no image named 'x'.*raw, fib_crop"):
        coll.image("x")
    assert coll.replace("fib_crop", domain=None).image("fib_crop") == ImageEntry(
        "fib_crop", coll.plan("fib_crop"))
    assert default_image_name(ImageRef((4, 8, 8), path="/a/b/stack_t000.OME.TIFF")) == "stack_t000"
    assert default_image_name(ImageRef((4, 8, 8), path="data.h5", dataset="raw")) == "data"
    assert default_image_name(ImageRef((4, 8, 8), path="…")) == "image"


# ------------------------------------------------------------------ version 1 projects
def _layers_now(folder: Path, image: str | None = None) -> dict[str, np.ndarray]:
    group = open_annotations(folder, mode="r", image=image)
    return {name: a[:] for name, a in group.arrays()}


def test_version_1_plan_reads_as_one_image_and_reading_never_writes(tmp_path):
    folder = tmp_path / "old"
    painted = make_v1_project(folder, make_plan())
    before = snapshot(folder)
    coll = load_collection(folder)
    assert coll.names == ("raw",) and coll.plan("raw") == make_plan()
    assert load_plan(folder) == load_plan(folder, image="raw") == make_plan()
    got = _layers_now(folder)
    assert set(got) == set(painted) and all(np.array_equal(got[k], painted[k]) for k in painted)
    assert snapshot(folder) == before


@pytest.mark.parametrize("write", ["save_plan", "open_project", "open_annotations r+", "add_image"])
def test_version_1_project_migrates_on_the_first_write_without_loss(tmp_path, write):
    folder = tmp_path / "old"
    painted = make_v1_project(folder, make_plan())
    old_plan = (folder / "plan.json").read_bytes()
    if write == "save_plan":
        save_plan(folder, make_plan())
    elif write == "open_project":
        open_project(folder)
    elif write == "open_annotations r+":
        open_annotations(folder)
    else:
        add_image(folder, two_images().plan("fib_crop"))
    assert json.loads((folder / "plan.json").read_text("utf-8"))["version"] == 2
    backup = (folder / "plan.json.bak").read_bytes()
    if write == "add_image":  # the plan changed after the migration: the backup is the migrated plan
        assert Collection.from_dict(json.loads(backup)) == Collection.from_dict(json.loads(old_plan))
    else:
        assert backup == old_plan
    store = folder / ANNOTATIONS
    assert not store_layout.root_arrays(store)
    assert sorted(p.name for p in (store / "raw").iterdir() if p.is_dir()) == sorted(painted)
    got = _layers_now(folder, "raw")
    assert all(np.array_equal(got[k], painted[k]) for k in painted)
    assert load_plan(folder, "raw") == make_plan()
    assert not [p for p in store.iterdir() if p.name.startswith(".")]
    assert store_layout.migrate_project(folder) is False  # done once


class Killed(BaseException):
    """Stands for the process being killed at a rename."""


def _count_renames(monkeypatch, kill_at: int | None) -> list[int]:
    calls = [0]
    real = os.replace

    def replace(src, dst, *a, **k):
        calls[0] += 1
        if calls[0] == kill_at:
            raise Killed
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_an_interrupted_migration_completes_on_the_next_write(tmp_path, monkeypatch):
    """Killed at each rename in turn (the backup, the group, every layer, the group's name, the
    plan): the next writer finishes the migration and every voxel is where a clean one puts it."""
    clean = tmp_path / "clean"
    painted = make_v1_project(clean, make_plan())
    calls = _count_renames(monkeypatch, None)
    store_layout.migrate_project(clean)
    steps = calls[0]
    monkeypatch.undo()
    # backup, the group's metadata (zarr) and the group, each layer, the group renamed, the plan switched
    assert steps == len(painted) + 5
    for k in range(1, steps + 1):
        folder = tmp_path / f"kill{k}"
        make_v1_project(folder, make_plan())
        _count_renames(monkeypatch, k)
        with pytest.raises(Killed):
            store_layout.migrate_project(folder)
        monkeypatch.undo()
        assert load_plan(folder) == make_plan()  # still readable as it was
        try:  # reading either sees every layer or says how to finish; it never writes
            got = _layers_now(folder)
            assert all(np.array_equal(got[n], painted[n]) for n in painted), k
        except ProjectError as e:
            assert "stopped half way" in str(e) and "Nothing is lost" in str(e)
        save_plan(folder, load_plan(folder))  # the next writer
        got = _layers_now(folder, "raw")
        assert set(got) == set(painted) and all(np.array_equal(got[n], painted[n]) for n in painted), k
        assert sorted(p.name for p in (folder / ANNOTATIONS).iterdir()) == \
            sorted(p.name for p in (clean / ANNOTATIONS).iterdir()), k
        assert json.loads((folder / "plan.json").read_text("utf-8"))["version"] == 2


def test_an_image_named_like_a_class_migrates(tmp_path):
    plan = make_plan()
    folder = tmp_path / "old"
    painted = make_v1_project(folder, plan)
    store_layout.migrate_project(folder, name="nuclei")  # the root's array "nuclei" is in the way
    assert load_collection(folder).names == ("nuclei",)
    got = _layers_now(folder, "nuclei")
    assert np.array_equal(got["nuclei"], painted["nuclei"]) and np.array_equal(got["mito"], painted["mito"])


def test_a_folder_in_the_way_of_the_image_group_is_refused_untouched(tmp_path):
    folder = tmp_path / "old"
    make_v1_project(folder, make_plan())
    (folder / ANNOTATIONS / "raw").mkdir()
    (folder / ANNOTATIONS / "raw" / "notes.txt").write_text("mine")
    before = snapshot(folder)
    with pytest.raises(ProjectError, match="is in the way of this project's image 'raw'"):
        save_plan(folder, make_plan())
    after = snapshot(folder)
    assert {k: v[0] for k, v in after.items() if "plan.json" not in k} == \
        {k: v[0] for k, v in before.items() if "plan.json" not in k}
    assert load_plan(folder) == make_plan()


# ------------------------------------------------------------------ several images
@pytest.fixture
def two(tmp_path) -> Path:
    folder = create_project(tmp_path / "p", two_images())
    assert sorted(p.name for p in (folder / ANNOTATIONS).iterdir() if p.is_dir()) == ["fib_crop", "raw"]
    return folder


def test_one_image_is_meant_by_name_once_there_are_several(two):
    with pytest.raises(ProjectError, match=r"holds 2 images \(raw, fib_crop\); say which one \(image=NAME\)"):
        load_plan(two)
    with pytest.raises(ProjectError, match="holds 2 images"):
        open_annotations(two, mode="r")
    with pytest.raises(ProjectError, match="holds 2 images"):
        save_plan(two, make_plan())
    with pytest.raises(ProjectError, match="no image named 'x'; its images are raw, fib_crop"):
        load_plan(two, "x")
    fib = load_plan(two, "fib_crop")
    assert fib.image.unit == "nanometer" and open_annotations(two, image="fib_crop", mode="r")["nuclei"].shape == (10, 15, 20)
    fib, _ = fib.add_box((0, 10, 20), (10, 30, 40))
    save_plan(two, fib, image="fib_crop")
    coll = load_collection(two)
    assert len(coll.plan("fib_crop").boxes) == 2 and coll.plan("raw") == make_plan()
    assert coll.image("fib_crop").domain == "fib-sem"  # kept by a save of its plan
    plan, group = open_project(two, image="raw")
    assert plan == make_plan() and group["nuclei"].shape == ANN_SHAPE


def test_add_image_creates_its_layers_and_keeps_the_rules(two):
    b = two_images().plan("fib_crop")
    assert add_image(two, b) == "fib_crop_2"
    assert open_annotations(two, image="fib_crop_2", mode="r")["ignore"].shape == (10, 15, 20)
    with pytest.raises(ProjectError, match="already has an image named 'raw'"):
        add_image(two, b, name="raw")
    with pytest.raises(ProjectError, match="cannot add the image.*give 'x' the same ones"):
        add_image(two, b.replace(classes=(ClassSpec("cells"),)), name="x")
    assert load_collection(two).names == ("raw", "fib_crop", "fib_crop_2")


def test_removing_an_annotated_image_asks_first(two):
    group = open_annotations(two, image="fib_crop")
    group["nuclei"][0, 0, :5] = 3
    group["background"][1, :2, :2] = 1
    assert annotated_voxels(group, load_plan(two, "fib_crop")) == 9
    before = snapshot(two)
    with pytest.raises(ProjectError, match="image 'fib_crop' holds 9 annotated voxels; confirm to remove it"):
        remove_image(two, "fib_crop")
    assert snapshot(two) == before  # nothing changed
    with pytest.raises(ProjectError, match="holds 9 annotated voxels"):
        save_collection(two, load_collection(two).remove_image("fib_crop"))
    assert snapshot(two) == before
    assert remove_image(two, "fib_crop", confirm=True) == 9
    assert load_collection(two).names == ("raw",)
    assert [p.name for p in (two / ANNOTATIONS).iterdir()] == ["zarr.json", "raw"] or \
        sorted(p.name for p in (two / ANNOTATIONS).iterdir()) == ["raw", "zarr.json"]
    with pytest.raises(ProjectError, match="only image"):
        remove_image(two, "raw", confirm=True)
    with pytest.raises(ProjectError, match="no image named 'x'"):
        remove_image(two, "x")


def test_an_empty_image_is_removed_without_asking(two):
    assert remove_image(two, "fib_crop") == 0
    assert not (two / ANNOTATIONS / "fib_crop").exists()
    assert load_plan(two) == make_plan()  # one image again: used as before


def test_a_group_left_by_an_interrupted_removal(two, monkeypatch):
    open_annotations(two, image="fib_crop")["nuclei"][0, 0, 0] = 1
    b = load_plan(two, "fib_crop")
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda s, d, *a, **k: (_ for _ in ()).throw(Killed)
                        if str(d).endswith("layers") else real(s, d, *a, **k))
    with pytest.raises(Killed):  # the plan is written, the group not yet moved away
        remove_image(two, "fib_crop", confirm=True)
    monkeypatch.undo()
    assert load_collection(two).names == ("raw",)
    with pytest.raises(ProjectError, match="holds 1 annotated voxels but the plan has no image 'fib_crop'"):
        add_image(two, b)  # never silently reused as the new image's labels
    assert add_image(two, b, name="fib2") == "fib2"


def test_the_migration_is_refused_untouched_while_another_writer_holds_the_project(tmp_path):
    from napari_patchwise.engine.plan.lock import ProjectLock, ProjectLocked
    from test_lock import _holder

    folder = tmp_path / "old"
    make_v1_project(folder, make_plan())
    proc = _holder(folder)
    try:
        before = {k: v[0] for k, v in snapshot(folder).items()}
        with pytest.raises(ProjectLocked, match="patchwise seed"):
            save_plan(folder, make_plan())
        assert {k: v[0] for k, v in snapshot(folder).items()} == before
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
    with ProjectLock(folder, "patchwise seed"):  # the writer holding the lock migrates in its turn
        assert store_layout.migrate_project(folder) is True
