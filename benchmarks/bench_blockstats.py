"""Benchmark: measuring the candidates and proposing, against one plain read of the same zarr volume.

Writes a chunked uint16 zarr volume to a temporary folder, then times

(a) the baseline, one full read through dask: ``da.from_zarr(path).sum().compute()``;
(b) ``cell_statistics``: every candidate of the proposal (half-box strides plus
    blocks against the far faces, ``candidate_layout``) measured on cells in one pass;
(c) the whole proposal: ``measure_candidates`` and ``propose`` with boxes of
    the block size;
(d) with ``--lattice``, also ``block_statistics`` on the plain non-overlapping
    lattice of blocks (the single-pass measurement the proposal used before).

Figures are printed as ratios to (a) measured in the same run, plus the peak
resident memory of the process (the volume is written by a child process so
the figures cover reading only).

The scale goal: on a volume of at least 1 GiB, (c) takes at most 1.5 times
(a) and the peak RSS stays under 1.5 GiB. Usage::

    python benchmarks/bench_blockstats.py --shape 64,512,512 --block 32,64,64
    python benchmarks/bench_blockstats.py --shape 256,2048,2048 --block 64,64,64 --repeat 1
    python benchmarks/bench_blockstats.py --sizes 64,256,2048 --block 64,64,64 --chunks 64,256,256

With ``--sizes`` the peak memory figures are those of the process so far
(ru_maxrss never falls), so list the sizes smallest first.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import dask.array as da
import numpy as np
import zarr
from scipy import ndimage as ndi

from napari_patchwise.engine.propose.block_grid import candidate_grid
from napari_patchwise.engine.propose.blockstats import block_statistics
from napari_patchwise.engine.propose.cellstats import candidate_layout, cell_statistics
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.propose.run import measure_candidates, propose


# --sizes: volume size in MiB (uint16) -> shape Z,Y,X
SIZES = {64: (128, 512, 512), 256: (128, 1024, 1024), 2048: (256, 2048, 2048)}


def _triple(text: str) -> tuple[int, int, int]:
    parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected Z,Y,X, got {text!r}")
    return parts  # type: ignore[return-value]


def _write_volume(path: Path, shape, chunks, seed=0):
    """Blobs on a noisy background, written slab by slab (never whole in memory)."""
    z = zarr.create_array(store=str(path), shape=shape, chunks=chunks, dtype=np.uint16)
    rng = np.random.default_rng(seed)
    for z0 in range(0, shape[0], chunks[0]):
        n = min(chunks[0], shape[0] - z0)
        # blobs from smoothed noise at a quarter of the y/x resolution, then upsampled
        small = (n, -(-shape[1] // 4), -(-shape[2] // 4))
        field = ndi.gaussian_filter(rng.standard_normal(small, dtype=np.float32), (3, 1, 1))
        field = field.repeat(4, axis=1).repeat(4, axis=2)[:, :shape[1], :shape[2]]
        slab = 100 + 800 * (field > 0.05) + rng.normal(0, 10, field.shape).astype(np.float32)
        z[z0:z0 + n] = np.clip(slab, 0, 65534).astype(np.uint16)
    return z


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", type=_triple, default=(64, 512, 512), help="volume Z,Y,X")
    ap.add_argument("--block", type=_triple, default=(32, 64, 64), help="candidate block Z,Y,X")
    ap.add_argument("--chunks", type=_triple, default=(32, 128, 128), help="zarr chunks Z,Y,X")
    ap.add_argument("--mag", type=_triple, default=(1, 1, 1), help="magnification Z,Y,X")
    ap.add_argument("--lattice", action="store_true",
                    help="also time block_statistics on the non-overlapping lattice")
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings")
    ap.add_argument("--sizes", type=lambda t: [int(v) for v in t.split(",")], default=None,
                    help=f"volume sizes in MiB, one after another, each of {sorted(SIZES)} "
                         "(replaces --shape; e.g. 64,256,2048)")
    args = ap.parse_args(argv)
    if args.sizes and not set(args.sizes) <= set(SIZES):
        ap.error(f"--sizes takes MiB values among {sorted(SIZES)}; got {args.sizes}")
    shapes = [SIZES[s] for s in args.sizes] if args.sizes else [args.shape]
    rows = [_one(argparse.Namespace(**{**vars(args), "shape": shape})) for shape in shapes]
    if len(rows) > 1:
        print("summary: " + "; ".join(f"{mib:.0f} MiB c/a = {r:.2f}" for mib, r in rows)
              + f" (goal <= 1.5: {'met' if max(r for _, r in rows) <= 1.5 else 'NOT met'})")


def _one(args) -> tuple[float, float]:
    """Write one volume of ``args.shape``, time (a) to (d), print them; (MiB, ratio c/a)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "volume.zarr"
        # written in a child process so the peak memory below is the reading side only
        writer = multiprocessing.get_context("spawn").Process(
            target=_write_volume, args=(path, args.shape, args.chunks))
        writer.start()
        writer.join()
        if writer.exitcode:
            raise SystemExit(f"writing the volume failed (exit code {writer.exitcode})")
        rss_start = _peak_rss_mib()
        layout = candidate_layout(args.shape, args.block, mag=args.mag)

        def best(fn):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return min(times)

        t_read = best(lambda: da.from_zarr(str(path)).sum().compute())
        rss_read = _peak_rss_mib()
        t_cells = best(lambda: cell_statistics(zarr.open_array(str(path), mode="r"), layout))
        rss_cells = _peak_rss_mib()
        plan = Plan(ImageRef(args.shape), get_preset(
            "custom", minimum=tuple(b // m for b, m in zip(args.block, args.mag))), args.mag)

        def proposal():
            cands = measure_candidates(zarr.open_array(str(path), mode="r"), plan)
            return propose(plan, cands)[0]

        t_prop = best(proposal)
        n_boxes = len(proposal().boxes)
        rss_prop = _peak_rss_mib()
        t_lat = None
        if args.lattice:
            grid = candidate_grid(args.shape, args.block, mag=args.mag)
            t_lat = best(lambda: block_statistics(zarr.open_array(str(path), mode="r"), grid))

    vol_mib = np.prod(args.shape) * 2 / 2**20
    n_cells = int(np.prod([len(b) - 1 for b in layout.bounds]))
    print(f"volume {args.shape} uint16 ({vol_mib:.0f} MiB), chunks {args.chunks}, "
          f"block {args.block}, mag {args.mag}: {len(layout)} candidates (half-box strides "
          f"{layout.tile} plus the far faces) on {n_cells} cells")
    print(f"(a) full dask read + sum : {t_read:.3f} s  (baseline = 1.00)")
    print(f"(b) cell_statistics      : {t_cells:.3f} s  ratio b/a = {t_cells / t_read:.2f}")
    print(f"(c) proposal (measure + propose, {n_boxes} boxes): {t_prop:.3f} s  "
          f"ratio c/a = {t_prop / t_read:.2f}")
    if t_lat is not None:
        print(f"(d) block_statistics, lattice of {len(grid)} blocks: {t_lat:.3f} s  "
              f"ratio d/a = {t_lat / t_read:.2f}")
    print(f"peak RSS: {rss_start:.0f} MiB after imports, {rss_read:.0f} MiB after (a), "
          f"{rss_cells:.0f} MiB after (b); growth during (b) = "
          f"{(rss_cells - rss_read) / vol_mib:.2f} x volume size")
    ratio, peak_gib = t_prop / t_read, max(rss_cells, rss_prop) / 1024
    print(f"goal: proposal ratio c/a <= 1.5 ({'met' if ratio <= 1.5 else 'NOT met'}: {ratio:.2f}), "
          f"peak RSS <= 1.5 GiB ({'met' if peak_gib <= 1.5 else 'NOT met'}: {peak_gib:.2f} GiB)")
    return vol_mib, ratio


if __name__ == "__main__":
    main()
