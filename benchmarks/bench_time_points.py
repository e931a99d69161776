"""Benchmark: reading one time point of a time-lapse against reading the whole file, in the same run.

``read_time_points`` gives one lazy volume per time point; reading one of them
should cost about 1/T of reading the whole file, whether the TIFF is stored
plainly (memory-mapped) or compressed (read plane by plane). Each line prints
the time to read one time point, the time of one whole-file read
(``tifffile.imread``, the baseline), their ratio and 1/T.

Goal: the ratio stays near 1/T (within 2×) for both kinds of file.

Usage::

    python benchmarks/bench_time_points.py                          # T=20, 16x512x512 uint16
    python benchmarks/bench_time_points.py --shape 40,8,256,256     # T,Z,Y,X
    python benchmarks/bench_time_points.py --file /work/shared/data/nuclei_cho_timelapse/Fluo-N3DH-CHO_02_img.tif --axes TZYX
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import tifffile
from _timing import best_time

from napari_patchwise.engine.io.volumes import read_time_points


def measure(path: Path, axes: str | None, repeat: int) -> None:
    points = read_time_points(path, axes=axes)
    count = len(points)
    middle = points[count // 2]
    one = best_time(lambda: np.array(middle.data).sum(), repeat)  # sum: a memory map really read
    whole = best_time(lambda: tifffile.imread(path).sum(), repeat)
    kind = type(getattr(middle.data, "base", middle.data)).__name__
    print(f"{path.name} ({kind}, {count} time points of {'x'.join(map(str, middle.data.shape))}): one time "
          f"point {one * 1e3:.1f} ms, whole file {whole * 1e3:.1f} ms (baseline), ratio {one / whole:.3f} "
          f"(1/T = {1 / count:.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="20,16,512,512", help="T,Z,Y,X of the written files")
    ap.add_argument("--file", default=None, help="measure this file instead of written ones")
    ap.add_argument("--axes", default=None, help="--axes for --file (e.g. TZYX)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.file:
        measure(Path(args.file), args.axes, args.repeat)
        return
    shape = tuple(int(v) for v in args.shape.split(","))
    data = np.random.default_rng(0).integers(0, 4000, shape).astype(np.uint16)
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in (("plain.tif", {}), ("zlib.tif", {"compression": "zlib"})):
            p = Path(tmp, name)
            tifffile.imwrite(p, data, imagej=True, metadata={"axes": "TZYX"}, **kw)
            measure(p, None, args.repeat)


if __name__ == "__main__":
    main()
