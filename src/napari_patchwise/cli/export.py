"""``patchwise export``: validated boxes as training data, and the demo's export step.

The command reads the options into an
:class:`~napari_patchwise.engine.jobs.export.ExportRequest` and prints what
:func:`~napari_patchwise.engine.jobs.export.run_export` wrote; ``--verify``
then runs nnU-Net's own integrity check.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path

from ..engine.export.model import FORMAT_NAMES, ExportOptions, ExportReport
from ..engine.jobs.export import ExportRequest, parse_test_boxes, run_export
from ..engine.jobs.box_ids import parse_box_ids
from .args import triple_arg
from .console import ProgressBar
from .hints import pip, program

CELLPOSE_PLANES = ("yx", "zy", "zx")
#: Where the demo writes its nnU-Net dataset, inside the demo folder.
DEMO_EXPORT = "export"
DEMO_DATASET = (501, "PatchwiseDemo")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def torch_cpu_hint() -> str:
    """Installing torch's CPU build with the running Python's pip."""
    return f"{pip()} install torch --index-url {TORCH_CPU_INDEX}"


def nnunet_hint() -> str:
    """Installing nnU-Net v2 with the running Python's pip."""
    return (f"{pip()} install nnunetv2 (on Linux first torch's CPU build, without gigabytes of CUDA: "
            f"{torch_cpu_hint()})")


def _q(path) -> str:
    return shlex.quote(str(path))


def _usage(message: str) -> ValueError:
    """Bad input (``patchwise`` exits with 2 and the message)."""
    return ValueError(message)


def parse_formats(values: list[str] | None) -> tuple[str, ...]:
    """``--format`` values (repeated, or comma lists) as format names, in the order given."""
    names = [v.strip().lower().replace("-", "") for text in values or () for v in text.split(",") if v.strip()]
    names = ["omezarr" if n in ("ome", "zarr", "ngff") else n for n in names]
    bad = [n for n in names if n not in FORMAT_NAMES]
    if bad or not names:
        raise _usage(f"--format takes {', '.join(FORMAT_NAMES)} (repeat it or give a comma list); "
                     f"got {', '.join(bad) or 'nothing'}.")
    return tuple(dict.fromkeys(names))


def parse_split(text: str) -> tuple[float, float, float]:
    """``TRAIN,VAL[,TEST]`` fractions (any scale: the engine normalises them)."""
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        vals = []
    if len(vals) == 2:
        vals.append(0.0)
    if len(vals) != 3 or min(vals) < 0 or vals[0] <= 0:
        raise _usage(f"--split takes TRAIN,VAL,TEST fractions such as 0.8,0.2,0 (not negative, train "
                     f"above 0); got {text!r}.")
    return vals[0], vals[1], vals[2]


def parse_ids(text: str | None, option: str) -> tuple[int, ...]:
    """Box ids like ``3,7`` (empty: none)."""
    return tuple(parse_box_ids(text, option, "3,7") or ())


def parse_overrides(values: list[str] | None) -> dict:
    """``BOX=REASON`` values as ``{box id: reason}``; ``IMAGE:BOX=REASON`` as ``{(image, box id): reason}``.

    Examples
    --------
    >>> parse_overrides(["7=checked", "fib:3=seen by hand"])
    {7: 'checked', ('fib', 3): 'seen by hand'}
    """
    out: dict = {}
    for text in values or ():
        box, sep, reason = text.partition("=")
        image, colon, box = box.strip().rpartition(":")
        try:
            box_id = int(box.strip())
        except ValueError:
            box_id = 0
        if not sep or box_id < 1 or not reason.strip() or (colon and not image.strip()):
            raise _usage(f"--override takes BOX=REASON or IMAGE:BOX=REASON, e.g. 7=\"contacts checked by "
                         f"hand\"; got {text!r}.")
        out[(image.strip(), box_id) if colon else box_id] = reason.strip()
    return out


def parse_planes(text: str) -> tuple[str, ...]:
    planes = tuple(dict.fromkeys(p.strip().lower() for p in text.split(",") if p.strip()))
    if not planes or any(p not in CELLPOSE_PLANES for p in planes):
        raise _usage(f"--cellpose-planes takes a comma list of {', '.join(CELLPOSE_PLANES)}; got {text!r}.")
    return planes


def parse_names(text: str | None, option: str) -> tuple[str, ...]:
    """Image names like ``cells_t000,fib`` (empty: none).

    Examples
    --------
    >>> parse_names("a, b,a", "--images")
    ('a', 'b')
    >>> parse_names(" , ", "--images")
    Traceback (most recent call last):
    ...
    ValueError: --images takes image names, e.g. cells_t000,fib (see patchwise images PROJECT); got ' , '.
    """
    if text is None:
        return ()
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise _usage(f"{option} takes image names, e.g. cells_t000,fib (see patchwise images PROJECT); "
                     f"got {text!r}.")
    return names


def options_from_args(args) -> ExportOptions:
    """The export options of a parsed ``patchwise export`` command line."""
    context: dict = {}
    if args.dataset_id is not None:
        if not 1 <= args.dataset_id <= 999:
            raise _usage(f"--dataset-id is an nnU-Net dataset number from 1 to 999; got {args.dataset_id}.")
        context["dataset_id"] = args.dataset_id
    if args.dataset_name is not None:
        context["dataset_name"] = args.dataset_name
    if args.instance_class is not None:
        context["instance_class"] = args.instance_class
    if args.patch_size is not None:
        context["patch_size"] = triple_arg(args.patch_size, "--patch-size")
    if args.cellpose_planes is not None:
        context["cellpose_planes"] = parse_planes(args.cellpose_planes)
    if args.cellpose_min_masks is not None:
        if args.cellpose_min_masks < 0:
            raise _usage(f"--cellpose-min-masks is a number of masks, 0 or more (Cellpose's min_train_masks); "
                         f"got {args.cellpose_min_masks}.")
        context["min_masks"] = args.cellpose_min_masks
    if getattr(args, "membrain_token", None) is not None:
        context["membrain_token"] = args.membrain_token
    if getattr(args, "membrain_class", None) is not None:
        context["membrain_class"] = args.membrain_class
    return ExportOptions(
        formats=parse_formats(args.format), fractions=parse_split(args.split), seed=args.seed,
        test_boxes=parse_test_boxes(args.test_boxes, "--test-boxes"), overwrite=args.overwrite,
        only_done=args.only_done,
        overrides=parse_overrides(args.override), context=context,
        images=parse_names(args.images, "--images"), split_by=args.split_by,
        test_images=parse_names(args.test_images, "--test-images"),
    )


def report_dict(report: ExportReport) -> dict:
    """The report as JSON-ready data."""
    return {
        "folders": {fmt: str(folder) for fmt, folder in report.folders.items()},
        "written": {fmt: list(cases) for fmt, cases in report.written.items()},
        "kept": {fmt: list(cases) for fmt, cases in report.kept.items()},
        "images": {fmt: {"what": n.noun, "images": n.images, "cases": n.cases}
                   for fmt, n in report.images.items()},
        "notes": {fmt: list(notes) for fmt, notes in report.notes.items()},
        "skipped": [{"box": key[1], "image": key[0], "reason": why} if isinstance(key, tuple)
                    else {"box": key, "reason": why} for key, why in report.skipped],
        "warnings": list(report.warnings),
        "recovered": list(report.recovered),
    }


def nnunet_installed() -> bool:
    return importlib.util.find_spec("nnunetv2") is not None


def verify(folder: Path) -> None:
    """Run nnU-Net's integrity check on an exported nnU-Net dataset (raises ExportError)."""
    from ..engine.export.nnunet import verify_nnunet

    verify_nnunet(folder)


def cmd_export(args) -> int:
    args.project = args.projects[0]  # the project a damaged chunk's message looks into
    options = options_from_args(args)
    if args.verify and "nnunet" not in options.formats:
        raise _usage("--verify runs nnU-Net's integrity check on the nnU-Net folder; add --format nnunet.")
    if args.verify and not nnunet_installed():
        raise _usage(f"--verify needs nnU-Net v2: {nnunet_hint()}.")
    first, *more = args.projects
    report = run_export(ExportRequest(first, args.out, options, tuple(more)), ProgressBar("exporting"))
    dataset = report.folders.get("nnunet") if args.verify else None
    if not args.json:
        print(report.summary(), flush=True)
    if dataset is not None:
        verify(dataset)  # an ExportError with nnU-Net's messages when it finds a problem
    if args.json:
        json.dump({**report_dict(report), "verified": None if dataset is None else str(dataset)}, sys.stdout,
                  indent=2)
        print()
    elif dataset is not None:
        print(f"{dataset} passed nnU-Net's dataset integrity check.")
    return 0


def export_demo(folder: Path, progress=None) -> ExportReport:
    """The demo's last step: its project as an nnU-Net dataset, checked by nnU-Net when installed."""
    dataset_id, name = DEMO_DATASET
    out = folder / DEMO_EXPORT
    options = ExportOptions(formats=("nnunet",), context={"dataset_id": dataset_id, "dataset_name": name})
    report = run_export(ExportRequest(folder, out, options), progress)
    for line in report.summary().splitlines():
        print("   " + line)
    dataset = report.folders["nnunet"]
    if nnunet_installed():
        print("   running nnU-Net's dataset integrity check ...", flush=True)
        verify(dataset)
        print(f"   {dataset.name} passed nnU-Net's dataset integrity check.")
    else:
        print(f"   nnU-Net is not installed here. To run its integrity check on {dataset.name}:\n"
              f"     {torch_cpu_hint()}   (Linux, unless you train on a GPU)\n"
              f"     {pip()} install nnunetv2\n"
              f"     {program('patchwise')} export {_q(folder)} --format nnunet -o {_q(out)} "
              f"--dataset-id {dataset_id} --dataset-name {name} --verify")
    print(f"   train on it: nnUNet_raw={_q(out)} {program('nnUNetv2_plan_and_preprocess')} -d {dataset_id} "
          "--verify_dataset_integrity (see docs/user-guide.md, Export)")
    return report


def add_parser(sub) -> None:
    e = sub.add_parser(
        "export", help="write validated boxes as training data (nnU-Net, StarDist, Cellpose, OME-Zarr, MemBrain-seg)",
        description="Export the validated boxes of PROJECT into OUT, one folder per format, with "
        "train/val/test splits and a patchwise_manifest.json. A project of several images gives one "
        "dataset (case names begin with the image's name), and so do several projects (they must have "
        "the same classes). Boxes with error findings are skipped (and listed) unless overridden. An "
        "existing export gets the new cases added, also another project's export (its cases stay); "
        "nothing is replaced without --overwrite, which replaces only the cases of the projects named.")
    e.add_argument("projects", nargs="+", metavar="PROJECT",
                   help="project folder (holding plan.json); several write one dataset")
    e.add_argument("--format", action="append", required=True, metavar="FORMAT",
                   help=f"{', '.join(FORMAT_NAMES)}; repeat it or give a comma list")
    e.add_argument("-o", "--out", required=True, help="output folder (one folder per format inside it)")
    e.add_argument("--split", default="0.8,0.2,0", metavar="TRAIN,VAL,TEST",
                   help="split fractions, stratified by stratum (default: %(default)s)")
    e.add_argument("--seed", type=int, default=0, help="seed of the split (default: %(default)s)")
    e.add_argument("--test-boxes", default=None, metavar="IDS",
                   help="box ids pinned to the test split, e.g. 3,7 (a held-out difficult region); "
                   "IMAGE:ID, e.g. fib:3,embryo:1, in a project of several images")
    e.add_argument("--images", default=None, metavar="NAME[,NAME]",
                   help="export only these images of the project (default: every image; "
                   "patchwise images PROJECT lists them); with several projects PROJECT:IMAGE, or IMAGE "
                   "when one project holds it")
    e.add_argument("--split-by", default=None, choices=("image", "box"),
                   help="draw splits per image (no image in both train and validation) or per box "
                   "(default: image from three exported images on, else box)")
    e.add_argument("--test-images", default=None, metavar="NAME[,NAME]",
                   help="images held out whole as the test split (nnU-Net imagesTs/labelsTs); with "
                   "several projects PROJECT:IMAGE, or IMAGE when one project holds it")
    e.add_argument("--overwrite", action="store_true",
                   help="replace these projects' cases in an existing export instead of adding to them "
                   "(other projects' cases stay), or a folder holding something else")
    e.add_argument("--only-done", action="store_true",
                   help="export only boxes marked done (default: every box without error findings)")
    e.add_argument("--override", action="append", default=None, metavar="BOX=REASON",
                   help="export a box despite error findings, with the reason (recorded in the manifest); "
                   "IMAGE:BOX=REASON in a project of several images, PROJECT:IMAGE:BOX=REASON with "
                   "several projects")
    e.add_argument("--dataset-id", type=int, default=None, help="nnU-Net dataset number (default 501)")
    e.add_argument("--dataset-name", default=None, help="nnU-Net dataset name (default Patchwise)")
    e.add_argument("--instance-class", default=None,
                   help="instance class for StarDist and Cellpose (default: the first one)")
    e.add_argument("--patch-size", default=None, metavar="Z,Y,X",
                   help="StarDist training patch size; smaller crops get a warning (default: the largest "
                   "every train/val crop allows, divisible by StarDist's pooling)")
    e.add_argument("--cellpose-planes", default=None, metavar="PLANES",
                   help="Cellpose planes: yx and optionally zy, zx (default yx)")
    e.add_argument("--cellpose-min-masks", type=int, default=None, metavar="N",
                   help="write only Cellpose planes with at least N masks: Cellpose's min_train_masks, "
                   "below which its training drops an image (default 5)")
    e.add_argument("--membrain-token", default=None, metavar="TOKEN",
                   help="MemBrain-seg dataset token, the start of every file name: letters, digits and '-' "
                   "(default: the project folder's name without other characters)")
    e.add_argument("--membrain-class", default=None, metavar="CLASS",
                   help="the class MemBrain-seg gets as membrane (1); the others become no membrane (0) "
                   "(default: the plan's only class)")
    e.add_argument("--verify", action="store_true",
                   help="run nnU-Net's dataset integrity check on the nnU-Net folder (needs nnunetv2)")
    e.add_argument("--json", action="store_true", help="print the report as JSON")
    e.set_defaults(func=cmd_export)
