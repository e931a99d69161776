"""Benchmark: one stroke in napari, from the paint event to the updated contact overlay.

The same packed-blob volumes as ``bench_touching.py`` (128x512x512 and
256x1024x1024, uint32, thousands of objects, many touching) are put into napari
``Labels`` layers (class and background, no viewer window), watched by
:class:`~napari_patchwise.layers.live_qc.LiveQC` with background cropping on,
and a :class:`~napari_patchwise.layers.contact_overlay.ContactOverlay` (a
``Labels`` layer) marks the contacts, as the QC dock does. Each of ~200 strokes
is a ``Labels.paint`` with a brush of radius 5-10 voxels; the time runs from the
paint event (napari has written the stroke) until contacts are rechecked and the
overlay is redrawn around the stroke; the rest of the handling (background
cropped, edits recorded) and napari's own write are printed beside it.
Baseline, in the same run: one full-volume recheck (``find_contacts``).

Goal: p95 <= 10 ms and flat from the small to the large volume.
Usage::

    python benchmarks/bench_live_stroke.py [--quick] [--strokes 200] [--zarr]

With ``--zarr`` the layers hold a project's Zarr arrays on disk (chunks of
16x64x64, the annotation chunks), as in the QC dock: reading and writing chunks is then part of
every stroke.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from napari.layers import Labels

from bench_touching import SIZES, make_labels

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.annotation_store import hidden_layer
from napari_patchwise.engine.qc.touching import find_contacts
from napari_patchwise.layers.contact_overlay import ContactOverlay
from napari_patchwise.layers.live_qc import LiveQC


def _arrays(plan, labels, tmp):
    """The annotation arrays: in memory, or (with ``tmp``) a project's Zarr arrays on disk."""
    shape = labels.shape
    if tmp is None:
        return {"nuclei": labels, "background": np.zeros(shape, np.uint8),
                "ignore": np.zeros(shape, np.uint8)}, np.zeros(shape, np.uint8)
    folder = Path(tempfile.mkdtemp(dir=tmp))
    create_project(folder, plan)
    group = open_annotations(folder, plan)
    group["nuclei"][...] = labels
    return {n: group[n] for n in ("nuclei", "background", "ignore")}, hidden_layer(group, "edits")


def run(shape, n_strokes, seed=1, radius=(0.25, 0.45), tmp=None):
    labels = make_labels(shape, radius=radius)
    plan = Plan(ImageRef(shape), classes=(ClassSpec("nuclei"),))
    queue = []
    arrays, edits = _arrays(plan, labels, tmp)
    layers = {n: Labels(a) for n, a in arrays.items()}
    t0 = time.perf_counter()
    live = LiveQC(plan, layers, edits=edits, defer=queue.append)
    t_build = time.perf_counter() - t0
    overlay = ContactOverlay(live)
    overlay.update()  # the full drawing when checks start (not timed: once, like the index)
    live.contacts_changed.connect(overlay.update)
    drawn = []
    live.contacts_changed.connect(lambda *_: drawn.append(time.perf_counter()))  # after the overlay
    nuc = layers["nuclei"]
    rng = np.random.default_rng(seed)
    next_id = int(labels.max()) + 1
    write, to_overlay, handler = [], [], []
    for _ in range(n_strokes):
        z, y, x = (int(rng.integers(0, s)) for s in shape)
        nuc.brush_size = int(rng.integers(10, 21))
        value = int(nuc.data[z, y, x])
        if value == 0 or rng.random() < 0.5:
            value, next_id = next_id, next_id + 1
        drawn.clear()
        t0 = time.perf_counter()
        nuc.paint((z, y, x), value, refresh=False)  # napari writes the stroke
        t1 = time.perf_counter()
        while queue:  # the paint event's handling, run by the Qt event loop after the edit
            queue.pop(0)()
        t2 = time.perf_counter()
        write.append(t1 - t0)
        to_overlay.append((drawn[-1] if drawn else t2) - t1)
        handler.append(t2 - t1)
    labels = np.asarray(nuc.data[...])
    t0 = time.perf_counter()
    full = find_contacts(labels)
    t_full = time.perf_counter() - t0
    same = np.array_equal(full.pairs(), live.indexes["nuclei"].pairs())
    same = same and np.array_equal(overlay.layer.data, overlay.marks())
    def pct(t):
        return tuple(float(np.percentile(t, q)) * 1e3 for q in (50, 95))

    p50, p95 = pct(to_overlay)
    print(f"{shape}, {len(np.unique(labels)) - 1} objects: {live.indexes['nuclei'].n_pairs} touching pairs "
          f"(index built in {t_build:.1f} s)\n"
          f"  paint event -> overlay updated: p50 {p50:.2f} ms, p95 {p95:.2f} ms; full recheck {t_full * 1e3:.0f} ms "
          f"(= {t_full * 1e3 / p95:.0f} x p95)\n"
          f"  whole handling (+ background crop, edits record): p50 {pct(handler)[0]:.2f} ms, "
          f"p95 {pct(handler)[1]:.2f} ms; napari's own write of the stroke: p50 {pct(write)[0]:.2f} ms, "
          f"p95 {pct(write)[1]:.2f} ms\n"
          f"  index and overlay equal a full rescan: {'yes' if same else 'NO'}")
    return p95


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the 128x512x512 volume")
    ap.add_argument("--strokes", type=int, default=200)
    ap.add_argument("--zarr", action="store_true",
                    help="layers on a project's Zarr arrays on disk, as the QC dock paints them")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        _main(args, tmp if args.zarr else None)


def _main(args, tmp) -> None:
    for title, radius in (("packed blobs, most touch", (0.25, 0.45)), ("separate blobs, a few touch", (0.15, 0.3))):
        print(f"-- {title}")
        p95 = [run(shape, args.strokes, radius=radius, tmp=tmp) for shape in (SIZES[:1] if args.quick else SIZES)]
        print(f"goal p95 <= 10 ms: {'met' if max(p95) <= 10 else 'NOT met'}", end="")
        if len(p95) == 2:
            print(f"; flat: p95 large / small = {p95[1] / p95[0]:.2f}")
        else:
            print()


if __name__ == "__main__":
    main()
