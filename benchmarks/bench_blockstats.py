"""Benchmark: block statistics against one plain read of the same zarr volume.

Writes a chunked uint16 zarr volume to a temporary folder, then times

(a) the baseline, one full read through dask: ``da.from_zarr(path).sum().compute()``;
(b) ``block_statistics`` on a candidate grid of that volume.

Figures are printed as the ratio b / a measured in the same run, plus the
peak resident memory of the process (the volume is written by a child
process so the figures cover reading only).

Usage::

    python benchmarks/bench_blockstats.py --shape 64,512,512 --block 32,64,64
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

from napari_patchwise.engine.blockstats import block_statistics, candidate_grid


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
        field = ndi.gaussian_filter(rng.standard_normal((n, *shape[1:]), dtype=np.float32), 3)
        slab = 100 + 800 * (field > 0.05) + rng.normal(0, 10, field.shape)
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
    ap.add_argument("--stride", type=_triple, default=None, help="block stride Z,Y,X")
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings")
    args = ap.parse_args(argv)

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
        grid = candidate_grid(args.shape, args.block, mag=args.mag, stride=args.stride)

        def best(fn):
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return min(times)

        t_read = best(lambda: da.from_zarr(str(path)).sum().compute())
        rss_read = _peak_rss_mib()
        t_stats = best(lambda: block_statistics(zarr.open_array(str(path), mode="r"), grid))
        rss_stats = _peak_rss_mib()

    vol_mib = np.prod(args.shape) * 2 / 2**20
    print(f"volume {args.shape} uint16 ({vol_mib:.0f} MiB), chunks {args.chunks}, "
          f"block {args.block}, mag {args.mag}, stride {args.stride or args.block}, "
          f"{len(grid)} candidate blocks")
    print(f"(a) full dask read + sum : {t_read:.3f} s  (baseline = 1.00)")
    print(f"(b) block_statistics     : {t_stats:.3f} s  ratio b/a = {t_stats / t_read:.2f}")
    print(f"peak RSS: {rss_start:.0f} MiB after imports, {rss_read:.0f} MiB after (a), "
          f"{rss_stats:.0f} MiB after (b); growth during (b) = "
          f"{(rss_stats - rss_read) / vol_mib:.2f} x volume size")


if __name__ == "__main__":
    main()
