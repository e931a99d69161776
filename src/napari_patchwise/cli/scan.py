"""``patchwise scan``: regions of whole images where a prediction is likely wrong, worst first.

Prints a ranked list (image, corners, kind, score, reason) or, with
``--json``, ``{"regions": [{"image", "lo", "hi", "kind", "reason", "score"}],
"notes": [...], "predictions": {...}}``. Reading only: nothing is written and
no lock is taken.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..engine.jobs.image_choice import choose_images
from ..engine.plan.plan_file import load_collection
from ..engine.scan import ScanRequest, scan_failures
from .args import add_prediction_options
from .errors import UsageError


def box_size_arg(text: str | None) -> tuple[int, int, int] | None:
    """``--box-size 32,128,128`` as three whole numbers (a UsageError says what to write).

    Examples
    --------
    >>> box_size_arg("32, 64,64")
    (32, 64, 64)
    >>> box_size_arg("32x64")
    Traceback (most recent call last):
    ...
    napari_patchwise.cli.errors.UsageError: --box-size takes three whole numbers > 0 (z,y,x voxels) like 32,128,128; got '32x64'.
    """
    if text is None:
        return None
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) <= 0:
        raise UsageError(f"--box-size takes three whole numbers > 0 (z,y,x voxels) like 32,128,128; got {text!r}.")
    return values


def _corners(lo, hi) -> str:
    return "[" + ", ".join(f"{a}:{b}" for a, b in zip(lo, hi)) + "]"


def print_regions(result, out=None) -> None:
    """The regions as a numbered list, worst first, and the notes."""
    out = sys.stdout if out is None else out
    for name, path in result.predictions.items():
        print(f"prediction of {name}: {path}", file=out)
    if not result.regions:
        print("no region flagged: the signals found nothing outside the boxes.", file=out)
    for i, r in enumerate(result.regions, start=1):
        print(f"{i:>3}. {r.image} {_corners(r.lo, r.hi)} {r.kind} (score {r.score:.3f}): {r.reason}", file=out)
    for note in result.notes:
        print(f"note: {note}", file=out)


def request_from_args(args) -> ScanRequest:
    folder = Path(args.project)
    chosen = choose_images(list(load_collection(folder).names), args.images)
    if args.n < 1:
        raise UsageError(f"-n takes a whole number >= 1 (how many regions to list); got {args.n}.")
    return ScanRequest(folder, Path(args.prediction),
                       None if args.second_prediction is None else Path(args.second_prediction),
                       images=chosen, n=args.n, box_size=box_size_arg(args.box_size), threshold=args.threshold,
                       kind=args.kind, class_name=args.class_name)


def cmd_scan(args) -> int:
    result = scan_failures(request_from_args(args))
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, allow_nan=False)
        print()
    else:
        print_regions(result)
    return 0


def add_parser(sub) -> None:
    s = sub.add_parser("scan", help="find regions of the whole images where a prediction is likely wrong "
                       "(uncertain, implausible objects, like its mistakes in the annotated boxes), worst first")
    s.add_argument("project", help="project folder (holding plan.json)")
    add_prediction_options(s, second=True)
    s.add_argument("--images", default=None, metavar="NAME[,NAME]",
                   help="scan only these images (default: every image of the project)")
    s.add_argument("-n", type=int, default=10, help="how many regions to list (default: %(default)s)")
    s.add_argument("--box-size", default=None, metavar="Z,Y,X",
                   help="size of a region in full-resolution voxels (default: the plan's size of new boxes)")
    s.add_argument("--json", action="store_true", help="print the regions as JSON")
    s.set_defaults(func=cmd_scan)
