"""``patchwise seed`` and ``patchwise check``: weak labels and annotation checks, headless."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from .engine.geometry.box import as_box_id
from .engine.seed.imports import (
    labels_from_probability,
    labels_to_annotation,
    read_label_image,
    read_probability,
)
from .engine.io.volumes import read_volume
from .engine.plan.project import open_annotations, resolve_image_path, save_plan
from .engine.qc.checks import check_project
from .engine.seed.run import cellpose_into_boxes, import_into_boxes, seed_boxes
from .engine.seed.weaklabels import THRESHOLD_METHODS, SeedParams

IMPORT_METHODS = ("labels", "probability", "cellpose")


def _box_ids(text: str | None):
    if not text:
        return None
    try:
        ids = [as_box_id(int(v)) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        ids = []
    if not ids:
        raise ValueError(f"--boxes takes box ids like 1,4,7 (whole numbers >= 1); got {text!r}.")
    return list(dict.fromkeys(ids))


def _project_image(folder: Path, plan):
    path = resolve_image_path(folder, plan)
    if path is None or not path.exists():
        raise ValueError(
            f"the project's image {path or '(none recorded)'} is not there; put it back or fix "
            f"\"image\": {{\"path\": ...}} in {folder / 'plan.json'}."
        )
    return read_volume(path, dataset=plan.image.dataset).data


def cmd_seed(args) -> int:
    from .cli import writing

    folder = Path(args.project)
    with writing(folder, args):
        return _seed_locked(args, folder)


def _seed_locked(args, folder: Path) -> int:
    """``seed`` once the project's lock is held: the plan, and the next free instance id, are read
    here (another writer may have changed both until then)."""
    from .cli import _print_findings
    from .engine.plan.project import load_plan
    from .engine.plan.store_snapshot import recover_snapshots, store_snapshot

    for line in recover_snapshots(folder):  # a seed killed half way: undone before this one reads
        print(line)
    plan = load_plan(folder)
    group = open_annotations(folder, plan, mode="r+")
    with store_snapshot(folder):  # a failure half way (disk full, Ctrl-C) leaves the store as it was
        plan, report = _seed(args, folder, plan, group)
        save_plan(folder, plan)
    print(report.summary())
    _, findings, _ = check_project(folder)
    shown = set(report.boxes) | set(report.skipped)
    _print_findings([f for f in findings if f.box_id in shown or f.box_id is None])
    return 0


def _seed(args, folder: Path, plan, group):
    from .cli import _ProgressBar, UsageError

    boxes = _box_ids(args.boxes)
    progress = _ProgressBar(f"seeding ({args.method})")
    common = dict(class_name=args.class_name, box_ids=boxes, overwrite_edits=args.overwrite_edits,
                  progress=progress)
    if args.method in THRESHOLD_METHODS:
        if args.source:
            raise UsageError(f"--from is for imports (--method labels or probability); --method "
                             f"{args.method} thresholds the project's image.")
        if args.method == "manual" and args.threshold is None:
            raise UsageError("--method manual needs --threshold VALUE (in image units).")
        if args.method != "manual" and args.threshold is not None:
            raise UsageError(f"--threshold is for --method manual (or probability imports); "
                             f"--method {args.method} computes its own threshold. Add --method manual "
                             "to use yours.")
        for name in ("diameter", "smooth", "min_distance"):
            value = getattr(args, name)
            if value is not None and (value < 0 or (name == "diameter" and value == 0)):
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag} must be {'positive' if name == 'diameter' else '>= 0'} "
                                 f"(physical units of the image); got {value:g}. Leave it out to derive it.")
        if args.min_size is not None and args.min_size < 0:
            raise UsageError(f"--min-size must be a number of voxels >= 0; got {args.min_size}.")
        params = SeedParams(
            method=args.method, threshold=args.threshold, smooth=args.smooth, min_size=args.min_size,
            split=not args.no_split, min_distance=args.min_distance,
            background_margin=args.background_margin, fill_holes=not args.no_fill_holes,
            block_size=args.block_size, offset=args.offset, object_diameter=args.diameter,
        )
        plan, report = seed_boxes(plan, group, _project_image(folder, plan), params=params,
                                  per_box_threshold=args.per_box_threshold, **common)
    elif args.method == "cellpose":
        if args.source:
            raise UsageError("--method cellpose segments the project's image; to import Cellpose "
                             "output (_seg.npy, _masks.tif) use --method labels --from FILE.")
        plan, report = cellpose_into_boxes(plan, group, _project_image(folder, plan),
                                           object_diameter=args.diameter, **common)
    else:
        if not args.source:
            raise UsageError(f"--method {args.method} needs --from FILE (a label image, Cellpose "
                             "_seg.npy / _masks.tif, or a probability map).")
        if args.method == "probability":
            prob = read_probability(args.source, channel=args.channel, dataset=args.dataset)
            prob = labels_to_annotation(prob, plan.image.shape, plan.magnification)
            kind = {c.name: c.kind for c in plan.classes}.get(args.class_name or plan.classes[0].name)
            labels = labels_from_probability(prob, threshold=args.threshold if args.threshold is not None else 0.5,
                                             instance=kind == "instance",
                                             min_size=20 if args.min_size is None else args.min_size)
            background = prob < args.background_below
        else:
            labels = labels_to_annotation(read_label_image(args.source, dataset=args.dataset),
                                          plan.image.shape, plan.magnification)
            background = None
        plan, report = import_into_boxes(plan, group, labels, background=background,
                                         method=f"{args.method} import", **common)
    return plan, report


def cmd_check(args) -> int:
    from .cli import _print_findings

    folder = Path(args.project)
    if args.update_status:  # a writer: the plan is read and saved under the lock
        from .cli import writing

        with writing(folder, args):
            plan, findings, report = check_project(folder, connectivity=args.connectivity)
            save_plan(folder, plan)
    else:  # a reader: plan.json once (it is replaced atomically), no lock
        plan, findings, report = check_project(folder, connectivity=args.connectivity)
    if args.json:
        out = {
            "findings": [f.to_dict() for f in findings],
            "boxes": {str(i): {"status": q.status, "counts": q.counts,
                               "touching": {k: v.tolist() for k, v in q.touching.items()}}
                      for i, q in report.boxes.items()},
        }
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        statuses = Counter(q.status for q in report.boxes.values())
        print(f"{folder}: {len(plan.boxes)} boxes (" + ", ".join(
            f"{n} {s}" for s, n in sorted(statuses.items())) + ")")
        _print_findings(findings)
    return 1 if any(f.severity == "error" for f in findings) else 0


def add_parsers(sub) -> None:
    s = sub.add_parser(
        "seed", help="weak labels in the project's boxes (thresholding, imports, Cellpose)",
        description="Seed weak labels into the boxes of PROJECT. Voxels a person edited are "
        "kept unless --overwrite-edits; seeding a box again replaces its earlier seeds.")
    s.add_argument("project", help="project folder (holding plan.json)")
    s.add_argument("--method", default="otsu", choices=(*THRESHOLD_METHODS, *IMPORT_METHODS),
                   help="thresholding method, or an import: labels (label image, Cellpose "
                   "_seg.npy or _masks.tif), probability (ilastik / model output), cellpose "
                   "(run Cellpose in each box; needs the cellpose extra). Default: %(default)s")
    s.add_argument("--from", dest="source", default=None, metavar="FILE",
                   help="file to import (TIFF, .npy, _seg.npy, Zarr, HDF5)")
    s.add_argument("--class", dest="class_name", default=None, help="class to seed (default: the first)")
    s.add_argument("--boxes", default=None, help="box ids, e.g. 1,4,7 (default: all)")
    s.add_argument("--threshold", type=float, default=None,
                   help="manual threshold (image units), or the probability cut (default 0.5)")
    s.add_argument("--diameter", type=float, default=None, metavar="D",
                   help="typical object diameter in the image's physical units (e.g. micrometres); "
                   "thresholding derives smoothing, smallest object and centre distance from it. "
                   "Default: estimated from the chosen boxes (printed). Cellpose: converted to pixels "
                   "(default: Cellpose's own)")
    s.add_argument("--smooth", type=float, default=None,
                   help="Gaussian sigma in physical units (per-axis voxels follow the voxel size; "
                   "0 = none; default: derived from the diameter)")
    s.add_argument("--min-size", type=int, default=None,
                   help="remove objects smaller than this many voxels (default: derived from the "
                   "diameter; probability imports: 20)")
    s.add_argument("--no-split", action="store_true", help="do not split touching objects (watershed)")
    s.add_argument("--no-fill-holes", action="store_true", help="keep holes inside objects")
    s.add_argument("--min-distance", type=float, default=None,
                   help="watershed: minimum distance between object centres (physical units; default: "
                   "derived from the diameter; 0 = from each box's object depth)")
    s.add_argument("--background-margin", type=float, default=0.2,
                   help="confident background lies this fraction below the threshold (default 0.2)")
    s.add_argument("--block-size", type=float, default=0.0, help="local threshold neighbourhood (physical units)")
    s.add_argument("--offset", type=float, default=0.0, help="local threshold offset")
    s.add_argument("--per-box-threshold", action="store_true",
                   help="a threshold per box instead of one over all chosen boxes")
    s.add_argument("--overwrite-edits", action="store_true", help="also replace voxels a person painted")
    s.add_argument("--channel", type=int, default=None, help="probability map channel")
    s.add_argument("--dataset", default=None, help="dataset inside an HDF5 / Zarr file")
    s.add_argument("--background-below", type=float, default=0.1,
                   help="probability imports: background where the probability is below this")
    s.set_defaults(func=cmd_seed)

    c = sub.add_parser("check", help="every finding of a project: boxes and annotations (exit 1 on errors)")
    c.add_argument("project", help="project folder (holding plan.json)")
    c.add_argument("--json", action="store_true", help="print findings and box statuses as JSON")
    c.add_argument("--connectivity", type=int, default=1, choices=(1, 2, 3),
                   help="touching: 1 faces (default), 2 + edges, 3 + corners")
    c.add_argument("--update-status", action="store_true",
                   help="save the derived box statuses (todo/seeded/in_progress) in plan.json")
    c.set_defaults(func=cmd_check)
