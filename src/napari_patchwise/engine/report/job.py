"""The report job: evaluate, gather the project's facts, draw, and render one HTML page.

``patchwise report`` builds a :class:`ReportRequest` and calls
:func:`build_report`. It evaluates (:func:`..evaluate.run.evaluate`), saves the
evaluation to the project's history unless told not to
(:mod:`..evaluate.history`), groups the boxes by annotation round, draws the
plots and the worst boxes (:mod:`.figures`, :mod:`.thumbnails`), asks the
advisor (:func:`.project_facts.advice_for`) and renders the page
(:func:`.html.render_html`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..evaluate.history import load_history, save_evaluation, settings_of
from ..evaluate.run import EvaluateRequest, EvaluateResult, evaluate
from ..plan.plan_file import load_collection
from . import figures
from .content import ALL_BOXES, ReportContent, by_round, headline, worst_first
from .html import render_html
from .project_facts import advice_for, project_summary, round_records
from .thumbnails import worst_thumbnails

__all__ = ["Report", "ReportRequest", "build_report"]

#: Boxes drawn in the per-box bars at most (the worst ones).
MAX_BARS = 40


@dataclass(frozen=True)
class ReportRequest:
    """What to report on.

    Attributes
    ----------
    evaluation : EvaluateRequest
        The project, prediction and evaluation settings.
    worst : int
        How many of the worst boxes get a picture.
    save : bool
        Store the evaluation as the project's next ``evaluations/eval_NNN.json``.
    advise : bool
        Run the advisor on the first image.
    consistency : bool
        Count the consistency findings across images (reads a few planes of each).
    title : str, optional

    Examples
    --------
    >>> ReportRequest(EvaluateRequest("p", "pred.tif"), worst=-1)
    Traceback (most recent call last):
    ...
    ValueError: worst is how many of the worst boxes get a picture: 0 or more; got -1.
    """

    evaluation: EvaluateRequest
    worst: int = 6
    save: bool = True
    advise: bool = True
    consistency: bool = True
    title: str | None = None

    def __post_init__(self):
        if int(self.worst) < 0:
            raise ValueError(f"worst is how many of the worst boxes get a picture: 0 or more; got {self.worst}.")


@dataclass(frozen=True, eq=False)
class Report:
    """The page and what it was made from."""

    html: str
    content: ReportContent
    result: EvaluateResult
    saved: Path | None


def _series(rows, keys=("dice", "f1")) -> dict:
    return {k: [r.get(k) for r in rows] for k in keys}


def build_report(request: ReportRequest, progress=None, now: datetime | None = None) -> Report:
    """Evaluate and build the report page.

    Parameters
    ----------
    request : ReportRequest
    progress : callable, optional
        ``progress(done, total)`` while boxes are evaluated.
    now : datetime, optional
        The time the page and the saved evaluation carry (default: now, UTC).

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`..evaluate.run.evaluate` does.
    ImportError
        matplotlib is missing (the message says how to install it).
    """
    figures.figure_class()  # fail before the work when matplotlib is missing
    req = request.evaluation
    folder = Path(req.project)
    now = now or datetime.now(timezone.utc)
    result = evaluate(req, progress)
    data = result.to_dict()
    settings = settings_of(req)
    notes = []
    saved = None
    if request.save:
        saved = save_evaluation(folder, data, prediction=", ".join(sorted(set(result.predictions.values()))),
                                settings=settings, now=now)
        notes.append(f"this evaluation was saved as {saved.relative_to(folder)}")
    history = load_history(folder)
    if not request.save:
        history.append({"number": "now", "created": now.isoformat(timespec="seconds"),
                        "prediction": ", ".join(sorted(set(result.predictions.values()))), **data})
    collection = load_collection(folder)
    rounds_of = {(name, b.id): getattr(b, "round", None) for name in collection.names
                 for b in collection.plan(name).boxes}
    rounds, any_round = by_round(result.rows, rounds_of, result.iou_thresholds)
    if not any_round:
        records = round_records(folder)
        notes.append("no box records an annotation round" + (f" ({records} round records in rounds/)" if records
                                                            else "") + f": every box is shown as one round, "
                     f"'{ALL_BOXES}'.")
    rows = worst_first(data["boxes"])
    metric = headline(rows[0]) if rows else "dice"
    bar_rows = rows[:MAX_BARS]
    several = len(collection.names) > 1
    label = (lambda r: f"{r['image']}:{r['id']}") if several else (lambda r: f"box {r['id']}")
    shown = "" if len(rows) <= MAX_BARS else f" (the {MAX_BARS} worst of {len(rows)})"
    figs = {
        "per_box": figures.bars([label(r) for r in bar_rows], _series(bar_rows),
                                f"per box, worst first by {metric}{shown}"),
        "per_stratum": figures.bars(list(data["by_stratum"]), _series(list(data["by_stratum"].values())),
                                    "per stratum"),
        "by_round": figures.lines([lbl for lbl, _ in rounds], _series([s for _, s in rounds]), "overall per round",
                                  "annotation round"),
        "history": figures.lines([h.get("number") for h in history],
                                 _series([h.get("overall", {}) for h in history]), "overall per evaluation",
                                 "saved evaluation"),
    }
    thumbs, thumb_notes = worst_thumbnails(folder, collection, result, rows, request.worst, req.threshold)
    notes += thumb_notes
    advice = advice_for(folder, collection) if request.advise else None
    summary = project_summary(folder, collection, consistency=request.consistency)
    content = ReportContent(
        title=request.title or f"Evaluation report: {folder.name}",
        created=now.isoformat(timespec="seconds"), project=str(folder), evaluation=data,
        predictions={n: f"{p} ({result.kinds[n]})" for n, p in result.predictions.items()},
        settings={k: v for k, v in settings.items() if k != "images"}, summary=summary, rounds=rounds,
        history=history, figures=figs, thumbnails=thumbs, advice=advice, notes=tuple(notes))
    return Report(render_html(content), content, result, saved)
