"""The ``patchwise`` command: the same engine calls as the napari docks, headless.

Exit codes: 0 success, 1 the project has error findings, 2 bad input (the
message says what is wrong and how to fix it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from . import __version__
from .engine.io import write_tiff
from .engine.layout import grid_boxes
from .engine.plan import ImageRef, Plan, parse_classes
from .engine.presets import PRESET_NAMES, get_preset
from .engine.project import ProjectError, create_project, load_plan
from .engine.validation import Finding


class UsageError(Exception):
    """Bad input from the command line (exit code 2)."""


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


def cmd_demo(args) -> int:
    from .engine.sample import make_sample

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(
            f"{out} already exists and is not empty; choose another --out folder or remove it."
        )
    t0 = time.perf_counter()
    print("1/3 making the synthetic nuclei volume ...", flush=True)
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
    extents = grid_boxes(image.shape, plan.default_box_size, plan.magnification, max_boxes=preset.suggested_count)
    plan = plan.add_boxes(extents, source="grid")
    print(f"2/3 writing the project to {out} ...", flush=True)
    create_project(out, plan)
    write_tiff(out / "image.tif", sample.image, sample.voxel_size)
    write_tiff(out / "ground_truth.tif", sample.labels, sample.voxel_size)
    print("3/3 validating the boxes ...", flush=True)
    findings = plan.validate()
    _print_findings(findings)
    print(
        f"done in {time.perf_counter() - t0:.1f} s: {len(plan.boxes)} boxes on a "
        f"{'×'.join(map(str, image.shape))} volume.\n"
        f"Open it in napari with:  napari --plugin napari-patchwise {out}"
    )
    return 1 if any(f.severity == "error" for f in findings) else 0


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

    d = sub.add_parser("demo", help="make a project from the built-in sample volume, headless")
    d.add_argument("--out", default="patchwise-demo", help="new project folder (default: %(default)s)")
    d.add_argument("--preset", default="instance", choices=[n for n in PRESET_NAMES if n != "custom"])
    d.add_argument("--mag", default="1,1,1", help="magnification z,y,x (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="seed of the synthetic volume")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv=None) -> int:
    """Entry point of the ``patchwise`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, ProjectError, ValueError, FileNotFoundError) as e:
        print(f"patchwise {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
