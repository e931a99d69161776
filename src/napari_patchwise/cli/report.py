"""``patchwise report``: evaluate a prediction and write a self-contained HTML report.

The page (:func:`~napari_patchwise.engine.report.build_report`) holds the
metric tables, plots, pictures of the worst boxes, the project's summary and
the advisor's answer; every picture is embedded. The evaluation is saved to the
project's history (``evaluations/eval_NNN.json``) unless ``--no-save``. An
existing output file is never replaced without ``--overwrite``.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.plan.atomic import write_new, write_text_atomic
from ..engine.report import ReportRequest, build_report
from .args import add_prediction_options
from .errors import UsageError
from .evaluate import request_from_args


def _output(args) -> Path:
    out = Path(args.output)
    if out.is_dir():
        raise UsageError(f"-o {out} is a folder; give the report's file name, e.g. -o {out / 'report.html'}.")
    if out.exists() and not args.overwrite:
        raise UsageError(f"{out} exists; give another -o, or --overwrite to replace it.")
    if not out.parent.is_dir():
        raise UsageError(f"the folder {out.parent} does not exist; create it or give another -o.")
    return out


def write_page(path: Path, text: str, overwrite: bool) -> None:
    """Write the page whole; without ``overwrite`` a file that appeared meanwhile is kept."""
    if overwrite:
        write_text_atomic(path, text)
        return
    try:
        write_new(path, text)
    except FileExistsError:
        raise UsageError(f"{path} exists; give another -o, or --overwrite to replace it.") from None


def cmd_report(args) -> int:
    out = _output(args)
    request = ReportRequest(request_from_args(args), worst=args.worst, save=not args.no_save,
                            advise=not args.no_advice, title=args.title)
    report = build_report(request)
    write_page(out, report.html, args.overwrite)
    ev = report.content.evaluation["overall"]
    score = ", ".join(f"{k} {ev[k]:.3f}" for k in ("dice", "f1") if ev.get(k) is not None)
    print(f"wrote {out} ({len(report.html) // 1024} KiB): {ev['boxes']} boxes evaluated" + (f", {score}" if score
                                                                                             else ""))
    if report.saved is not None:
        print(f"saved the evaluation as {report.saved}")
    return 0


def add_parser(sub) -> None:
    r = sub.add_parser(
        "report", help="evaluate a prediction and write a self-contained HTML report (tables, plots, worst boxes, "
        "advice)",
        description="Evaluate PRED against the annotations inside the project's boxes (as patchwise evaluate "
        "does) and write one HTML page that needs no other file: the scores overall, per stratum and per box "
        "(worst first), bars per box and per stratum, the scores per annotation round and per saved evaluation, "
        "the middle plane of the worst boxes with annotation and prediction outlines, the project's images, "
        "boxes and consistency findings, and the advisor's answer on the first image. The evaluation is saved "
        "as PROJECT/evaluations/eval_NNN.json (never overwritten) unless --no-save.")
    r.add_argument("project", help="project folder (holding plan.json)")
    r.add_argument("-o", "--output", required=True, metavar="REPORT.html", help="the page to write")
    r.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_prediction_options(r)
    r.add_argument("--images", default=None, metavar="NAME[,NAME]", help="only these images (default: every one)")
    r.add_argument("--boxes", default=None, metavar="IDS", help="only these boxes: 1,4,7 or NAME:ID,...")
    r.add_argument("--split", default=None, choices=("test",), help="only the boxes the last export held out as test")
    r.add_argument("--export", default=None, metavar="OUT", help="with --split test: the export folder")
    r.add_argument("--iou", default="0.5,0.75", metavar="T[,T]",
                   help="IoU thresholds of instance matching (default: %(default)s)")
    r.add_argument("--worst", type=int, default=6, metavar="N",
                   help="pictures of the N worst boxes (default: %(default)s)")
    r.add_argument("--title", default=None, help="the page's title (default: 'Evaluation report: PROJECT')")
    r.add_argument("--no-save", action="store_true",
                   help="do not add this evaluation to the project's history (evaluations/eval_NNN.json)")
    r.add_argument("--no-advice", action="store_true", help="leave out the advisor's answer")
    r.set_defaults(func=cmd_report)
