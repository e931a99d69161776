"""Benchmark: a stroke on a correction mask, until napari has redrawn the merged view, at tomogram size.

A 400x928x928 uint8 class (Zarr, chunks 16x64x64, as the project's arrays)
with its Remove / Ignore masks in napari ``Labels`` layers of a viewer model
(no window), watched by :class:`~napari_patchwise.layers.correction_layers.CorrectedView`
with the lazy merged view (``LazyCorrected``) shown. Each stroke is a
``Labels.paint`` (brush 10-20) on the Remove mask at the plane shown; the time
runs until the handling is done and the merged view has sliced its plane again.
Baseline in the same run: the same stroke on the class layer with no
correction layers. Also printed: building the whole merged view eagerly (what
opening the layers cost before the view was lazy) and its size.

Usage::

    python benchmarks/bench_corrected_view.py [--strokes 30] [--shape 400 928 928]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import zarr
from napari.components import ViewerModel

from napari_patchwise.layers.corrected_data import LazyCorrected, merged_view
from napari_patchwise.layers.correction_layers import CorrectedView


def _zeros(shape):
    return zarr.zeros(shape, chunks=(16, 64, 64), dtype=np.uint8)


def _strokes(layer, viewer, shape, n, rng):
    times = []
    for _ in range(n):
        z, y, x = (int(rng.integers(0, s)) for s in shape)
        viewer.dims.set_current_step(0, z)  # the plane shown (not timed)
        layer.brush_size = int(rng.integers(10, 21))
        t0 = time.perf_counter()
        layer.paint((z, y, x), 1)
        times.append(time.perf_counter() - t0)
    return np.array(times) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strokes", type=int, default=30)
    ap.add_argument("--shape", type=int, nargs=3, default=(400, 928, 928))
    args = ap.parse_args()
    shape = tuple(args.shape)
    base = _zeros(shape)
    zz = np.arange(shape[1])[:, None]
    plane = ((zz // 40 + np.arange(shape[2])[None] // 40) % 3 == 0).astype(np.uint8)
    for z in range(0, shape[0], 16):
        base[z:z + 16] = np.broadcast_to(plane, (min(16, shape[0] - z), *plane.shape))
    masks = {k: _zeros(shape) for k in ("remove", "ignore")}
    rng = np.random.default_rng(1)

    plain = ViewerModel()
    lone = plain.add_labels(_zeros(shape), name="class")
    t_plain = _strokes(lone, plain, shape, args.strokes, rng)

    viewer = ViewerModel()
    cls = viewer.add_labels(base, name="membrane")
    layers = {k: viewer.add_labels(m, name=f"membrane {k}") for k, m in masks.items()}
    view_layer = viewer.add_labels(LazyCorrected(base, masks, name="'membrane'"), name="membrane corrected")
    view = CorrectedView("membrane", cls, layers, view_layer)
    t_view = _strokes(layers["remove"], viewer, shape, args.strokes, rng)
    view.disconnect()

    t0 = time.perf_counter()
    whole = merged_view(base, masks)
    t_eager = time.perf_counter() - t0
    print(f"volume {shape} uint8, {args.strokes} strokes (ms, p50 / p95)")
    print(f"  stroke, no correction layers (baseline): {np.median(t_plain):7.1f} / {np.percentile(t_plain, 95):7.1f}")
    print(f"  stroke on Remove, lazy merged view:      {np.median(t_view):7.1f} / {np.percentile(t_view, 95):7.1f}"
          f"   ratio p50 {np.median(t_view) / np.median(t_plain):.2f}")
    print(f"  eager whole merged view: {t_eager:.1f} s, {whole.nbytes / 2**20:.0f} MiB "
          f"(the lazy view keeps at most a few planes: {4 * shape[1] * shape[2] / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
