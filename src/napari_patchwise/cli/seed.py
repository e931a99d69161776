"""``patchwise seed``: weak labels in a project's boxes (thresholding, imports, Cellpose), headless.

The command builds a :class:`~napari_patchwise.engine.jobs.seed.SeedRequest`
(which checks the options), takes the project's lock and runs
:func:`~napari_patchwise.engine.jobs.seed.run_seed` inside a snapshot of the
annotation store, so a failure half way leaves the store as it was.

A project of several images is seeded image by image, in its order (every
image, or those ``--images`` names), all inside one snapshot; the output has a
section per image and a total line. A project of one image prints as it always did.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..engine.jobs.box_ids import parse_box_ids
from ..engine.jobs.image_choice import boxes_by_image, choose_images
from ..engine.jobs.seed import IMPORT_METHODS, PROBABILITY_BACKGROUND, SeedRequest, image_requests, run_seed
from ..engine.plan.plan_file import load_collection, load_plan
from ..engine.plan.project import save_plan
from ..engine.qc.checks import check_project
from ..engine.plan.store_snapshot import recover_snapshots, store_snapshot
from ..engine.seed.thresholds import THRESHOLD_METHODS
from .args import writing
from .console import ProgressBar, print_findings


def request_from_args(args) -> SeedRequest:
    """The seed request of a parsed ``patchwise seed`` command line (a ValueError names a bad option).

    Its box ids are those of ``--boxes`` when they are plain ids; ``NAME:ID``
    entries are read per image once the project's images are known.
    """
    plain = args.boxes is None or ":" not in args.boxes
    return SeedRequest(
        Path(args.project), method=args.method, class_name=args.class_name,
        box_ids=parse_box_ids(args.boxes) if plain else None, overwrite_edits=args.overwrite_edits,
        per_box_threshold=args.per_box_threshold, source=args.source, dataset=args.dataset,
        channel=args.channel, threshold=args.threshold, min_size=args.min_size,
        background_below=args.background_below, diameter=args.diameter, smooth=args.smooth,
        split=not args.no_split, min_distance=args.min_distance, background_margin=args.background_margin,
        fill_holes=not args.no_fill_holes, block_size=args.block_size, offset=args.offset,
    )


def cmd_seed(args) -> int:
    folder = Path(args.project)
    request = request_from_args(args)
    with writing(folder, args):
        return _seed_locked(request, folder, args)


def _seed_locked(request: SeedRequest, folder: Path, args) -> int:
    """``seed`` once the project's lock is held: the plans, and the next free instance ids, are read
    here (another writer may have changed them until then)."""
    for line in recover_snapshots(folder):  # a seed killed half way: undone before this one reads
        print(line)
    collection = load_collection(folder)
    several = len(collection.images) > 1  # a section per image, named, and a total line
    names = choose_images(collection.names, args.images)
    requests = image_requests(request, boxes_by_image(names, args.boxes))
    if not several:  # the only image: opened as a project of one image always was
        requests = [replace(r, image_name=None) for r in requests]
    done = []
    with store_snapshot(folder):  # a failure half way (disk full, Ctrl-C) leaves store and plans as they were
        for r in requests:
            name = r.image_name
            label = f"seeding {name} ({args.method})" if several else f"seeding ({args.method})"
            plan, report = run_seed(replace(r, plan=load_plan(folder, name)), ProgressBar(label))
            save_plan(folder, plan, image=name)
            done.append((name, report))
    for name, report in done:
        if several:
            print(f"\n{folder} image {name}:")
        print(report.summary())
        _, findings, _ = check_project(folder, image=name)
        shown = set(report.boxes) | set(report.skipped)
        print_findings([f for f in findings if f.box_id in shown or f.box_id is None])
    if several:
        boxes = sum(len(r.boxes) - len(r.empty) for _, r in done)
        objects = sum(r.objects for _, r in done)
        print(f"\ntotal: seeded {boxes} boxes in {len(done)} images, {objects} objects")
    return 0


def add_parser(sub) -> None:
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
                   help="file to import (TIFF, .npy, _seg.npy, Zarr, HDF5, MRC, NRRD, NIfTI)")
    s.add_argument("--class", dest="class_name", default=None, help="class to seed (default: the first)")
    s.add_argument("--images", default=None, metavar="NAME[,NAME]",
                   help="seed only these images of the project (default: every image, in the project's order)")
    s.add_argument("--boxes", default=None,
                   help="box ids, e.g. 1,4,7 (default: all). Box ids are per image: with several images "
                   "write NAME:ID, e.g. a:1,a:4,b:2 (only the images named are seeded)")
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
    s.add_argument("--background-below", type=float, default=PROBABILITY_BACKGROUND,
                   help="probability imports: background where the probability is below this")
    s.set_defaults(func=cmd_seed)
