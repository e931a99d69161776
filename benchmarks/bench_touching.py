"""Benchmark: touching-instance checks against plain array operations in the same run.

Builds instance label volumes (uint32, numpy) of blobs packed so that many
touch, then measures

1. the live check while painting: ``ContactIndex.rebuild`` once, then about
   200 brush strokes (a disc of radius 5-10 voxels in one z plane, painted with
   an existing or a new id) each followed by ``index.update(labels, stroke)``.
   The per-stroke times (p50, p95) are printed beside one full-volume recheck,
   ``find_contacts(labels)``, timed in the same run;
2. the full-volume scan, ``touching_pairs`` and ``find_contacts``, against one
   ``np.copy`` of the same array (the least any pass over the volume costs);
3. leaving out the contacts across the face two boxes share (``within_boxes``,
   what the QC dock shows) for 1, 20 and 60 boxes of 32x96x96 on a grid (some
   sharing faces), against every contact checked against every box.

Goals: p95 of an update <= 10 ms and flat from the small to the large volume
(p95 large / small <= 1.5); the scan at most 4 times one copy (connectivity 1).
Usage::

    python benchmarks/bench_touching.py            # 128x512x512 and 256x1024x1024
    python benchmarks/bench_touching.py --quick    # the small volume only
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import best_time
from scipy import ndimage as ndi

from napari_patchwise.engine.qc.touching import find_contacts, touching_pairs, within_boxes

from napari_patchwise.engine.qc.contact_index import ContactIndex

SIZES = ((128, 512, 512), (256, 1024, 1024))


def make_labels(shape, seed=0, spacing=(8, 20, 20), factor=(2, 4, 4), radius=(0.25, 0.45)):
    """Blobs around random seeds, each cut to its Voronoi cell.

    Neighbours touch wherever their radii overlap. Built on a grid ``factor``
    times coarser (a distance transform with nearest-seed indices) and
    upsampled with ``np.repeat``: about 4 s for 256x1024x1024.
    """
    rng = np.random.default_rng(seed)
    small = tuple(-(-s // f) for s, f in zip(shape, factor))
    n = int(np.prod(shape) / np.prod(spacing))
    idx = tuple(rng.integers(0, s, n) for s in small)
    free = np.ones(small, bool)
    free[idx] = False
    dist, near = ndi.distance_transform_edt(free, sampling=factor, return_indices=True)
    ids = np.zeros(small, np.uint32)
    ids[idx] = np.arange(1, n + 1, dtype=np.uint32)
    lab = ids[tuple(near)]
    del near
    r = np.concatenate([[0], rng.uniform(*radius, n) * np.mean(spacing[1:])]).astype(np.float32)
    lab[dist > r[lab]] = 0
    for axis, f in enumerate(factor):
        lab = lab.repeat(f, axis=axis)
    return np.ascontiguousarray(lab[:shape[0], :shape[1], :shape[2]])


def strokes(labels, n, seed=1):
    """Paint ``n`` discs into ``labels`` in place, yielding each stroke's region."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = labels.shape
    next_id = int(labels.max()) + 1
    for _ in range(n):
        r = int(rng.integers(5, 11))
        z, cy, cx = (int(rng.integers(0, s)) for s in labels.shape)
        y0, y1, x0, x1 = max(0, cy - r), min(ny, cy + r + 1), max(0, cx - r), min(nx, cx + r + 1)
        yy, xx = np.ogrid[y0 - cy:y1 - cy, x0 - cx:x1 - cx]
        value = int(labels[z, cy, cx])
        if value == 0 or rng.random() < 0.5:  # a new object, or grow the one under the brush
            value, next_id = next_id, next_id + 1
        labels[z, y0:y1, x0:x1][yy**2 + xx**2 <= r * r] = value
        yield (slice(z, z + 1), slice(y0, y1), slice(x0, x1))


def live(shape, n_strokes, repeat, connectivity):
    t0 = time.perf_counter()
    labels = make_labels(shape)
    t_make = time.perf_counter() - t0
    index = ContactIndex(shape, connectivity=connectivity)
    t_rebuild = best_time(lambda: index.rebuild(labels), 1)
    print(f"\n{shape} uint32 ({labels.nbytes / 2**20:.0f} MiB), built in {t_make:.1f} s: "
          f"{len(np.unique(labels)) - 1} objects, {index.n_pairs} touching pairs, "
          f"{len(index)} contacts; rebuild {t_rebuild:.2f} s")
    times = []
    for region in strokes(labels, n_strokes):
        t0 = time.perf_counter()
        index.update(labels, region)
        times.append(time.perf_counter() - t0)
    t_full = best_time(lambda: find_contacts(labels, connectivity=connectivity), repeat)
    full = find_contacts(labels, connectivity=connectivity)
    same = len(full) == len(index) and np.array_equal(full.pairs(), index.pairs())
    p50, p95, worst = (float(np.percentile(times, q)) * 1e3 for q in (50, 95, 100))
    print(f"  1. {n_strokes} strokes, index.update per stroke: p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
          f"max {worst:.2f} ms; full recheck find_contacts {t_full * 1e3:.0f} ms "
          f"(= {t_full * 1e3 / p50:.0f} x p50, {t_full * 1e3 / p95:.0f} x p95); "
          f"index equals a full rescan: {'yes' if same else 'NO'}")
    return labels, p95


def scan(labels, repeat):
    t_copy = best_time(lambda: np.copy(labels), repeat)
    print(f"  2. np.copy {t_copy * 1e3:.0f} ms (baseline = 1.00)")
    ratios = {}
    for c in (1, 2, 3):
        t_pairs = best_time(lambda: touching_pairs(labels, connectivity=c), repeat)
        t_find = best_time(lambda: find_contacts(labels, connectivity=c), repeat)
        ratios[c] = (t_pairs / t_copy, t_find / t_copy)
        print(f"     connectivity {c}: touching_pairs {t_pairs * 1e3:.0f} ms "
              f"(ratio {t_pairs / t_copy:.2f}), find_contacts {t_find * 1e3:.0f} ms "
              f"(ratio {t_find / t_copy:.2f})")
    return ratios


def every_box(contacts, boxes):
    """The rule checked contact by box: the baseline of ``within_boxes``."""
    lo = np.array([[s.start for s in b] for b in boxes])
    hi = np.array([[s.stop for s in b] for b in boxes])
    f, s = (((v[:, None] >= lo) & (v[:, None] < hi)).all(axis=2) for v in (contacts.first, contacts.second))
    return contacts._take(~(f.any(axis=1) & s.any(axis=1) & ~(f & s).any(axis=1)))


def across(labels, repeat, counts=(1, 20, 60), size=(32, 96, 96)):
    contacts = find_contacts(labels)
    tiles = [tuple(slice(i * n, (i + 1) * n) for i, n in zip(at, size))
             for at in np.ndindex(*(s // n for s, n in zip(labels.shape, size)))]
    rng = np.random.default_rng(2)
    print(f"  3. contacts across two boxes' shared face left out, {len(contacts)} contacts:")
    for k in counts:
        boxes = [tiles[i] for i in sorted(rng.choice(len(tiles), size=min(k, len(tiles)), replace=False))]
        t_base = best_time(lambda: every_box(contacts, boxes), repeat)
        t_cells = best_time(lambda: within_boxes(contacts, boxes), repeat)
        same = len(every_box(contacts, boxes)) == len(within_boxes(contacts, boxes))
        print(f"     {len(boxes)} boxes: within_boxes {t_cells * 1e3:.0f} ms, every contact against every box "
              f"{t_base * 1e3:.0f} ms (ratio {t_cells / t_base:.2f}); same contacts: {'yes' if same else 'NO'}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the 128x512x512 volume")
    ap.add_argument("--strokes", type=int, default=200, help="brush strokes per volume")
    ap.add_argument("--repeat", type=int, default=3, help="best of N timings for full scans")
    ap.add_argument("--connectivity", type=int, default=1, choices=(1, 2, 3),
                    help="connectivity of the live index")
    args = ap.parse_args(argv)

    p95s, scans = [], []
    for shape in SIZES[:1] if args.quick else SIZES:
        labels, p95 = live(shape, args.strokes, args.repeat, args.connectivity)
        p95s.append(p95)
        scans.append(scan(labels, args.repeat))
        across(labels, args.repeat)
        del labels
    print("\ngoals:")
    print(f"  update p95 <= 10 ms: {'met' if max(p95s) <= 10 else 'NOT met'} "
          f"({', '.join(f'{p:.2f}' for p in p95s)} ms)")
    if len(p95s) > 1:
        grow = p95s[1] / p95s[0]
        print(f"  flat as the volume grows 8x (p95 large / small <= 1.5): "
              f"{'met' if grow <= 1.5 else 'NOT met'} ({grow:.2f})")
    worst = max(max(r[1]) for r in scans)
    print(f"  full scan <= 4 x np.copy at connectivity 1: {'met' if worst <= 4 else 'NOT met'} "
          f"(worst ratio {worst:.2f})")


if __name__ == "__main__":
    main()
