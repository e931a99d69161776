"""``patchwise propose`` on several images: each added to the project and given its own boxes.

Every image is read (and refused, with nothing written) before any proposal;
each new image is planned with the project's preset, magnification and
classes, its own voxel size, and boxes proposed on it alone with the same
seed; the project is written once, at the end. Images the project already
holds (same file and dataset) are skipped, so a re-run adds nothing.
"""

from __future__ import annotations

import math
import shlex
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..engine.io.volumes import read_volume
from ..engine.jobs.propose import ProposeRequest, run_propose
from ..engine.jobs.spread import spread_boxes
from ..engine.plan.classes import parse_classes
from ..engine.plan.collection import Collection
from ..engine.plan.image_adding import image_ref_for
from ..engine.plan.image_files import held_image, image_key
from ..engine.plan.plan import Plan
from ..engine.plan.plan_file import is_project, load_collection
from ..engine.plan.project import create_project
from ..engine.plan.project_images import save_collection
from ..engine.geometry.voxelsize import choose_voxel_size
from .console import ProgressBar, exit_code, open_hint
from .errors import UsageError

#: Classes of a new project when --classes is not given.
DEFAULT_CLASSES = "nuclei:instance"


def read_all(specs: list[str], args) -> list:
    """Every image opened (lazily) before anything is written; options made for one image refused."""
    one_only = [f"--{k}" for k in ("points", "uncertainty", "labels") if getattr(args, k, None)]
    if len(specs) > 1 and one_only:
        raise UsageError(f"{', '.join(one_only)} belong to one image, but {len(specs)} images were given; "
                         "run propose once per image for them.")
    if args.by == "uncertainty" and not args.uncertainty:
        raise UsageError("--by uncertainty needs a probability map: --uncertainty PROB.")
    return [read_volume(s) for s in specs]


def box_counts(args, plans: list[Plan], sizes, per_image) -> list[tuple[int | None, int | None]]:
    """``(n, budget)`` of each new image: as given, or the total spread within ``per_image``."""
    if per_image is None:
        return [(args.n, args.budget)] * len(plans)
    if args.n is None and args.budget is None:
        raise UsageError("--per-image MIN,MAX bounds a total spread across the images: give it with "
                         "--n (boxes in all) or --budget (voxels in all).")
    total = args.n
    if total is None:  # the budget as whole boxes of the first image's size
        total = math.ceil(args.budget / int(np.prod(sizes[0])))
    shares = spread_boxes(total, [int(np.prod(p.image.shape)) for p in plans], *per_image)
    if sum(shares) != total:
        images = f"{len(plans)} image{'s' if len(plans) != 1 else ''}"
        print(f"note: {total} boxes cannot be spread over {images} with {per_image[0]} to "
              f"{per_image[1]} each; asking for {sum(shares)}.")
    return [(n, None) for n in shares]


def _new_plan(args, vol, template: Plan | None, preset, size) -> Plan:
    ref, _ = image_ref_for(vol, args.voxel_size)  # as the Plan step's image list adds an image
    if template is not None:
        return Plan(ref, preset=template.preset, magnification=template.magnification,
                    classes=template.classes, box_size=size or template.box_size)
    return Plan(ref, preset=preset, magnification=args.mag or "1,1,1",
                classes=parse_classes(args.classes or DEFAULT_CLASSES), box_size=size)


def propose_many(args, out: Path, vols: list, size, preset, per_image) -> int:
    """Add the images of ``vols`` the project does not hold, with boxes on each; the lock is held."""
    from .propose import box_size, check_settings, print_voxel_notes

    one_only = [f"--{k}" for k in ("points", "uncertainty", "labels") if getattr(args, k, None)]
    if one_only:
        raise UsageError(f"{', '.join(one_only)} belong to one image of a project, but {out} does not "
                         "hold this image yet: add it first (propose without them), then run them on it.")
    collection = load_collection(out) if is_project(out) else None
    if collection is not None:
        check_settings(args, out, collection.images[0].plan, preset)
    template = collection.images[0].plan if collection is not None else None
    adding: list[tuple[str, object, Plan]] = []
    names = collection  # the collection with the new images, for their names
    for vol in vols:
        key = image_key(vol.path, vol.dataset)
        held = held_image(collection, key, out) if collection is not None else None
        if held is not None:
            print(f"note: {vol.path} is already image {held!r} of {out}; skipped (add boxes to it with "
                  "propose on that image alone).")
            continue
        if any(image_key(v.path, v.dataset) == key for _, v, _ in adding):
            continue
        plan = _new_plan(args, vol, template, preset, size)
        if names is None:
            names = Collection.from_plan(plan)
        else:
            try:
                names = names.add_image(plan)
            except ValueError as e:
                raise UsageError(f"cannot add {vol.path} to {out}: {e}") from None
        adding.append((names.names[-1], vol, plan))
        template = template or plan
    if not adding:
        print(f"nothing to add: every image given is already in {out}.")
        return 0
    t0 = time.perf_counter()
    sizes = []
    for name, vol, plan in adding:
        print(f"image {name}: {vol.path}, {'×'.join(map(str, plan.image.shape))} {plan.image.dtype}")
        print_voxel_notes(choose_voxel_size(args.voxel_size, vol.voxel_size, vol.unit))
        sizes.append(box_size(plan, size))
    counts = box_counts(args, [p for _, _, p in adding], sizes, per_image)
    results = []
    for (name, vol, plan), bsize, (n, budget) in zip(adding, sizes, counts):
        request = ProposeRequest(plan, by=args.by or "content", image=vol.data, n=n, budget=budget,
                                 seed=args.seed, include_empty=args.include_empty, size=bsize,
                                 scheduler=args.scheduler)
        result = run_propose(request, ProgressBar(f"measuring blocks of {name}"))
        results.append((name, result))
        for m in result.report.messages:
            print(f"note: {name}: {m}")
    coll = collection
    for name, result in results:
        coll = Collection.from_plan(result.plan, name) if coll is None else coll.add_image(result.plan, name)
    if collection is None:
        create_project(out, coll)
    else:
        save_collection(out, coll)
    print("per image:")
    for name, result in results:
        print(f"  {name}: {result.report.summary()}")
    findings = []
    for name, result in results:
        for f in result.plan.validate():
            findings.append(f)
            print(f"{name}: {f}")
    counts = Counter(f.severity for f in findings)
    print(f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} infos")
    total = sum(len(r.added) for _, r in results)
    print(f"done in {time.perf_counter() - t0:.1f} s: {total} new boxes on {len(results)} new "
          f"image{'s' if len(results) != 1 else ''}; {len(coll.images)} images in {out}.")
    if len(coll.images) == 1:
        print(open_hint(out))
    else:
        print(f"Next: patchwise seed {shlex.quote(str(out))}, patchwise check, patchwise export (every image; "
              "--images narrows them). In napari, the Plan step lists the images and shows one at a time.")
    return exit_code(findings)
