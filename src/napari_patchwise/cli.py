"""The ``patchwise`` command: the same engine calls as the napari docks, headless.

Exit codes: 0 success, 1 the project has error findings, 2 bad input, a fault such
as a damaged file or a full disk (the message says what is wrong and how to fix it),
or another writer holds the project (the message names it; see :mod:`.engine.lock`),
130 interrupted with Ctrl-C (see :mod:`.cli_errors`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from collections import Counter
from pathlib import Path

from . import __version__
from .cli_hints import installed, pip, program
from .engine.io.volumes import read_points_csv, read_volume, write_tiff
from .engine.geometry.magnification import as_magnification
from .engine.plan.plan import ImageRef, Plan, parse_classes
from .engine.propose.run import (
    ProposalReport,
    box_size_for,
    boxes_from_points,
    measure_candidates,
    propose,
    propose_by_uncertainty,
)
from .engine.plan.presets import PRESET_NAMES, get_preset
from .engine.plan.lock import project_lock
from .engine.plan.project import (
    PLAN_FILE,
    ProjectError,
    create_project,
    folder_is_empty,
    is_project,
    load_plan,
    save_plan,
)
from .engine.findings import Finding
from .engine.geometry.voxelsize import UNKNOWN_VOXEL_SIZE, VoxelChoice, choose_voxel_size


class UsageError(Exception):
    """Bad input from the command line (exit code 2)."""


def writing(folder, args, *, new: bool = False):
    """Hold the project's lock while a command changes it (``with writing(folder, args):``).

    Load the plan inside the block, never before: another writer may have
    changed it until the lock was taken. ``new``: the folder may be missing or
    empty (a new project is made there).
    """
    folder = Path(folder)
    if new:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder} is a file; choose a new or empty folder for the project.")
    elif not (folder / PLAN_FILE).is_file():
        load_plan(folder)  # raises with the precise reason
    return project_lock(folder, getattr(args, "command_line", None) or f"patchwise {args.command}",
                        create=new)


def _print_findings(findings: list[Finding], out=None) -> None:
    out = sys.stdout if out is None else out
    for f in findings:
        print(str(f), file=out)
    counts = Counter(f.severity for f in findings)
    print(
        f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} infos",
        file=out,
    )


def cmd_validate(args) -> int:
    plan = load_plan(args.project)
    findings = plan.validate()
    if args.json:
        json.dump([f.to_dict() for f in findings], sys.stdout, indent=2)
        print()
    else:
        print(f"{args.project}: {len(plan.boxes)} boxes, preset {plan.preset.name}, "
              f"magnification {','.join(map(str, plan.magnification))}")
        _print_findings(findings)
    return 1 if any(f.severity == "error" for f in findings) else 0


class _ProgressBar:
    """A text progress bar on stderr (a line per 10 % when not a terminal)."""

    def __init__(self, label: str, out=None):
        self.label, self.out, self.last = label, out or sys.stderr, -1
        self.tty = getattr(self.out, "isatty", lambda: False)()

    def __call__(self, done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if self.tty:
            bar = "#" * (pct // 5) + "." * (20 - pct // 5)
            end = "\n" if done >= total else ""
            print(f"\r{self.label} [{bar}] {pct:3d}%", end=end, file=self.out, flush=True)
        elif pct // 10 > self.last // 10 or (done >= total and self.last < 100):
            print(f"{self.label}: {pct}%", file=self.out, flush=True)
        self.last = pct


def open_hint(folder: Path) -> str:
    """How to open a project in napari, as a command that runs as printed.

    Through the ``napari`` installed beside this Python (``.venv/bin/napari``
    when the venv is not activated); how to install it when it is not there.
    """
    command = f"{program('napari')} --plugin napari-patchwise {shlex.quote(str(folder))}"
    if installed("napari"):
        return f"Open it in napari with:  {command}"
    return (f"napari is not installed here (the plain install is headless). To open the project:\n"
            f"  {pip()} install \"napari-patchwise[napari]\"\n  {command}")


def _print_report(plan: Plan, report: ProposalReport) -> None:
    print(report.summary())
    for m in report.messages:
        print(f"note: {m}")


def _box_size(plan: Plan, size) -> tuple[int, int, int]:
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


def _triple_arg(text: str, what: str) -> tuple[int, int, int]:
    try:
        vals = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        vals = ()
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3 or min(vals) < 1:
        raise UsageError(f"{what} must be three whole numbers Z,Y,X (e.g. 64,64,64); got {text!r}.")
    return vals  # type: ignore[return-value]


def _with_voxel_size(plan: Plan, vox: VoxelChoice) -> Plan:
    """The plan with the chosen voxel size; prints the notes, and the warning while it is unknown."""
    for note in vox.notes:
        print(f"note: {note}")
    if not vox.known:
        print(f"warning: {UNKNOWN_VOXEL_SIZE} with --voxel-size Z,Y,X (e.g. 2,0.5,0.5um)", file=sys.stderr)
    image = dataclasses.replace(plan.image, voxel_size=vox.voxel_size, unit=vox.unit, voxel_size_known=vox.known)
    return plan.replace(image=image)


def cmd_propose(args) -> int:
    out = Path(args.out)
    vol = read_volume(args.image)
    size = _triple_arg(args.size, "--size") if args.size else None
    if args.preset == "custom":
        if size is None and not args.min:
            raise UsageError("the custom preset needs --size Z,Y,X (and optionally --min Z,Y,X).")
        minimum = _triple_arg(args.min, "--min") if args.min else size
        preset = get_preset("custom", minimum=minimum, default_size=size or minimum)
    else:
        preset = get_preset(args.preset)
    new = not is_project(out)
    if new and not folder_is_empty(out):
        raise UsageError(
            f"{out} exists and is not a napari-patchwise project; choose a new or empty -o folder.")
    with writing(out, args, new=new):
        return _propose_into(args, out, vol, size, preset)


def _propose_into(args, out: Path, vol, size, preset) -> int:
    """``propose`` once the project's lock is held: its plan is read here."""
    image = vol.data
    shape = tuple(int(v) for v in image.shape)
    if is_project(out):
        plan = load_plan(out)
        if tuple(plan.image.shape) != shape:
            raise UsageError(
                f"{out} is a project for an image of shape {tuple(plan.image.shape)}, but "
                f"{args.image} has shape {shape}; choose another -o folder.")
        if args.mag is not None and as_magnification(args.mag) != plan.magnification:
            raise UsageError(
                f"{out} plans at magnification {plan.magnification}; leave out --mag or use "
                "another -o folder.")
        if plan.preset.name != preset.name:
            print(f"note: {out} uses the {plan.preset.name} preset; keeping it.")
        plan = _with_voxel_size(plan, choose_voxel_size(
            args.voxel_size, vol.voxel_size, vol.unit, current=plan.image.voxel_size,
            current_unit=plan.image.unit, current_known=plan.image.voxel_size_known))
        new_project = False
    elif not folder_is_empty(out):
        raise UsageError(
            f"{out} exists and is not a napari-patchwise project; choose a new or empty -o folder.")
    else:
        ref = ImageRef(shape=shape, dtype=str(image.dtype), path=str(Path(vol.path).resolve()),
                       name=Path(vol.path).stem, dataset=vol.dataset)
        plan = Plan(ref, preset=preset, magnification=args.mag or "1,1,1",
                    classes=parse_classes(args.classes), box_size=size)
        plan = _with_voxel_size(plan, choose_voxel_size(args.voxel_size, vol.voxel_size, vol.unit))
        new_project = True
    size = _box_size(plan, size)
    t0 = time.perf_counter()
    if args.points:
        pts = read_points_csv(args.points)
        res = boxes_from_points(pts, box_size_for(plan, size), shape, plan.magnification,
                                border=args.border)
        for m in res.messages:
            print(f"note: {m}")
        before = {b.id for b in plan.boxes}
        plan = plan.add_boxes(res.extents, source="points")
        print(f"{len(res.extents)} of {len(pts)} points gave a box")
        added = [b.id for b in plan.boxes if b.id not in before]
    else:
        labels = read_volume(args.labels).data if args.labels else None
        prob = read_volume(args.uncertainty, channels=True).data if args.uncertainty else None
        cands = measure_candidates(image, plan, size=size, labels=labels, probability=prob,
                                   scheduler=args.scheduler,
                                   progress=_ProgressBar("measuring blocks"),
                                   on_start=lambda work: print(work.summary(), flush=True))
        by = args.by or ("uncertainty" if prob is not None else "content")
        if by == "uncertainty":
            if prob is None:
                raise UsageError("--by uncertainty needs a probability map: --uncertainty PROB.")
            plan, report = propose_by_uncertainty(plan, cands, n=args.n, budget=args.budget,
                                                  seed=args.seed)
        else:
            plan, report = propose(plan, cands, n=args.n, budget=args.budget, seed=args.seed,
                                   include_empty=args.include_empty, replace=args.replace)
        _print_report(plan, report)
        added = list(report.added)
    if new_project:
        create_project(out, plan)
    else:
        save_plan(out, plan)
    findings = plan.validate()
    _print_findings(findings)
    print(f"done in {time.perf_counter() - t0:.1f} s: {len(added)} new boxes, "
          f"{len(plan.boxes)} in {out}.\n{open_hint(out)}")
    return 1 if any(f.severity == "error" for f in findings) else 0


def cmd_demo(args) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; choose a new or empty folder for --out (the file is kept).")
    if not folder_is_empty(out):
        raise UsageError(
            f"{out} already exists and is not empty; choose another --out folder or remove it."
        )
    with writing(out, args, new=True):
        return _demo_into(args, out)


def _demo_into(args, out: Path) -> int:
    from .engine.samples.nuclei import make_sample

    t0 = time.perf_counter()
    print("1/5 making the synthetic nuclei volume ...", flush=True)
    sample = make_sample(seed=args.seed)
    preset = get_preset(args.preset)
    image = ImageRef(
        shape=sample.image.shape,
        dtype=str(sample.image.dtype),
        voxel_size=sample.voxel_size,
        path="image.tif",
        name="nuclei",
    )
    plan = Plan(image, preset=preset, magnification=args.mag, classes=parse_classes("nuclei:instance"))
    print("   proposing boxes from the image content ...", flush=True)
    _box_size(plan, None)
    cands = measure_candidates(sample.image, plan, progress=_ProgressBar("   measuring blocks"))
    plan, report = propose(plan, cands, seed=args.seed)
    _print_report(plan, report)
    print(f"2/5 writing the project to {out} ...", flush=True)
    create_project(out, plan)
    write_tiff(out / "image.tif", sample.image, sample.voxel_size)
    write_tiff(out / "ground_truth.tif", sample.labels, sample.voxel_size)
    if args.no_seed:
        print("3/5 seeding skipped (--no-seed)")
    else:
        from .engine.plan.project import open_annotations
        from .engine.seed.run import seed_boxes
        from .engine.seed.weaklabels import SeedParams

        print("3/5 seeding weak labels in every box (Otsu, watershed split, lengths from the estimated "
              "object diameter) ...", flush=True)
        plan, seeded = seed_boxes(plan, open_annotations(out, plan), sample.image,
                                  params=SeedParams(), progress=_ProgressBar("   seeding"))
        save_plan(out, plan)
        print("   " + seeded.summary())
    print("4/5 checking boxes and annotations ...", flush=True)
    from .engine.qc.checks import check_project

    _, findings, _ = check_project(out)
    _print_findings(findings)
    if args.no_export or args.no_seed:
        print(f"5/5 export skipped ({'--no-export' if args.no_export else 'nothing annotated: --no-seed'})")
    else:
        from .cli_export import export_demo

        print("5/5 exporting the boxes as an nnU-Net dataset ...", flush=True)
        export_demo(out, progress=_ProgressBar("   exporting"))
    print(
        f"done in {time.perf_counter() - t0:.1f} s: {len(plan.boxes)} boxes on a "
        f"{'×'.join(map(str, image.shape))} volume.\n{open_hint(out)}"
    )
    return 1 if any(f.severity == "error" for f in findings) else 0


#: Presets the demo can show on its sample volume.
DEMO_PRESETS = ("instance", "neuron")


def _demo_preset(text: str) -> str:
    """``demo --preset``: the presets whose boxes fit the sample volume."""
    from .engine.samples.nuclei import SAMPLE_SHAPE

    if text == "membrane":
        membrane = get_preset("membrane")
        size = "×".join(map(str, membrane.default_size))
        raise argparse.ArgumentTypeError(
            f"the membrane preset's {size} boxes (on points, with a {membrane.ignore_border}-voxel ignore "
            "border) do not fit the "
            f"demo's {'×'.join(map(str, SAMPLE_SHAPE))} sample; use --preset {' or '.join(DEMO_PRESETS)} here, "
            "and membrane on your own volume: patchwise propose IMAGE -o PROJECT --preset membrane "
            "--points CSV")
    if text not in DEMO_PRESETS:
        raise argparse.ArgumentTypeError(f"choose {' or '.join(DEMO_PRESETS)}; got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="patchwise",
        description="Guided 3D patch annotation: plan boxes by the rules, annotate, validate, export.",
    )
    p.add_argument("--version", action="version", version=f"napari-patchwise {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("validate", help="check every box of a project against the rules (exit 1 on errors)")
    v.add_argument("project", help="project folder (holding plan.json)")
    v.add_argument("--json", action="store_true", help="print findings as JSON")
    v.set_defaults(func=cmd_validate)

    pr = sub.add_parser(
        "propose",
        help="propose boxes on an image (stratified by content, from points, or by uncertainty)",
        description="Propose annotation boxes on IMAGE and write them to the project PROJECT "
        "(created if new; boxes are added to an existing project for the same image).")
    pr.add_argument("image", help="3D image: TIFF, Zarr / OME-Zarr, HDF5 (file.h5 or file.h5:dataset) "
                    "or .npy (read blockwise)")
    pr.add_argument("-o", "--out", required=True, help="project folder (new, or an existing project)")
    pr.add_argument("--preset", default="instance", choices=PRESET_NAMES,
                    help="box rules (default: %(default)s)")
    pr.add_argument("--mag", default=None, help="magnification Z,Y,X (default 1,1,1)")
    pr.add_argument("--size", default=None,
                    help="box size Z,Y,X at the magnification (default: the preset's)")
    pr.add_argument("--min", default=None, help="minimum box size Z,Y,X for --preset custom")
    pr.add_argument("--voxel-size", default=None, metavar="Z,Y,X[UNIT]",
                    help="voxel size, e.g. 0.5,0.2,0.2um, 10nm or 2.18,1,1 (in the image's unit); "
                    "default: what the file records. Changes an existing project's voxel size")
    how_many = pr.add_mutually_exclusive_group()
    how_many.add_argument("--n", type=int, default=None, help="number of boxes to add")
    how_many.add_argument("--budget", type=int, default=None,
                          help="voxels (at the magnification) the new boxes should hold")
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
    pr.add_argument("--seed", type=int, default=0, help="same seed, same boxes (default: 0)")
    pr.add_argument("--scheduler", default=None,
                    help="dask scheduler: threads (default), sync, processes, or a "
                    "dask.distributed address such as tcp://host:8786")
    pr.add_argument("--include-empty", action="store_true",
                    help="also propose empty or uninformative regions")
    pr.add_argument("--replace", action="store_true",
                    help="first drop earlier proposals that are neither locked nor started")
    pr.add_argument("--classes", default="nuclei:instance",
                    help="classes of a new project, name:kind[,name:kind] (default: %(default)s)")
    pr.set_defaults(func=cmd_propose)

    d = sub.add_parser("demo", help="make a project from the built-in sample volume, headless")
    d.add_argument("--out", default="patchwise-demo", help="new project folder (default: %(default)s)")
    d.add_argument("--preset", default="instance", type=_demo_preset, metavar="{" + ",".join(DEMO_PRESETS) + "}",
                   help="box rules (default: %(default)s); membrane's 160³ boxes do not fit the sample")
    d.add_argument("--mag", default="1,1,1", help="magnification z,y,x (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="seed of the synthetic volume")
    d.add_argument("--no-seed", action="store_true", help="stop after proposing boxes")
    d.add_argument("--no-export", action="store_true", help="do not export the boxes to nnU-Net")
    d.set_defaults(func=cmd_demo)

    from . import cli_annotate, cli_export

    cli_annotate.add_parsers(sub)
    cli_export.add_parsers(sub)
    return p


def main(argv=None) -> int:
    """Entry point of the ``patchwise`` console script."""
    from .cli_errors import run

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["patchwise", *argv])[:300]
    return run(args, args.func, (UsageError, ProjectError, ValueError, FileNotFoundError, ImportError))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
