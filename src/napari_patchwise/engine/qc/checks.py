"""Annotation checks per box and across the plan, as findings.

These rules look at what was painted (the box rules of :mod:`.validation`
look at where boxes are). Counts are at the plan's magnification.

=========================  ========  ==============================================
code                       severity  when
=========================  ========  ==============================================
``touching``               error     instances of one class touch (no background
                                     voxel between them); Separate fixes it
``not-annotated``          warning   a box holds no class or background voxel
                                     (:func:`has_annotation`): export skips it
``class-overlap``          error     a voxel is painted in two classes
``unannotated``            warning   a box marked dense still has unannotated
                                     voxels (an error once it is marked done)
``split-instance``         warning   an instance is in several disconnected parts
                                     inside the box
``tiny-fragment``          warning   a connected piece of an instance is smaller
                                     than ``min_fragment`` voxels (pieces cut by
                                     the box's faces are not counted)
``no-background``          warning   a box has class labels but no background
``only-background``        warning   a box is painted but holds no class voxel
``background-over-object`` warning   background covers weak-label foreground
                                     that no class claims
``few-class-voxels``       warning   a class has fewer than 5,000 annotated
                                     voxels in the plan's boxes
``few-objects``            warning   an instance class has fewer than 50 objects
                                     in the plan's boxes
=========================  ========  ==============================================

Box status follows the annotation: ``todo`` (nothing painted), ``seeded``
(weak labels only), ``in_progress`` (a person edited it); ``done`` is set by
the person and kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import label as label_components

from ..plan.annotation import EDITS, WEAK
from ..plan.box_arrays import box_region, compose_box
from ..geometry.box import Box
from ..plan.plan import Plan
from .touching import find_contacts
from ..findings import Finding

#: Before a first training every class needs this many annotated voxels.
MIN_CLASS_VOXELS = 5_000
#: ... and every instance class this many objects.
MIN_CLASS_OBJECTS = 50
#: Connected pieces of an instance smaller than this (voxels) are fragments.
MIN_FRAGMENT = 8


@dataclass
class BoxQC:
    """What one box holds.

    Attributes
    ----------
    box_id : int
    status : str
        Derived status (see module docs).
    counts : dict of str to int
        Voxels per meaning (``unannotated``, ``background``, classes, ``ignore``).
    objects : dict of str to set of int
        Instance ids per instance class.
    touching : dict of str to ndarray
        Per instance class, the touching id pairs ``(M, 2)`` inside the box.
    findings : list of Finding
    """

    box_id: int
    status: str
    counts: dict[str, int]
    objects: dict[str, set] = field(default_factory=dict)
    touching: dict[str, np.ndarray] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class QCReport:
    """Findings for every checked box and for the plan."""

    boxes: dict[int, BoxQC]
    findings: list[Finding]

    def statuses(self) -> dict[int, str]:
        return {i: q.status for i, q in self.boxes.items()}

    def apply_statuses(self, plan: Plan) -> Plan:
        """The plan with each checked box's status set to the derived one."""
        for box_id, status in self.statuses().items():
            if plan.box(box_id).status != status:
                plan = plan.update_box(box_id, status=status)
        return plan


def _pairs_text(pairs: np.ndarray, limit: int = 4) -> str:
    shown = ", ".join(f"{a}–{b}" for a, b in pairs[:limit].tolist())
    return shown + (f" and {len(pairs) - limit} more" if len(pairs) > limit else "")


def has_annotation(counts: Mapping[str, int]) -> bool:
    """Whether a box holds some annotation: a class or a background voxel.

    Ignore alone is no annotation. The one rule behind the ``not-annotated``
    finding and the export, which skips such boxes.

    Examples
    --------
    >>> has_annotation({"unannotated": 10, "background": 0, "nuclei": 0, "ignore": 3})
    False
    >>> has_annotation({"unannotated": 10, "background": 2, "nuclei": 0, "ignore": 0})
    True
    """
    return any(v > 0 for k, v in counts.items() if k not in ("unannotated", "ignore"))


def derive_status(current: str, labelled: bool, edited: bool) -> str:
    """Box status from what it holds (``done`` is kept).

    Examples
    --------
    >>> derive_status("todo", True, False), derive_status("seeded", True, True)
    ('seeded', 'in_progress')
    >>> derive_status("done", False, False)
    'done'
    """
    if current == "done":
        return "done"
    if edited:
        return "in_progress"
    return "seeded" if labelled else "todo"


def _instance_checks(name, ids, box_id, min_fragment, connectivity):
    findings = []
    comps = label_components(ids, background=0, connectivity=connectivity)
    if comps.max() == 0:
        return findings
    flat_c, flat_i = comps.ravel(), ids.ravel()
    sel = flat_c > 0
    sizes = np.bincount(flat_c[sel])
    first = np.zeros(sizes.size, np.int64)
    first[flat_c[sel]] = flat_i[sel]  # the id of each component
    comp_ids = first[1:]
    per_id = np.unique(comp_ids, return_counts=True)
    split = per_id[0][per_id[1] > 1]
    if split.size:
        shown = ", ".join(map(str, split[:6].tolist())) + (" …" if split.size > 6 else "")
        findings.append(Finding(
            "warning", "split-instance", box_id,
            f"{split.size} {name} instances are in disconnected parts inside the box (ids {shown}); "
            "join the parts or give each its own id.",
        ))
    # pieces cut by the box's faces are parts of objects outside it, not fragments
    on_face = np.zeros(sizes.size, bool)
    for axis in range(3):
        for end in (0, -1):
            on_face[np.take(comps, end, axis=axis).ravel()] = True
    tiny = int(np.count_nonzero((sizes[1:] < min_fragment) & ~on_face[1:]))
    if tiny:
        findings.append(Finding(
            "warning", "tiny-fragment", box_id,
            f"{tiny} {name} pieces are smaller than {min_fragment} voxels; erase them or join "
            "them to their object.",
        ))
    return findings


def check_box(
    plan: Plan, layers: dict, box: Box, *, hidden: dict | None = None,
    connectivity: int = 1, min_fragment: int = MIN_FRAGMENT,
) -> BoxQC:
    """Check what is painted in one box.

    Parameters
    ----------
    plan : Plan
    layers : dict of str to array
        Class layers, ``background`` and ``ignore`` at the annotation shape.
    box : Box
    hidden : dict, optional
        The ``edits`` and ``weak`` arrays when the project has them.
    connectivity : int
        Neighbourhood for touching and split checks (1 = faces).
    min_fragment : int
        Smallest connected piece of an instance that is not a fragment.
    """
    hidden = hidden or {}
    names = [c.name for c in plan.classes]
    region = box_region(plan, box)
    comp = compose_box(plan, layers, box, region)  # the preset's ignore border is ignore, not unannotated
    counts = comp.counts()
    q = BoxQC(box.id, box.status, counts)
    f = q.findings
    labelled = sum(counts[n] for n in names) > 0
    if np.any(comp.overlap):
        n = int(np.count_nonzero(comp.overlap))
        f.append(Finding(
            "error", "class-overlap", box.id,
            f"{n} voxels are painted in two classes; erase one of them (the first class wins meanwhile).",
        ))
    for c in plan.classes:
        if c.kind != "instance":
            continue
        ids = comp.corrected[c.name] if c.name in comp.corrected else np.asarray(layers[c.name][region])
        q.objects[c.name] = set(np.unique(ids[ids > 0]).tolist())
        pairs = find_contacts(ids, connectivity=connectivity).pairs()
        q.touching[c.name] = pairs
        if len(pairs):
            f.append(Finding(
                "error", "touching", box.id,
                f"{len(pairs)} pairs of {c.name} instances touch ({_pairs_text(pairs)}); instances "
                "need one voxel of background between them — use Separate in the QC dock.",
            ))
        f.extend(_instance_checks(c.name, ids, box.id, min_fragment, connectivity))
    if box.dense and counts["unannotated"]:
        sev = "error" if box.status == "done" else "warning"
        f.append(Finding(
            sev, "unannotated", box.id,
            f"{counts['unannotated']} voxels of this dense box are unannotated; paint them as a "
            "class, background or ignore.",
        ))
    if not has_annotation(counts):
        f.append(Finding(
            "warning", "not-annotated", box.id,
            "nothing is annotated in this box (no class or background voxel), so export skips it; "
            "seed or paint it, or delete the box.",
        ))
    if labelled and counts["background"] == 0:
        f.append(Finding(
            "warning", "no-background", box.id,
            "the box has labels but no background; paint background explicitly (unannotated "
            "voxels are ignored by training).",
        ))
    if not labelled and counts["background"]:
        f.append(Finding(
            "warning", "only-background", box.id,
            "the box holds background but no object; check that it really has none (a dim "
            "object painted as background teaches the model to miss it).",
        ))
    weak = hidden.get(WEAK)
    if weak is not None:
        w = np.asarray(weak[region]) > 0
        # one-voxel gaps carved between objects (Separate) lie next to an object: not a cover
        near_object = ndi.binary_dilation(comp.classmap > 0)
        covered = int(np.count_nonzero(w & (comp.classmap == 0) & ~near_object))
        if covered:
            f.append(Finding(
                "warning", "background-over-object", box.id,
                f"background may cover an unannotated object: {covered} voxels the weak labels "
                "saw as foreground are painted background; check them, or paint the object.",
            ))
    edits = hidden.get(EDITS)
    edited = edits is not None and bool(np.asarray(edits[region]).any())
    q.status = derive_status(box.status, labelled or counts["background"] > 0, edited)
    return q


def check_plan_annotations(
    plan: Plan, layers: dict, *, hidden: dict | None = None, box_ids: Sequence[int] | None = None,
    connectivity: int = 1, min_fragment: int = MIN_FRAGMENT,
    progress: Callable[[int, int], None] | None = None,
) -> QCReport:
    """Check every box (or ``box_ids``) and the class totals across the plan."""
    boxes = [b for b in plan.boxes if box_ids is None or b.id in set(box_ids)]
    out: dict[int, BoxQC] = {}
    for i, b in enumerate(boxes):
        out[b.id] = check_box(plan, layers, b, hidden=hidden, connectivity=connectivity,
                              min_fragment=min_fragment)
        if progress:
            progress(i + 1, len(boxes))
    findings = [f for q in out.values() for f in q.findings]
    if box_ids is None and plan.boxes:
        for c in plan.classes:
            voxels = sum(q.counts.get(c.name, 0) for q in out.values())
            if voxels < MIN_CLASS_VOXELS:
                findings.append(Finding(
                    "warning", "few-class-voxels", None,
                    f"class {c.name!r} has {voxels} annotated voxels in the boxes; annotate at "
                    f"least {MIN_CLASS_VOXELS:,} before a first training.",
                ))
            if c.kind == "instance":
                objs = set().union(*(q.objects.get(c.name, set()) for q in out.values()))
                if len(objs) < MIN_CLASS_OBJECTS:
                    findings.append(Finding(
                        "warning", "few-objects", None,
                        f"class {c.name!r} has {len(objs)} objects in the boxes; annotate at "
                        f"least {MIN_CLASS_OBJECTS} before a first training.",
                    ))
    return QCReport(out, findings)


def hidden_arrays(group) -> dict:
    """The ``edits`` and ``weak`` arrays a project has (none are created)."""
    return {n: group[n] for n in (EDITS, WEAK) if n in group}


def check_project(folder, *, connectivity: int = 1, min_fragment: int = MIN_FRAGMENT,
                  progress: Callable[[int, int], None] | None = None,
                  image: str | None = None, plan: Plan | None = None) -> tuple[Plan, list[Finding], QCReport]:
    """Every finding of a project's image: box rules, then annotation checks.

    Returns the plan with derived box statuses, all findings, and the report.
    Nothing is written. ``image`` names the image (``None``: the project's only image);
    ``plan`` is that image's plan when the caller has read it already (``plan.json`` is then
    not read again, so a check of several images sees one save of it).
    """
    from ..plan.plan_file import load_plan
    from ..plan.annotation_store import open_annotations
    from ..plan.annotation_store import annotation_layers

    if plan is None:
        plan = load_plan(folder, image)
    group = open_annotations(folder, plan, mode="r", image=image)
    report = check_plan_annotations(
        plan, annotation_layers(group, plan), hidden=hidden_arrays(group),
        connectivity=connectivity, min_fragment=min_fragment, progress=progress,
    )
    plan = report.apply_statuses(plan)
    return plan, plan.validate() + report.findings, report
