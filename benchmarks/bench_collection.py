"""Benchmark: proposing on a collection of images, against one plain read of all of them.

Writes N chunked uint8 zarr images (default 20 of 256×1024×1024, 256 MiB each,
chunks 64×256×256) into a cache folder (``--workdir``, kept between runs), chunk
by chunk so no image is ever whole in memory. Each image has four quadrants of
different content (dense blobs, sparse blobs, faint blobs in noise, empty
noise), rotated from image to image, and every fifth image a saturated slab,
so the proposal has strata to fill. Then, for each collection size in
``--images`` (the first N images), it times in a fresh child process:

(a) the baseline, one dask read of all N images on the threaded scheduler:
    ``dask.compute(*(da.from_zarr(p).sum() for p in images))``;
(b) ``patchwise propose IMG1 ... IMGN -o PROJECT`` (the command's own entry
    point, threaded scheduler), into a new project;
(a') the read of (a) on a ``dask.distributed`` LocalCluster of 2 worker
     processes with one thread each;
(c) the proposal of (b) on such a cluster (``--scheduler tcp://...``).

Ratios are (b)/(a) and (c)/(a'), each against the read on the same scheduler
in the same run. Beside each time is the CPU time it took (user + system, every
thread of the process, and of the workers for the cluster runs): on a machine
others load, the clock counts the time waiting for a core and the CPU seconds
do not, so their ratio is the steadier figure. Peak memory is the resident set (``ru_maxrss``) of the child
process that ran the measurement, measured afresh for each one; for the
cluster runs, the peak of each worker process is added (each run gets its own
cluster). It should not grow with N: images are measured one after another,
and what is kept of each is small.

The goal of issue 14: (b)/(a) at most 1.5 and the peak memory flat in N.
Usage::

    python benchmarks/bench_collection.py --quick          # 2 and 4 images of 8 MiB, ~1 min
    python benchmarks/bench_collection.py                  # 5, 10, 20 images of 256 MiB
    python benchmarks/bench_collection.py --images 5 --no-cluster

The cluster runs need ``distributed`` (``pip install -e .[bench]``); without it
they are left out with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Uint8 content of the four quadrants: (blob period in voxels, blob contrast, noise amplitude).
_QUADRANTS = ((16, 150, 16), (48, 150, 16), (20, 14, 28), (0, 0, 10))
#: Bumped when the pattern changes, so cached images of an older one are not reused.
_PATTERN = 2


def _triple(text: str) -> tuple[int, int, int]:
    parts = tuple(int(p) for p in text.replace("x", ",").split(","))
    if len(parts) != 3 or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected Z,Y,X (whole numbers >= 1), got {text!r}")
    return parts  # type: ignore[return-value]


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(p) for p in text.split(",")}))
    except ValueError:
        counts = ()
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError(f"expected image counts such as 5,10,20, got {text!r}")
    return counts


def _chunk_values(index: int, origin, size, shape) -> np.ndarray:
    """Voxels of one chunk of image ``index``: cheap, deterministic, with structure."""
    z = np.arange(origin[0], origin[0] + size[0], dtype=np.float32)[:, None, None]
    y = np.arange(origin[1], origin[1] + size[1], dtype=np.float32)[None, :, None]
    x = np.arange(origin[2], origin[2] + size[2], dtype=np.float32)[None, None, :]
    quadrant = ((y >= shape[1] // 2).astype(np.int8) * 2 + (x >= shape[2] // 2) + index) % 4
    period = np.choose(quadrant, [q[0] or 1 for q in _QUADRANTS]).astype(np.float32)
    contrast = np.choose(quadrant, [q[1] for q in _QUADRANTS]).astype(np.float32)
    noise = np.choose(quadrant, [q[2] for q in _QUADRANTS]).astype(np.int16)
    # a lattice of round blobs (about half a period across), shifted per image so no two are alike
    phase = 2 * np.pi / period
    blobs = np.cos(phase * (z + 3 * index)) + np.cos(phase * (y + 5 * index)) + np.cos(phase * x)
    rng = np.random.default_rng([index, *origin])
    values = (12 + index % 8) + contrast * (blobs > 1.6)
    values = values + rng.integers(0, 256, size, dtype=np.int16) % (noise + 1)
    if index % 5 == 0:  # a saturated slab of 6 planes in the first quadrant
        hit = (z >= shape[0] // 3) & (z < shape[0] // 3 + 6) & (quadrant == 0)
        values = np.where(hit, 255, values)
    return np.clip(values, 0, 255).astype(np.uint8)


def _write_image(path: Path, index: int, shape, chunks) -> None:
    import zarr

    arr = zarr.create_array(store=str(path), shape=shape, chunks=chunks, dtype=np.uint8, overwrite=True)
    for origin in np.ndindex(*(-(-s // c) for s, c in zip(shape, chunks))):
        lo = tuple(o * c for o, c in zip(origin, chunks))
        size = tuple(min(c, s - l) for c, s, l in zip(chunks, shape, lo))
        arr[tuple(slice(l, l + n) for l, n in zip(lo, size))] = _chunk_values(index, lo, size, shape)


def cached_images(workdir: Path, count: int, shape, chunks) -> list[Path]:
    """The first ``count`` images of ``shape``/``chunks`` in ``workdir``, written when missing."""
    tag = "x".join(map(str, shape)) + "_c" + "x".join(map(str, chunks)) + f"_v{_PATTERN}"
    paths = []
    for i in range(count):
        path = workdir / f"img{i:02d}_{tag}.zarr"
        done = path.with_name(path.name + ".done")  # written last: a half-written image is written again
        if not done.exists():
            t0 = time.perf_counter()
            _write_image(path, i, shape, chunks)
            done.write_text("ok\n")
            print(f"  wrote {path.name} in {time.perf_counter() - t0:.1f} s", flush=True)
        paths.append(path)
    return paths


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system, all its threads)."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def _peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _run_propose(paths, project: Path, scheduler) -> tuple[int, int]:
    """``patchwise propose`` on every image; returns (exit code, boxes in the project)."""
    from napari_patchwise.cli import main
    from napari_patchwise.engine.plan.plan_file import load_collection

    argv = ["propose", *map(str, paths), "-o", str(project)]
    if scheduler:
        argv += ["--scheduler", scheduler]
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(argv)
    if code not in (0, 1):  # 1: warnings in the plans' findings
        raise RuntimeError(f"patchwise propose ended with code {code}:\n{sink.getvalue()[-2000:]}")
    coll = load_collection(project)
    if len(coll.images) != len(paths):
        raise RuntimeError(f"the project holds {len(coll.images)} images, not {len(paths)}")
    return code, sum(len(e.plan.boxes) for e in coll.images)


def _measure(kind: str, paths, project: str, result_file: str) -> None:
    """One measurement in this (fresh) process; writes seconds and peak memory to ``result_file``."""
    import dask
    import dask.array as da

    import napari_patchwise.cli  # noqa: F401  (imports counted before the peak, like the read's)

    out = {"kind": kind, "imports_mib": _peak_mib()}
    cluster = client = None
    if kind.endswith("cluster"):
        from dask.distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.CRITICAL)
        client = Client(cluster)
    # warm-up, not timed: the first task of a process imports zarr and the codecs
    first = da.from_zarr(str(paths[0]))
    dask.compute(*(first[:1, :1, :1].sum() for _ in range(4)), scheduler=client or "threads")
    workers_cpu0 = client.run(_cpu_seconds) if client is not None else {}
    cpu0, t0 = _cpu_seconds(), time.perf_counter()
    if kind.startswith("read"):
        sums = [da.from_zarr(str(p)).sum() for p in paths]
        totals = dask.compute(*sums, scheduler=client or "threads")
        out["detail"] = int(sum(totals))
    else:
        code, boxes = _run_propose(paths, Path(project), cluster.scheduler_address if cluster else None)
        out["detail"] = boxes
    out["seconds"] = time.perf_counter() - t0
    out["cpu"] = _cpu_seconds() - cpu0
    out["peak_mib"] = _peak_mib()
    if client is not None:
        workers_cpu = client.run(_cpu_seconds)
        out["cpu"] += sum(workers_cpu[w] - workers_cpu0.get(w, 0.0) for w in workers_cpu)
        workers = client.run(_peak_mib)
        out["worker_peaks_mib"] = sorted(workers.values())
        client.close()
        cluster.close()
    Path(result_file).write_text(json.dumps(out))


def measure(kind: str, paths, workdir: Path) -> dict:
    """Run ``kind`` on ``paths`` in a spawned child process; its figures."""
    project = workdir / "project"
    shutil.rmtree(project, ignore_errors=True)
    with tempfile.NamedTemporaryFile("r", suffix=".json", dir=workdir) as f:
        child = multiprocessing.get_context("spawn").Process(
            target=_measure, args=(kind, [str(p) for p in paths], str(project), f.name))
        child.start()
        child.join()
        if child.exitcode:
            raise SystemExit(f"measurement {kind!r} failed (exit code {child.exitcode})")
        result = json.loads(Path(f.name).read_text())
    shutil.rmtree(project, ignore_errors=True)
    result["total_peak_mib"] = result["peak_mib"] + sum(result.get("worker_peaks_mib", ()))
    return result


def _has_distributed() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=_counts, default=(5, 10, 20),
                    help="collection sizes, comma separated (default 5,10,20)")
    ap.add_argument("--shape", type=_triple, default=(256, 1024, 1024), help="image Z,Y,X (uint8)")
    ap.add_argument("--chunks", type=_triple, default=(64, 256, 256), help="zarr chunks Z,Y,X")
    ap.add_argument("--workdir", type=Path,
                    default=Path(tempfile.gettempdir()) / "patchwise-bench-collection",
                    help="cache of the images (kept between runs; delete it when done)")
    ap.add_argument("--quick", action="store_true",
                    help="2 and 4 images of 64×256×256 in chunks of 32×128×128")
    ap.add_argument("--no-cluster", action="store_true", help="leave out the dask.distributed runs")
    args = ap.parse_args(argv)
    if args.quick:
        args.images, args.shape, args.chunks = (2, 4), (64, 256, 256), (32, 128, 128)
    cluster = not args.no_cluster and _has_distributed()
    if not args.no_cluster and not cluster:
        print("note: 'distributed' is not installed; the cluster runs are left out "
              "(pip install -e .[bench]).")
    args.workdir.mkdir(parents=True, exist_ok=True)
    image_mib = int(np.prod(args.shape)) / 2**20
    print(f"images {'×'.join(map(str, args.shape))} uint8 ({image_mib:.0f} MiB each), chunks "
          f"{'×'.join(map(str, args.chunks))}, cache {args.workdir}; {os.cpu_count()} cores")
    paths = cached_images(args.workdir, max(args.images), args.shape, args.chunks)
    kinds = ["read", "propose"] + (["read-cluster", "propose-cluster"] if cluster else [])
    rows = []
    for n in args.images:
        got = {k: measure(k, paths[:n], args.workdir) for k in kinds}
        rows.append((n, got))
        _print_row(n, n * image_mib, got)
    _print_summary(rows, cluster)


def _print_row(n: int, mib: float, got: dict) -> None:
    read, prop = got["read"], got["propose"]
    print(f"N = {n} images ({mib / 1024:.2f} GiB), {prop['detail']} boxes proposed:")
    print(f"  (a)  dask read, threads     : {read['seconds']:7.2f} s  (baseline = 1.00)    "
          f"peak RSS {read['total_peak_mib']:6.0f} MiB   CPU {read['cpu']:6.2f} s")
    print(f"  (b)  propose, threads       : {prop['seconds']:7.2f} s  b/a  = "
          f"{prop['seconds'] / read['seconds']:.2f}          peak RSS {prop['total_peak_mib']:6.0f} MiB   "
          f"CPU {prop['cpu']:6.2f} s (b/a {prop['cpu'] / read['cpu']:.2f}; "
          f"{prop['imports_mib']:.0f} MiB after imports)")
    if "read-cluster" in got:
        rc, pc = got["read-cluster"], got["propose-cluster"]
        for label, r in (("(a') dask read, cluster     ", rc), ("(c)  propose, cluster       ", pc)):
            extra = ("(baseline' = 1.00)" if r is rc
                     else f"c/a' = {r['seconds'] / rc['seconds']:.2f}, c/a = {r['seconds'] / read['seconds']:.2f}")
            workers = " + ".join(f"{w:.0f}" for w in r["worker_peaks_mib"])
            print(f"  {label}: {r['seconds']:7.2f} s  {extra:19s} peak RSS {r['total_peak_mib']:6.0f} MiB "
                  f"(client {r['peak_mib']:.0f} + workers {workers})   CPU {r['cpu']:6.2f} s")
    sys.stdout.flush()


def _print_summary(rows, cluster: bool) -> None:
    first, last = rows[0], rows[-1]
    ratios = [got["propose"]["seconds"] / got["read"]["seconds"] for _, got in rows]
    growth = last[1]["propose"]["total_peak_mib"] / first[1]["propose"]["total_peak_mib"]
    cpu = [got["propose"]["cpu"] / got["read"]["cpu"] for _, got in rows]
    print(f"CPU seconds (all threads; steadier than the clock on a loaded machine): propose / read "
          f"{', '.join(f'{r:.2f}' for r in cpu)}")
    print(f"goal: propose b/a <= 1.5 at every N ({'met' if max(ratios) <= 1.5 else 'NOT met'}: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}); peak RSS flat in N ("
          f"{'met' if growth <= 1.15 else 'NOT met'}: x{growth:.2f} from N = {first[0]} to N = {last[0]})")
    if cluster:
        ratios_c = [got["propose-cluster"]["seconds"] / got["read-cluster"]["seconds"] for _, got in rows]
        growth_c = (last[1]["propose-cluster"]["total_peak_mib"]
                    / first[1]["propose-cluster"]["total_peak_mib"])
        print(f"cluster: c/a' {', '.join(f'{r:.2f}' for r in ratios_c)}; peak RSS (client + workers) "
              f"x{growth_c:.2f} from N = {first[0]} to N = {last[0]}")


if __name__ == "__main__":
    main()
