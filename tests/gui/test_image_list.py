"""A project of several images in a real viewer: opened one image at a time, switched, added to, removed from."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QTimer

from napari_patchwise._qt import image_list as il_module
from napari_patchwise._qt.patchwise_dock import PatchwiseDock
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.image_adding import add_image_files
from napari_patchwise.engine.plan.plan_file import load_collection
from napari_patchwise.engine.plan.project import create_project, load_plan, open_annotations, save_plan
from napari_patchwise.layers.box_shapes import METADATA_KEY
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui

#: The screen the viewer fills.
SCREEN = (1280, 800)
VOXEL = (2.0, 0.5, 0.5)

#: The three images: name, shape, voxel size (None: the file records none).
IMAGES = (("vol_a", (24, 96, 96), VOXEL), ("vol_b", (16, 64, 128), (1.0, 0.4, 0.4)), ("vol_c", (20, 80, 80), None))
#: Voxels labelled in image vol_c.
PAINTED = 16


@pytest.fixture
def three_images(tmp_path, small_volume):
    """A project of three images of different shapes: vol_a with one box, vol_b with two, vol_c painted."""
    paths = []
    for name, shape, voxel in IMAGES:
        path = tmp_path / f"{name}.tif"
        write_tiff(path, np.ascontiguousarray(small_volume[: shape[0], : shape[1], : shape[2]]), voxel)
        paths.append(str(path))
    name, shape, voxel = IMAGES[0]
    plan = Plan(ImageRef(shape, "uint16", voxel, path=paths[0], name=name),
                get_preset("custom", minimum=(8, 32, 32))).add_boxes([((0, 0, 0), (8, 64, 64))])
    folder = create_project(tmp_path / "proj", plan)
    assert add_image_files(folder, paths[1:]).added == ("vol_b", "vol_c")
    b = load_plan(folder, "vol_b").add_boxes([((0, 0, 0), (8, 32, 32)), ((8, 32, 32), (16, 64, 64))])
    save_plan(folder, b, "vol_b")
    open_annotations(folder, image="vol_c")["nuclei"][0, :4, :4] = 7
    return folder


def _open(make_napari_viewer, folder, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window.set_geometry(0, 0, *SCREEN)
    viewer.open(str(folder), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    assert isinstance(dock, PatchwiseDock)
    images = dock.planner.images
    qtbot.waitUntil(lambda: images.table.rowCount() == 3, timeout=10000)
    return viewer, dock, images


def _shown(viewer, name, shape, qtbot, dock):
    """Wait until image ``name`` is shown whole: its image layer, boxes adopted by the planner, wireframes."""
    session = session_for(viewer)

    def ready():
        return (name in viewer.layers and not session.openings and dock.planner.sync is not None
                and dock.planner.sync.plan.image.shape == shape and dock.planner.sync.wireframes in viewer.layers)

    qtbot.waitUntil(ready, timeout=30000)


def _idle(viewer, qtbot) -> None:
    """Wait until no job of the viewer's docks runs (the counts of the list included)."""
    session = session_for(viewer)
    qtbot.waitUntil(lambda: not session.working and not session.openings, timeout=30000)


def _rows_drawn(table) -> int:
    """Rows of ``table`` drawn with text (their band of the grabbed viewport is not all background)."""
    image = table.viewport().grab().toImage()
    image = image.convertToFormat(image.Format.Format_RGB32)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    pixels = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), :3]
    empty = np.median(pixels.reshape(-1, 3), axis=0)
    height = table.verticalHeader().defaultSectionSize()
    bands = [pixels[r * height:(r + 1) * height] for r in range(table.rowCount())]
    return sum(bool(b.size) and np.abs(b.astype(int) - empty).sum(axis=2).max() > 60 for b in bands)


def _project_meta(viewer) -> dict:
    return {lay.name: (lay.metadata.get(METADATA_KEY) or {}).get("image") for lay in viewer.layers
            if (lay.metadata.get(METADATA_KEY) or {}).get("project")}


def _switch_in_loop(images, row) -> None:
    """Select a row from napari's running event loop, as a click does."""
    QTimer.singleShot(0, lambda: images.table.selectRow(row))


def test_a_project_of_three_images_opens_its_first_image_with_a_list_of_all(make_napari_viewer, three_images,
                                                                           messages, qtbot):
    viewer, dock, images = _open(make_napari_viewer, three_images, qtbot)
    _shown(viewer, "vol_a", IMAGES[0][1], qtbot, dock)
    names = [lay.name for lay in viewer.layers]
    assert names[:2] == ["vol_a", "patchwise boxes"] and "nuclei labels" in names
    assert set(_project_meta(viewer).values()) == {"vol_a"}  # every project layer names its image
    assert viewer.layers["vol_a"].data.shape == IMAGES[0][1]
    assert session_for(viewer).image_of(three_images) == "vol_a"
    cells = [[images.table.item(r, c).text() for c in range(4)] for r in range(3)]
    assert cells == [["vol_a", "1", "0", ""], ["vol_b", "2", "0", ""], ["vol_c", "0", f"{PAINTED}", ""]]
    assert images.summary.text() == f"3 images · 3 boxes · {PAINTED} annotated voxels"
    assert images.selected() == "vol_a" and images.remove_button.isEnabled()
    assert not messages["error"]
    _idle(viewer, qtbot)


def test_switching_images_replaces_every_layer_and_leaks_none(make_napari_viewer, three_images, messages, qtbot):
    viewer, dock, images = _open(make_napari_viewer, three_images, qtbot)
    _shown(viewer, "vol_a", IMAGES[0][1], qtbot, dock)
    before = [lay.name for lay in viewer.layers]
    session = session_for(viewer)
    _switch_in_loop(images, 1)  # the layers are built in a worker and come in turns
    _shown(viewer, "vol_b", IMAGES[1][1], qtbot, dock)
    after = [lay.name for lay in viewer.layers]
    assert sorted(after) == sorted(["vol_b", *before[1:]])  # the same layers, none left behind, none twice
    assert set(_project_meta(viewer).values()) == {"vol_b"}
    assert viewer.layers["vol_b"].data.shape == IMAGES[1][1]
    assert tuple(viewer.layers["vol_b"].scale) == IMAGES[1][2]
    labels = viewer.layers["nuclei labels"]
    assert labels.data.shape == IMAGES[1][1]
    assert len(dock.planner.sync.plan.boxes) == 2 and dock.planner.table.rowCount() == 2
    assert session.image_of(three_images) == "vol_b" and session.holds(three_images)
    assert session.syncs == [dock.planner.sync] and not session.followers  # no sync of vol_a's layers left
    # the other steps follow the shown image
    assert session.current_plan(three_images).image.shape == IMAGES[1][1]
    dock.show_step("seed")
    qtbot.waitUntil(lambda: dock.seed.project is not None)
    assert dock.seed._plan_and_boxes()[0].image.name == "vol_b"
    # a box edit is saved into vol_b's plan only
    plan, _ = dock.planner.sync.plan.add_box((0, 0, 64), (8, 32, 96))
    dock.planner.sync.set_plan(plan)
    assert len(load_plan(three_images, "vol_b").boxes) == 3 and len(load_plan(three_images, "vol_a").boxes) == 1
    # painting goes into vol_b's layers
    labels.data[0, 0, 0] = 1
    assert int(np.asarray(open_annotations(three_images, image="vol_b", mode="r")["nuclei"][0, 0, 0])) == 1
    # and back: the first image's layers again, in the same order
    dock.show_step("plan")
    _switch_in_loop(images, 0)
    _shown(viewer, "vol_a", IMAGES[0][1], qtbot, dock)
    assert sorted(lay.name for lay in viewer.layers) == sorted(before)
    assert viewer.layers["nuclei labels"].data.shape == IMAGES[0][1]
    assert int(np.asarray(viewer.layers["nuclei labels"].data[0, 0, 0])) == 0
    qtbot.waitUntil(lambda: images.table.item(1, 1).text() == "3")
    assert not messages["error"]
    _idle(viewer, qtbot)


def test_switching_away_from_an_image_with_contacts_takes_its_markers_along(make_napari_viewer, annotated_project,
                                                                         tmp_path, small_volume, messages, qtbot):
    """The live contacts markers belong to the image shown: left in the viewer over the next image's
    layers, they were drawn while those came in and crashed the OpenGL driver."""
    write_tiff(tmp_path / "second.tif", np.ascontiguousarray(small_volume[:16, :64, :64]), VOXEL)
    assert add_image_files(annotated_project, [str(tmp_path / "second.tif")]).added == ("second",)
    viewer = make_napari_viewer(show=True)
    viewer.window.set_geometry(0, 0, *SCREEN)
    viewer.open(str(annotated_project), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    images = dock.planner.images
    qtbot.waitUntil(lambda: images.table.rowCount() == 2, timeout=10000)
    _shown(viewer, "blobs", (24, 96, 96), qtbot, dock)
    qtbot.waitUntil(lambda: "patchwise contacts" in viewer.layers, timeout=30000)  # box 3's touching nuclei
    _idle(viewer, qtbot)
    _switch_in_loop(images, 1)
    _shown(viewer, "second", (16, 64, 64), qtbot, dock)
    _idle(viewer, qtbot)
    assert "patchwise contacts" not in viewer.layers  # the second image has no annotations, so no contacts
    assert all(lay.data.shape == (16, 64, 64) for lay in viewer.layers if hasattr(lay.data, "shape"))
    assert viewer.screenshot(canvas_only=True).any()  # the canvas draws the second image
    _switch_in_loop(images, 0)
    _shown(viewer, "blobs", (24, 96, 96), qtbot, dock)
    qtbot.waitUntil(lambda: "patchwise contacts" in viewer.layers, timeout=30000)  # and back with the first
    assert [lay.name for lay in viewer.layers].count("patchwise contacts") == 1
    assert not messages["error"]
    _idle(viewer, qtbot)


def test_the_image_shown_last_is_shown_again_when_the_project_opens_again(make_napari_viewer, three_images,
                                                                         messages, qtbot):
    viewer, dock, images = _open(make_napari_viewer, three_images, qtbot)
    images.table.selectRow(2)  # outside the event loop: opened at once
    _shown(viewer, "vol_c", IMAGES[2][1], qtbot, dock)
    session = session_for(viewer)
    viewer.layers.clear()
    assert not session.holds(three_images)
    viewer.open(str(three_images), plugin="napari-patchwise")
    _shown(viewer, "vol_c", IMAGES[2][1], qtbot, dock)
    assert np.count_nonzero(np.asarray(viewer.layers["nuclei labels"].data)) == PAINTED
    _idle(viewer, qtbot)


def test_an_image_added_from_the_list_joins_the_project_with_its_voxel_size(make_napari_viewer, three_images,
                                                                           small_volume, messages, qtbot,
                                                                           monkeypatch, tmp_path):
    viewer, dock, images = _open(make_napari_viewer, three_images, qtbot)
    write_tiff(tmp_path / "vol_d.tif", small_volume[:12, :64, :64], (3.0, 0.25, 0.25))
    asked = []
    monkeypatch.setattr(il_module, "choose_image_files",
                        lambda parent: asked.append(parent) or [str(tmp_path / "vol_d.tif"), str(tmp_path / "vol_a.tif")])
    images.add_button.click()
    qtbot.waitUntil(lambda: images.table.rowCount() == 4, timeout=15000)
    assert asked == [images]
    coll = load_collection(three_images)
    assert coll.names == ("vol_a", "vol_b", "vol_c", "vol_d")
    d = coll.plan("vol_d")
    assert d.image.shape == (12, 64, 64) and d.image.voxel_size == (3.0, 0.25, 0.25) and not d.boxes
    assert d.classes == coll.plan("vol_a").classes and d.magnification == coll.plan("vol_a").magnification
    assert images.table.item(3, 0).text() == "vol_d"
    assert any("vol_a.tif (image vol_a)" in m for m in messages["info"])  # held already: skipped
    assert session_for(viewer).image_of(three_images) == "vol_a"  # still shown
    images.table.selectRow(3)
    _shown(viewer, "vol_d", (12, 64, 64), qtbot, dock)
    _idle(viewer, qtbot)


def test_removing_an_image_with_annotations_asks_first_and_leaves_none_of_its_layers(
        make_napari_viewer, three_images, messages, qtbot, monkeypatch):
    viewer, dock, images = _open(make_napari_viewer, three_images, qtbot)
    images.table.selectRow(2)
    _shown(viewer, "vol_c", IMAGES[2][1], qtbot, dock)
    questions, answers = [], [False, True]
    monkeypatch.setattr(il_module, "confirm_removal", lambda parent, q: questions.append(q) or answers.pop(0))
    assert images.remove_selected() is None  # refused: nothing changes
    assert f"{PAINTED} annotated voxels" in questions[0] and "vol_c" in questions[0]
    assert load_collection(three_images).names == ("vol_a", "vol_b", "vol_c") and "vol_c" in viewer.layers
    images.remove_button.click()  # accepted
    assert len(questions) == 2
    assert load_collection(three_images).names == ("vol_a", "vol_b")
    assert not (three_images / "annotations.zarr" / "vol_c").exists()
    _shown(viewer, "vol_b", IMAGES[1][1], qtbot, dock)  # the next image is shown instead
    assert "vol_c" not in viewer.layers and set(_project_meta(viewer).values()) == {"vol_b"}
    assert sum(lay.name == "nuclei labels" for lay in viewer.layers) == 1
    qtbot.waitUntil(lambda: images.table.rowCount() == 2)
    assert images.summary.text() == "2 images · 3 boxes · 0 annotated voxels"
    assert any("Removed image vol_c" in m for m in messages["info"])
    _idle(viewer, qtbot)


def test_removing_an_image_without_annotations_asks_nothing(make_napari_viewer, three_images, messages, qtbot,
                                                           monkeypatch):
    viewer, dock, images = _open(make_napari_viewer, three_images, qtbot)
    monkeypatch.setattr(il_module, "confirm_removal", lambda parent, q: pytest.fail("asked: " + q))
    images.table.selectRow(1)
    _shown(viewer, "vol_b", IMAGES[1][1], qtbot, dock)
    assert images.remove_selected() == 0
    assert load_collection(three_images).names == ("vol_a", "vol_c")
    _shown(viewer, "vol_c", IMAGES[2][1], qtbot, dock)
    assert "vol_b" not in viewer.layers
    _idle(viewer, qtbot)


def test_the_plan_step_shows_the_image_list_drawn_with_a_row_per_image(make_napari_viewer, three_images,
                                                                      messages, qtbot):
    viewer, dock, images = _open(make_napari_viewer, three_images, qtbot)
    dock.show_step("plan")
    qtbot.waitUntil(lambda: images.table.isVisible())
    qtbot.waitUntil(lambda: _rows_drawn(images.table) == 3)
    assert images.summary.isVisible() and images.add_button.isVisible()
    assert dock.width() <= SCREEN[0] // 2
    _idle(viewer, qtbot)


def test_a_project_of_one_image_opens_as_before_with_a_list_of_one(make_napari_viewer, project, messages, qtbot):
    viewer = make_napari_viewer(show=True)  # the list counts when it is in sight
    viewer.open(str(project), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    images = dock.planner.images
    qtbot.waitUntil(lambda: images.table.rowCount() == 1, timeout=10000)
    assert set(_project_meta(viewer).values()) == {None}  # its layers name no image, as before
    assert session_for(viewer).image_of(project) is None
    assert not images.remove_button.isEnabled()
    assert images.summary.text() == "1 image · 1 box · 0 annotated voxels"
    _idle(viewer, qtbot)
