"""The propose job: new boxes from image content, from points, or by uncertainty.

``patchwise propose`` and the Propose form both build a :class:`ProposeRequest`
and call :func:`run_propose`. The request is checked when made; the job
measures the candidate blocks (unless the request brings them, as the dock
does from its cache), applies the "replace unlocked proposals" rule of
:mod:`~napari_patchwise.engine.propose.unlocked` for every kind of proposal, and returns the new
plan with what it added. Nothing is saved: the caller owns the project.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..propose.candidates import Candidates, box_size_for, measure_candidates
from ..plan.plan import Plan
from ..plan.rounds import box_round
from ..propose.points import boxes_from_points
from ..propose.run import ProposalReport, propose, propose_by_uncertainty
from ..propose.unlocked import PROPOSED_SOURCES, drop_unlocked_proposals

#: How boxes are chosen.
PROPOSE_BY = ("content", "uncertainty", "points")
#: What a point too close to the border does.
BORDER_CHOICES = ("shift", "reject")


@dataclass(frozen=True)
class ProposeRequest:
    """A proposal: the plan, the inputs and how many boxes; checked when made.

    Attributes
    ----------
    plan : Plan
        The plan the boxes are added to.
    by : {'content', 'uncertainty', 'points'}
        Stratified by image content, where a model is least sure, or one box per point.
    image : array, optional
        The plan's image (needed to measure; not for points or given ``candidates``).
    labels, probability : array, optional
        Weak instance labels; a probability map (``z, y, x`` or ``C, z, y, x``).
    points : array, optional
        ``(N, 3)`` voxel coordinates (``by='points'``).
    n, budget : int, optional
        Boxes to add, or voxels (at the magnification) the new boxes should hold
        (checked by :func:`.propose.propose`; neither: the preset's default).
    seed : int
        Same seed, same boxes.
    include_empty : bool
        Also propose empty or uninformative regions (content).
    replace : bool
        First drop earlier proposals of this kind that are neither locked nor started.
    size : tuple of int, optional
        Box size at the magnification (default: the plan's, see :func:`.candidates.box_size_for`).
    border : {'shift', 'reject'}
        Points too close to the border: move the box inside or drop it.
    exclude : tuple of extents
        ``((lo), (hi))`` regions never proposed (e.g. boxes rejected before).
    candidates : Candidates, optional
        Candidate blocks measured before (then ``image`` is not read).
    scheduler : str, optional
        Dask scheduler of the measurement.
    round : int, optional
        The round number the new boxes get (a command passes the project's
        :func:`..plan.rounds.next_round`, over every image and record);
        default: one past the highest round of the plan's boxes.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> ProposeRequest(Plan(ImageRef((8, 8, 8))), by="points")
    Traceback (most recent call last):
    ...
    ValueError: proposing on points needs the points: (N, 3) voxel coordinates z, y, x.
    """

    plan: Plan = field(repr=False, compare=False)
    by: str = "content"
    image: Any = field(default=None, repr=False, compare=False)
    labels: Any = field(default=None, repr=False, compare=False)
    probability: Any = field(default=None, repr=False, compare=False)
    points: Any = field(default=None, repr=False, compare=False)
    n: int | None = None
    budget: int | None = None
    seed: int = 0
    include_empty: bool = False
    replace: bool = False
    size: tuple[int, int, int] | None = None
    border: str = "shift"
    exclude: tuple = ()
    candidates: Candidates | None = field(default=None, repr=False, compare=False)
    scheduler: str | None = None
    round: int | None = None

    def __post_init__(self):
        if self.round is not None and (isinstance(self.round, bool) or not isinstance(self.round, int)
                                       or self.round < 1):
            raise ValueError(f"the round number is a whole number >= 1; got {self.round!r}.")
        if self.by not in PROPOSE_BY:
            raise ValueError(f"propose by {self.by!r} is unknown; choose one of {', '.join(PROPOSE_BY)}.")
        if self.border not in BORDER_CHOICES:
            raise ValueError(f"border takes {' or '.join(BORDER_CHOICES)}; got {self.border!r}.")
        if self.size is not None and (len(self.size) != 3 or min(self.size) < 1):
            raise ValueError(f"the box size is three whole numbers Z,Y,X >= 1; got {self.size}.")
        if self.by == "points":
            if self.points is None:
                raise ValueError("proposing on points needs the points: (N, 3) voxel coordinates z, y, x.")
        elif self.candidates is None and self.image is None:
            raise ValueError("proposing needs the image (or candidate blocks measured before).")
        if self.by == "uncertainty" and self.probability is None and self.candidates is None:
            raise ValueError("--by uncertainty needs a probability map: --uncertainty PROB.")


@dataclass(frozen=True)
class ProposeResult:
    """What a proposal did.

    Attributes
    ----------
    plan : Plan
        The plan with the new boxes (not saved).
    added : tuple of int
        Ids of the new boxes.
    messages : tuple of str
        Notes for the user (points off the image, strata not covered, ...).
    report : ProposalReport, optional
        The content / uncertainty proposal's report (None for points).
    n_points : int
        Points given (``by='points'``).
    """

    plan: Plan = field(repr=False)
    added: tuple[int, ...]
    messages: tuple[str, ...] = ()
    report: ProposalReport | None = None
    n_points: int = 0

    def summary(self) -> str:
        """One line: what was added."""
        if self.report is not None:
            return self.report.summary()
        return f"{len(self.added)} of {self.n_points} points gave a box"


def run_propose(request: ProposeRequest, progress=None, *, on_start=None) -> ProposeResult:
    """Add the boxes the request asks for to its plan.

    Parameters
    ----------
    request : ProposeRequest
        The plan, inputs and limits.
    progress : callable, optional
        ``progress(done, total)`` while the image is measured.
    on_start : callable, optional
        Called with the measurement's workload before it starts.

    Returns
    -------
    ProposeResult

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> plan = Plan(ImageRef((64, 128, 128)), box_size=(32, 32, 32))
    >>> result = run_propose(ProposeRequest(plan, by="points", points=[(32, 64, 64), (4, 4, 4)]))
    >>> result.added, result.summary()
    ((1, 2), '2 of 2 points gave a box')
    >>> again = ProposeRequest(result.plan, by="points", points=[(32, 64, 64)], replace=True)
    >>> [(b.id, b.round) for b in run_propose(again).plan.boxes]
    [(3, 2)]
    """
    number = request.round or plan_next_round(request.plan)
    result = _run(request, progress, on_start)
    if not result.added:
        return result
    plan = result.plan.update_boxes({i: {"round": number} for i in result.added})
    return dataclasses.replace(result, plan=plan)


def plan_next_round(plan: Plan) -> int:
    """One past the highest round of ``plan``'s boxes (1 for a plan without proposals).

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> plan_next_round(Plan(ImageRef((8, 8, 8))).add_boxes([((0, 0, 0), (4, 4, 4))], source="proposal"))
    2
    """
    return max((r for b in plan.boxes if (r := box_round(b)) is not None), default=0) + 1


def _run(r: ProposeRequest, progress, on_start) -> ProposeResult:
    plan = r.plan
    if r.replace:
        plan = drop_unlocked_proposals(plan, PROPOSED_SOURCES[r.by])
    if r.by == "points":
        return _from_points(r, plan)
    cands = r.candidates
    if cands is None:
        cands = measure_candidates(r.image, plan, size=r.size, labels=r.labels, probability=r.probability,
                                   scheduler=r.scheduler, progress=progress, on_start=on_start)
    if r.by == "uncertainty":
        new, report = propose_by_uncertainty(plan, cands, n=r.n, budget=r.budget, seed=r.seed, exclude=r.exclude)
    else:
        new, report = propose(plan, cands, n=r.n, budget=r.budget, seed=r.seed,
                              include_empty=r.include_empty, exclude=r.exclude)
    return ProposeResult(new, tuple(report.added), tuple(report.messages), report)


def _from_points(r: ProposeRequest, plan: Plan) -> ProposeResult:
    points = np.asarray(r.points, dtype=float).reshape(-1, 3)
    found = boxes_from_points(points, box_size_for(plan, r.size), plan.image.shape, plan.magnification,
                              border=r.border)
    excluded = {(tuple(lo), tuple(hi)) for lo, hi in r.exclude}
    messages, extents = list(found.messages), []
    for (lo, hi), i in zip(found.extents, found.points):
        if (tuple(lo), tuple(hi)) in excluded:
            messages.append(f"point {i}: its box was rejected before; not added again.")
        else:
            extents.append((lo, hi))
    before = {b.id for b in plan.boxes}
    plan = plan.add_boxes(extents, source="points")
    added = tuple(b.id for b in plan.boxes if b.id not in before)
    return ProposeResult(plan, added, tuple(messages), None, len(points))
