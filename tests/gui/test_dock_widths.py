"""Each dock fits a 1280-pixel-wide screen beside napari's layer list with room for the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtWidgets import QComboBox

from napari_patchwise._qt.narrow import MAX_DOCK_WIDTH

pytestmark = pytest.mark.gui

DOCKS = ("Patchwise", "Box planner", "Seed weak labels", "Annotation QC", "Export training data")
#: A layer name as the HDF5 reader makes them (file stem and dataset).
LONG_NAME = "training_sample2_crop128 oversegmentation"


@pytest.fixture
def viewer(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((8, 32, 32), np.uint8), name=f"{LONG_NAME} raw")
    viewer.add_labels(np.zeros((8, 32, 32), np.uint8), name=LONG_NAME)
    return viewer


@pytest.mark.parametrize("name", DOCKS)
def test_a_dock_is_narrow_enough_for_a_laptop_screen(viewer, name):
    dock, widget = viewer.window.add_plugin_dock_widget("napari-patchwise", name)
    width = max(dock.minimumSizeHint().width(), widget.minimumSizeHint().width())
    assert width <= MAX_DOCK_WIDTH, f"{name} needs {width} px"


@pytest.mark.parametrize("name", DOCKS[:4])  # the Export step's one list (instance class) needs a project
def test_long_choices_are_shown_whole_in_the_drop_down_list(viewer, name, qtbot):
    _, widget = viewer.window.add_plugin_dock_widget("napari-patchwise", name)
    qtbot.waitUntil(widget.isVisible)
    viewer.add_labels(np.zeros((8, 32, 32), np.uint8), name=LONG_NAME + " again")  # choices change later
    checked = 0
    for combo in widget.findChildren(QComboBox):
        if combo.count() and combo.isVisible():
            checked += 1
            combo.showPopup()
            try:
                longest = max((combo.itemText(i) for i in range(combo.count())), key=len)
                need = combo.fontMetrics().horizontalAdvance(longest)
                assert combo.view().viewport().width() >= need, longest
            finally:
                combo.hidePopup()
    assert checked


@pytest.mark.parametrize("name", DOCKS)
def test_a_dock_opens_narrow_beside_the_canvas(make_napari_viewer, name, qtbot):
    """Opened on the sample in a window the size of a 1280×800 screen, a dock leaves the canvas the
    larger part (the Box planner used to open 632 px wide for a wrapped note, the canvas got 310)."""
    viewer = make_napari_viewer(show=True)
    viewer.window.set_geometry(0, 0, 1280, 800)
    viewer.open_sample("napari-patchwise", "nuclei3d")
    dock, widget = viewer.window.add_plugin_dock_widget("napari-patchwise", name)
    qtbot.waitUntil(widget.isVisible)
    qtbot.waitUntil(lambda: dock.width() > 0)
    assert dock.width() <= MAX_DOCK_WIDTH
    assert viewer.window.geometry()[2] <= 1280
