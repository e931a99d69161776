"""Benchmark: one stroke in napari, from the paint event to the updated contact overlay.

The same packed-blob volumes as ``bench_touching.py`` (128x512x512 and
256x1024x1024, uint32, thousands of objects, many touching) are put into napari
``Labels`` layers (class and background, no viewer window), watched by
:class:`~napari_patchwise.layers.live_qc.LiveQC` with background cropping on,
and a :class:`~napari_patchwise.layers.contact_overlay.ContactOverlay` (a
``Labels`` layer) marks the contacts, as the QC dock does. Each of ~200 strokes
is a ``Labels.paint`` with a brush of radius 5-10 voxels; the time runs from the
call until the stroke is handled (edits marked, background cropped, contacts
rechecked) and the overlay is redrawn around the stroke.
Baseline, in the same run: one full-volume recheck (``find_contacts``).

Goal: p95 <= 10 ms and flat from the small to the large volume.
Usage::

    python benchmarks/bench_live_stroke.py [--quick] [--strokes 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from napari.layers import Labels

from bench_touching import SIZES, make_labels

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.touching import find_contacts
from napari_patchwise.layers.contact_overlay import ContactOverlay
from napari_patchwise.layers.live_qc import LiveQC


def run(shape, n_strokes, seed=1, radius=(0.25, 0.45)):
    labels = make_labels(shape, radius=radius)
    plan = Plan(ImageRef(shape), classes=(ClassSpec("nuclei"),))
    queue = []
    layers = {
        "nuclei": Labels(labels),
        "background": Labels(np.zeros(shape, np.uint8)),
        "ignore": Labels(np.zeros(shape, np.uint8)),
    }
    edits = np.zeros(shape, np.uint8)
    t0 = time.perf_counter()
    live = LiveQC(plan, layers, edits=edits, defer=queue.append)
    t_build = time.perf_counter() - t0
    overlay = ContactOverlay(live)
    overlay.update()  # the full drawing when checks start (not timed: once, like the index)
    live.contacts_changed.connect(overlay.update)
    nuc = layers["nuclei"]
    rng = np.random.default_rng(seed)
    next_id = int(labels.max()) + 1
    times = []
    for _ in range(n_strokes):
        z, y, x = (int(rng.integers(0, s)) for s in shape)
        nuc.brush_size = int(rng.integers(10, 21))
        value = int(labels[z, y, x])
        if value == 0 or rng.random() < 0.5:
            value, next_id = next_id, next_id + 1
        t0 = time.perf_counter()
        nuc.paint((z, y, x), value, refresh=False)
        while queue:  # what the Qt event loop runs right after the edit
            queue.pop(0)()
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    full = find_contacts(labels)
    t_full = time.perf_counter() - t0
    same = np.array_equal(full.pairs(), live.indexes["nuclei"].pairs())
    same = same and np.array_equal(overlay.layer.data, overlay.marks())
    p50, p95 = (float(np.percentile(times, q)) * 1e3 for q in (50, 95))
    print(f"{shape}, {len(np.unique(labels)) - 1} objects: {live.indexes['nuclei'].n_pairs} touching pairs (index built in {t_build:.1f} s); "
          f"stroke -> overlay p50 {p50:.2f} ms, p95 {p95:.2f} ms; full recheck {t_full * 1e3:.0f} ms "
          f"(= {t_full * 1e3 / p95:.0f} x p95); index and overlay equal a full rescan: {'yes' if same else 'NO'}")
    return p95


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the 128x512x512 volume")
    ap.add_argument("--strokes", type=int, default=200)
    args = ap.parse_args(argv)
    for title, radius in (("packed blobs, most touch", (0.25, 0.45)), ("separate blobs, a few touch", (0.15, 0.3))):
        print(f"-- {title}")
        p95 = [run(shape, args.strokes, radius=radius) for shape in (SIZES[:1] if args.quick else SIZES)]
        print(f"goal p95 <= 10 ms: {'met' if max(p95) <= 10 else 'NOT met'}", end="")
        if len(p95) == 2:
            print(f"; flat: p95 large / small = {p95[1] / p95[0]:.2f}")
        else:
            print()


if __name__ == "__main__":
    main()
