"""A project of two images in a real viewer: the Export step's split by, test images, other projects and
image-qualified test boxes; domains set in the Plan step's image list."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qtpy.QtCore import QPoint, QRect, Qt, QTimer
from qtpy.QtGui import QImage
from qtpy.QtWidgets import QLineEdit, QScrollArea

from napari_patchwise._qt import export_collection as ec_module
from napari_patchwise._qt import image_domains as id_module
from napari_patchwise._qt.export_dock import ExportWidget
from napari_patchwise._qt.patchwise_dock import PatchwiseDock
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.export.model import MANIFEST_NAME
from napari_patchwise.engine.export.projects import PROJECTS_FOLDER
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.jobs.check import check_consistency
from napari_patchwise.engine.plan.image_adding import add_image_files
from napari_patchwise.engine.plan.plan_file import load_collection
from napari_patchwise.engine.plan.project import create_project, load_plan, open_annotations, save_plan
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui

SCREEN = (1280, 800)
SHAPE = (8, 64, 64)
#: Each image's voxel size: they differ, so a consistency check finds it while both share a domain.
VOXELS = {"a": (2.0, 0.5, 0.5), "b": (1.0, 0.25, 0.25)}
BOXES = [((0, 0, 0), (8, 32, 32)), ((0, 32, 32), (8, 64, 64))]


def _two_image_project(tmp_path, name="proj", seed=0):
    """A project of images a and b, two boxes each, every box painted (two nuclei apart, background)."""
    rng = np.random.default_rng(seed)
    paths = []
    for image, voxel in VOXELS.items():
        path = tmp_path / f"{name}_{image}" / f"{image}.tif"
        path.parent.mkdir(parents=True)
        write_tiff(path, rng.integers(0, 200, SHAPE).astype(np.uint16), voxel)
        paths.append(path)
    plan = Plan(ImageRef(SHAPE, "uint16", VOXELS["a"], path=str(paths[0]), name="a"),
                get_preset("custom", minimum=(8, 32, 32))).add_boxes(BOXES)
    folder = create_project(tmp_path / name, plan)
    assert add_image_files(folder, [str(paths[1])]).added == ("b",)
    save_plan(folder, load_plan(folder, "b").add_boxes(BOXES), "b")
    for image in VOXELS:
        plan = load_plan(folder, image)
        group = open_annotations(folder, plan, image=image)
        for box in plan.boxes:
            region = box.slices(plan.magnification)
            ids = np.zeros(tuple(s.stop - s.start for s in region), np.uint32)
            ids[2:6, 4:12, 4:12] = 1
            ids[2:6, 20:28, 20:28] = 2
            group["nuclei"][region] = ids
            group["background"][region] = (ids == 0).astype(np.uint8)
    return folder


@pytest.fixture
def two_images(tmp_path):
    return _two_image_project(tmp_path)


@pytest.fixture
def told(messages, monkeypatch):
    """``messages``, with what the domain cell says too."""
    for kind in ("error", "info"):
        monkeypatch.setattr(id_module, f"show_{kind}", messages[kind].append)
    return messages


def _open(make_napari_viewer, folder, qtbot, step="plan"):
    viewer = make_napari_viewer(show=True)
    viewer.window.set_geometry(0, 0, *SCREEN)
    viewer.open(str(folder), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    assert isinstance(dock, PatchwiseDock)
    qtbot.waitUntil(lambda: dock.planner.images.table.rowCount() == 2, timeout=10000)
    _shown(viewer, dock, "a", qtbot)
    dock.show_step(step)
    return viewer, dock


def _shown(viewer, dock, name, qtbot):
    session = session_for(viewer)
    qtbot.waitUntil(lambda: name in viewer.layers and not session.openings and dock.planner.sync is not None
                    and dock.planner.sync.wireframes in viewer.layers, timeout=30000)


def _idle(viewer, qtbot):
    session = session_for(viewer)
    qtbot.waitUntil(lambda: not session.working and not session.openings, timeout=60000)


def _export(qtbot, widget):
    widget.export_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)


def _dataset(out):
    (dataset,) = [p for p in out.iterdir() if p.name.startswith("Dataset")]
    return dataset


def _manifest(out):
    return json.loads((_dataset(out) / MANIFEST_NAME).read_text())


def _select(viewer, box_ids):
    rects = viewer.layers["patchwise boxes"]
    ids = rects.features["box_id"].to_numpy()
    rects.selected_data = {int(i) for i in np.flatnonzero(np.isin(ids, box_ids))}


def test_a_collection_exports_split_by_image_with_a_test_image(make_napari_viewer, two_images, messages, qtbot,
                                                               tmp_path):
    viewer, dock = _open(make_napari_viewer, two_images, qtbot, "export")
    widget = dock.export
    more = widget.form.more
    more.unfold()
    assert more.image_names() == ["a", "b"] and more.test_images.isVisibleTo(widget)
    assert more.chosen_split_by() is None  # the engine's default unless chosen
    more.set_split_by("image")
    more.set_test_images(["b"])
    out = tmp_path / "out"
    widget.form.out.value = out
    _export(qtbot, widget)
    assert not messages["error"], messages["error"]
    manifest = _manifest(out)
    assert manifest["split"]["by"] == "image" and manifest["split"]["test_images"] == ["b"]
    splits = {c["case"]: (c["image"], c["split"]) for c in manifest["cases"]}
    assert splits == {"a_box_0001": ("a", "train"), "a_box_0002": ("a", "train"),
                      "b_box_0001": ("b", "test"), "b_box_0002": ("b", "test")}
    assert "splits by image" in widget.summary.toPlainText()
    _idle(viewer, qtbot)


def test_selected_boxes_of_two_images_are_pinned_by_name_and_export(make_napari_viewer, two_images, messages,
                                                                     qtbot, tmp_path):
    viewer, dock = _open(make_napari_viewer, two_images, qtbot, "export")
    widget = dock.export
    _select(viewer, [2])
    assert widget.use_selected_boxes() == [2]
    assert widget.form.test_boxes.value == "a:2"
    dock.show_step("plan")
    QTimer.singleShot(0, lambda: dock.planner.images.table.selectRow(1))  # as a click does, in the event loop
    qtbot.waitUntil(lambda: session_for(viewer).image_of(two_images) == "b", timeout=30000)
    _shown(viewer, dock, "b", qtbot)
    dock.show_step("export")
    _select(viewer, [1])
    assert widget.use_selected_boxes() == [1]
    assert widget.form.test_boxes.value == "a:2,b:1"  # a's pin kept, b's added
    _select(viewer, [1, 2])
    widget.use_selected_boxes()
    assert widget.form.test_boxes.value == "a:2,b:1,b:2"  # b's pins replaced by b's selection
    widget.form.test_boxes.value = "a:2,b:1"
    widget.form.more.set_split_by("box")
    out = tmp_path / "out"
    widget.form.out.value = out
    _export(qtbot, widget)
    assert not messages["error"], messages["error"]
    manifest = _manifest(out)
    assert manifest["split"]["test_boxes"] == ["a:2", "b:1"]
    assert {c["case"] for c in manifest["cases"] if c["split"] == "test"} == {"a_box_0002", "b_box_0001"}
    _idle(viewer, qtbot)


def test_other_projects_chosen_in_a_folder_dialog_export_into_the_same_dataset(make_napari_viewer, two_images,
                                                                             messages, qtbot, tmp_path,
                                                                             monkeypatch):
    other = _two_image_project(tmp_path, "other", seed=1)
    viewer = make_napari_viewer()
    viewer.open(str(two_images), plugin="napari-patchwise")
    widget = ExportWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Export training data")
    more = widget.form.more
    chosen = iter([str(other), str(other), str(tmp_path / "gone"), ""])
    monkeypatch.setattr(ec_module, "choose_project_folder", lambda parent: next(chosen))
    more.add_project_button.click()
    more.add_project_button.click()  # the same folder again: listed once
    more.add_project_button.click()
    more.add_project_button.click()  # cancelled: nothing added
    assert more.other_projects() == (other, tmp_path / "gone")
    more.projects.item(1).setSelected(True)
    more.remove_project_button.click()
    assert more.other_projects() == (other,)
    out = tmp_path / "out"
    widget.form.out.value = out
    _export(qtbot, widget)
    assert not messages["error"], messages["error"]
    index = _manifest(out)
    assert [p["name"] for p in index["projects"]] == ["proj", "other"]  # the dataset lists both projects
    own = {key: json.loads((_dataset(out) / PROJECTS_FOLDER / f"{key}.json").read_text())["project"]
           for key in ("proj", "other")}  # a manifest per project
    assert own == {"proj": str(two_images.resolve()), "other": str(other.resolve())}
    assert len(widget.last_report.written["nnunet"]) == 8  # 2 projects x 2 images x 2 boxes


def test_images_of_other_projects_are_listed_by_project_and_held_out_as_test(make_napari_viewer, two_images,
                                                                              messages, qtbot, tmp_path):
    other = _two_image_project(tmp_path, "other", seed=1)
    viewer, dock = _open(make_napari_viewer, two_images, qtbot, "export")
    widget = dock.export
    more = widget.form.more
    more.unfold()
    assert more.image_names() == ["a", "b"]
    more.add_projects([other])  # each project's images, named as the export takes them
    assert more.image_names() == ["proj:a", "proj:b", "other:a", "other:b"]
    assert more.test_images.isVisibleTo(widget)
    more.set_test_images(["other:b"])
    out = tmp_path / "out"
    widget.form.out.value = out
    _export(qtbot, widget)
    assert not messages["error"], messages["error"]
    cases = json.loads((_dataset(out) / PROJECTS_FOLDER / "other.json").read_text())["cases"]
    assert {c["image"]: c["split"] for c in cases if c["split"] == "test"} == {"b": "test"}
    assert len(cases) == 4 and sum(c["split"] == "test" for c in cases) == 2
    mine = json.loads((_dataset(out) / PROJECTS_FOLDER / "proj.json").read_text())["cases"]
    assert len(mine) == 4 and not any(c["split"] == "test" for c in mine)
    more.projects.item(0).setSelected(True)
    more.remove_project_button.click()  # back to one project: its own names
    assert more.image_names() == ["a", "b"]
    _idle(viewer, qtbot)


def test_a_skipped_box_of_the_second_image_is_overridden_in_the_dock(make_napari_viewer, two_images, messages,
                                                                    qtbot, tmp_path):
    plan = load_plan(two_images, "b")
    group = open_annotations(two_images, plan, image="b")
    region = plan.box(1).slices(plan.magnification)
    ids = np.asarray(group["nuclei"][region])
    ids[2:6, 12:20, 4:12] = 3  # right beside object 1: the two touch
    group["nuclei"][region] = ids
    group["background"][region] = (ids == 0).astype(np.uint8)
    viewer, dock = _open(make_napari_viewer, two_images, qtbot, "export")
    widget = dock.export
    out = tmp_path / "out"
    widget.form.out.value = out
    _export(qtbot, widget)
    skipped = widget.skipped
    assert [k for k, _ in skipped.skipped] == [("b", 1)] and "touching" in skipped.skipped[0][1]
    qtbot.waitUntil(lambda: skipped.table.rowCount() == 1 and skipped.table.item(0, 0) is not None, timeout=10000)
    assert skipped.table.item(0, 0).text() == "b:1"  # box ids repeat across images: named with its image
    skipped.select([("b", 1)])
    skipped.reason.setText("checked by hand")
    skipped.override_button.click()
    assert skipped.overrides == {("b", 1): "checked by hand"}
    _export(qtbot, widget)
    assert not messages["error"], messages["error"]
    cases = {c["case"]: c for c in _manifest(out)["cases"]}
    assert cases["b_box_0001"]["override"] == "checked by hand" and cases["a_box_0001"]["override"] is None
    assert widget.last_report.skipped == []
    _idle(viewer, qtbot)


def test_a_domain_edited_in_the_image_list_lands_in_plan_json_and_the_next_check(make_napari_viewer, two_images,
                                                                                 told, qtbot):
    def codes():
        return {f.finding.code for f in check_consistency(two_images, load_collection(two_images),
                                                          intensities=False)}

    assert "voxel-size-differs" in codes()  # untagged images are compared
    viewer, dock = _open(make_napari_viewer, two_images, qtbot)
    images = dock.planner.images
    table = images.table
    assert not table.item(0, 0).flags() & Qt.ItemFlag.ItemIsEditable  # only the domain cell is edited
    cell = table.item(0, 3)  # the shown image's (a click on another row shows that image first)
    table.setCurrentItem(cell)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)  # as a person edits it (or a double-click)
    qtbot.waitUntil(lambda: (e := table.viewport().findChild(QLineEdit)) is not None and e.isVisible(), timeout=5000)
    editor = table.viewport().findChild(QLineEdit)
    qtbot.keyClicks(editor, "light sheet")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: load_collection(two_images).image("a").domain == "light sheet", timeout=10000)
    assert load_collection(two_images).image("b").domain is None
    assert any("a: domain (none) -> light sheet" in m for m in told["info"])
    assert "voxel-size-differs" not in codes()  # images of different domains are not compared
    images.set_domain("b", "light sheet")
    assert load_collection(two_images).image("b").domain == "light sheet"
    assert "voxel-size-differs" in codes()  # one domain again
    qtbot.waitUntil(lambda: table.item(1, 3).text() == "light sheet", timeout=10000)
    assert not images.set_domain("nope", "x") and "no image named 'nope'" in told["error"][-1]
    images.set_domain("b", "")
    assert load_collection(two_images).image("b").domain is None
    qtbot.waitUntil(lambda: table.item(1, 3).text() == "", timeout=10000)
    _idle(viewer, qtbot)


def _area(widget) -> QScrollArea:
    """The scroll area ``widget`` scrolls in (the Export step's form scrolls on a short screen)."""
    area = widget.parentWidget()
    while not isinstance(area, QScrollArea):
        area = area.parentWidget()
    return area


def _scrolled_to(widget) -> bool:
    """Scroll the form to ``widget``, as a person does (the layout may still be settling)."""
    _area(widget).ensureWidgetVisible(widget)
    return True


def _drawn(widget, window) -> bool:
    """``widget`` is whole in sight (inside ``window``, not clipped by its scroll area) and what it draws
    is not blank (more than one colour)."""
    top_left = widget.mapTo(window, QPoint(0, 0))
    where = QRect(top_left, widget.size())
    port = _area(widget).viewport()  # the part of the form in sight
    in_port = QRect(widget.mapTo(port, QPoint(0, 0)), widget.size())
    if not (widget.isVisible() and window.rect().contains(where) and port.rect().contains(in_port)):
        return False
    grabbed = widget.grab().toImage()  # what it draws there
    image = grabbed.convertToFormat(QImage.Format.Format_RGB32)
    if image.isNull():
        return False
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    pixels = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), :3]
    return len(np.unique(pixels.reshape(-1, 3), axis=0)) > 1


def test_the_export_step_draws_the_new_fields_inside_a_1280x800_window(make_napari_viewer, two_images, messages,
                                                                       qtbot):
    viewer, dock = _open(make_napari_viewer, two_images, qtbot, "export")
    window = dock.window()  # the main window holding the dock
    assert window.width() <= SCREEN[0] and window.height() <= SCREEN[1]
    more = dock.export.form.more
    assert not more.body.isVisible()  # folded: the step keeps its former height
    qtbot.waitUntil(lambda: _scrolled_to(more.toggle) and _drawn(more.toggle, window), timeout=10000)
    more.toggle.click()
    more.add_projects([two_images.parent / "another"])  # an empty list draws blank
    fields = (more.split_by, more.test_images, more.projects, more.add_project_button, more.remove_project_button)
    qtbot.waitUntil(lambda: all(f.isVisible() for f in fields), timeout=10000)
    for field in fields:
        qtbot.waitUntil(lambda f=field: _scrolled_to(f) and _drawn(f, window), timeout=10000)
    assert dock.export.export_button.isVisible()  # the step's button stays under the form
    _idle(viewer, qtbot)
