"""``patchwise export-corrections`` and ``patchwise import-corrections``: a corrections folder (MITK /
MemBrain-seg style) out of and into a project.

``export-corrections`` writes, per box, the image and label patches to open in
MITK (``OUT/images/NAME.nrrd``, ``OUT/labels/NAME.nrrd``) and an empty
``OUT/corrections/NAME/`` for the Add / Remove / Ignore masks;
``import-corrections`` brings such a folder into the project's correction
arrays of one class (see :mod:`..engine.corrections.mitk`).
"""

from __future__ import annotations

from pathlib import Path

from ..engine.corrections.mitk import (ExportCorrectionsRequest, ImportCorrectionsRequest,
                                       export_correction_patches, import_corrections)
from .args import writing
from .errors import UsageError


def cmd_import_corrections(args) -> int:
    request = ImportCorrectionsRequest(Path(args.project), Path(args.corrections_dir), image=args.image,
                                       class_name=args.class_name, replace=args.replace)
    with writing(request.project, args):
        report = import_corrections(request)
    for box in report.boxes:
        counts = ", ".join(f"{box.counts[k][0]} {k} ({box.counts[k][1]} voxels)" for k in ("add", "remove", "ignore"))
        print(f"{box.name}: box {box.box_id} of {box.image}: {counts}")
    for name in report.empty:
        print(f"{name}/: no Add, Remove or Ignore mask; left as it was")
    for path in report.not_masks:
        print(f"{path.parent.name}/{path.name}: its name starts with none of Add, Remove, Ignore; not used")
    for path in report.other_files:
        print(f"{path.name}: not a folder; left out")
    print(f"corrections of {len(report.boxes)} box(es) imported into class {report.class_name!r}")
    return 0


def cmd_export_corrections(args) -> int:
    boxes = None
    if args.boxes:
        try:
            boxes = tuple(int(b) for b in args.boxes.split(","))
        except ValueError:
            raise UsageError(f"--boxes {args.boxes!r}: give box ids separated by commas, e.g. 1,4,7.") from None
    request = ExportCorrectionsRequest(Path(args.project), Path(args.out_dir), image=args.image,
                                       class_name=args.class_name, box_ids=boxes)
    try:
        names = export_correction_patches(request)
    except FileExistsError as e:
        raise UsageError(str(e)) from None
    print(f"{len(names)} patch(es) written to {args.out_dir}: images/NAME.nrrd, labels/NAME.nrrd, and "
          "corrections/NAME/ for the Add*, Remove*, Ignore* masks")
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("export-corrections",
                       help="write each box's image and label patch as NRRD, with an empty corrections folder "
                       "per box (to correct in MITK)")
    e.add_argument("project", help="the project folder")
    e.add_argument("--out-dir", required=True, help="a new or empty folder")
    e.add_argument("--image", default=None, help="only this image's boxes (default: every image)")
    e.add_argument("--class", dest="class_name", default=None,
                   help="the class whose labels are written (default: the only class)")
    e.add_argument("--boxes", default=None, help="only these boxes, e.g. 1,4,7 (with one image)")
    e.set_defaults(func=cmd_export_corrections)

    i = sub.add_parser("import-corrections",
                       help="bring a folder of Add/Remove/Ignore masks per box (MITK / MemBrain-seg style) into "
                       "the project's corrections")
    i.add_argument("project", help="the project folder")
    i.add_argument("--corrections-dir", required=True,
                   help="folder of NAME/ folders of Add*, Remove*, Ignore* masks; NAME is box_0007 or "
                   "IMAGE_box_0007, as export-corrections and export name the boxes")
    i.add_argument("--image", default=None, help="the image of names without one (default: the only image)")
    i.add_argument("--class", dest="class_name", default=None, help="the class corrected (default: the only class)")
    i.add_argument("--replace", action="store_true", help="replace corrections the boxes already have")
    i.set_defaults(func=cmd_import_corrections)
