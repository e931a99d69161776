"""``patchwise propose``: boxes on images, stratified by content, from points, or by uncertainty.

Several images (or one the project does not hold) are added by :mod:`.propose_many`.
On one image the command reads the inputs, opens or makes the project, builds a
:class:`~napari_patchwise.engine.jobs.propose.ProposeRequest` and prints what
:func:`~napari_patchwise.engine.jobs.propose.run_propose` did.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..engine.io.volumes import read_points_csv, read_volume
from ..engine.jobs.propose import ProposeRequest, run_propose
from ..engine.geometry.magnification import as_magnification
from ..engine.plan.plan import ImageRef, Plan
from ..engine.plan.classes import parse_classes
from ..engine.plan.collection import Collection
from ..engine.plan.presets import PRESET_NAMES, get_preset
from ..engine.plan.project import create_project, save_plan
from ..engine.plan.plan_file import folder_is_empty, is_project, load_collection, load_plan
from ..engine.plan.image_files import expand_image_args, held_image, image_key
from ..engine.jobs.spread import parse_per_image
from ..engine.propose.run import ProposalReport
from ..engine.geometry.voxelsize import VoxelChoice, choose_voxel_size
from .args import add_axes_options, triple_arg, writing
from .console import ProgressBar, exit_code, open_hint, print_findings, print_voxel_notes
from .errors import UsageError
from .propose_many import DEFAULT_CLASSES, box_counts, propose_many
from .rounds import record_round
from ..engine.plan.rounds import next_round


def print_report(report: ProposalReport) -> None:
    """A proposal's summary and notes."""
    print(report.summary())
    for m in report.messages:
        print(f"note: {m}")


def box_size(plan: Plan, size) -> tuple[int, int, int]:
    """The box size at the magnification (``--size``, or fitted to the image), said aloud."""
    if size is not None:
        return size
    fit = plan.box_fit()  # ValueError (exit 2) when not even the preset's minimum fits
    where = f"z×y×x at magnification {'×'.join(map(str, plan.magnification))}"
    if plan.box_size is not None:
        print(f"box size {'×'.join(map(str, fit.size))} ({where}), the project's")
    elif fit.changed:
        print(f"note: {fit.message} Choose another with --size Z,Y,X.")
    else:
        print(f"box size {'×'.join(map(str, fit.size))} ({where}), the {plan.preset.name} "
              "preset's default")
    return fit.size


def _with_voxel_size(plan: Plan, vox: VoxelChoice) -> Plan:
    """The plan with the chosen voxel size; prints the notes, and the warning while it is unknown."""
    print_voxel_notes(vox)
    image = dataclasses.replace(plan.image, voxel_size=vox.voxel_size, unit=vox.unit, voxel_size_known=vox.known)
    return plan.replace(image=image)


def _preset(args, size):
    if args.preset == "custom":
        if size is None and not args.min:
            raise UsageError("the custom preset needs --size Z,Y,X (and optionally --min Z,Y,X).")
        minimum = triple_arg(args.min, "--min") if args.min else size
        try:
            return get_preset("custom", minimum=minimum, default_size=size or minimum,
                              ignore_border=args.ignore_border or 0)
        except ValueError as e:
            raise UsageError(f"{e} (--min, --ignore-border)") from None
    if args.ignore_border is not None:
        raise UsageError(f"--ignore-border is for --preset custom; the {args.preset} preset's border is "
                         f"{get_preset(args.preset).ignore_border} voxels.")
    return get_preset(args.preset)


def cmd_propose(args) -> int:
    out = Path(args.out)
    specs = expand_image_args(args.image)
    size = triple_arg(args.size, "--size") if args.size else None
    per_image = parse_per_image(args.per_image) if args.per_image else None
    preset = _preset(args, size)
    new = not is_project(out)
    if new and not folder_is_empty(out):
        raise UsageError(
            f"{out} exists and is not a napari-patchwise project; choose a new or empty -o folder.")
    from .propose_many import plain, read_all

    vols = read_all(specs, args)
    if len(specs) == 1 and len(vols) == 1 and plain(vols[0]):
        vol = vols[0]
        with writing(out, args, new=new):
            target = _one_image_target(out, vol)
            if target is not False:
                return _propose_into(args, out, vol, size, preset, target, per_image)
            return propose_many(args, out, [vol], size, preset, per_image)
    with writing(out, args, new=new):
        return propose_many(args, out, vols, size, preset, per_image)


def _one_image_target(out: Path, vol):
    """Where one IMAGE's boxes go as before: ``None`` (a new project, or its only image, as
    before), the name of the project's image from that file, or ``False``: added as a new image."""
    if not is_project(out):
        return None
    collection = load_collection(out)
    name = held_image(collection, image_key(vol.path, vol.dataset), out)
    if name is not None:
        return name if len(collection.images) > 1 else None
    if len(collection.images) == 1 and tuple(collection.images[0].plan.image.shape) == tuple(vol.data.shape):
        return None  # the project's image saved in another file (e.g. as Zarr): boxes go to it, as before
    return False


def _open_plan(args, out: Path, vol, size, preset, image=None) -> tuple[Plan, bool]:
    """The project's plan (read here, under the lock), or a new one; and whether it is new."""
    shape = tuple(int(v) for v in vol.data.shape)
    if is_project(out):
        plan = load_plan(out, image)
        if tuple(plan.image.shape) != shape:
            raise UsageError(
                f"{out} is a project for an image of shape {tuple(plan.image.shape)}, but "
                f"{vol.path} has shape {shape}; choose another -o folder.")
        check_settings(args, out, plan, preset)
        plan = _with_voxel_size(plan, choose_voxel_size(
            args.voxel_size, vol.voxel_size, vol.unit, current=plan.image.voxel_size,
            current_unit=plan.image.unit, current_known=plan.image.voxel_size_known))
        return plan, False
    if not folder_is_empty(out):
        raise UsageError(
            f"{out} exists and is not a napari-patchwise project; choose a new or empty -o folder.")
    ref = ImageRef(shape=shape, dtype=np.dtype(vol.data.dtype).name, path=str(Path(vol.path).resolve()),
                   name=Path(vol.path).stem, dataset=vol.dataset)
    plan = Plan(ref, preset=preset, magnification=args.mag or "1,1,1",
                classes=parse_classes(args.classes or DEFAULT_CLASSES), box_size=size)
    return _with_voxel_size(plan, choose_voxel_size(args.voxel_size, vol.voxel_size, vol.unit)), True


def check_settings(args, out: Path, plan: Plan, preset) -> None:
    """Refuse a --mag or --classes other than the project's; note a preset that is kept."""
    if args.mag is not None and as_magnification(args.mag) != plan.magnification:
        raise UsageError(
            f"{out} plans at magnification {plan.magnification}; leave out --mag or use "
            "another -o folder.")
    if args.classes is not None and parse_classes(args.classes) != plan.classes:
        have = ",".join(f"{c.name}:{c.kind}" for c in plan.classes)
        raise UsageError(
            f"{out} has the classes {have}, not {args.classes}; every image of a project shares "
            "them: leave out --classes or use another -o folder.")
    if plan.preset.name != preset.name:
        print(f"note: {out} uses the {plan.preset.name} preset; keeping it.")


def _propose_into(args, out: Path, vol, size, preset, image=None, per_image=None) -> int:
    """``propose`` on one image once the project's lock is held: its plan is read here."""
    plan, new_project = _open_plan(args, out, vol, size, preset, image)
    if args.domain and not new_project:
        print(f"note: --domain tags images added to a project; {vol.path} is in it already (change its tag "
              "with patchwise images PROJECT --set-domain IMAGE=DOMAIN).")
    size = box_size(plan, size)
    n, budget = args.n, args.budget
    if per_image is not None and not args.points:
        (n, budget), = box_counts(args, [plan], [size], per_image)
    number = next_round(load_collection(out), out) if not new_project else 1
    t0 = time.perf_counter()
    if args.points:
        pts = read_points_csv(args.points)
        result = run_propose(ProposeRequest(plan, by="points", points=pts, size=size, border=args.border,
                                            replace=args.replace, round=number))
        for m in result.messages:
            print(f"note: {m}")
        print(result.summary())
    else:
        labels = read_volume(args.labels).data if args.labels else None
        prob = read_volume(args.uncertainty, channels=True).data if args.uncertainty else None
        by = args.by or ("uncertainty" if prob is not None else "content")
        if by == "uncertainty" and prob is None:
            raise UsageError("--by uncertainty needs a probability map: --uncertainty PROB.")
        request = ProposeRequest(plan, by=by, image=vol.data, labels=labels, probability=prob, n=n,
                                 budget=budget, seed=args.seed, include_empty=args.include_empty,
                                 replace=args.replace, size=size, scheduler=args.scheduler, round=number)
        result = run_propose(request, ProgressBar("measuring blocks"),
                             on_start=lambda work: print(work.summary(), flush=True))
        print_report(result.report)
    plan = result.plan
    if new_project:
        create_project(out, Collection.from_plan(plan, domain=args.domain) if args.domain else plan)
    else:
        save_plan(out, plan, image)
    record_round(out, number, args, [(image or load_collection(out).names[0], plan, result.added)],
                 predictions=[p for p in (args.uncertainty,) if p])
    findings = plan.validate()
    print_findings(findings)
    print(f"done in {time.perf_counter() - t0:.1f} s: {len(result.added)} new boxes, "
          f"{len(plan.boxes)} in {out}.\n{open_hint(out)}")
    return exit_code(findings)


def add_parser(sub) -> None:
    pr = sub.add_parser(
        "propose",
        help="propose boxes on one or more images (stratified by content, from points, or by uncertainty)",
        description="Propose annotation boxes on IMAGE (or several) and write them to the project "
        "PROJECT (created if new). One IMAGE into a project holding it (or, in a one-image project, an "
        "image of the same shape) adds boxes to it, as before. Images the project does not hold are "
        "added to it, each named after its file (a name already taken gets _2, _3...), planned with the "
        "project's preset, magnification and classes and its own voxel size, with boxes proposed on "
        "it; images it already holds (same file and dataset) are skipped.")
    pr.add_argument("image", nargs="+", metavar="IMAGE",
                    help="3D image: TIFF, Zarr / OME-Zarr, HDF5 (file.h5 or file.h5:dataset), .npy, MRC, NRRD or NIfTI "
                    "(read blockwise); a folder of images or a quoted glob ('crops/*.tif') for several")
    pr.add_argument("-o", "--out", required=True, help="project folder (new, or an existing project)")
    pr.add_argument("--preset", default="instance", choices=PRESET_NAMES,
                    help="box rules (default: %(default)s)")
    pr.add_argument("--mag", default=None, help="magnification Z,Y,X (default 1,1,1)")
    pr.add_argument("--size", default=None,
                    help="box size Z,Y,X at the magnification (default: the preset's)")
    pr.add_argument("--min", default=None, help="minimum box size Z,Y,X for --preset custom")
    pr.add_argument("--ignore-border", type=int, default=None, metavar="N",
                    help="for --preset custom: an ignore border of N voxels (at the magnification) on every "
                    "face of each box, ignored by training in every export (the membrane preset has 16)")
    pr.add_argument("--voxel-size", default=None, metavar="Z,Y,X[UNIT]",
                    help="voxel size, e.g. 0.5,0.2,0.2um, 10nm or 2.18,1,1 (in the image's unit); "
                    "default: what the file records. Changes an existing project's voxel size")
    add_axes_options(pr)
    how_many = pr.add_mutually_exclusive_group()
    how_many.add_argument("--n", type=int, default=None,
                          help="number of boxes to add (on each image; in all with --per-image)")
    how_many.add_argument("--budget", type=int, default=None,
                          help="voxels (at the magnification) the new boxes should hold (on each image; "
                          "in all with --per-image)")
    pr.add_argument("--per-image", default=None, metavar="MIN,MAX",
                    help="spread --n or --budget over the new images (in proportion to their size), "
                    "at least MIN and at most MAX boxes each")
    pr.add_argument("--points", default=None,
                    help="CSV of z,y,x voxel coordinates: one box centred on each point")
    pr.add_argument("--border", choices=("shift", "reject"), default="shift",
                    help="points too close to the border: move the box inside or drop it")
    pr.add_argument("--uncertainty", default=None, metavar="PROB",
                    help="probability map (z,y,x or C,z,y,x); boxes go where the model is unsure")
    pr.add_argument("--by", choices=("content", "uncertainty"), default=None,
                    help="rank by stratified content or by uncertainty (default: uncertainty "
                    "when --uncertainty is given)")
    pr.add_argument("--labels", default=None, metavar="WEAK",
                    help="weak instance labels (same shape): define foreground and density")
    pr.add_argument("--domain", default=None, metavar="NAME",
                    help="tag the images added with this domain (images acquired alike; see patchwise images "
                    "--set-domain)")
    pr.add_argument("--seed", type=int, default=0, help="same seed, same boxes (default: 0)")
    pr.add_argument("--scheduler", default=None,
                    help="dask scheduler: threads (default), sync, processes, or a "
                    "dask.distributed address such as tcp://host:8786")
    pr.add_argument("--include-empty", action="store_true",
                    help="also propose empty or uninformative regions")
    pr.add_argument("--replace", action="store_true",
                    help="first drop earlier proposals of the same kind (content and uncertainty, or "
                    "points) that are neither locked nor started")
    pr.add_argument("--classes", default=None,
                    help=f"classes of a new project, name:kind[,name:kind] (default: {DEFAULT_CLASSES}); "
                    "an existing project's classes cannot be changed here")
    pr.set_defaults(func=cmd_propose)
