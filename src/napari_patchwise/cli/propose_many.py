"""``patchwise propose`` on several images: each added to the project and given its own boxes.

Every image is read (and refused, with nothing written) before any proposal;
each new image is planned with the project's preset, magnification and
classes, its own voxel size, and boxes proposed on it alone with the same
seed; the project is written once, at the end. Images the project already
holds (same file and dataset, and time point) are skipped, so a re-run adds
nothing. A file with time points gives one image per time point (``--time``
picks some), named ``NAME_t000``...; an image with channels keeps them, and
proposal measures ``--channel`` (or the mean of the channels, each normalised).
"""

from __future__ import annotations

import shlex
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..engine.io.axes import parse_time_points
from ..engine.io.channels import measured_channel, parse_channel, parse_channel_names
from ..engine.io.volumes import read_time_points
from ..engine.jobs.propose import ProposeRequest, run_propose
from ..engine.plan.rounds import next_round
from ..engine.jobs.spread import spread_boxes, spread_budget
from ..engine.plan.classes import parse_classes
from ..engine.plan.collection import Collection
from ..engine.plan.image_adding import image_ref_for, volume_image_name
from ..engine.plan.image_files import held_image, image_key
from ..engine.plan.plan import ImageRef, Plan
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
    vols = []
    for spec in specs:
        try:
            points = read_time_points(spec, axes=getattr(args, "axes", None))
        except ValueError as e:
            if getattr(args, "axes", None) and "axes" in str(e):
                raise UsageError(f"{spec}: {e}") from None
            raise
        vols.extend(_chosen_times(spec, points, getattr(args, "time", None)))
    _check_channel_options(args, vols)
    return vols


def plain(vol) -> bool:
    """Whether ``vol`` is one 3D volume of a file without time points or channels (read as always)."""
    return vol.time is None and vol.channels == 1 and vol.axes == "ZYX"


def _chosen_times(spec: str, points: list, text: str | None) -> list:
    """The time points ``--time`` picks of a file's (all of them without it)."""
    if text is None:
        return points
    count = points[0].time_points
    if count == 1:
        raise UsageError(f"--time picks time points, but {spec} has none (axes {points[0].axes}); leave it "
                         "out, or give --axes when the file's first axis is time (e.g. --axes TZYX).")
    try:
        return [points[t] for t in parse_time_points(text, count)]
    except ValueError as e:
        raise UsageError(f"{spec}: {e}") from None


def _check_channel_options(args, vols: list) -> None:
    """``--channel`` and ``--channel-names`` only for images with channels, and valid for each."""
    for option in ("channel", "channel_names"):
        text = getattr(args, option, None)
        if text is None:
            continue
        flat = [v for v in vols if v.channels == 1]
        if flat:
            raise UsageError(f"--{option.replace('_', '-')} is for images with channels, but {flat[0].path} "
                             f"has one (axes {flat[0].axes}); leave it out, or give --axes when the file "
                             "has a channel axis (e.g. --axes CZYX).")
        parse = parse_channel if option == "channel" else parse_channel_names
        for v in vols:
            try:
                parse(text, v.channels)
            except ValueError as e:
                raise UsageError(f"{v.path}: {e}") from None


def describe_axes(ref: ImageRef) -> str:
    """Words on where in its file an image is and what proposal measures, e.g. `` (time point 3)``;
    nothing for an image of one channel without time points."""
    words = []
    if ref.time is not None:
        words.append(f"time point {ref.time}")
    if ref.channels > 1:
        use = "the mean of them normalised" if ref.channel is None else f"channel {ref.channel}"
        words.append(f"{ref.channels} channels {', '.join(ref.channel_labels)}, measuring {use}")
    return f" ({'; '.join(words)})" if words else ""


def box_counts(args, plans: list[Plan], sizes, per_image, weights=None) -> list[tuple[int | None, int | None]]:
    """``(n, budget)`` of each new image: as given, or the total spread within ``per_image`` in
    proportion to ``weights`` (default: the images' sizes); a budget counts each image's boxes at its size."""
    if per_image is None:
        return [(args.n, args.budget)] * len(plans)
    if args.n is None and args.budget is None:
        raise UsageError("--per-image MIN,MAX bounds a total spread across the images: give it with "
                         "--n (boxes in all) or --budget (voxels in all).")
    weights = [int(np.prod(p.image.shape)) for p in plans] if weights is None else weights
    if args.n is None:  # the budget as whole boxes, each image's at its own box size
        shares = spread_budget(args.budget, weights, [int(np.prod(s)) for s in sizes], *per_image)
        return [(n, None) for n in shares]
    total = args.n
    shares = spread_boxes(total, weights, *per_image)
    if sum(shares) != total:
        images = f"{len(plans)} image{'s' if len(plans) != 1 else ''}"
        print(f"note: {total} boxes cannot be spread over {images} with {per_image[0]} to "
              f"{per_image[1]} each; asking for {sum(shares)}.")
    return [(n, None) for n in shares]


def collection_candidates(args, adding, sizes, per_image) -> tuple[list | None, list | None]:
    """With ``--per-image`` on several images: each image's candidates with strata over all of them,
    and the weights the total is spread by (:mod:`..engine.propose.collection_strata`); else ``(None, None)``."""
    if per_image is None or len(adding) < 2 or (args.by or "content") != "content" or (
            args.n is None and args.budget is None):  # (box_counts says what is missing)
        return None, None
    from ..engine.propose.candidates import measure_candidates
    from ..engine.propose.collection_strata import pool_strata, stratum_weights

    cands = [measure_candidates(measured_channel(vol.data, plan.image.channel), plan, size=bsize, scheduler=args.scheduler,
                                progress=ProgressBar(f"measuring blocks of {name}"))
             for (name, vol, plan), bsize in zip(adding, sizes)]
    pooled = pool_strata(cands)
    return pooled, list(stratum_weights(pooled))


def _new_plan(args, vol, template: Plan | None, preset, size) -> Plan:
    ref, _ = image_ref_for(vol, args.voxel_size, channel=getattr(args, "channel", None),
                           channel_names=getattr(args, "channel_names", None))  # as the Plan step adds an image
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
    domain = getattr(args, "domain", None)
    adding: list[tuple[str, object, Plan]] = []
    names = collection  # the collection with the new images, for their names
    for vol in vols:
        key = image_key(vol.path, vol.dataset)
        held = held_image(collection, key, out, vol.time) if collection is not None else None
        if held is not None:
            print(f"note: {vol.path} is already image {held!r} of {out}; skipped (add boxes to it with "
                  "propose on that image alone).")
            continue
        if any(image_key(v.path, v.dataset) == key and v.time == vol.time for _, v, _ in adding):
            continue
        plan = _new_plan(args, vol, template, preset, size)
        name = volume_image_name(vol)
        if names is None:
            names = Collection.from_plan(plan, name, domain=domain)
        else:
            try:
                names = names.add_image(plan, None if name is None else names.unique_name(name), domain=domain)
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
        print(f"image {name}: {vol.path}{describe_axes(plan.image)}, {'×'.join(map(str, plan.image.shape))} "
              f"{plan.image.dtype}")
        print_voxel_notes(choose_voxel_size(args.voxel_size, vol.voxel_size, vol.unit))
        sizes.append(box_size(plan, size))
    pooled, weights = collection_candidates(args, adding, sizes, per_image)
    counts = box_counts(args, [p for _, _, p in adding], sizes, per_image, weights)
    number = next_round(collection, out) if collection is not None else 1
    results = []
    for k, ((name, vol, plan), bsize, (n, budget)) in enumerate(zip(adding, sizes, counts)):
        image = measured_channel(vol.data, plan.image.channel)
        request = ProposeRequest(plan, by=args.by or "content", image=image, n=n, budget=budget,
                                 seed=args.seed, include_empty=args.include_empty, size=bsize,
                                 scheduler=args.scheduler, candidates=pooled[k] if pooled else None,
                                 round=number)
        result = run_propose(request, ProgressBar(f"measuring blocks of {name}"))
        results.append((name, result))
        for m in result.report.messages:
            print(f"note: {name}: {m}")
    coll = collection
    for name, result in results:
        coll = (Collection.from_plan(result.plan, name, domain) if coll is None
                else coll.add_image(result.plan, name, domain))
    if collection is None:
        create_project(out, coll)
    else:
        save_collection(out, coll)
    from .rounds import record_round

    record_round(out, number, args, [(name, result.plan, result.added) for name, result in results])
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
