"""Benchmark: one brush stroke in a real viewer, on the project's labels with live QC, against a plain layer.

The demo project (the built-in sample volume, 96×384×384, boxes proposed and
seeded as ``patchwise demo`` does) is opened in a napari window (1280×800, run
under Xvfb) with the Patchwise dock at its Annotate/QC step, live checks on.
Each stroke is one ``Labels.paint`` with a brush of radius 5 (``brush_size``
11) at a random voxel of a seeded box, on the plane shown, with a new label,
run from the event loop as napari runs a mouse event:

* **stroke → idle**: from the paint until the GUI is idle (every posted event,
  repaints included, handled);
* **burst**: the longest gap between the ticks of a 10 ms ``QTimer`` in the
  second after that (the debounced checks that follow a stroke).

Baseline, in the same run and the same viewer: a plain napari Labels layer
holding a copy of the class labels in memory (no project, no live checks),
painted at the same places. Beside them, what the storage costs: the same
labels in a Zarr array of the annotation chunks (16×64×64) and of the older
32×128×128 chunks, no checks. Strokes go round the layers.

With ``--drag N`` each stroke is a drag instead: a press, ``N`` mouse moves
along 30 voxels of the plane and a release, through napari's own mouse
callbacks (napari paints one dab per move; the project's layer holds them in
memory until the release, see ``engine/plan/stroke_buffer.py``).

Goal (issue 17): stroke → idle at most 1.25× the plain layer's, no burst over 50 ms.

Usage::

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_stroke.py [--strokes 20] [--drag 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import napari
import numpy as np
import zarr
from napari.utils.interactions import mouse_move_callbacks, mouse_press_callbacks, mouse_release_callbacks
from qtpy.QtCore import QEventLoop, QTimer

from bench_gui_gaps import WINDOW, loop_until, settle

from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.jobs.propose import ProposeRequest, run_propose
from napari_patchwise.engine.jobs.seed import SeedRequest, run_seed
from napari_patchwise.engine.plan.annotation_store import MAX_CHUNKS
from napari_patchwise.engine.plan.classes import parse_classes
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.plan.project import create_project, load_plan, save_plan
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.layers.session import session_for

RADIUS = 5
#: The annotation chunks of projects saved before 16×64×64.
OLD_CHUNKS = (32, 128, 128)
BURST_S = 1.0


def demo_project(folder: Path) -> Path:
    """The demo's project: proposed and seeded boxes (as ``patchwise demo``)."""
    sample = make_sample(seed=0)
    image = ImageRef(sample.image.shape, str(sample.image.dtype), sample.voxel_size, path="image.tif",
                     name="nuclei")
    plan = Plan(image, preset=get_preset("instance"), classes=parse_classes("nuclei:instance"))
    plan = run_propose(ProposeRequest(plan, image=sample.image, seed=0)).plan
    create_project(folder, plan)
    write_tiff(folder / "image.tif", sample.image, sample.voxel_size)
    plan, _ = run_seed(SeedRequest(folder, plan=plan, image=sample.image))
    save_plan(folder, plan)
    return folder


@dataclass
class MouseEvent:
    """What napari's brush reads of a mouse event; one object, changed as the mouse moves (as napari's is)."""

    type: str
    position: tuple
    is_dragging: bool = False
    button: int = 1
    modifiers: list = field(default_factory=list)
    view_direction: list | None = None
    dims_displayed: list = field(default_factory=lambda: [1, 2])
    handled: bool = False


def drag(layer, start, end, moves: int) -> None:
    """Press at ``start``, ``moves`` mouse moves to ``end``, release (data voxels, shown plane)."""
    world = lambda p: tuple(float(v * s + t) for v, s, t in zip(p, layer.scale, layer.translate))  # noqa: E731
    event = MouseEvent("mouse_press", world(start))
    mouse_press_callbacks(layer, event)
    event.type, event.is_dragging = "mouse_move", True
    for t in np.linspace(0, 1, moves + 1)[1:]:
        event.position = world(tuple(a + t * (b - a) for a, b in zip(start, end)))
        mouse_move_callbacks(layer, event)
    event.type, event.is_dragging = "mouse_release", False
    mouse_release_callbacks(layer, event)


def stroke(viewer, layer, point, label, moves: int = 0, end=None) -> tuple[float, float]:
    """(stroke → idle, longest gap of a 10 ms timer in the second after) for one paint at ``point``
    (or a drag of ``moves`` moves from ``point`` to ``end``)."""
    viewer.layers.selection.active = layer
    settle()
    t = {}

    def paint():
        t["start"] = time.perf_counter()
        if moves:
            layer.selected_label = label
            drag(layer, point, end, moves)
        else:
            layer.paint(point, label)

    QTimer.singleShot(0, paint)
    settle()
    idle = time.perf_counter() - t["start"]
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    loop = QEventLoop()
    QTimer.singleShot(round(BURST_S * 1000), loop.quit)
    t0 = time.perf_counter()
    loop.exec()
    timer.stop()
    gaps = np.diff([t0, *ticks])
    return idle, float(gaps.max()) if gaps.size else BURST_S


def open_at_qc(folder: Path):
    """``(viewer, dock)``: the project ``folder`` opened in a 1280×800 napari window with the Patchwise dock at
    its Annotate/QC step, once the project's layers are in and the live checks are ready."""
    viewer = napari.Viewer(show=True)
    viewer.window.resize(*WINDOW)
    viewer.open(str(folder), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    session = session_for(viewer)
    loop_until(lambda: dock.planner.sync is not None and not session.openings)
    dock.show_step("qc")
    loop_until(lambda: dock.qc.live is not None and not session.working, timeout=300)
    return viewer, dock


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strokes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drag", type=int, default=0, metavar="N", help="strokes are drags of N mouse moves")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = demo_project(Path(tmp) / "demo")
        plan = load_plan(folder)
        viewer, dock = open_at_qc(folder)
        session = session_for(viewer)
        project = viewer.layers["nuclei labels"]
        plain = viewer.add_labels(np.asarray(project.data[...]).copy(), name="plain labels",
                                  scale=project.scale, translate=project.translate)
        labels = np.asarray(project.data[...])
        stores = {}
        for chunks in (OLD_CHUNKS, MAX_CHUNKS):  # the same labels on disk, without the project's checks
            array = zarr.create_array(Path(tmp) / f"labels-{chunks[0]}", shape=labels.shape, chunks=chunks,
                                      dtype=labels.dtype, fill_value=0)
            array[...] = labels
            stores[f"zarr labels, chunks {'×'.join(map(str, chunks))}"] = viewer.add_labels(
                array, name=f"zarr {chunks}", scale=project.scale, translate=project.translate)
        for layer in (project, plain, *stores.values()):
            layer.brush_size = 2 * RADIUS + 1
            layer.mode = "paint"
        rng = np.random.default_rng(args.seed)
        seeded = [b for b in plan.boxes if b.status == "seeded"] or list(plan.boxes)
        next_label = int(np.asarray(project.data[...]).max()) + 1
        rows = {"project labels, live QC": [], "plain in-memory Labels": [], **{name: [] for name in stores}}
        for _ in range(args.strokes):
            box = seeded[int(rng.integers(len(seeded)))]
            region = box.slices(plan.magnification)
            point = tuple(int(rng.integers(s.start + RADIUS, max(s.start + RADIUS + 1, s.stop - RADIUS)))
                          for s in region)
            angle = rng.uniform(0, 2 * np.pi)  # a drag: 30 voxels across the plane, inside the image
            end = (point[0], *(int(np.clip(p + 30 * f, 0, n - 1)) for p, f, n in
                               zip(point[1:], (np.sin(angle), np.cos(angle)), labels.shape[1:])))
            viewer.dims.set_current_step(0, point[0])  # both layers show that plane (data voxels = world z)
            settle()
            loop_until(lambda: not session.working, timeout=120)
            for name, layer in (("plain in-memory Labels", plain), ("project labels, live QC", project),
                                *stores.items()):
                rows[name].append(stroke(viewer, layer, point, next_label, args.drag, end))
            next_label += 1
        base = statistics.median(i for i, _ in rows["plain in-memory Labels"])
        kind = f"drags of {args.drag} moves" if args.drag else "strokes"
        print(f"\n{args.strokes} {kind} of radius {RADIUS} in seeded boxes of the demo project "
              f"({'×'.join(map(str, plan.image.shape))}, annotation chunks {project.data.chunks})")
        for name, values in rows.items():
            idle = [i for i, _ in values]
            burst = [b for _, b in values]
            print(f"  {name:34s} stroke → idle median {statistics.median(idle) * 1e3:6.0f} ms "
                  f"({statistics.median(idle) / base:4.2f}×), p95 {np.percentile(idle, 95) * 1e3:6.0f} ms;   "
                  f"burst in the next second: median {statistics.median(burst) * 1e3:4.0f} ms, "
                  f"max {max(burst) * 1e3:4.0f} ms")
        ratio = statistics.median(i for i, _ in rows["project labels, live QC"]) / base
        worst = max(b for _, b in rows["project labels, live QC"])
        print(f"goal (issue 17): ≤ 1.25× the plain layer ({ratio:.2f}×) and no burst over 50 ms "
              f"({worst * 1e3:.0f} ms) -> {'met' if ratio <= 1.25 and worst <= 0.05 else 'NOT met'}")
        viewer.close()


if __name__ == "__main__":
    main()
