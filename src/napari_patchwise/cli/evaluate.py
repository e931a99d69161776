"""``patchwise evaluate``: a prediction compared with the project's annotations inside its boxes.

Prints a table (a row per box, a row per stratum, the overall row) or, with
``--json``, ``{"iou_thresholds", "boxes", "overall", "by_stratum"}`` where
``precision``, ``recall`` and ``f1`` are at the first IoU threshold. Reading
only (no lock is taken), except that ``--save`` adds the evaluation to the
project's history as ``evaluations/eval_NNN.json`` (never overwriting one).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from ..engine.evaluate.history import save_evaluation, settings_of
from ..engine.evaluate.run import EvaluateRequest, evaluate
from ..engine.jobs.image_choice import boxes_by_image, choose_images
from ..engine.plan.plan_file import load_collection
from .args import add_prediction_options
from .errors import UsageError

#: Columns of the table: (heading, key of the scores, width).
COLUMNS = (("dice", "dice", 6), ("iou", "iou", 6), ("prec", "precision", 6), ("recall", "recall", 6),
           ("f1", "f1", 6), ("ap", "ap", 6), ("m.iou", "mean_matched_iou", 6), ("split", "splits", 5),
           ("merge", "merges", 5), ("vi.split", "vi_split", 8), ("vi.merge", "vi_merge", 8))


def thresholds_arg(text: str) -> tuple[float, ...]:
    """``--iou 0.5,0.75`` as numbers (a UsageError says what to write).

    Examples
    --------
    >>> thresholds_arg("0.5, 0.75")
    (0.5, 0.75)
    >>> thresholds_arg("half")
    Traceback (most recent call last):
    ...
    napari_patchwise.cli.errors.UsageError: --iou takes IoU thresholds in (0, 1] like 0.5,0.75; got 'half'.
    """
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or not all(0 < v <= 1 for v in values):
        raise UsageError(f"--iou takes IoU thresholds in (0, 1] like 0.5,0.75; got {text!r}.")
    return values


def _cell(value, width: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:.3f}".rjust(width)
    return str(value).rjust(width)


def _line(label: str, scores: dict, label_width: int) -> str:
    cells = [label.ljust(label_width), str(scores["voxels"]).rjust(9)]
    cells += [_cell(scores[key], w) for _, key, w in COLUMNS]
    return " ".join(cells)


def print_table(result, out=None) -> None:
    """The result as a readable table: boxes, strata, overall."""
    out = sys.stdout if out is None else out
    data = result.to_dict()
    several = len({r["image"] for r in data["boxes"]}) > 1
    labels = [f"{r['image']}:{r['id']}" if several else f"box {r['id']}" for r in data["boxes"]]
    width = max([len(x) for x in labels] + [len(f"stratum {k}") for k in data["by_stratum"]] + [8])
    head = " ".join(["".ljust(width), "voxels".rjust(9)] + [h.rjust(w) for h, _, w in COLUMNS])
    t = data["iou_thresholds"]
    print(f"prediction: {', '.join(f'{n}: {p} ({result.kinds[n]})' for n, p in result.predictions.items())}",
          file=out)
    print(f"IoU thresholds {', '.join(f'{v:g}' for v in t)}: prec/recall/f1 at {t[0]:g}, ap = "
          "TP/(TP+FP+FN) averaged over them; VI in bits", file=out)
    print(head, file=out)
    for label, row in zip(labels, data["boxes"]):
        print(_line(label, row, width) + ("" if row["stratum"] is None else f"  {row['stratum']}"), file=out)
    if len(data["by_stratum"]) > 1:
        print(file=out)
        for name, scores in data["by_stratum"].items():
            print(_line(f"stratum {name}", scores, width), file=out)
    print(file=out)
    print(_line("overall", data["overall"], width), file=out)
    classes = data["overall"]["classes"]
    if len(classes) > 1:
        print("per class: " + ", ".join(f"{n} dice {_cell(c['dice'], 0)} iou {_cell(c['iou'], 0)}"
                                        for n, c in classes.items()), file=out)
    for m in data["overall"]["matching"]:
        print(f"  IoU >= {m['threshold']:g}: TP {m['tp']}, FP {m['fp']}, FN {m['fn']}, precision "
              f"{m['precision']:.3f}, recall {m['recall']:.3f}, f1 {m['f1']:.3f}, ap {m['ap']:.3f}", file=out)


def request_from_args(args) -> EvaluateRequest:
    """The request of a parsed command line (the project's images and boxes are read from it)."""
    folder = Path(args.project)
    names = list(load_collection(folder).names)
    chosen = choose_images(names, args.images)
    boxes = boxes_by_image(chosen, args.boxes)
    if all(v is None for v in boxes.values()):
        boxes = None
    return EvaluateRequest(folder, Path(args.prediction), images=chosen, boxes=boxes, split=args.split,
                           export=None if args.export is None else Path(args.export),
                           iou_thresholds=thresholds_arg(args.iou), threshold=args.threshold, kind=args.kind,
                           class_name=args.class_name)


def cmd_evaluate(args) -> int:
    request = request_from_args(args)
    result = evaluate(request)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, allow_nan=False)
        print()
    else:
        print_table(result)
    if args.save:
        path = save_evaluation(request.project, result.to_dict(),
                               prediction=", ".join(sorted(set(result.predictions.values()))),
                               settings=settings_of(request))
        print(f"saved the evaluation as {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def add_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="compare a prediction with the annotations inside the boxes (Dice, IoU, "
                       "precision/recall/F1 at IoU thresholds, splits, merges, variation of information)")
    e.add_argument("project", help="project folder (holding plan.json)")
    add_prediction_options(e)
    e.add_argument("--images", default=None, metavar="NAME[,NAME]",
                   help="evaluate only these images (default: every image of the project)")
    e.add_argument("--boxes", default=None, metavar="IDS",
                   help="only these boxes: 1,4,7 (one image) or NAME:ID,... (several)")
    e.add_argument("--split", default=None, choices=("test",),
                   help="only the boxes the last export put in its test split")
    e.add_argument("--export", default=None, metavar="OUT",
                   help="with --split test: the export folder (default: the newest export found in or beside "
                        "the project)")
    e.add_argument("--iou", default="0.5,0.75", metavar="T[,T]",
                   help="IoU thresholds of instance matching (default: %(default)s); precision, recall and "
                        "f1 are at the first")
    e.add_argument("--json", action="store_true", help="print the scores as JSON")
    e.add_argument("--save", action="store_true",
                   help="add this evaluation to the project's history (PROJECT/evaluations/eval_NNN.json, never "
                        "overwritten), which patchwise report plots")
    e.set_defaults(func=cmd_evaluate)
