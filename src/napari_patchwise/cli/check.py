"""``patchwise check``: every finding of a project, boxes and annotations (exit 1 on errors).

A project of several images is checked image by image (every image, or those
``--images`` names): a section per image and a total line; ``--json`` prints a
list of one object per image. A project of one image prints as it always did.
With several images the images checked are also compared with each other
(:func:`~..engine.jobs.check.check_consistency`: voxel sizes, units, dtypes,
intensities, within each domain): a "consistency" section and a line in the
total; in ``--json`` each image's object holds, beside its own ``"findings"``,
``"consistency"``: the consistency findings that name it (each with ``"images"``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from ..engine.jobs.check import CONNECTIVITIES, CheckRequest, check_consistency, run_check
from ..engine.jobs.image_choice import choose_images
from ..engine.plan.plan_file import load_collection
from .args import writing
from .console import print_findings


def cmd_check(args) -> int:
    folder = Path(args.project)
    collection = load_collection(folder)
    names = collection.names
    chosen = choose_images(names, args.images)
    several = len(names) > 1  # a section per image, named, and a total line
    request = CheckRequest(folder, connectivity=args.connectivity, update_status=args.update_status)

    def check_each(collection) -> list:  # one read of plan.json for every image
        return [(n, run_check(replace(request, image=n if several else None, plan=collection.plan(n))))
                for n in chosen]

    if args.update_status:  # a writer: the plans are read (again, under the lock) and saved
        with writing(folder, args):
            results = check_each(load_collection(folder))
    else:  # a reader: no lock (plan.json is replaced atomically)
        results = check_each(collection)
    consistency = check_consistency(folder, collection, chosen) if len(chosen) > 1 else ()
    if args.json:
        out = ([{"image": n, **_json(r, [c for c in consistency if n in c.images])} for n, r in results]
               if several else _json(results[0][1]))
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        for name, result in results:
            _print_image(folder, name if several else None, result)
        if consistency:
            print(f"\nconsistency of the {len(chosen)} images:")
            print_findings([c.finding for c in consistency])
        if several:
            _print_total(results, consistency)
    return 1 if any(r.has_errors for _, r in results) else 0


def _json(result, consistency=None) -> dict:
    """One image's findings and box statuses (and the consistency findings naming it, with
    several images), as ``check --json`` prints them."""
    extra = {} if consistency is None else {"consistency": [c.to_dict() for c in consistency]}
    return {
        "findings": [f.to_dict() for f in result.findings], **extra,
        "boxes": {str(i): {"status": q.status, "counts": q.counts,
                           "touching": {k: v.tolist() for k, v in q.touching.items()}}
                  for i, q in result.report.boxes.items()},
    }


def _print_image(folder: Path, name: str | None, result) -> None:
    """One image's section: its boxes by status, then its findings (``name`` None: the only image)."""
    statuses = Counter(q.status for q in result.report.boxes.values())
    where = f"{folder}" if name is None else f"{folder} image {name}"
    if name is not None:
        print()
    print(f"{where}: {len(result.plan.boxes)} boxes (" + ", ".join(
        f"{n} {s}" for s, n in sorted(statuses.items())) + ")")
    print_findings(result.findings)


def _print_total(results, consistency=()) -> None:
    findings = [f for _, r in results for f in r.findings] + [c.finding for c in consistency]
    counts = Counter(f.severity for f in findings)
    boxes = sum(len(r.plan.boxes) for _, r in results)
    print(f"\ntotal: {len(results)} images, {boxes} boxes; {counts['error']} errors, "
          f"{counts['warning']} warnings, {counts['info']} infos")


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="every finding of a project: boxes and annotations (exit 1 on errors)")
    c.add_argument("project", help="project folder (holding plan.json)")
    c.add_argument("--images", default=None, metavar="NAME[,NAME]",
                   help="check only these images of the project (default: every image, in the project's order)")
    c.add_argument("--json", action="store_true", help="print findings and box statuses as JSON (with several "
                   "images: a list, one object per image with its name)")
    c.add_argument("--connectivity", type=int, default=1, choices=CONNECTIVITIES,
                   help="touching: 1 faces (default), 2 + edges, 3 + corners")
    c.add_argument("--update-status", action="store_true",
                   help="save the derived box statuses (todo/seeded/in_progress) in plan.json")
    c.set_defaults(func=cmd_check)
