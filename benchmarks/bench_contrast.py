"""Benchmark: contrast limits of a reopened image against one full read of it, in the same run.

The project and HDF5 readers give every image layer contrast limits from
percentiles of a sample (``engine/contrast.robust_contrast_limits``): whole
chunks spread over chunked volumes (Zarr, HDF5), strided planes otherwise.
The sample volume (with its saturated stripe) is tiled to the requested size
and written as gzip-chunked HDF5, contiguous HDF5 and Zarr; each line prints the
limits, the time to compute them and the time of one full read of the same
array (the baseline), and the limits plain percentiles of the whole volume
would give (the stripe drives them to 65535: a black image).

Goal: the limits cost at most one full read at 100 MiB (ratio <= 1) and stay
flat as the volume grows (a fixed number of chunks is read).

Usage::

    python benchmarks/bench_contrast.py                # 96x768x768 and 192x1536x1536
    python benchmarks/bench_contrast.py --tiles 1,2,2  # 96x768x768 only
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _timing import best_time

from napari_patchwise.engine.io.contrast import robust_contrast_limits
from napari_patchwise.engine.samples.nuclei import make_sample


def run(tiles, folder: Path) -> None:
    import h5py
    import zarr

    data = np.tile(make_sample().image, tiles)
    print(f"volume {'x'.join(map(str, data.shape))} {data.dtype} ({data.nbytes / 2**20:.0f} MiB); "
          f"whole-volume 0.5-99.8 % percentiles: {tuple(float(v) for v in np.percentile(data, (0.5, 99.8)))}")
    h5 = folder / f"v{data.shape[0]}.h5"
    with h5py.File(h5, "w") as f:
        f.create_dataset("gzip", data=data, chunks=(16, 128, 128), compression="gzip")
        f.create_dataset("contiguous", data=data)
    z = zarr.create_array(str(folder / f"v{data.shape[0]}.zarr"), shape=data.shape, chunks=(32, 128, 128),
                          dtype=data.dtype)
    z[...] = data
    with h5py.File(h5, "r") as f:
        for name, arr in (("HDF5 gzip, chunks 16x128x128", f["gzip"]), ("HDF5 contiguous", f["contiguous"]),
                          ("Zarr, chunks 32x128x128", zarr.open_array(str(folder / f"v{data.shape[0]}.zarr")))):
            out = []
            t_limits = best_time(lambda arr=arr: out.append(robust_contrast_limits(arr)))  # cold: first call
            limits = out[0]
            t_read = best_time(lambda arr=arr: np.asarray(arr[...]))
            print(f"  {name:30s} limits {limits}: {t_limits * 1e3:7.1f} ms, one full read "
                  f"{t_read * 1e3:7.1f} ms, ratio {t_limits / t_read:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiles", action="append", default=None,
                   help="tiling of the 96x384x384 sample, z,y,x (repeatable; default 1,2,2 and 2,4,4)")
    args = p.parse_args()
    tiles = [tuple(int(v) for v in t.split(",")) for t in (args.tiles or ["1,2,2", "2,4,4"])]
    with tempfile.TemporaryDirectory() as tmp:
        for t in tiles:
            run(t, Path(tmp))


if __name__ == "__main__":
    main()
