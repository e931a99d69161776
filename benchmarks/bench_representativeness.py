"""Benchmark: do N proposed boxes cover every kind of region a volume holds?

On two synthetic volumes with known regions, ``make_sample()`` (regions are
large cells) and ``make_rare_sample()`` (each region is a small patch of
about two boxes in an ordinary background), compare

(a) ours: ``measure_candidates`` once, then ``propose(plan, cands, n=N, seed=s)``
    for every seed;
(b) the baseline, in the same run: N non-overlapping boxes of the same size
    at uniformly random positions on the magnification grid (a position
    that overlaps a box already drawn is rejected and drawn again), as
    WEBKNOSSOS places training boxes.

Region kinds are ``dense``, ``sparse``, ``low_snr``, ``artifact`` (the
``saturated`` and ``blank`` regions together, as the engine has one
artifact stratum) and ``edge``; ``empty`` is not a kind. N defaults to the
number of kinds (5) and to the number of content strata the engine finds in
the volume (the issue's "N = number of strata"). Engine strata coverage is
judged for both methods with the same strata table: a box stands for the
candidate block it overlaps most. A kind is covered when some box overlaps one of its
regions by at least half of the largest overlap a box of that size can
have with the region, ``0.5 * prod(min(box, region))`` per axis (see
``--rule``). A box is *in empty space* when at least 90 % of it lies in the
``empty`` region; boxes holding no ground-truth nucleus voxel are counted
too. Finally ``measure_candidates`` is timed against one ``np.sum`` over
the same in-memory image.

Usage::

    python benchmarks/bench_representativeness.py
    python benchmarks/bench_representativeness.py --seeds 20 --n 5,8 --explain
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _timing import best_time

from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.propose.run import measure_candidates, propose
from napari_patchwise.engine.samples.rare import make_rare_sample
from napari_patchwise.engine.samples.nuclei import make_sample

#: Region kind -> the sample regions that stand for it.
KINDS = {
    "dense": ("dense",),
    "sparse": ("sparse",),
    "low_snr": ("low_snr",),
    "artifact": ("saturated", "blank"),
    "edge": ("edge",),
}
EMPTY_SHARE = 0.9
VOLUMES = {"sample": make_sample, "rare": make_rare_sample}


def _overlap(lo, hi, rlo, rhi) -> int:
    """Voxels shared by the boxes ``[lo, hi)`` and ``[rlo, rhi)``."""
    d = np.minimum(hi, rhi) - np.maximum(lo, rlo)
    return int(np.prod(np.clip(d, 0, None)))


def _needed(block, region, rule: str) -> float:
    """Overlap (voxels) a box of ``block`` needs to cover ``region``."""
    size = np.subtract(region[1], region[0])
    if rule == "literal":
        return 0.5 * min(math.prod(block), math.prod(size))
    return 0.5 * math.prod(np.minimum(block, size))


def covered_kinds(boxes, regions, block, rule="window") -> set[str]:
    """Kinds with a region that one of ``boxes`` (``(lo, hi)`` pairs) covers."""
    out = set()
    for kind, names in KINDS.items():
        for name in names:
            rlo, rhi = regions[name]
            need = _needed(block, regions[name], rule)
            if any(_overlap(lo, hi, rlo, rhi) >= need for lo, hi in boxes):
                out.add(kind)
                break
    return out


def random_boxes(rng, shape, block, mag, n, max_tries=100_000):
    """``n`` non-overlapping boxes at uniform positions on the ``mag`` grid."""
    block, mag = np.asarray(block), np.asarray(mag)
    top = (np.asarray(shape) // mag * mag - block) // mag  # highest origin, in mag steps
    boxes = []
    for _ in range(max_tries):
        if len(boxes) == n:
            return boxes
        lo = rng.integers(0, top + 1) * mag
        hi = lo + block
        if all(np.any((lo >= bhi) | (hi <= blo)) for blo, bhi in boxes):
            boxes.append((lo, hi))
    raise RuntimeError(f"could not place {n} non-overlapping boxes of {tuple(block)} "
                       f"in {tuple(shape)}")


def _figures(runs, sample, block, rule):
    """Mean figures over seeds for a list of box lists."""
    regions, labels = sample.regions, sample.labels
    elo, ehi = regions["empty"]
    box_vox = math.prod(block)
    frac, every, per_kind, in_empty, no_obj, literal = [], 0, dict.fromkeys(KINDS, 0), [], [], []
    for boxes in runs:
        got = covered_kinds(boxes, regions, block, rule)
        frac.append(len(got) / len(KINDS))
        literal.append(len(covered_kinds(boxes, regions, block, "literal")) / len(KINDS))
        every += len(got) == len(KINDS)
        for k in got:
            per_kind[k] += 1
        in_empty.append(np.mean([_overlap(lo, hi, elo, ehi) >= EMPTY_SHARE * box_vox
                                 for lo, hi in boxes]))
        no_obj.append(np.mean([not labels[tuple(slice(a, b) for a, b in zip(lo, hi))].any()
                               for lo, hi in boxes]))
    n = len(runs)
    return {
        "covered": float(np.mean(frac)),
        "covered_min": float(np.min(frac)),
        "every": every,
        "per_kind": {k: v / n for k, v in per_kind.items()},
        "in_empty": float(np.mean(in_empty)),
        "no_object": float(np.mean(no_obj)),
        "literal": float(np.mean(literal)),
        "seeds": n,
    }


def _strata_covered(cands, boxes, present) -> float:
    """Share of the engine's content strata held by the candidates the boxes overlap most.

    Judged with the same strata table for both methods: a box stands for the
    candidate block it shares the most voxels with.
    """
    lo_c = cands.grid.origins
    hi_c = lo_c + np.asarray(cands.block)
    got = set()
    for lo, hi in boxes:
        ov = np.prod(np.clip(np.minimum(hi_c, hi) - np.maximum(lo_c, lo), 0, None), axis=1)
        i = int(np.argmax(ov))
        if cands.strata.informative[i]:
            got.update(cands.strata.strata_of(i))
    return len(got & set(present)) / max(len(present), 1)


def _ratio(a, b) -> str:
    if b == 0:
        return "  n/a" if a == 0 else "  inf"
    return f"{a / b:5.2f}"


def _explain(cands, sample, block, rule, ours_runs):
    """Which candidates could cover each kind, their strata, and what ours chose."""
    print("  strata table (informative members):", cands.strata.counts())
    for kind, names in KINDS.items():
        hits = []
        for i in range(len(cands)):
            lo, hi = cands.extent(i)
            for name in names:
                if _overlap(lo, hi, *sample.regions[name]) >= _needed(block, sample.regions[name],
                                                                       rule):
                    hits.append(f"{lo} {'/'.join(cands.strata.strata_of(i)) or 'uninformative'}")
                    break
        print(f"  {kind:9s} coverable by {len(hits)} candidate(s): {'; '.join(hits) or '-'}")
    picked: dict[str, int] = {}
    for strata in ours_runs:
        for s in strata:
            picked[s] = picked.get(s, 0) + 1
    print("  ours, boxes per stratum over all seeds:", dict(sorted(picked.items())))


def run_volume(name, args):
    t0 = time.perf_counter()
    sample = VOLUMES[name]()
    t_make = time.perf_counter() - t0
    image = sample.image
    plan = Plan(ImageRef(image.shape), get_preset(args.preset), args.mag)
    cands = measure_candidates(image, plan)
    block = cands.block
    t_measure = best_time(lambda: measure_candidates(image, plan), args.repeat)
    t_sum = best_time(lambda: np.sum(image), args.repeat)
    present = [k for k, v in cands.strata.counts().items() if v and k != "typical"]
    ns = args.n or sorted({len(KINDS), len(present)})
    print(f"\n== {name}: make_{'rare_' if name == 'rare' else ''}sample() {image.shape}, "
          f"box {block}, mag {plan.magnification}, {len(cands)} candidates "
          f"(made in {t_make:.1f} s)")
    print(f"   measure_candidates {t_measure:.3f} s, np.sum {t_sum:.3f} s, "
          f"ratio {t_measure / t_sum:.1f} (best of {args.repeat})")
    for n in ns:
        ours, ours_strata, rand = [], [], []
        for s in range(args.seeds):
            plan2, _ = propose(plan, cands, n=n, seed=s)
            ours.append([(np.asarray(b.lo), np.asarray(b.hi)) for b in plan2.boxes])
            ours_strata.append([b.stratum for b in plan2.boxes])
            rng = np.random.default_rng(s)
            rand.append(random_boxes(rng, image.shape, block, plan.magnification, n))
        a, b = _figures(ours, sample, block, args.rule), _figures(rand, sample, block, args.rule)
        sa = np.mean([_strata_covered(cands, r, present) for r in ours])
        sb = np.mean([_strata_covered(cands, r, present) for r in rand])
        ea = np.mean([_strata_covered(cands, r, present) == 1.0 for r in ours])
        eb = np.mean([_strata_covered(cands, r, present) == 1.0 for r in rand])
        print(f"\n   N = {n} boxes, {args.seeds} seeds, coverage rule: {args.rule}")
        print(f"   {'figure':40s} {'ours':>7s} {'random':>7s} {'ours/random':>11s}")
        rows = [
            ("kinds covered, mean fraction", a["covered"], b["covered"]),
            ("kinds covered, worst seed", a["covered_min"], b["covered_min"]),
            ("seeds covering every kind", a["every"] / a["seeds"], b["every"] / b["seeds"]),
            *((f"  {k} covered (share of seeds)", a["per_kind"][k], b["per_kind"][k])
              for k in KINDS),
            (f"boxes >= {EMPTY_SHARE:.0%} in the empty region", a["in_empty"], b["in_empty"]),
            ("boxes holding no nucleus", a["no_object"], b["no_object"]),
            ("kinds covered, literal rule", a["literal"], b["literal"]),
            (f"engine strata covered ({len(present)}), mean", sa, sb),
            ("seeds covering every engine stratum", ea, eb),
        ]
        for label, x, y in rows:
            print(f"   {label:40s} {x:7.3f} {y:7.3f} {_ratio(x, y):>11s}")
        if args.explain:
            _explain(cands, sample, block, args.rule, ours_strata)


def _ints(text):
    return [int(v) for v in text.split(",") if v]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--volume", choices=[*VOLUMES, "both"], default="both")
    ap.add_argument("--seeds", type=int, default=100, help="seeds per method (default 100)")
    ap.add_argument("--n", type=_ints, default=None,
                    help=f"box counts, comma separated (default {len(KINDS)}, the number of kinds)")
    ap.add_argument("--rule", choices=("window", "literal"), default="window",
                    help="coverage rule: 'window' needs 0.5 * prod(min(box, region)) voxels of "
                         "overlap; 'literal' needs min(50%% of the box, 50%% of the region)")
    ap.add_argument("--preset", default="instance", help="box preset (default instance: 64³)")
    ap.add_argument("--mag", type=_ints, default=[1, 1, 1], help="magnification Z,Y,X")
    ap.add_argument("--repeat", type=int, default=5, help="best of N timings")
    ap.add_argument("--explain", action="store_true",
                    help="list, per kind, the candidates that could cover it and their strata")
    args = ap.parse_args(argv)
    args.mag = tuple(args.mag)
    t0 = time.perf_counter()
    for name in (VOLUMES if args.volume == "both" else [args.volume]):
        run_volume(name, args)
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
