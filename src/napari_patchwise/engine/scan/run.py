"""The Scan job: every chosen image of a project searched for regions where a prediction is likely wrong.

``patchwise scan`` builds a :class:`.request.ScanRequest` and calls
:func:`scan_failures`. Per image: the prediction is opened on the annotation
grid (:mod:`..evaluate.prediction`), the annotated boxes give the range of
plausible objects and what the prediction gets wrong in them, the signals
count flagged voxels per cell, and :mod:`.pick` keeps the best windows. The
regions of every image are ranked together, worst first. Nothing is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import ndimage

from ..evaluate.prediction import Prediction, open_prediction, prediction_files
from ..io.workload import check_region_memory
from ..plan.box_arrays import compose_box
from ..plan.annotation_store import annotation_layers, open_annotations
from ..plan.plan_file import load_collection
from .cells import CellGrid
from .disagreement import box_failure, continuation_signal, nearby_signal
from .implausible import implausible_signals, judge, reference, touches
from .objects import ObjectTable, measure_objects, measure_slabs
from .pick import explain, pick_windows
from .reading import labels_of, probability_of
from .request import FailureRegion, ScanRequest, ScanResult
from .uncertainty import disagreement_between, probability_uncertainty

__all__ = ["scan_failures"]


def _files(prediction, names) -> dict[str, str]:
    if isinstance(prediction, Mapping):
        missing = [n for n in names if n not in prediction]
        if missing:
            raise ValueError(f"no prediction given for image {missing[0]!r}; give one per image scanned.")
        return {n: str(prediction[n]) for n in names}
    return prediction_files(prediction, names)


def _target(plan, request: ScanRequest, kind: str):
    """``(class name or None, its value 1..K or None, whether it is an instance class)``."""
    names = [c.name for c in plan.classes]
    if request.class_name is not None:
        if request.class_name not in names:
            raise ValueError(f"the plan has no class {request.class_name!r}; its classes are {', '.join(names)}.")
        name = request.class_name
    elif kind == "semantic" and len(names) > 1:
        return None, None, False
    elif len(names) == 1:
        name = names[0]
    else:
        inst = [c.name for c in plan.classes if c.kind == "instance"]
        if len(inst) != 1:
            raise ValueError(f"the prediction holds one class ({kind}) but the plan has {len(names)} classes "
                             f"({', '.join(names)}); say which it is of with --class NAME.")
        name = inst[0]
    spec = plan.classes[names.index(name)]
    return name, names.index(name) + 1, spec.kind == "instance"


def _foreground_labels(pred: Prediction, region, value) -> np.ndarray:
    lab = labels_of(pred, region)
    if pred.kind == "semantic" and value is not None:
        return (lab == value).astype(np.int64)
    return lab  # object ids, 0/1 of a probability map, or every class value


def _components(pred: Prediction, grid: CellGrid, value) -> np.ndarray:
    """Connected components of a probability map's or semantic prediction's foreground."""
    check_region_memory(grid.shape, 5, f"the prediction's foreground ({pred.path})")
    fg = np.zeros(grid.shape, bool)
    for region in grid.slabs():
        fg[region] = _foreground_labels(pred, region, value) > 0
    labels, _ = ndimage.label(fg)
    return labels


def _uncut(ids: np.ndarray) -> np.ndarray:
    """Ids of objects that do not reach a face of the box."""
    faces = np.concatenate([np.take(ids, [0, -1], axis=a).ravel() for a in range(3)])
    return np.setdiff1d(np.unique(ids[ids > 0]), faces)


def _annotations(folder, name, plan, target, value, is_instance, pred, spacing):
    """Per annotated box: its failure; the annotated objects; whether any two touch; notes."""
    layers = annotation_layers(open_annotations(folder, plan, mode="r", image=name), plan)
    failures, tables, cut, touch = [], [], [], False
    for box in plan.boxes:
        region = box.slices(plan.magnification)
        comp = compose_box(plan, layers, box, region)
        annotated = (comp.classmap >= 0) & (comp.classmap != comp.ignore_value)
        if not annotated.any():
            continue
        if target is None:
            truth = np.where((comp.classmap > 0) & annotated, comp.classmap, 0).astype(np.int64)
        elif is_instance:
            truth = comp.instances[target].astype(np.int64)
        else:
            truth = ndimage.label(comp.classmap == value)[0].astype(np.int64)
        predicted = _foreground_labels(pred, region, value)
        instances = is_instance and pred.kind == "instances"
        if instances or target is None:  # object ids, or every class value
            failures.append(box_failure(box.id, region, annotated, truth, predicted, instances))
        else:  # one class: its foreground
            failures.append(box_failure(box.id, region, annotated, (truth > 0).astype(np.int64),
                                        (predicted > 0).astype(np.int64), False))
        if target is not None:
            offset = [r.start for r in region]
            whole = measure_objects(truth, spacing, offset)
            keep = np.isin(whole.ids, _uncut(truth))
            tables.append(whole)
            cut.append(keep)
            touch = touch or touches(truth)
    return failures, tables, cut, touch


def _select(tables, keep) -> tuple[ObjectTable, bool]:
    """The annotated objects, uncut ones only when there are at least 3 of them."""
    if not tables:
        return ObjectTable.concat([]), False
    uncut = [ObjectTable(t.ids[k], t.voxels[k], t.centroid[k], t.elongation[k], t.voxel_volume)
             for t, k in zip(tables, keep)]
    whole = ObjectTable.concat(uncut)
    if len(whole) >= 3:
        return whole, False
    return ObjectTable.concat(tables), True


def _scan_image(request: ScanRequest, folder, name, plan, path, second_path, notes):
    pred = open_prediction(path, plan, request.kind, request.threshold)
    m = plan.magnification
    shape = tuple(plan.annotation_shape)
    full = request.box_size if request.box_size is not None else plan.default_box_size
    box = tuple(min(s, max(1, math.ceil(b / f))) for b, f, s in zip(full, m, shape))
    grid = CellGrid.for_box(shape, box)
    spacing = tuple(v * f for v, f in zip(plan.image.voxel_size, m))
    target, value, is_instance = _target(plan, request, pred.kind)
    signals = []
    if pred.kind == "probability":
        signals.append(probability_uncertainty(lambda r: probability_of(pred, r), grid, request.threshold))
    if second_path is not None:
        other = open_prediction(second_path, plan, request.kind, request.threshold)
        signals.append(disagreement_between(lambda r: _foreground_labels(pred, r, value),
                                            lambda r: _foreground_labels(other, r, value), grid))
    failures, tables, keep, annotated_touch = _annotations(folder, name, plan, target, value, is_instance, pred,
                                                            spacing)
    if target is not None:
        if pred.kind == "instances":
            read = lambda r: labels_of(pred, r)  # noqa: E731
        else:
            comps = _components(pred, grid, value)
            read = lambda r: comps[r]  # noqa: E731
        table = measure_slabs(read, grid.slabs(), spacing)
        annotated, were_cut = _select(tables, keep)
        ref = reference(annotated, "annotated")
        if ref is None:
            ref = reference(table, "predicted")
            notes.append(f"{name}: fewer than 3 annotated objects; sizes and shapes are judged against the "
                         "prediction's own objects")
        elif were_cut:
            notes.append(f"{name}: the annotated objects reach the faces of their boxes; sizes are judged "
                         "against their parts inside the boxes")
        labelled_all = int(table.voxels.sum()) >= math.prod(shape)
        touching = bool(ref is not None and ref.source == "annotated" and not annotated_touch and not labelled_all)
        if ref is not None and ref.source == "annotated" and not annotated_touch and labelled_all:
            notes.append(f"{name}: the prediction labels every voxel (no background), so touching objects "
                         "are not judged")
        if ref is not None:
            signals += implausible_signals(read, grid, table, judge(table, ref), touching=touching,
                                           source=ref.source)
    if any(f.wrong for f in failures):
        signals.append(nearby_signal(grid, failures, box))
    follow = continuation_signal(lambda r: labels_of(pred, r), grid, failures)
    if follow is not None:
        signals.append(follow)
    boxes = [b.slices(m) for b in plan.boxes]
    picked = []
    voxels = grid.voxels()
    for w in pick_windows(grid, box, signals, boxes, request.n):
        kind, reason = explain(w, signals, int(voxels[w.cells].sum()))
        lo = tuple(r.start * f for r, f in zip(w.region, m))
        hi = tuple(min(r.stop * f, s) for r, f, s in zip(w.region, m, plan.image.shape))
        lo, hi = plan.fit(lo, hi, keep_size=True)
        picked.append(FailureRegion(name, lo, hi, kind, reason, w.score))
    return picked, str(path)


def scan_failures(request: ScanRequest, progress=None) -> ScanResult:
    """Regions of the chosen images where the prediction is likely wrong, worst first.

    Parameters
    ----------
    request : ScanRequest
    progress : callable, optional
        Called as ``progress(done, total)`` after each image.

    Raises
    ------
    ValueError
        An image the project lacks, a prediction of the wrong shape or
        values, a class the plan lacks (the message says what to change).
    FileNotFoundError
        No prediction at the path given.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = create_project(f"{tmp}/p", Plan(ImageRef((8, 64, 64)), box_size=(8, 16, 16)))
    ...     p = np.zeros((8, 64, 64), "float32"); p[:, 40:56, 8:24] = 0.5
    ...     np.save(f"{tmp}/p.npy", p)
    ...     result = scan_failures(ScanRequest(folder, f"{tmp}/p.npy", n=1))
    >>> r = result.regions[0]
    >>> r.lo, r.hi, r.kind, r.reason
    ((0, 40, 8), (8, 56, 24), 'uncertainty', '100 % of voxels uncertain (p in 0.3-0.7)')
    """
    folder = request.project
    collection = load_collection(folder)
    names = list(collection.names)
    unknown = [n for n in (request.images or []) if n not in names]
    if unknown:
        raise ValueError(f"the project has no image named {unknown[0]!r}; its images are {', '.join(names)}.")
    chosen = names if request.images is None else [n for n in names if n in set(request.images)]
    files = _files(request.prediction, chosen)
    seconds = None if request.second_prediction is None else _files(request.second_prediction, chosen)
    regions, notes, used = [], [], {}
    for i, name in enumerate(chosen):
        found, used[name] = _scan_image(request, folder, name, collection.plan(name), files[name],
                                        None if seconds is None else seconds[name], notes)
        regions += found
        if progress is not None:
            progress(i + 1, len(chosen))
    order = {n: i for i, n in enumerate(chosen)}
    regions.sort(key=lambda r: (-r.score, order[r.image], r.lo))
    return ScanResult(tuple(regions[:request.n]), tuple(notes), used)
