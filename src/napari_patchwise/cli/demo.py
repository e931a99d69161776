"""``patchwise demo``: a project from the built-in sample volume, headless, through every step.

Each step is the same job the other commands run: propose
(:func:`~napari_patchwise.engine.jobs.propose.run_propose`), seed
(:func:`~napari_patchwise.engine.jobs.seed.run_seed`), check
(:func:`~napari_patchwise.engine.jobs.check.run_check`) and export
(:func:`.export.export_demo`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..engine.io.tiff_write import write_tiff
from ..engine.jobs.check import CheckRequest, run_check
from ..engine.jobs.propose import ProposeRequest, run_propose
from ..engine.jobs.seed import SeedRequest, run_seed
from ..engine.plan.plan import ImageRef, Plan
from ..engine.plan.classes import parse_classes
from ..engine.plan.presets import get_preset
from ..engine.plan.project import create_project, save_plan
from ..engine.plan.plan_file import folder_is_empty
from .args import writing
from .console import ProgressBar, exit_code, open_hint, print_findings
from .errors import UsageError
from .propose import box_size, print_report

#: Presets the demo can show on its sample volume.
DEMO_PRESETS = ("instance", "neuron")


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
    from ..engine.samples.nuclei import make_sample

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
    box_size(plan, None)
    result = run_propose(ProposeRequest(plan, image=sample.image, seed=args.seed),
                         ProgressBar("   measuring blocks"))
    plan = result.plan
    print_report(result.report)
    print(f"2/5 writing the project to {out} ...", flush=True)
    create_project(out, plan)
    write_tiff(out / "image.tif", sample.image, sample.voxel_size)
    write_tiff(out / "ground_truth.tif", sample.labels, sample.voxel_size)
    if args.no_seed:
        print("3/5 seeding skipped (--no-seed)")
    else:
        print("3/5 seeding weak labels in every box (Otsu, watershed split, lengths from the estimated "
              "object diameter) ...", flush=True)
        plan, seeded = run_seed(SeedRequest(out, plan=plan, image=sample.image), ProgressBar("   seeding"))
        save_plan(out, plan)
        print("   " + seeded.summary())
    print("4/5 checking boxes and annotations ...", flush=True)
    findings = run_check(CheckRequest(out)).findings
    print_findings(findings)
    if args.no_export or args.no_seed:
        print(f"5/5 export skipped ({'--no-export' if args.no_export else 'nothing annotated: --no-seed'})")
    else:
        from .export import export_demo

        print("5/5 exporting the boxes as an nnU-Net dataset ...", flush=True)
        export_demo(out, progress=ProgressBar("   exporting"))
    print(
        f"done in {time.perf_counter() - t0:.1f} s: {len(plan.boxes)} boxes on a "
        f"{'×'.join(map(str, image.shape))} volume.\n{open_hint(out)}"
    )
    return exit_code(findings)


def _demo_preset(text: str) -> str:
    """``demo --preset``: the presets whose boxes fit the sample volume."""
    from ..engine.samples.nuclei import SAMPLE_SHAPE

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


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="make a project from the built-in sample volume, headless")
    d.add_argument("--out", default="patchwise-demo", help="new project folder (default: %(default)s)")
    d.add_argument("--preset", default="instance", type=_demo_preset, metavar="{" + ",".join(DEMO_PRESETS) + "}",
                   help="box rules (default: %(default)s); membrane's 160³ boxes do not fit the sample")
    d.add_argument("--mag", default="1,1,1", help="magnification z,y,x (default: %(default)s)")
    d.add_argument("--seed", type=int, default=0, help="seed of the synthetic volume")
    d.add_argument("--no-seed", action="store_true", help="stop after proposing boxes")
    d.add_argument("--no-export", action="store_true", help="do not export the boxes to nnU-Net")
    d.set_defaults(func=cmd_demo)
