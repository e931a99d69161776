"""Screenshots of the Evaluate step and the Plan step's Advice tab on real FIB-SEM data (docs/images/real-evaluate.png,
docs/images/real-advice.png).

Run under Xvfb with a 1280×800 screen, from the repository, with the shared volumes at ``../shared/data``
(or ``PATCHWISE_SHARED_DATA``)::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshot_evaluate.py

It builds a project on gala's FIB-SEM test crop (10 nm voxels) in a temporary folder: eight boxes tiling
the crop, the neuron ground truth painted in them (as ``tests/engine/evaluate/test_fibsem_vi.py`` does),
evaluates the agglomeration ``test-seg1`` from the dock, goes to the worst box, and prints the scores.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import h5py
import napari
import numpy as np
from qtpy.QtWidgets import QApplication

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.classes import ClassSpec
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.layers.session import session_for

OUT = Path(__file__).resolve().parent / "images"
DATA = Path(os.environ.get("PATCHWISE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def settle(viewer, app, step=None) -> None:
    session = session_for(viewer)
    while session.working or session.openings or (step is not None and step.runner.busy):
        app.processEvents()
    for _ in range(30):
        app.processEvents()


def gala_project(folder: Path) -> Path:
    gala = DATA / "fibsem_gala"
    with h5py.File(gala / "test-gt.lzf.h5", "r") as f:
        gt = f["stack"][()]
    z, y, x = gt.shape  # (50, 100, 200)
    plan = Plan(ImageRef(gt.shape, dtype="uint8", voxel_size=(10.0, 10.0, 10.0), unit="nanometer",
                         path=str(gala / "test-image.h5"), name="test-image"),
                classes=(ClassSpec("neurons", "instance"),))
    plan = plan.add_boxes([((z0, y0, x0), (z0 + z // 2, y0 + y // 2, x0 + x // 2))
                           for z0 in (0, z // 2) for y0 in (0, y // 2) for x0 in (0, x // 2)])
    project = create_project(folder / "fibsem", plan)
    group = open_annotations(project)
    group["neurons"][...] = gt.astype(np.uint32)
    group["background"][...] = (gt == 0).astype(np.uint8)
    return project


def main() -> None:
    project = gala_project(Path(tempfile.mkdtemp()))
    viewer = napari.Viewer()
    viewer.window.set_geometry(0, 0, 1280, 800)
    viewer.open(str(project), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    app = QApplication.instance()
    settle(viewer, app)

    advice = dock.planner.advice
    dock.planner.tabs.setCurrentWidget(advice)
    settle(viewer, app)
    advice.advise()
    settle(viewer, app, advice)
    dock.window().grab().save(str(OUT / "real-advice.png"))
    print(advice.result.text())

    step = dock.show_step("evaluate")
    step.prediction.setText(str(DATA / "fibsem_gala" / "test-seg1.lzf.h5"))
    step.run()
    settle(viewer, app, step)
    step.table.selectRow(0)
    step.go_to(*step.table.rows[0])
    settle(viewer, app)
    dock.window().grab().save(str(OUT / "real-evaluate.png"))
    print(step.overall.text())
    print("worst first:", step.table.rows)
    viewer.close()


if __name__ == "__main__":
    main()
