"""The evaluation history of a project: each saved evaluation as ``PROJECT/evaluations/eval_NNN.json``.

``patchwise evaluate --save`` and ``patchwise report`` store what they
evaluated (:func:`save_evaluation`) so that a metric can be followed from one
evaluation (one model, one round of annotation) to the next
(:func:`load_history`). A record is written once: a temporary file is synced
and then linked to the next free number, so two writers never share a number
and nothing saved is overwritten.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from ..plan.atomic import write_new

__all__ = ["EVALUATIONS", "load_history", "save_evaluation", "settings_of"]

#: The folder of a project holding the saved evaluations.
EVALUATIONS = "evaluations"
_NAME = re.compile(r"eval_(\d{3,})\.json\Z")


def _numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for m in map(_NAME.match, os.listdir(folder)) if m)


def settings_of(request) -> dict:
    """How an :class:`~.run.EvaluateRequest` evaluated, as a saved record keeps it.

    Examples
    --------
    >>> from napari_patchwise.engine.evaluate.run import EvaluateRequest
    >>> settings_of(EvaluateRequest("p", "pred.tif", threshold=0.3))["threshold"]
    0.3
    """
    return {"threshold": request.threshold, "kind": request.kind, "split": request.split,
            "images": None if request.images is None else list(request.images), "class": request.class_name,
            "iou_thresholds": list(request.iou_thresholds)}


def save_evaluation(project, result: dict, *, prediction: str, settings: dict | None = None,
                    now: datetime | None = None) -> Path:
    """Store one evaluation as the next ``evaluations/eval_NNN.json`` of ``project``.

    Parameters
    ----------
    project : path
        The project folder.
    result : dict
        ``EvaluateResult.to_dict()`` (or any JSON-ready scores).
    prediction : str
        What was evaluated (a path), kept in the record.
    settings : dict, optional
        How (threshold, split, images, ...), kept in the record.
    now : datetime, optional
        The time recorded (default: now, UTC).

    Returns
    -------
    Path
        The file written; an existing record is never replaced.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     a = save_evaluation(tmp, {"overall": {"dice": 0.5}}, prediction="a.tif")
    ...     b = save_evaluation(tmp, {"overall": {"dice": 0.7}}, prediction="b.tif")
    ...     print(a.name, b.name, [(r["number"], r["overall"]["dice"]) for r in load_history(tmp)])
    eval_001.json eval_002.json [(1, 0.5), (2, 0.7)]
    """
    folder = Path(project) / EVALUATIONS
    folder.mkdir(exist_ok=True)
    when = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    number = (_numbers(folder) or [0])[-1] + 1
    record = {"number": number, "created": when, "prediction": str(prediction),
              "settings": dict(settings or {}), **result}
    while True:
        target = folder / f"eval_{number:03d}.json"
        try:  # never overwrites: a number taken meanwhile gives the next one
            write_new(target, json.dumps(record, indent=2, allow_nan=False) + "\n")
            break
        except FileExistsError:
            number = _numbers(folder)[-1] + 1
            record["number"] = number
    return target


def load_history(project) -> list[dict]:
    """The saved evaluations of ``project``, oldest first (unreadable files are skipped).

    Each record holds ``number``, ``created``, ``prediction``, ``settings`` and
    the scores saved (``overall``, ``by_stratum``, ``boxes``, ...).
    """
    folder = Path(project) / EVALUATIONS
    out = []
    for n in _numbers(folder):
        path = folder / f"eval_{n:03d}.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            record.setdefault("number", n)
            out.append(record)
    return out
