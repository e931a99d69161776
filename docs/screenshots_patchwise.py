"""Screenshots of the Patchwise dock's steps on a 1280×800 screen (docs/images/patchwise-*.png).

Run under Xvfb with a 1280×800 screen, from the repository::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshots_patchwise.py

It makes the demo project in a temporary folder (``patchwise demo``), opens it and shows each step.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

from napari_patchwise.layers.session import session_for

OUT = Path(__file__).resolve().parent / "images"


def settle(viewer, app) -> None:
    session = session_for(viewer)
    while session.working:
        app.processEvents()
    for _ in range(20):
        app.processEvents()


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "napari_patchwise.cli", "demo", "--out", str(tmp / "demo")], check=True)
    project = next(p.parent for p in (tmp / "demo").rglob("plan.json"))
    viewer = napari.Viewer()
    viewer.window.set_geometry(0, 0, 1280, 800)
    viewer.open(str(project), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    app = QApplication.instance()
    settle(viewer, app)
    dock.qc.check_boxes()
    settle(viewer, app)
    dock.export.form.out.value = tmp / "export"
    dock.export.export()
    settle(viewer, app)
    for step in ("plan", "propose", "seed", "qc", "export"):
        dock.show_step(step)
        settle(viewer, app)
        dock.window().grab().save(str(OUT / f"patchwise-{step}.png"))
    viewer.close()


if __name__ == "__main__":
    main()
