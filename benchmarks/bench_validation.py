"""Benchmark: validating a plan of 1,000 to 100,000 boxes, against reading its plan.json.

For each size a plan is written to a temporary ``plan.json`` and timed, in the same run:

(a) ``json.load`` of that file: the baseline, the least any check of the plan costs;
(b) ``Plan.from_dict`` of the loaded dict (every box checked as it is built);
(c) ``plan.validate()``: every box rule, overlaps, the voxel total and clustering;
(d) one edit in the planner: one box moved (``update_box``) then the plan validated
    again, as the dock does on every edit;
(e) 1 % of the boxes moved in one edit (``update_boxes``) then validated.

Each time is printed with its ratio to (a), and (c) per 1,000 boxes, so growth
that is linear shows as a flat column. The boxes have the instance preset's size
(64³) at random places in one 128-plane slab of a wide image, so every box shares
its z range with every other (the layout that made the earlier sweep along z test
every pair) and some overlap.

Usage::

    python benchmarks/bench_validation.py [--sizes 1000,10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from _timing import best_time

from napari_patchwise.engine import get_preset
from napari_patchwise.engine.geometry.box import Box
from napari_patchwise.engine.plan.plan import ImageRef, Plan


def make_plan(n: int, seed: int = 0) -> Plan:
    """``n`` 64³ boxes at random places, about 10 % of them overlapping another."""
    rng = np.random.default_rng(seed)
    side = int(np.sqrt(n) * 64 * 3)
    lo = np.column_stack([rng.integers(0, 64, n), rng.integers(0, side, (n, 2))]) // 2 * 2
    boxes = tuple(Box(i + 1, tuple(int(v) for v in l), tuple(int(v) + 64 for v in l))
                  for i, l in enumerate(lo))
    return Plan(ImageRef((128, side + 64, side + 64)), get_preset("instance"), boxes=boxes)


def _moved(plan: Plan, ids) -> dict:
    return {i: {"lo": (plan.boxes[i - 1].lo[0], plan.boxes[i - 1].lo[1] + 2, plan.boxes[i - 1].lo[2]),
                "hi": (plan.boxes[i - 1].hi[0], plan.boxes[i - 1].hi[1] + 2, plan.boxes[i - 1].hi[2])}
            for i in ids}


def run(n: int, repeat: int, folder: Path) -> dict:
    plan = make_plan(n)
    path = folder / f"plan_{n}.json"
    path.write_text(json.dumps(plan.to_dict(), indent=1))

    def load():
        with path.open() as f:
            return json.load(f)

    data = load()
    one = _moved(plan, [n // 2])
    many = _moved(plan, range(1, n + 1, 100))
    times = {
        "a": best_time(load, repeat),
        "b": best_time(lambda: Plan.from_dict(data), repeat),
        "c": best_time(plan.validate, repeat),
        "d": best_time(lambda: plan.update_boxes(one).validate(), repeat),
        "e": best_time(lambda: plan.update_boxes(many).validate(), repeat),
    }
    found = plan.validate()
    times["overlap"] = sum(f.code == "overlap" for f in found)
    times["size"] = path.stat().st_size
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="box counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'boxes':>8} {'plan.json':>10} {'(a) json':>9} {'(b) load':>15} {'(c) validate':>15} "
          f"{'(c)/1k boxes':>12} {'(d) 1 edit':>15} {'(e) 1 % moved':>15} {'overlap':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            t = run(n, args.repeat, Path(tmp))
            a = t["a"]

            def cell(k, t=t, a=a):
                return f"{t[k]:7.3f} s {t[k] / a:5.1f}×"

            print(f"{n:>8,} {t['size'] / 2**20:7.1f} MB {a:7.3f} s {cell('b'):>15} {cell('c'):>15} "
                  f"{1000 * t['c'] / n:10.4f} s {cell('d'):>15} {cell('e'):>15} {t['overlap']:>8,}")
    print("goal: (c) validate <= 1 s for 10,000 boxes, (c)/1k boxes about flat (linear growth)")


if __name__ == "__main__":
    main()
