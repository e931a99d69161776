"""The Plan step's Advice panel in a real viewer: the advisor's answer shown, and put into the forms."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QPoint, QRect
from qtpy.QtWidgets import QApplication
from scipy import ndimage

from napari_patchwise._qt import advice_panel as ap_module
from napari_patchwise._qt.advice_panel import NO_LABELS
from napari_patchwise._qt.patchwise_dock import PatchwiseDock
from napari_patchwise.engine.advise import run_advise
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui

SCREEN = (1280, 800)
VOXEL = (2.0, 0.5, 0.5)


@pytest.fixture
def panel_messages(messages, monkeypatch):
    for kind in ("error", "warning", "info"):
        monkeypatch.setattr(ap_module, f"show_{kind}", messages[kind].append)
    return messages


def _dock(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.window.set_geometry(0, 0, *SCREEN)
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    assert isinstance(dock, PatchwiseDock)
    return viewer, dock


def _grab(widget) -> np.ndarray:
    image = widget.grab().toImage()
    image = image.convertToFormat(image.Format.Format_RGB32)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), :3]


def test_advice_is_shown_and_fills_the_forms_without_proposing(make_napari_viewer, small_volume, panel_messages,
                                                               qtbot):
    viewer, dock = _dock(make_napari_viewer)
    viewer.add_image(small_volume, name="vol", scale=VOXEL)
    blobs, _ = ndimage.label(ndimage.gaussian_filter(small_volume.astype(float), 1) > 300)
    viewer.add_labels(blobs.astype(np.uint16), name="blobs", scale=VOXEL)
    viewer.add_labels(np.zeros((4, 8, 8), np.uint8), name="other shape")
    planner = dock.planner
    planner.reset_choices()
    planner.settings.image.value = viewer.layers["vol"]
    panel = planner.advice
    assert planner.tabs.tabText(0) == "Plan" and not panel.isVisible()  # a tab beside the settings
    planner.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(panel.isVisible)
    assert [panel.labels.itemText(i) for i in range(panel.labels.count())] == ["blobs", NO_LABELS]
    panel.labels.setCurrentText(NO_LABELS)
    panel.reset_choices()  # a layer came or went: the choice is kept
    assert panel.labels.currentText() == NO_LABELS
    panel.labels.setCurrentText("blobs")
    panel.advise_button.click()
    qtbot.waitUntil(lambda: panel.advice is not None and not panel.runner.busy, timeout=60000)
    assert not panel_messages["error"], panel_messages
    advice = panel.advice
    expected = run_advise(panel.request())  # the engine's answer on the same image, voxel size and labels
    assert (advice.problems, advice.recommend, advice.magnification, advice.box_size, advice.boxes) == (
        expected.problems, expected.recommend, expected.magnification, expected.box_size, expected.boxes)
    assert advice.measures.snr_from.startswith("label")  # measured on the labels layer
    text = panel.result.text()
    assert f"recommended: {advice.recommend}" in text and advice.reasons[0] in text
    # the answer is drawn: the label's pixels are not all its background
    pixels = _grab(panel.result)
    assert np.abs(pixels.astype(int) - np.median(pixels.reshape(-1, 3), axis=0)).sum(axis=2).max() > 60

    panel.use_button.click()
    settings, form = planner.settings, planner.proposer.form
    assert settings.magnification.value == ",".join(map(str, advice.magnification))
    assert settings.box_size.value == ",".join(map(str, advice.box_size))
    assert settings.preset.value == advice.preset
    assert form.limit.value == "box count" and form.n_boxes.value == advice.boxes
    assert planner.sync is None  # nothing proposed, no plan made
    # a plan started now takes them
    plan = planner.new_plan()
    assert plan.magnification == advice.magnification and plan.box_size in (None, advice.box_size)
    assert not plan.boxes and not panel_messages["error"], panel_messages


def test_an_unknown_voxel_size_is_said(make_napari_viewer, small_volume, panel_messages, qtbot):
    viewer, dock = _dock(make_napari_viewer)
    viewer.add_image(small_volume, name="vol")  # scale 1, no file: unknown
    dock.planner.reset_choices()
    dock.planner.settings.image.value = viewer.layers["vol"]
    panel = dock.planner.advice
    dock.planner.tabs.setCurrentWidget(panel)
    panel.advise_button.click()
    assert "voxel size of 'vol' is unknown" in panel_messages["error"][-1]
    assert panel.advice is None and not panel.runner.busy and not panel.use_button.isEnabled()


def _visible_height(widget, dock) -> int:
    rect = QRect(widget.mapTo(dock, QPoint(0, 0)), widget.size())
    shown = rect.intersected(dock.rect())
    parent = widget.parentWidget()
    while parent is not None and parent is not dock:
        if hasattr(parent, "viewport"):
            view = parent.viewport()
            shown = shown.intersected(QRect(view.mapTo(dock, QPoint(0, 0)), view.size()))
        parent = parent.parentWidget()
    return max(0, shown.height())


def test_the_advice_tab_keeps_the_image_list_first_in_sight(make_napari_viewer, annotated_project, panel_messages,
                                                            qtbot):
    viewer, dock = _dock(make_napari_viewer)
    viewer.open(str(annotated_project), plugin="napari-patchwise")
    session = session_for(viewer)
    qtbot.waitUntil(lambda: dock.planner.sync is not None and not session.openings and not session.working,
                    timeout=30000)
    planner = dock.planner
    images, panel = planner.images, planner.advice
    qtbot.waitUntil(lambda: images.isVisible() and images.table.rowCount() == 1, timeout=10000)
    planner.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(panel.isVisible)
    assert "nuclei labels" in [panel.labels.itemText(i) for i in range(panel.labels.count())]
    panel.advise_button.click()
    qtbot.waitUntil(lambda: panel.advice is not None and not panel.runner.busy, timeout=60000)
    QApplication.processEvents()
    window = dock.window()
    frame = window.frameGeometry()
    assert frame.width() <= SCREEN[0] and frame.height() <= SCREEN[1]
    assert _visible_height(panel.use_button, dock) == panel.use_button.height() > 0
    assert _visible_height(panel.result, dock) > 0  # the answer's first lines in sight
    for button in (planner.new_button, planner.save_button, planner.open_button):
        assert _visible_height(button, dock) == button.height() > 0
    planner.tabs.setCurrentIndex(0)
    qtbot.waitUntil(images.isVisible)
    QApplication.processEvents()
    assert _visible_height(images, dock) == images.height() > 0  # first, whole, in sight
    assert not panel_messages["error"], panel_messages
