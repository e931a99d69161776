"""Regenerate the screenshots of docs/user-guide.md from a real napari viewer.

Run under an X server (``xvfb-run -a python docs/make_screenshots.py``).
"""

from __future__ import annotations

import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise._sample_data import sample_nuclei

OUT = Path(__file__).parent / "images"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    viewer = napari.Viewer()
    viewer.window.resize(1500, 950)
    for data, kwargs, kind in sample_nuclei():
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    dock, widget = viewer.window.add_plugin_dock_widget("napari-patchwise", "Box planner")
    assert isinstance(widget, PlannerWidget)
    widget.settings.image.value = viewer.layers["nuclei"]
    widget.settings.preset.value = "instance"
    widget.settings.magnification.value = "1,2,2"
    widget.new_plan()
    plan = widget.sync.plan
    # a grid of default boxes, one deliberately too thin and one overlapping, to show findings
    size, shape = plan.default_box_size, plan.image.shape
    corners = [(0, y, x) for y in range(0, shape[1] - size[1] + 1, size[1] + 16)
               for x in range(0, shape[2] - size[2] + 1, size[2] + 16)][:6]
    plan = plan.add_boxes([(c, tuple(a + s for a, s in zip(c, size))) for c in corners])
    plan = plan.add_boxes([((8, 20, 300), (24, 84, 364)), ((40, 120, 120), (96, 248, 248))])
    widget.sync.set_plan(plan)
    widget.jump_to_box(plan.boxes[-2].id)
    viewer.layers.selection.active = widget.sync.rectangles
    QApplication.processEvents()
    viewer.screenshot(str(OUT / "planner.png"), canvas_only=False, flash=False)
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    viewer.scene.camera.angles = (-15, 30, 130)
    viewer.scene.camera.zoom *= 0.8
    QApplication.processEvents()
    viewer.screenshot(str(OUT / "planner-3d.png"), canvas_only=True, flash=False)
    viewer.close()
    propose_screenshot()


def propose_screenshot() -> None:
    """The Propose tab after a stratified proposal on the sample volume."""
    viewer = napari.Viewer()
    viewer.window.resize(1500, 950)
    for data, kwargs, kind in sample_nuclei():
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    _, widget = viewer.window.add_plugin_dock_widget("napari-patchwise", "Box planner")
    widget.settings.image.value = viewer.layers["nuclei"]
    widget.settings.preset.value = "instance"
    widget.new_plan()
    panel = widget.proposer
    panel.propose_button.click()
    deadline = time.monotonic() + 60
    while panel.busy and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.05)
    widget.tabs.setCurrentWidget(panel)
    viewer.dims.set_point(0, 32 * viewer.layers["nuclei"].scale[0])
    viewer.reset_view()
    viewer.layers.selection.active = widget.sync.rectangles
    QApplication.processEvents()
    viewer.screenshot(str(OUT / "planner-propose.png"), canvas_only=False, flash=False)
    viewer.close()


if __name__ == "__main__":
    main()
