"""The Box planner's voxel size in a real viewer: read, shown, edited, followed; boxes stay on the image."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.geometry.voxelsize import UNKNOWN_VOXEL_SIZE

pytestmark = pytest.mark.gui


def _planner(viewer, layer_name, messages):
    widget = PlannerWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Box planner")
    widget.settings.image.value = viewer.layers[layer_name]
    widget.settings.preset.value = "custom"
    widget.settings.minimum.value = "8,32,32"
    return widget


def _type_voxel_size(widget, text):
    widget.settings.voxel_size.value = text
    widget.settings.voxel_size.native.editingFinished.emit()


def _assert_aligned(widget, image, box, annotation=None):
    """A box's rectangle corner and its annotation voxels sit on the image voxels they cover."""
    widget.sync.set_slice(box.lo[0])  # the layer holds the rectangles of one slice
    rects = widget.sync.rectangles
    ids = rects.features["box_id"].to_numpy()
    vertices = rects.data[int(np.flatnonzero(ids == box.id)[0])]
    corner = rects.data_to_world(vertices.min(axis=0))
    voxel_lo = np.array(box.lo, float) - [0, 0.5, 0.5]  # the rectangle runs along voxel edges in y, x
    np.testing.assert_allclose(corner, image.data_to_world(voxel_lo), atol=1e-6)
    if annotation is not None:
        m = np.array(widget.plan.magnification)
        j = np.array(box.lo) // m
        centre_full = j * m + (m - 1) / 2
        np.testing.assert_allclose(annotation.data_to_world(j), image.data_to_world(centre_full), atol=1e-6)


def test_voxel_size_of_a_tiff_opened_by_napari_is_read_from_the_file(make_napari_viewer, tmp_path,
                                                                     small_volume, messages):
    write_tiff(tmp_path / "cal.tif", small_volume, (2.0, 0.5, 0.5), unit="micrometer")
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(tmp_path / "cal.tif"), plugin=None)
    assert tuple(layer.scale) == (1.0, 1.0, 1.0)  # napari's reader does not read it
    widget = _planner(viewer, "cal", messages)
    assert widget.settings.voxel_size.value == "2,0.5,0.5"
    assert widget.settings.unit.value == "micrometer"
    assert "file" in widget.settings.voxel_note.value
    plan = widget.new_plan()
    assert (plan.image.voxel_size, plan.image.unit, plan.image.voxel_size_known) == (
        (2.0, 0.5, 0.5), "micrometer", True)
    assert tuple(layer.scale) == (2.0, 0.5, 0.5)  # the image shows it too
    assert plan.image.path == str(tmp_path / "cal.tif")
    widget.sync.set_plan(widget.plan.add_boxes([((8, 32, 64), (16, 64, 96))]))
    _assert_aligned(widget, layer, widget.plan.boxes[0])


def test_unknown_voxel_size_is_warned_and_can_be_set(make_napari_viewer, tmp_path, small_volume, messages):
    tifffile.imwrite(tmp_path / "bare.tif", small_volume)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(tmp_path / "bare.tif"), plugin=None)
    widget = _planner(viewer, "bare", messages)
    assert UNKNOWN_VOXEL_SIZE in widget.settings.voxel_note.value
    widget.new_plan()
    assert not widget.plan.image.voxel_size_known
    assert UNKNOWN_VOXEL_SIZE in widget.plan_findings.text()
    widget.sync.set_plan(widget.plan.add_boxes([((8, 32, 64), (16, 64, 96))]))
    _type_voxel_size(widget, "2.18,1,1um")
    image = widget.plan.image
    assert (image.voxel_size, image.unit, image.voxel_size_known) == ((2.18, 1.0, 1.0), "micrometer", True)
    assert UNKNOWN_VOXEL_SIZE not in widget.plan_findings.text() + widget.settings.voxel_note.value
    assert tuple(layer.scale) == (2.18, 1.0, 1.0) and str(layer.units[0]) == "micrometer"
    _assert_aligned(widget, layer, widget.plan.boxes[0])


def test_bad_voxel_size_text_is_refused_and_nothing_changes(make_napari_viewer, small_volume, messages):
    viewer = make_napari_viewer()
    layer = viewer.add_image(small_volume, name="vol", scale=(2.0, 0.5, 0.5))
    widget = _planner(viewer, "vol", messages)
    widget.new_plan()
    _type_voxel_size(widget, "1,2")
    assert "Z,Y,X" in messages["warning"][-1]
    assert widget.plan.image.voxel_size == (2.0, 0.5, 0.5) and tuple(layer.scale) == (2.0, 0.5, 0.5)
    assert widget.settings.voxel_size.value == "2,0.5,0.5"


@pytest.fixture
def saved(make_napari_viewer, tmp_path, small_volume, messages, qtbot):
    """A saved project at magnification 1,2,2 with one box, its image and annotation layers open."""
    viewer = make_napari_viewer()
    layer = viewer.add_image(small_volume, name="vol", scale=(2.0, 0.5, 0.5), units=("micrometer",) * 3)
    widget = _planner(viewer, "vol", messages)
    widget.settings.magnification.value = "1,2,2"
    widget.new_plan()
    widget.sync.set_plan(widget.plan.add_boxes([((8, 32, 64), (16, 64, 128))]))
    widget.save_project(tmp_path / "proj")
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=20000)
    return viewer, widget, layer, tmp_path / "proj"


def test_changing_the_image_scale_moves_boxes_and_labels_with_it(saved, messages):
    viewer, widget, image, folder = saved
    labels = viewer.layers["nuclei labels"]
    box = widget.plan.boxes[0]
    _assert_aligned(widget, image, box, labels)
    image.scale = (3.0, 0.4, 0.4)  # e.g. the layer controls or the console
    assert widget.plan.image.voxel_size == (3.0, 0.4, 0.4)
    saved_plan = json.loads((folder / "plan.json").read_text())["images"][0]  # the only image
    assert saved_plan["image"]["voxel_size"] == [3.0, 0.4, 0.4]
    _assert_aligned(widget, image, box, labels)
    for name in ("background", "ignore"):
        _assert_aligned(widget, image, box, viewer.layers[name])
    assert tuple(widget.sync.wireframes.scale) == (3.0, 0.4, 0.4)
    assert widget.settings.voxel_size.value == "3,0.4,0.4"
    assert "Voxel size is now 3,0.4,0.4 micrometer" in messages["info"][-1]


def test_editing_voxel_size_and_unit_in_the_dock_updates_plan_image_and_layers(saved, messages):
    viewer, widget, image, folder = saved
    labels = viewer.layers["nuclei labels"]
    box = widget.plan.boxes[0]
    _type_voxel_size(widget, "40,8,8")
    widget.settings.unit.value = "nanometer"
    assert (widget.plan.image.voxel_size, widget.plan.image.unit) == ((40.0, 8.0, 8.0), "nanometer")
    assert tuple(image.scale) == (40.0, 8.0, 8.0)
    assert {str(u) for lay in (image, labels, widget.sync.rectangles) for u in lay.units} == {"nanometer"}
    _assert_aligned(widget, image, box, labels)
    saved_image = json.loads((folder / "plan.json").read_text())["images"][0]["image"]
    assert (saved_image["voxel_size"], saved_image["unit"]) == ([40.0, 8.0, 8.0], "nanometer")


def test_a_scale_that_cannot_be_a_voxel_size_is_refused(saved, messages):
    _, widget, image, _ = saved
    image.scale = (-2.0, 0.5, 0.5)
    assert "was not applied" in messages["warning"][-1]
    assert tuple(image.scale) == (2.0, 0.5, 0.5) and widget.plan.image.voxel_size == (2.0, 0.5, 0.5)


@pytest.mark.parametrize("typed, recorded", [(None, (None, None)), ("30,4,4nm", ((30.0, 4.0, 4.0), "nanometer"))])
def test_a_saved_in_memory_image_records_the_plan_voxel_size_or_none(make_napari_viewer, tmp_path, small_volume,
                                                                     messages, qtbot, typed, recorded):
    from napari_patchwise.engine.io.volumes import read_voxel_size

    viewer = make_napari_viewer()
    viewer.add_image(small_volume, name="mem")  # in memory: written into the project as image.tif
    widget = _planner(viewer, "mem", messages)
    widget.new_plan()
    if typed:
        _type_voxel_size(widget, typed)
    widget.save_project(tmp_path / "p")
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=20000)
    assert read_voxel_size(tmp_path / "p" / "image.tif") == recorded  # never a made-up 1 µm


def test_reopened_project_with_unknown_voxel_size_shows_the_warning(make_napari_viewer, tmp_path,
                                                                    small_volume, messages):
    from napari_patchwise.cli import main

    tifffile.imwrite(tmp_path / "bare.tif", small_volume)
    assert main(["propose", str(tmp_path / "bare.tif"), "-o", str(tmp_path / "p"), "--preset", "custom",
                 "--size", "16,32,32", "--n", "1"]) == 0
    viewer = make_napari_viewer()
    widget = PlannerWidget(viewer)
    widget.open_project(tmp_path / "p")
    assert widget.plan is not None and not widget.plan.image.voxel_size_known
    assert UNKNOWN_VOXEL_SIZE in widget.settings.voxel_note.value
    assert UNKNOWN_VOXEL_SIZE in widget.plan_findings.text()
    _type_voxel_size(widget, "2,1,1")
    assert widget.plan.image.voxel_size_known and tuple(viewer.layers["bare"].scale) == (2.0, 1.0, 1.0)


def test_the_project_image_is_followed_even_beside_a_layer_of_the_same_name(make_napari_viewer, tmp_path,
                                                                          small_volume, messages, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(small_volume, name="vol", scale=(2.0, 0.5, 0.5))
    widget = _planner(viewer, "vol", messages)
    widget.new_plan()
    widget.save_project(tmp_path / "proj")
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=20000)
    viewer.close()  # one writer per project: the other viewer opens it once this one has closed
    other = make_napari_viewer()
    unrelated = other.add_image(small_volume, name="vol")  # same name, another image
    planner = PlannerWidget(other)
    planner.open_project(tmp_path / "proj")
    project_image = other.layers["vol [1]"]
    assert planner.image_layer() is project_image
    project_image.scale = (4.0, 1.0, 1.0)
    assert planner.plan.image.voxel_size == (4.0, 1.0, 1.0)
    unrelated.scale = (9.0, 9.0, 9.0)
    assert planner.plan.image.voxel_size == (4.0, 1.0, 1.0)


@pytest.mark.parametrize("with_plan", [False, True])
def test_a_new_voxel_size_keeps_the_view_on_the_same_voxels(make_napari_viewer, tmp_path, small_volume,
                                                           messages, with_plan):
    """Typing 25,25,25 Å over an unknown (1,1,1) voxel size must not leave the view on another
    slice, zoomed 25× into one corner: the slice, the centre and a voxel's size on screen stay."""
    tifffile.imwrite(tmp_path / "bare.tif", small_volume)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(tmp_path / "bare.tif"), plugin=None)
    widget = _planner(viewer, "bare", messages)
    if with_plan:
        widget.new_plan()
    viewer.dims.set_current_step(0, 30)
    camera = viewer.scene.camera
    camera.center = (30.0, 40.0, 100.0)
    camera.zoom = 3.0
    _type_voxel_size(widget, "2,0.5,0.5um")
    assert tuple(layer.scale) == (2.0, 0.5, 0.5)
    assert viewer.dims.current_step[0] == 30  # the same slice (not world 30 = slice 15)
    assert camera.center[1:] == pytest.approx((20.0, 50.0))  # the same voxel (40, 100) in the middle
    assert camera.zoom == pytest.approx(6.0)  # a voxel as large on screen as before
    _type_voxel_size(widget, "25,25,25A")
    assert viewer.dims.current_step[0] == 30
    assert camera.center[1:] == pytest.approx((1000.0, 2500.0))
    assert camera.zoom == pytest.approx(3.0 / 25)


def test_a_plan_whose_unit_is_written_nm_keeps_its_voxel_size_in_the_dock(make_napari_viewer, tmp_path,
                                                                          small_volume, messages, qtbot):
    """A plan.json that writes its unit "nm" (by hand or from a script) is read as nanometre, the name
    the dock's unit list knows (with "nm" the dock once set the plan to micrometres)."""
    from napari_patchwise.engine import ImageRef, Plan
    from napari_patchwise.engine.plan.project import create_project

    write_tiff(tmp_path / "vol.tif", small_volume, (10.0, 10.0, 10.0), "nanometer")
    plan = Plan(ImageRef(small_volume.shape, "uint16", (10.0, 10.0, 10.0), unit="nm", path="../vol.tif",
                         name="vol")).add_boxes([((0, 0, 0), (8, 32, 32))])
    folder = create_project(tmp_path / "proj", plan)
    text = (folder / "plan.json").read_text()
    (folder / "plan.json").write_text(text.replace('"nanometer"', '"nm"'))  # as such a file says it
    assert '"nm"' in (folder / "plan.json").read_text()
    from napari_patchwise.layers.session import session_for

    viewer = make_napari_viewer()
    viewer.open(str(folder), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    widget = dock.planner
    qtbot.waitUntil(lambda: widget.sync is not None and not session_for(viewer).openings
                    and not session_for(viewer).working, timeout=20000)
    assert (widget.plan.image.voxel_size, widget.plan.image.unit) == ((10.0, 10.0, 10.0), "nanometer")
    assert widget.settings.unit.value == "nanometer"
    assert {str(u) for u in viewer.layers["vol"].units} == {"nanometer"}
