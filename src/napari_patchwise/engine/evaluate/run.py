"""The Evaluate job: a prediction compared with a project's annotations, inside its boxes.

``patchwise evaluate`` (and later the Evaluate dock) build an
:class:`EvaluateRequest` and call :func:`evaluate`. Each chosen box of each
chosen image is read from ``annotations.zarr`` (composed, see
:mod:`..plan.annotation`) and from the prediction (:mod:`.prediction`) and
compared (:mod:`.region`: only annotated, not ignored voxels count). The
result holds a row per box, the pooled scores of every box (``overall``) and
of the boxes of each stratum (``by_stratum``); pooled scores come from pooled
counts (:mod:`.tally`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..geometry.regions import clip_region
from ..plan.box_arrays import compose_box
from ..plan.annotation_store import annotation_layers, open_annotations
from ..plan.plan_file import load_collection
from .held_out import held_out_boxes
from .instances import check_thresholds
from .prediction import KINDS, open_prediction, prediction_files
from .region import evaluate_region
from .tally import Tally, pooled

__all__ = ["BoxResult", "EvaluateRequest", "EvaluateResult", "evaluate"]

#: Which boxes ``split`` may name.
SPLITS = ("test",)
#: The stratum of boxes without one, in ``by_stratum``.
NO_STRATUM = "none"


@dataclass(frozen=True)
class EvaluateRequest:
    """What to evaluate, against which project.

    Attributes
    ----------
    project : path
        The project folder.
    prediction : path
        A prediction file, or a folder with one file per image named after it
        (see :mod:`.prediction`).
    images : sequence of str, optional
        The images to evaluate (default: every image).
    boxes : mapping of str to list of int, optional
        Per image, the box ids to evaluate (``None`` or a missing image: all
        its boxes; an image left out of a given mapping is not evaluated).
    split : {'test'} or None
        Only the boxes the last export put in its test split.
    export : path, optional
        That export's folder (default: found in or beside the project).
    iou_thresholds : sequence of float
        IoU thresholds of instance matching; precision, recall and F1 are
        reported at the first.
    threshold : float
        Probability from which a voxel of a probability map is foreground.
    kind : str
        What the prediction holds, one of :data:`.prediction.KINDS`.
    class_name : str, optional
        The class a one-class prediction is of (default: the plan's only
        class, else its only instance class).

    Examples
    --------
    >>> EvaluateRequest("p", "pred.tif", iou_thresholds=(0.5, 1.5))
    Traceback (most recent call last):
    ...
    ValueError: IoU thresholds lie in (0, 1] (a pair matches at IoU >= threshold); got 1.5.
    """

    project: Path
    prediction: Path
    images: Sequence[str] | None = None
    boxes: Mapping[str, Sequence[int] | None] | None = None
    split: str | None = None
    export: Path | None = None
    iou_thresholds: tuple[float, ...] = (0.5, 0.75)
    threshold: float = 0.5
    kind: str = "auto"
    class_name: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "project", Path(self.project))
        object.__setattr__(self, "iou_thresholds", check_thresholds(self.iou_thresholds))
        if self.split is not None and self.split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)} (or none for every box); got {self.split!r}.")
        if self.export is not None and self.split is None:
            raise ValueError("an export folder says which boxes are held out as test; give it with --split test "
                             "(split='test'), or leave it out to evaluate every box.")
        if self.kind not in KINDS:
            raise ValueError(f"the prediction kind must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        if not 0 <= float(self.threshold) <= 1:
            raise ValueError(f"the probability threshold lies in [0, 1]; got {self.threshold}.")


@dataclass(frozen=True, eq=False)
class BoxResult:
    """One box's counts (scores: :meth:`to_dict`)."""

    image: str
    box_id: int
    stratum: str | None
    tally: Tally

    def to_dict(self) -> dict:
        return {"id": self.box_id, "image": self.image, "stratum": self.stratum, **self.tally.scores()}


@dataclass(frozen=True, eq=False)
class EvaluateResult:
    """Scores per box, overall and per stratum (:meth:`to_dict` for JSON)."""

    iou_thresholds: tuple[float, ...]
    rows: tuple[BoxResult, ...]
    overall: Tally
    by_stratum: Mapping[str, Tally]
    predictions: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """``{"iou_thresholds", "boxes", "overall", "by_stratum"}``, JSON-ready (``None`` where undefined)."""
        return {
            "iou_thresholds": list(self.iou_thresholds),
            "boxes": [r.to_dict() for r in self.rows],
            "overall": self.overall.scores(),
            "by_stratum": {k: t.scores() for k, t in self.by_stratum.items()},
        }


def _target(plan, request: EvaluateRequest, kind: str) -> str | None:
    names = [c.name for c in plan.classes]
    if request.class_name is not None:
        if request.class_name not in names:
            raise ValueError(f"the plan has no class {request.class_name!r}; its classes are {', '.join(names)}.")
        return request.class_name
    if kind == "semantic":
        return None
    if len(names) == 1:
        return names[0]
    inst = [c.name for c in plan.classes if c.kind == "instance"]
    if len(inst) == 1:
        return inst[0]
    raise ValueError(f"the prediction holds one class ({kind}) but the plan has {len(names)} classes "
                     f"({', '.join(names)}); say which it is of with --class NAME.")


def _chosen_boxes(plan, name: str, wanted, held_out) -> list:
    by_id = {b.id: b for b in plan.boxes}
    ids = list(by_id) if wanted is None else list(wanted)
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise ValueError(f"image {name} has no box {unknown[0]}; its boxes are "
                         f"{', '.join(map(str, sorted(by_id))) or 'none'}.")
    if held_out is not None:
        ids = [i for i in ids if i in held_out]
    return [by_id[i] for i in ids]


def evaluate(request: EvaluateRequest, progress=None) -> EvaluateResult:
    """Compare the prediction with the annotations inside the chosen boxes.

    Parameters
    ----------
    request : EvaluateRequest
    progress : callable, optional
        Called as ``progress(done, total)`` after each box.

    Raises
    ------
    ValueError
        An image or box the project lacks, a prediction of the wrong shape or
        values, no export for ``split='test'``, or nothing to evaluate (the
        message says what to change).
    FileNotFoundError
        No prediction (or export) at the path given.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plan, _ = Plan(ImageRef((2, 4, 4))).add_box((0, 0, 0), (2, 4, 4))
    ...     folder = create_project(f"{tmp}/p", plan)
    ...     group = open_annotations(folder)
    ...     group["nuclei"][:, :2, :2] = 1; group["background"][:, 2:, :] = 1
    ...     pred = np.zeros((2, 4, 4), "uint16"); pred[:, :2, :] = 5
    ...     np.save(f"{tmp}/pred.npy", pred)
    ...     result = evaluate(EvaluateRequest(folder, f"{tmp}/pred.npy"))
    ...     row = result.to_dict()["boxes"][0]
    ...     print(row["id"], row["voxels"], row["dice"], row["precision"], row["recall"])
    1 24 1.0 1.0 1.0
    """
    folder = request.project
    collection = load_collection(folder)
    names = list(collection.names)
    chosen = names if request.images is None else [n for n in names if n in set(request.images)]
    unknown = [n for n in (request.images or []) if n not in names]
    if unknown:
        raise ValueError(f"the project has no image named {unknown[0]!r}; its images are {', '.join(names)}.")
    if request.boxes is not None:
        chosen = [n for n in chosen if n in request.boxes]
    held = held_out_boxes(folder, names, request.export) if request.split == "test" else None
    if held is not None:
        chosen = [n for n in chosen if n in held]
        if not chosen:
            raise ValueError("the last export held out no box of the images chosen; choose other images "
                             "(--images) or export with test boxes of these.")
    files = prediction_files(request.prediction, chosen)
    work = []
    kinds = {}
    for name in chosen:
        plan = collection.plan(name)
        wanted = None if request.boxes is None else request.boxes.get(name)
        boxes = _chosen_boxes(plan, name, wanted, None if held is None else set(held[name]))
        pred = open_prediction(files[name], plan, request.kind, request.threshold)
        kinds[name] = pred.kind
        work.append((name, plan, boxes, pred, _target(plan, request, pred.kind)))
    total = sum(len(w[2]) for w in work)
    if not total and held is not None:
        listed = "; ".join(f"{n}: {', '.join(map(str, ids))}" for n, ids in held.items())
        raise ValueError(f"none of the boxes chosen is in the last export's test split ({listed}); choose "
                         "among those, or leave out --boxes.")
    if not total:
        raise ValueError(f"no box to evaluate in {folder}: propose or draw boxes, and annotate them, first.")
    rows = []
    for name, plan, boxes, pred, target in work:
        layers = annotation_layers(open_annotations(folder, plan, mode="r", image=name), plan)
        classes = [(c.name, c.kind) for c in plan.classes]
        for box in boxes:
            region = box.slices(plan.magnification)
            comp = compose_box(plan, layers, box, region)
            tally = evaluate_region(comp, pred.read(clip_region(region, plan.annotation_shape)), pred.kind, classes, target,
                                    request.iou_thresholds, name)
            rows.append(BoxResult(name, box.id, box.stratum, tally))
            if progress is not None:
                progress(len(rows), total)
    strata: dict[str, list[Tally]] = {}
    for r in rows:
        strata.setdefault(r.stratum or NO_STRATUM, []).append(r.tally)
    return EvaluateResult(
        request.iou_thresholds, tuple(rows), pooled([r.tally for r in rows], request.iou_thresholds),
        {k: pooled(v, request.iou_thresholds) for k, v in sorted(strata.items())}, files, kinds)

