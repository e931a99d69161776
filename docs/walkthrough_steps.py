"""The steps of docs/walkthrough.py: what a person does in the napari window, one method each.

Everything happens in the one Patchwise dock (Plugins › Patchwise), step by step: its tabs
Plan · Propose · Seed · Annotate/QC · Export are clicked as a person clicks them, and only the
steps' own fields and buttons are used, besides napari's public API. Waiting is an
event-processing loop on a condition a person would see (a progress bar gone, a result shown).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import napari
import numpy as np
from napari.layers import Image, Labels
from qtpy.QtCore import Qt, QTimer
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QFileDialog, QLineEdit

PLUGIN = "napari-patchwise"
SCREEN = (1280, 800)


def wait_until(condition, what: str, timeout: float = 300.0) -> None:
    """Process Qt events until ``condition()`` holds (a TimeoutError naming ``what`` after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:g} s for {what}")
        QTest.qWait(20)
    QTest.qWait(50)  # let the views redraw


def type_into(line_edit, text: str) -> None:
    """Select a line edit's text, type ``text`` and press Enter, as a person does."""
    native = line_edit.native
    native.setFocus()
    native.selectAll()
    QTest.keyClicks(native, text)
    QTest.keyClick(native, Qt.Key.Key_Return)


def answer_folder_dialog(folder: Path) -> None:
    """Answer the next folder dialog with ``folder`` (created empty first, as its 'New folder' would)."""
    folder.mkdir(parents=True, exist_ok=True)

    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QFileDialog):
            QTimer.singleShot(50, answer)
            return
        name = dialog.findChild(QLineEdit, "fileNameEdit")  # the dialog's 'Directory:' field
        name.setText(str(folder))
        QTest.keyClick(name, Qt.Key.Key_Return)

    QTimer.singleShot(100, answer)


class Session:
    """One volume, start to finish, in one napari window; ``figures`` collects what it showed."""

    def __init__(self, volume, *, data: Path, out: Path, work: Path, all_shots: Path | None):
        self.volume, self.data, self.out, self.work, self.all_shots = volume, data, out, work, all_shots
        self.work.mkdir(parents=True, exist_ok=True)
        self.viewer = napari.Viewer(title=f"napari-patchwise walkthrough: {volume.title}")
        self.viewer.window.set_geometry(0, 0, *SCREEN)
        self.figures: dict = {"volume": volume.open}
        self.patchwise = self.planner = self.proposer = self.seeder = self.qc = self.exporter = None
        self.image = None

    # -- helpers ---------------------------------------------------------------------
    def shot(self, step: str) -> None:
        """Screenshot of the whole window, kept when the guide uses it (or every step is wanted)."""
        QTest.qWait(100)
        paths = []
        if step in self.volume.shots:
            paths.append(self.out / f"real-{self.volume.name}-{step}.png")
        if self.all_shots is not None:
            self.all_shots.mkdir(parents=True, exist_ok=True)
            paths.append(self.all_shots / f"{self.volume.name}-{step}.png")
        for path in paths:
            self.viewer.screenshot(str(path), canvas_only=False, flash=False)
            _shrink_png(path)

    def open_dock(self):
        """Plugins › Patchwise: the one dock with the workflow's steps."""
        _, self.patchwise = self.viewer.window.add_plugin_dock_widget(PLUGIN, "Patchwise")
        d = self.patchwise
        self.planner, self.proposer, self.seeder, self.qc, self.exporter = d.planner, d.proposer, d.seed, d.qc, d.export
        QTest.qWait(50)
        return d

    def step(self, title: str):
        """Click the step's tab (Plan, Propose, Seed, Annotate/QC, Export)."""
        tabs = self.patchwise.tabs
        index = next(i for i in range(tabs.count()) if tabs.tabText(i) == title)
        tabs.tabBar().setCurrentIndex(index)
        QTest.qWait(50)

    def close(self) -> None:
        self.viewer.close()

    # -- the steps -------------------------------------------------------------------
    def open_image(self) -> None:
        """File › Open (napari picks the reader unless the file is HDF5), or File › Open Sample."""
        v = self.volume
        if v.open == "sample":
            layers = self.viewer.open_sample(PLUGIN, "nuclei3d")
        else:
            layers = self.viewer.open(str(self.data / v.open), plugin=v.plugin)
        self.image = next(layer for layer in layers if isinstance(layer, Image))
        if v.plugin is None and v.open != "sample":
            # napari's own reader shows the whole intensity range (nuclei near black); a person
            # drags the contrast slider: here to the 0.5-99.8 % percentiles
            self.image.contrast_limits = tuple(float(c) for c in np.percentile(self.image.data, (0.5, 99.8)))
        self.figures["image"] = {"name": self.image.name, "shape": list(self.image.data.shape),
                                 "dtype": str(self.image.data.dtype), "layers": [lay.name for lay in layers]}

    def start_plan(self) -> None:
        """Plan step: the image, its voxel size where the file has none, preset, classes; New plan."""
        v = self.volume
        self.open_dock()
        self.step("Plan")
        w = self.planner
        self.viewer.reset_view()  # the dock narrowed the canvas: Home fits the image again
        w.settings.image.value = self.image
        self.figures["voxel size shown"] = [w.settings.voxel_size.value, w.settings.unit.value,
                                            w.settings.voxel_note.value]
        if v.voxel_size:
            type_into(w.settings.voxel_size, v.voxel_size)
        w.settings.preset.value = v.preset
        type_into(w.settings.classes, v.classes)
        self.figures["box size"] = [w.settings.box_size.value, w.settings.box_info.value]
        self.shot("plan")
        w.new_button.click()
        wait_until(lambda: w.plan is not None, "the new plan")
        img = w.plan.image
        self.figures["voxel size"] = [list(img.voxel_size), img.unit, img.voxel_size_known]

    def propose(self) -> None:
        """Propose step: Propose with the defaults, wait for the measurement."""
        w, p = self.planner, self.proposer
        self.step("Propose")
        p.propose_button.click()
        wait_until(lambda: not p.busy and p.report.text(), "the proposal")
        boxes = w.plan.boxes
        self.figures["proposal"] = p.report.text()
        self.figures["boxes"] = len(boxes)
        self.figures["strata"] = dict(Counter(b.stratum for b in boxes))
        self.figures["box sizes"] = sorted({"×".join(map(str, np.subtract(b.hi, b.lo))) for b in boxes})
        self.figures["plan summary"] = w.summary.text()
        self.shot("propose")
        self.viewer.dims.ndisplay = 3  # the 2D/3D button: every box as a wireframe with its id
        self.viewer.reset_view()
        self.viewer.scene.camera.angles = (-20, 35, 140)  # turned with the mouse, to see the boxes' depth
        QTest.qWait(200)
        self.shot("3d")
        self.viewer.dims.ndisplay = 2

    def save_project(self) -> None:
        """Save project…: a new empty folder in the folder dialog."""
        w, folder = self.planner, self.work / "project"
        self.step("Plan")
        answer_folder_dialog(folder)
        w.save_button.click()
        wait_until(lambda: w.project is not None and not w.runner.busy, "the project to be saved")
        self.figures["project"] = str(w.project)

    def seed(self) -> None:
        """Seed weak labels: estimate the diameter, preview Otsu, apply (or import labels)."""
        v = self.volume
        s = self.seeder
        self.step("Seed")
        if v.preview_threshold:
            s.form.method.value = "otsu"
            s.form.estimate.native.click()
            wait_until(lambda: not s.busy and "estimated" in s.result.text(), "the diameter estimate")
            self.figures["diameter"] = s.result.text()
            s.preview_button.click()
            wait_until(lambda: not s.busy and s.result.text().startswith("preview"), "the preview")
            self.figures["preview"] = s.result.text()
            preview = self.viewer.layers["seed preview"].data
            self.figures["preview foreground %"] = round(100 * float(np.mean(preview > 0)), 1)
            self.shot("preview")
        for name in v.hide:
            self.viewer.layers[name].visible = False
        s.form.method.value = v.seed_method
        if v.seed_method == "layer":
            s.form.layer.value = self.viewer.layers[v.seed_from]
        elif v.seed_method == "file":
            s.form.file.value = self.data / v.seed_from
        s.apply_button.click()
        wait_until(lambda: not s.busy and s.last_report is not None, "seeding")
        report = s.last_report
        self.figures["seeded"] = report.summary()
        self.figures["objects seeded"] = report.objects
        if len(self.planner.plan.boxes) > 1:
            self.viewer.reset_view()  # Home: every box in view again
        self.shot("seeded")

    def paint(self) -> None:
        """Annotate/QC step; paint as a person would after seeding.

        An instance class: a new object right beside a seeded one, so they
        touch (the QC dock must flag it). A semantic class has no instances to
        touch: background painted coarsely across an object (the QC dock crops
        it under the object).
        """
        q = self.qc
        self.step("Annotate/QC")
        wait_until(lambda: q.live is not None and not q.runner.jobs, "the live checks")
        plan = self.planner.plan
        cls = plan.classes[0]
        objects = self.viewer.layers[f"{cls.name} labels"]
        data = np.asarray(objects.data[:])
        if cls.kind == "instance":
            layer, brush = objects, 3
            start, end, label = _stroke_beside_an_object(data, plan)
        else:
            layer, brush, label = self.viewer.layers["background"], 9, 1
            start, end = _stroke_across_an_object(data, plan)
        self.viewer.layers.selection.active = layer
        layer.mode = "paint"
        layer.brush_size = brush
        layer.selected_label = label
        self.viewer.dims.set_point(0, layer.data_to_world(start)[0])
        self.viewer.scene.camera.center = tuple(layer.data_to_world((np.add(start, end)) / 2))
        self.viewer.scene.camera.zoom *= 1.5  # closer, as to paint
        drag(layer, layer.data_to_world(start), layer.data_to_world(end))
        self.figures["stroke"] = {"layer": layer.name, "label": int(label), "brush": brush,
                                  "from": list(map(int, start)), "to": list(map(int, end))}
        if cls.kind == "instance":
            wait_until(lambda: q.pairs.rowCount() > 0, "the contact to be flagged", timeout=30)
        else:
            painted = lambda: np.asarray(layer.data[start[0]]).any()  # noqa: E731
            wait_until(painted, "the background stroke", timeout=30)
            bg, obj = np.asarray(layer.data[:]) > 0, np.asarray(objects.data[:]) > 0
            self.figures["background painted"] = int(bg.sum())
            self.figures["background left under objects"] = int((bg & obj).sum())
        self.figures["contacts flagged"] = q.pairs.rowCount()
        self.figures["pairs label"] = q.pairs_label.text()
        self.shot("stroke")

    def separate(self) -> None:
        """Separate all: a one-voxel background gap between the touching objects."""
        q = self.qc
        if q.pairs.rowCount() == 0:
            return
        q.separate_all.click()
        wait_until(lambda: q.pairs.rowCount() == 0, "the pairs to be separated", timeout=30)
        self.figures["after separate"] = q.pairs_label.text()

    def check_all(self) -> None:
        """Check all boxes: every box's findings in the table, the boxes coloured."""
        q = self.qc
        q.check_button.click()
        wait_until(lambda: not q.runner.jobs and q.findings.rowCount() > 0, "the box checks")
        rows = [tuple(q.findings.item(r, c).text() for c in range(5)) for r in range(q.findings.rowCount())]
        self.figures["findings"] = dict(Counter(f"{sev} {code}".strip() for _, _, sev, code, _ in rows))
        tabs = q.tabs  # the Findings tab, as a person clicks it to read them
        tabs.tabBar().setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i).startswith("Findings")))
        self.shot("qc")

    def export(self) -> None:
        """Export training data: nnU-Net into the project's export folder, checked by nnU-Net."""
        e = self.exporter
        self.step("Export")
        e.export_button.click()
        wait_until(lambda: not e.busy and e.summary.toPlainText(), "the export")
        report = e.last_report
        self.figures["export"] = e.summary.toPlainText()
        if report is None:
            return
        self.figures["cases exported"] = {fmt: len(cases) for fmt, cases in report.written.items()}
        self.figures["skipped"] = len(report.skipped)
        self.shot("export")
        folder = report.folders.get("nnunet")
        try:
            from napari_patchwise.engine.export.nnunet import verify_nnunet

            verify_nnunet(folder)
            self.figures["nnunet check"] = "passed"
        except ImportError:
            self.figures["nnunet check"] = "nnunetv2 not installed"
        except Exception as exc:  # noqa: BLE001 (the walkthrough reports what nnU-Net said)
            self.figures["nnunet check"] = f"failed: {exc}"


def _stroke_beside_an_object(labels: np.ndarray, plan):
    """A short stroke (start, end, new label) in background right beside the largest seeded object.

    It starts two voxels off the object's edge on the object's widest plane,
    inside a box, and runs away from it, so a brush of 3 reaches the object.
    """
    from scipy import ndimage as ndi

    inside = np.zeros(labels.shape, bool)
    for box in plan.boxes:
        inside[box.slices(plan.magnification)] = True
    ids, counts = np.unique(labels[inside], return_counts=True)
    keep = ids > 0
    ids, counts = ids[keep], counts[keep]
    if not ids.size:
        raise RuntimeError("nothing was seeded: no object to paint beside")
    for obj in ids[np.argsort(counts)[::-1]]:
        mask = labels == obj
        z = int(np.argmax(mask.sum(axis=(1, 2))))
        plane, free = mask[z], (labels[z] == 0) & inside[z]
        ring = ndi.binary_dilation(plane, iterations=2) & ~ndi.binary_dilation(plane, iterations=1) & free
        if not ring.any():
            continue
        cy, cx = np.argwhere(plane).mean(axis=0)
        pts = np.argwhere(ring)
        for y, x in pts[np.argsort(-np.hypot(pts[:, 0] - cy, pts[:, 1] - cx))]:
            d = np.array([y - cy, x - cx]) / max(np.hypot(y - cy, x - cx), 1e-6)
            far = np.round(np.array([y, x]) + 6 * d).astype(int)
            if (0 <= far).all() and (far < plane.shape).all() and free[tuple(far)]:
                return (z, int(y), int(x)), (z, int(far[0]), int(far[1])), int(labels.max()) + 1
    raise RuntimeError("no free place beside a seeded object")


def _stroke_across_an_object(labels: np.ndarray, plan):
    """A stroke (start, end) through the middle of the largest object on its widest plane, reaching
    ten voxels beyond it on either side (inside its box)."""
    from scipy import ndimage as ndi

    if not labels.any():
        raise RuntimeError("nothing was seeded: no object to paint across")
    z = int(np.argmax((labels > 0).sum(axis=(1, 2))))
    parts, n = ndi.label(labels[z] > 0)  # a semantic class: one value for every object
    sizes = ndi.sum_labels(np.ones(parts.shape), parts, index=np.arange(1, n + 1))
    pts = np.argwhere(parts == 1 + int(np.argmax(sizes)))
    (y0, x0), (y1, x1) = pts.min(axis=0), pts.max(axis=0)
    cy = int(round((y0 + y1) / 2))
    box = next(b for b in plan.boxes if all(lo <= p < hi for lo, hi, p in zip(b.lo, b.hi, (z, cy, x0))))
    lo_x, hi_x = box.lo[2], box.hi[2] - 1
    return (z, cy, max(lo_x, int(x0) - 10)), (z, cy, min(hi_x, int(x1) + 10))


def drag(layer, start, end, steps: int = 6) -> None:
    """A mouse stroke on ``layer`` from ``start`` to ``end`` (world coordinates): press, moves, release."""
    from napari.utils.interactions import mouse_move_callbacks, mouse_press_callbacks, mouse_release_callbacks

    start, end = np.asarray(start, float), np.asarray(end, float)

    def event(kind, position, dragging=False):
        return _Event(kind, tuple(position), dragging)

    press = _Proxy(event("mouse_press", start))
    mouse_press_callbacks(layer, press)
    for t in np.linspace(0, 1, steps + 1)[1:]:
        press.target = event("mouse_move", start + t * (end - start), dragging=True)
        mouse_move_callbacks(layer, press)
    press.target = event("mouse_release", end)
    mouse_release_callbacks(layer, press)


class _Event:
    """The fields napari's layer mouse callbacks read from a vispy mouse event."""

    def __init__(self, kind, position, dragging):
        self.type, self.position, self.is_dragging = kind, position, dragging
        self.button, self.modifiers, self.pos = 1, [], np.zeros(2)
        self.view_direction = self.up_direction = self.dims_point = self.delta = self.native = None
        self.dims_displayed, self.handled = [1, 2], False


class _Proxy:
    """napari's drag callbacks keep the press event and read it as the mouse moves: one object, new fields."""

    def __init__(self, target):
        object.__setattr__(self, "target", target)

    def __getattr__(self, name):
        return getattr(self.target, name)

    def __setattr__(self, name, value):
        if name == "target":
            object.__setattr__(self, name, value)
        else:
            setattr(self.target, name, value)


def _shrink_png(path: Path) -> None:
    """Store a screenshot with a 256-colour palette (UI screenshots stay legible, a third of the size)."""
    try:
        from PIL import Image as PILImage
    except ImportError:
        return
    with PILImage.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE)
    small.save(path, optimize=True)


__all__ = ["Session", "wait_until", "drag", "Labels"]
