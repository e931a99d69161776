"""The dock's Evaluate step in a real viewer: scores, boxes worst first, a click goes to the box and shows
the prediction, closing the dock mid-run, projects of several images."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QTimer

from napari_patchwise._qt import evaluate_step as es_module
from napari_patchwise._qt.patchwise_dock import PatchwiseDock
from napari_patchwise._qt.prediction_layer import PREDICTION_NAME
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.evaluate.run import evaluate
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.image_adding import add_image_files
from napari_patchwise.engine.plan.plan_file import load_collection
from napari_patchwise.engine.plan.project import create_project, load_plan, save_plan
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui

SCREEN = (1280, 800)


@pytest.fixture
def step_messages(messages, monkeypatch):
    """The step's notifications, collected with the other docks'."""
    for kind in ("error", "warning", "info"):
        monkeypatch.setattr(es_module, f"show_{kind}", messages[kind].append)
    return messages


def _truth(folder, image=None) -> np.ndarray:
    plan = load_plan(folder, image)
    return np.asarray(open_annotations(folder, plan, mode="r", image=image)["nuclei"][:])


def _spoiled(folder, lose_one: int, lose_all: int, image=None) -> np.ndarray:
    """The painted nuclei as a prediction, with one object of box ``lose_one`` and every object of box
    ``lose_all`` missing."""
    plan = load_plan(folder, image)
    pred = _truth(folder, image).astype(np.uint16)
    one = pred[plan.box(lose_one).slices()]
    one[one == one.max()] = 0
    pred[plan.box(lose_all).slices()] = 0
    return pred


def _open(make_napari_viewer, folder, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window.set_geometry(0, 0, *SCREEN)
    viewer.open(str(folder), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    assert isinstance(dock, PatchwiseDock)
    session = session_for(viewer)
    qtbot.waitUntil(lambda: dock.planner.sync is not None and not session.openings and not session.working,
                    timeout=30000)
    return viewer, dock


def _evaluate(dock, qtbot, prediction, boxes="all"):
    step = dock.show_step("evaluate")
    step.prediction.setText(str(prediction))
    step.boxes.setCurrentIndex(step.boxes.findData(boxes))
    before = step.result
    step.evaluate_button.click()
    qtbot.waitUntil(lambda: step.result is not before and not step.runner.busy, timeout=30000)
    return step


def _click(step, row: int) -> None:
    """Click a row of the table from the running event loop."""
    QTimer.singleShot(0, lambda: step.table.cellClicked.emit(row, 0))


def _grab(widget) -> np.ndarray:
    image = widget.grab().toImage()
    image = image.convertToFormat(image.Format.Format_RGB32)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), :3]


def _rows_drawn(table) -> int:
    """Rows of ``table`` drawn with text (their band of the viewport is not all background)."""
    pixels = _grab(table.viewport())
    empty = np.median(pixels.reshape(-1, 3), axis=0)
    height = table.verticalHeader().defaultSectionSize()
    bands = [pixels[r * height:(r + 1) * height] for r in range(table.rowCount())]
    return sum(bool(b.size) and np.abs(b.astype(int) - empty).sum(axis=2).max() > 60 for b in bands)


def test_evaluate_lists_boxes_worst_first_and_a_click_goes_to_the_box(make_napari_viewer, annotated_project,
                                                                     tmp_path, step_messages, qtbot):
    pred = _spoiled(annotated_project, lose_one=2, lose_all=4)
    write_tiff(tmp_path / "pred.tif", pred)
    viewer, dock = _open(make_napari_viewer, annotated_project, qtbot)
    step = _evaluate(dock, qtbot, tmp_path / "pred.tif")
    assert not step_messages["error"], step_messages
    rows = step.table.rows
    assert [r[1] for r in rows[:2]] == [4, 2]  # every object missed, then one of two
    assert sorted(r[1] for r in rows) == [1, 2, 3, 4]
    assert {r[0] for r in rows} == set(load_collection(annotated_project).names)
    dice = [float(step.table.item(r, 2).text()) for r in range(len(rows))]
    assert dice == sorted(dice) and dice[0] == 0 and dice[-1] == 1
    engine = evaluate(step.request).to_dict()
    assert step.overall.text().startswith(f"Dice {engine['overall']['dice']:.3f} · F1 {engine['overall']['f1']:.3f}")
    qtbot.waitUntil(lambda: _rows_drawn(step.table) == 4)  # the table draws its rows (not only holds them)

    plan = dock.planner.sync.plan
    box = plan.box(4)
    z = (box.lo[0] + box.hi[0] - 1) // 2
    assert viewer.dims.point[0] != z * 2.0
    _click(step, 0)
    qtbot.waitUntil(lambda: PREDICTION_NAME in viewer.layers and viewer.dims.point[0] == z * 2.0, timeout=10000)
    centre = [(lo + hi - 1) / 2 * v for lo, hi, v in zip(box.lo, box.hi, (2.0, 0.5, 0.5))]
    assert viewer.camera.center[-2:] == pytest.approx(centre[-2:])
    layer = viewer.layers[PREDICTION_NAME]
    assert tuple(layer.scale) == (2.0, 0.5, 0.5) and np.array_equal(np.asarray(layer.data), pred)
    # another row, then evaluating again and clicking: still one prediction layer
    box2 = plan.box(2)
    _click(step, 1)
    qtbot.waitUntil(lambda: viewer.dims.point[0] == (box2.lo[0] + box2.hi[0] - 1) // 2 * 2.0, timeout=10000)
    step.threshold.setValue(0.4)
    step = _evaluate(dock, qtbot, tmp_path / "pred.tif")
    _click(step, 0)
    qtbot.waitUntil(lambda: viewer.dims.point[0] == z * 2.0, timeout=10000)
    qtbot.waitUntil(lambda: "0.4" in viewer.layers[PREDICTION_NAME].metadata["patchwise prediction"])
    assert [lay.name for lay in viewer.layers].count(PREDICTION_NAME) == 1
    assert not any(lay.name.startswith(f"{PREDICTION_NAME} [") for lay in viewer.layers)
    assert not step_messages["error"], step_messages


def test_the_prediction_layer_is_drawn_on_the_canvas(make_napari_viewer, annotated_project, tmp_path,
                                                     step_messages, qtbot):
    pred = _truth(annotated_project).astype(np.uint16)
    write_tiff(tmp_path / "pred.tif", pred)
    viewer, dock = _open(make_napari_viewer, annotated_project, qtbot)
    step = _evaluate(dock, qtbot, tmp_path / "pred.tif")
    _click(step, 0)
    qtbot.waitUntil(lambda: PREDICTION_NAME in viewer.layers, timeout=10000)
    layer = viewer.layers[PREDICTION_NAME]
    layer.opacity = 1.0
    for other in viewer.layers:
        if other is not layer and other.name != "blobs":
            other.visible = False
    shown = viewer.screenshot(canvas_only=True, flash=False)
    layer.visible = False
    hidden = viewer.screenshot(canvas_only=True, flash=False)
    changed = np.abs(shown[..., :3].astype(int) - hidden[..., :3].astype(int)).sum(axis=2) > 30
    # the slice shown goes through painted nuclei: the prediction covers them, not the whole canvas
    z = int(round(viewer.dims.point[0] / 2.0))
    painted = (pred[z] > 0).mean()
    assert painted > 0 and 0 < changed.mean() < 0.9
    assert not step_messages["error"], step_messages


def test_bad_input_is_said_and_nothing_runs(make_napari_viewer, annotated_project, tmp_path, step_messages, qtbot):
    viewer, dock = _open(make_napari_viewer, annotated_project, qtbot)
    step = dock.show_step("evaluate")
    step.evaluate_button.click()
    assert "choose a prediction" in step_messages["error"][-1]
    step.prediction.setText(str(tmp_path / "missing.tif"))
    step.evaluate_button.click()
    qtbot.waitUntil(lambda: not step.runner.busy and len(step_messages["error"]) == 2, timeout=10000)
    assert "no prediction at" in step_messages["error"][-1]
    step.prediction.setText(str(tmp_path))
    step.iou.setText("0.5,2")
    step.evaluate_button.click()
    assert "IoU thresholds lie in (0, 1]" in step_messages["error"][-1]
    step.iou.setText("0.5")
    step.boxes.setCurrentIndex(step.boxes.findData("selected"))
    dock.planner.table.clearSelection()
    step.evaluate_button.click()
    assert "select boxes" in step_messages["error"][-1]
    assert step.result is None and step.table.rowCount() == 0


def test_closing_the_dock_while_it_evaluates_is_quiet(make_napari_viewer, annotated_project, tmp_path,
                                                      step_messages, qtbot, monkeypatch, gates):
    write_tiff(tmp_path / "pred.tif", _truth(annotated_project).astype(np.uint16))
    gate = gates()
    monkeypatch.setattr(es_module, "evaluate", lambda request, progress: gate(progress))
    viewer, dock = _open(make_napari_viewer, annotated_project, qtbot)
    step = dock.show_step("evaluate")
    step.prediction.setText(str(tmp_path / "pred.tif"))
    step.evaluate_button.click()
    qtbot.waitUntil(lambda: gate.entered.is_set() and step.progress.maximum() == gate.total, timeout=10000)
    viewer.window.remove_dock_widget(dock)
    qtbot.waitUntil(gate.exited.is_set, timeout=10000)  # cancelled: the dock is gone
    assert gate.cancelled and step.result is None
    assert not step_messages["error"], step_messages


def _two_images(tmp_path, small_volume):
    """A project of two images, a box each, their nuclei painted: ``(folder, {image: painted nuclei})``."""
    paths, truth = [], {}
    for name, lo in (("vol_a", (0, 0, 0)), ("vol_b", (8, 40, 40))):
        path = tmp_path / f"{name}.tif"
        write_tiff(path, np.ascontiguousarray(small_volume[:24, :96, :96]), (2.0, 0.5, 0.5))
        paths.append(str(path))
    plan = Plan(ImageRef((24, 96, 96), "uint16", (2.0, 0.5, 0.5), path=paths[0], name="vol_a"),
                get_preset("custom", minimum=(8, 32, 32))).add_boxes([((0, 0, 0), (16, 40, 40))])
    folder = create_project(tmp_path / "proj", plan)
    assert add_image_files(folder, paths[1:]).added == ("vol_b",)
    save_plan(folder, load_plan(folder, "vol_b").add_boxes([((8, 40, 40), (24, 80, 80))]), "vol_b")
    for name, lo in (("vol_a", (0, 0, 0)), ("vol_b", (8, 40, 40))):
        group = open_annotations(folder, image=name)
        nuclei = np.zeros((24, 96, 96), np.uint32)
        z, y, x = lo
        nuclei[z + 2:z + 10, y + 8:y + 20, x + 8:x + 20] = 3
        group["nuclei"][:] = nuclei
        box = load_plan(folder, name).boxes[0]
        group["background"][box.slices()] = (nuclei[box.slices()] == 0)
        truth[name] = nuclei
    return folder, truth


def test_a_click_on_a_box_of_another_image_shows_that_image(make_napari_viewer, tmp_path, small_volume,
                                                            step_messages, qtbot):
    folder, truth = _two_images(tmp_path, small_volume)
    preds = tmp_path / "preds"
    preds.mkdir()
    write_tiff(preds / "vol_a.tif", truth["vol_a"].astype(np.uint16))
    write_tiff(preds / "vol_b.tif", np.zeros((24, 96, 96), np.uint16))  # misses the only object
    viewer, dock = _open(make_napari_viewer, folder, qtbot)
    session = session_for(viewer)
    assert session.image_of(folder) == "vol_a"
    step = _evaluate(dock, qtbot, preds)
    assert not step_messages["error"], step_messages
    assert step.table.rows == [("vol_b", 1), ("vol_a", 1)]
    _click(step, 0)
    qtbot.waitUntil(lambda: session.image_of(folder) == "vol_b" and not session.openings
                    and PREDICTION_NAME in viewer.layers and viewer.dims.point[0] == 15 * 2.0, timeout=30000)
    assert dock.planner.sync.plan.box(1).lo == (8, 40, 40)
    assert str(preds / "vol_b.tif") in viewer.layers[PREDICTION_NAME].metadata["patchwise prediction"]
    # a single file is the prediction of the image shown
    step = _evaluate(dock, qtbot, preds / "vol_b.tif")
    assert step.table.rows == [("vol_b", 1)]
    qtbot.waitUntil(lambda: not session.working, timeout=30000)
    assert not step_messages["error"], step_messages
