"""Benchmark: a failure scan of a whole instance prediction, against one plain read of the same volume.

Writes a chunked uint32 zarr volume of instance labels (a lattice of balls,
a few merged or grown into giants) and a float32 probability map to a
temporary folder, makes a project with two annotated boxes, then times

(a) the baseline, one read of the prediction slab by slab (``Prediction.read``
    over the slabs the scan reads in);
(b) ``scan_failures`` of the instance prediction (object measures, outliers,
    disagreement in the boxes);
(c) ``scan_failures`` with the probability map as the prediction and the
    instances as the second one (uncertainty and two-prediction pairing too).

Figures are ratios to (a) measured in the same run, plus the peak resident
memory of the process after (a) and after (c), beside the size of the
prediction (the volumes are written by a child process, so the figures cover
reading and scanning only). Usage::

    python benchmarks/bench_scan.py --shape 64,512,512
    python benchmarks/bench_scan.py --shape 128,1024,1024 --repeat 1
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.evaluate.prediction import open_prediction
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.scan import ScanRequest, scan_failures
from napari_patchwise.engine.scan.cells import CellGrid

BOX = (32, 64, 64)


def _triple(text: str) -> tuple[int, int, int]:
    parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected Z,Y,X, got {text!r}")
    return parts  # type: ignore[return-value]


def _slab_labels(z0: int, n: int, shape, spacing: int = 16, radius: int = 6) -> np.ndarray:
    """Balls on a lattice; ids from the lattice position, so a slab is made alone."""
    z, y, x = np.ogrid[z0:z0 + n, :shape[1], :shape[2]]
    cz, cy, cx = (z // spacing) * spacing + spacing // 2, (y // spacing) * spacing + spacing // 2, \
        (x // spacing) * spacing + spacing // 2
    inside = (z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= radius ** 2
    ny, nx = -(-shape[1] // spacing), -(-shape[2] // spacing)
    ids = ((z // spacing) * ny + y // spacing) * nx + x // spacing + 1
    labels = np.where(inside, ids, 0).astype(np.uint32)
    # a giant near the middle
    gz, gy, gx = shape[0] // 2, shape[1] // 2, shape[2] // 2
    giant = (z - gz) ** 2 + (y - gy) ** 2 + (x - gx) ** 2 <= (4 * radius) ** 2
    labels[giant] = 4_000_000_000
    return labels


def _write(folder: Path, shape) -> None:
    chunks = (16, 256, 256)
    labels = zarr.create_array(store=str(folder / "pred.zarr"), shape=shape, chunks=chunks, dtype=np.uint32)
    prob = zarr.create_array(store=str(folder / "prob.zarr"), shape=shape, chunks=chunks, dtype=np.float32)
    rng = np.random.default_rng(0)
    for z0 in range(0, shape[0], chunks[0]):
        n = min(chunks[0], shape[0] - z0)
        lab = _slab_labels(z0, n, shape)
        labels[z0:z0 + n] = lab
        p = np.where(lab > 0, 0.9, 0.1) + rng.normal(0, 0.05, lab.shape)
        prob[z0:z0 + n] = np.clip(p, 0, 1).astype(np.float32)
    plan = Plan(ImageRef(shape, voxel_size=(1.0, 1.0, 1.0)), box_size=BOX)
    plan = plan.add_boxes([((0, 0, 0), BOX), ((0, shape[1] - BOX[1], shape[2] - BOX[2]), (BOX[0], shape[1], shape[2]))])
    project = create_project(folder / "proj", plan)
    group = open_annotations(project)
    for box in plan.boxes:
        r = box.slices()
        truth = np.concatenate([_slab_labels(z, 1, shape) for z in range(r[0].start, r[0].stop)])[:, r[1], r[2]]
        truth[truth == 4_000_000_000] = 0
        group["nuclei"][r] = truth
        group["background"][r] = (truth == 0).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=_triple, default=(64, 512, 512))
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        child = multiprocessing.get_context("spawn").Process(target=_write, args=(folder, args.shape))
        child.start()
        child.join()
        plan = Plan(ImageRef(args.shape), box_size=BOX)
        pred = open_prediction(folder / "pred.zarr", plan)
        grid = CellGrid.for_box(args.shape, BOX)

        def read_once():
            for region in grid.slabs():
                pred.read(region)

        def scan_instances():
            return scan_failures(ScanRequest(folder / "proj", folder / "pred.zarr", n=5))

        def scan_two():
            return scan_failures(ScanRequest(folder / "proj", folder / "prob.zarr", folder / "pred.zarr", n=5))

        def best(f):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                out = f()
                times.append(time.perf_counter() - t)
            return min(times), out

        base, _ = best(read_once)
        rss_read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
        t_inst, r_inst = best(scan_instances)
        t_two, r_two = best(scan_two)
        size = np.prod(args.shape) * 4 / 2**20
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
        print(f"volume {args.shape}, prediction {size:.0f} MiB (uint32), boxes {BOX}")
        print(f"(a) one read of the prediction      {base:7.2f} s   1.00")
        print(f"(b) scan, instances                 {t_inst:7.2f} s  {t_inst / base:5.2f}x (a)")
        print(f"(c) scan, probability + instances   {t_two:7.2f} s  {t_two / base:5.2f}x (a)")
        print(f"peak RSS {rss_read:.0f} MiB after (a), {rss:.0f} MiB after (c): the scans add "
              f"{rss - rss_read:.0f} MiB ({(rss - rss_read) / size:.2f}x the prediction)")
        print(f"first region (b): {r_inst.regions[0].to_dict() if r_inst.regions else None}")
        print(f"first region (c): {r_two.regions[0].to_dict() if r_two.regions else None}")


if __name__ == "__main__":
    main()
