"""``patchwise merge-corrections``: MemBrain-seg's Add / Remove / Ignore corrections merged into labels.

For each ``LABELS/NAME.{nii.gz,nrrd,mrc}`` with a folder ``CORRECTIONS/NAME/``
of masks (names starting with Add/add, Remove/remove, Ignore/ignore), writes
``OUT/NAME.nii.gz`` as MemBrain-seg's ``merge_corrections`` does (see
:mod:`..engine.corrections.merge`). Nothing is written while an output exists,
unless ``--overwrite``.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.corrections.merge import BORDER, MergeCorrectionsRequest, merge_corrections
from .errors import UsageError


def cmd_merge_corrections(args) -> int:
    if args.border < 0:
        raise UsageError(f"--border {args.border}: give a number of voxels, 0 or more.")
    request = MergeCorrectionsRequest(Path(args.labels_dir), Path(args.corrections_dir), Path(args.out_dir),
                                      border=args.border, overwrite=args.overwrite)
    try:
        report = merge_corrections(request)
    except FileExistsError as e:
        raise UsageError(f"{e} (--overwrite replaces them)") from None
    for item in report.items:
        counts = ", ".join(f"{len(item.masks[k])} {k}" for k in ("add", "remove", "ignore"))
        note = "" if any(item.masks.values()) else " (no correction masks in its folder: labels and border only)"
        print(f"{item.labels.name}: {counts} -> {item.out}{note}")
    for name in report.without_folder:
        print(f"{name}: no folder {Path(args.corrections_dir) / name}; left out")
    for path in report.not_masks:
        print(f"{path.parent.name}/{path.name}: its name starts with none of Add, Remove, Ignore; not used")
    for path in report.other_files:
        print(f"{path.name}: not a label file (.nii.gz, .nrrd, .mrc); left out")
    print(f"{len(report.written)} merged label file(s) written to {args.out_dir}")
    return 0


def add_parser(sub) -> None:
    c = sub.add_parser("merge-corrections",
                       help="merge MemBrain-seg style Add/Remove/Ignore corrections into .nii.gz labels")
    c.add_argument("--labels-dir", required=True, help="folder of label patches NAME.nii.gz / NAME.nrrd / NAME.mrc")
    c.add_argument("--corrections-dir", required=True,
                   help="folder holding, for each label patch, a folder NAME/ of Add*, Remove*, Ignore* masks")
    c.add_argument("--out-dir", required=True, help="where NAME.nii.gz are written (made when missing)")
    c.add_argument("--border", type=int, default=BORDER,
                   help=f"ignore border (label 2) on every face, in voxels (default {BORDER}, as MemBrain-seg)")
    c.add_argument("--overwrite", action="store_true", help="replace outputs that exist")
    c.set_defaults(func=cmd_merge_corrections)
