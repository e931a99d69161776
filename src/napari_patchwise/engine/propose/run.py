"""Propose annotation boxes: stratified from image content, from points, or by uncertainty.

The steps are separate so a viewer can measure once and propose many times:

1. :func:`.candidates.measure_candidates` (re-exported here) lays a grid
   of box-sized candidate blocks over the image at the plan's
   magnification, measures them
   (:func:`.blockstats.block_statistics`, out of core) and assigns strata
   (:func:`.strata.assign_strata`).
2. :func:`propose` picks candidates that cover every stratum, spread over
   the volume, never overlap boxes already in the plan, and adds them.
   :func:`propose_by_uncertainty` ranks by a model's uncertainty instead;
   :func:`repropose_box` swaps one box for another of its stratum.
3. :func:`.points.boxes_from_points` centres boxes on points (re-exported
   here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .candidates import Candidates, _overlaps, box_size_for, measure_candidates
from ..plan.plan import Plan
from .points import PointBoxes, boxes_from_points
from .selection import (
    _FEW_MEMBERS,
    STRONG,
    W_ALSO,
    W_BLOCK,
    W_SPREAD_COVER,
    Picker,
    blockers,
    cover_order,
)
from .strata import STRATA
from .targets import _limits, _stop, _voxels
from .unlocked import PROPOSED_SOURCES, drop_unlocked_proposals

__all__ = [
    "Candidates",
    "PointBoxes",
    "ProposalReport",
    "box_size_for",
    "boxes_from_points",
    "measure_candidates",
    "propose",
    "propose_by_uncertainty",
    "repropose_box",
]

@dataclass(frozen=True)
class ProposalReport:
    """What a proposal did, for the user.

    Attributes
    ----------
    added : tuple of int
        Ids of the new boxes.
    strata_available : dict of str to int
        Informative candidates per stratum (0: the stratum is absent).
    strata_covered : tuple of str
        Strata with at least one box after the proposal.
    messages : tuple of str
        Notes: strata that could not be covered, budget not reached, ...
    per_stratum : dict of str to int
        New boxes per stratum they were picked for.
    by : {'content', 'uncertainty'}
        How the boxes were chosen.
    """

    added: tuple[int, ...]
    strata_available: dict = field(default_factory=dict)
    strata_covered: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    per_stratum: dict = field(default_factory=dict)
    by: str = "content"

    def summary(self) -> str:
        """One line: boxes added, and every content stratum present with its new boxes.

        The count of covered strata is over exactly the strata listed; typical
        boxes are listed apart and not counted.

        Examples
        --------
        >>> r = ProposalReport((1, 2, 3), {"dense": 4, "sparse": 2, "edge": 1, "typical": 9},
        ...                    ("dense", "sparse"), per_stratum={"dense": 2, "typical": 1})
        >>> r.summary()
        'proposed 3 boxes; content strata covered 2/3: dense 2, sparse (in a box of another stratum), edge missing; typical 1'
        """
        n = len(self.added)
        text = f"proposed {n} box{'es' if n != 1 else ''}"
        if self.by == "uncertainty":
            return text + " where the model is least sure"
        present = [s for s in STRATA if self.strata_available.get(s) and s != "typical"]
        parts = []
        for s in present:
            if self.per_stratum.get(s):
                parts.append(f"{s} {self.per_stratum[s]}")
            elif s in self.strata_covered:
                parts.append(f"{s} (in a box of another stratum)")
            else:
                parts.append(f"{s} missing")
        covered = sum(s in self.strata_covered for s in present)
        text += f"; content strata covered {covered}/{len(present)}"
        text += (": " + ", ".join(parts)) if parts else ""
        typical = self.per_stratum.get("typical", 0)
        return text + (f"; typical {typical}" if typical else "")


def _check_candidates(plan: Plan, cands: Candidates) -> None:
    if not isinstance(cands, Candidates):
        raise TypeError("cands must come from measure_candidates(image, plan).")
    if tuple(cands.grid.image_shape) != tuple(plan.image.shape) or \
            tuple(cands.grid.magnification) != tuple(plan.magnification):
        raise ValueError(
            "the candidates were measured for another image shape or magnification; "
            "measure again with measure_candidates(image, plan)."
        )


def propose(plan: Plan, cands: Candidates, *, n=None, budget=None, seed=0,
            include_empty: bool = False, replace: bool = False,
            exclude: Iterable = ()) -> tuple[Plan, ProposalReport]:
    """Add stratified, spread, non-overlapping boxes to ``plan``.

    Parameters
    ----------
    plan : Plan
    cands : Candidates
        From :func:`measure_candidates` on the plan's image.
    n : int, optional
        Number of boxes to add.
    budget : int, optional
        Stop once the new boxes hold this many voxels at the magnification.
        Without ``n`` or ``budget`` the plan is filled up to the preset's
        suggested count and at least 5 million voxels, as far as the image
        allows; an image holding fewer voxels than that gets boxes filling
        at most half of it (at least one), so they differ in kind instead of
        tiling the image (a message says so).
    seed : int
        Same seed, same boxes; another seed gives other, equally valid boxes.
    include_empty : bool
        Also propose uninformative blocks (empty, almost all blank/saturated).
    replace : bool
        First remove the boxes an earlier proposal made that are neither
        locked nor started (source ``proposal``/``uncertainty``, status
        ``todo``).
    exclude : iterable of (lo, hi)
        Regions to keep clear, e.g. boxes the user rejected.

    Returns
    -------
    plan : Plan
        With the new boxes (source ``"proposal"``, their stratum and
        statistics kept on each box).
    report : ProposalReport

    Notes
    -----
    Candidates overlap (half-box strides), and taking one makes every
    candidate sharing a voxel with it unavailable. First every content
    stratum present gets one box (:func:`.selection.cover_order`): strata whose
    members fit only one or two non-overlapping boxes first, then failure
    modes (low SNR, artifacts, edges) before sparse, dense, worst and best
    case; a stratum is skipped when a box already stands for it strongly
    (strength >= 0.9). Then strata, typical included, take turns until the
    count or budget is reached, those with the fewest boxes of their own
    first. A stratum's first own box is its most typical free member: its
    strength plus 0.25 times its distance to the nearest box (in box widths,
    counted up to 4) plus 0.5 for every other stratum still to cover it
    stands for strongly, plus a seeded jitter (0 to 0.25); later boxes weigh
    the distance fully.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> from napari_patchwise.engine.plan.presets import get_preset
    >>> from napari_patchwise.engine.samples.nuclei import make_sample
    >>> s = make_sample((64, 256, 256))
    >>> plan = Plan(ImageRef(s.image.shape), get_preset("instance"), 1)
    >>> c = measure_candidates(s.image, plan, scheduler="sync")
    >>> plan2, report = propose(plan, c, n=6, seed=1)
    >>> len(plan2.boxes), {b.source for b in plan2.boxes}
    (6, {'proposal'})
    >>> [f.code for f in plan2.validate() if f.box_id is not None]
    []
    """
    _check_candidates(plan, cands)
    if replace:
        plan = drop_unlocked_proposals(plan, PROPOSED_SOURCES["content"])
    kept = list(plan.boxes)
    n, budget, notes = _limits(plan, cands, kept, n, budget)
    table = cands.strata
    exclude = list(exclude)
    blocked = _overlaps(cands, kept) | _overlaps(cands, exclude)
    usable = ~blocked & (table.informative | include_empty)
    picker = Picker(cands, usable, [(b.lo, b.hi) for b in kept], seed)
    member = table.member & usable[:, None]
    if include_empty:  # uninformative blocks are typical, so they can be filled in
        member[:, STRATA.index("typical")] |= usable & ~table.informative
    counts = member.sum(axis=0)
    order = cover_order(cands, member)
    covered = {b.stratum for b in kept if b.stratum}
    chosen: list[tuple[int, str]] = []
    per_box = _voxels(cands.block, plan.magnification)

    strong = table.member & (table.strength >= STRONG)

    def take(stratum, covering=False):
        k = STRATA.index(stratum)
        if covering:  # prefer a box that also stands for other strata still to cover,
            # and never take the last free place of another
            others = [j for j, s in enumerate(STRATA) if s not in covered and j != k
                      and s != "typical"]
            bonus = W_ALSO * strong[:, others].sum(axis=1)
            for j in others:
                free_j = member[:, j] & picker.free
                if 0 < free_j.sum() <= _FEW_MEMBERS:
                    bonus = bonus - W_BLOCK * blockers(cands, free_j)
            i = picker.pick(member[:, k], table.strength[:, k], W_SPREAD_COVER, bonus)
        else:
            i = picker.pick(member[:, k], table.strength[:, k])
        if i is not None:
            chosen.append((i, stratum))
            covered.add(stratum)
            covered.update(s for s, m in zip(STRATA, strong[i]) if m)
        return i

    for s in order:  # cover: strata with little room first; typical blocks only fill
        if _stop(len(chosen), len(chosen) * per_box, n, budget):
            break
        if s not in covered and s != "typical":
            take(s, covering=True)
    content = [s for s in order if s != "typical"]
    while not _stop(len(chosen), len(chosen) * per_box, n, budget):
        progressed = False
        # strata with the fewest boxes of their own go first (one covered only by another
        # stratum's box gets its own box before any stratum gets a second)
        own = [sum(b.stratum == s for b in kept) + sum(c == s for _, c in chosen)
               for s in content]
        turn = [content[j] for j in np.argsort(own, kind="stable")]
        for s, mine in zip(turn + ["typical"], sorted(own) + [1]):
            if _stop(len(chosen), len(chosen) * per_box, n, budget):
                break
            progressed |= take(s, covering=mine == 0) is not None  # its first own box: as in cover
        if not progressed:
            break

    messages = list(notes)
    if not usable.any():
        messages.append("no informative candidate is free: every block is empty or taken "
                        "(allow empty regions, remove boxes, or choose a smaller box size).")
    elif not _stop(len(chosen), len(chosen) * per_box, n, budget):
        messages.append(
            f"only {len(chosen)} box{'es' if len(chosen) != 1 else ''} fit without overlapping "
            "existing boxes or empty space; choose a smaller box size to place more.")
    available = {s: int(c) for s, c in zip(STRATA, counts)}
    missing = [s for s in order if s not in covered and s != "typical"]
    room = [s for s in missing if (member[:, STRATA.index(s)] & picker.free).any()]
    if room:
        messages.append(f"not covered (stopped before reaching them): {', '.join(room)}; "
                        "raise the box count.")
    if len(room) < len(missing):
        messages.append(
            "not covered (no free place left that does not overlap the boxes): "
            f"{', '.join(s for s in missing if s not in room)}; choose a smaller box size.")
    ids = []
    for i, stratum in chosen:
        lo, hi = cands.extent(i)
        plan, box = plan.add_box(lo, hi, source="proposal", stratum=stratum,
                                 stats=cands.box_stats(i))
        ids.append(box.id)
    cov = tuple(s for s in STRATA if s in covered and available.get(s))
    per = dict(Counter(stratum for _, stratum in chosen))
    return plan, ProposalReport(tuple(ids), available, cov, tuple(messages), per)


def propose_by_uncertainty(plan: Plan, cands: Candidates, *, n=None, budget=None, seed=0,
                           min_uncertainty: float = 0.0,
                           exclude: Iterable = ()) -> tuple[Plan, ProposalReport]:
    """Add the boxes where a model is least sure (active learning).

    Candidates are taken in order of decreasing mean uncertainty, skipping
    any that overlap a box already in the plan, an excluded region or a
    candidate taken before. Ties are broken by the seed.

    Raises
    ------
    ValueError
        If the candidates were measured without a probability map.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> from napari_patchwise.engine.plan.presets import get_preset
    >>> from napari_patchwise.engine.samples.nuclei import make_sample
    >>> s = make_sample((32, 128, 128))
    >>> prob = np.full(s.image.shape, 0.99, np.float32)
    >>> prob[:, 96:, 96:] = 0.5
    >>> plan = Plan(ImageRef(s.image.shape), get_preset("instance"), 1)
    >>> c = measure_candidates(s.image, plan, size=(32, 32, 32), probability=prob,
    ...                        scheduler="sync")
    >>> plan2, _ = propose_by_uncertainty(plan, c, n=1)
    >>> plan2.boxes[0].lo, plan2.boxes[0].source
    ((0, 96, 96), 'uncertainty')
    """
    _check_candidates(plan, cands)
    unc = np.asarray(cands.stats["uncertainty"], float)
    if not np.isfinite(unc).any():
        raise ValueError("these candidates have no uncertainty: measure them with a "
                         "probability map (probability=...).")
    kept = list(plan.boxes)
    n, budget, notes = _limits(plan, cands, kept, n, budget)
    free = ~_overlaps(cands, kept) & ~_overlaps(cands, list(exclude)) & np.isfinite(unc)
    free &= unc >= min_uncertainty
    jitter = np.random.default_rng(seed).random(len(cands)) * 1e-9
    per_box = _voxels(cands.block, plan.magnification)
    ids = []
    for i in np.argsort(-(np.nan_to_num(unc, nan=-1.0) + jitter), kind="stable"):
        if _stop(len(ids), len(ids) * per_box, n, budget):
            break
        if not free[i]:
            continue
        lo, hi = cands.extent(int(i))
        free &= ~_overlaps(cands, [(lo, hi)])
        plan, box = plan.add_box(lo, hi, source="uncertainty", stratum="uncertain",
                                 stats=cands.box_stats(int(i)))
        ids.append(box.id)
    counts = cands.strata.counts()
    cov = ("uncertain",) if ids else ()
    msgs = tuple(notes) + (() if _stop(len(ids), len(ids) * per_box, n, budget) else (
        f"only {len(ids)} uncertain block{'s' if len(ids) != 1 else ''} fit without overlaps.",))
    return plan, ProposalReport(tuple(ids), counts, cov, msgs, {"uncertain": len(ids)},
                                by="uncertainty")


def repropose_box(plan: Plan, cands: Candidates, box_id: int, *, seed=0,
                  exclude: Iterable = ()) -> tuple[Plan, int | None]:
    """Replace one box by another candidate of the same stratum.

    The old box's place is excluded, as are ``exclude`` and every other box.
    A box without a stratum (drawn by hand) is replaced by a typical block.

    Returns
    -------
    plan : Plan
        Without the old box and, if one was free, with its replacement.
    new_id : int or None
        Id of the replacement, None when no candidate of the stratum is free
        (the old box is then kept).

    Raises
    ------
    ValueError
        If the box is locked.
    """
    _check_candidates(plan, cands)
    old = plan.box(box_id)
    if old.locked:
        raise ValueError(f"box {box_id} is locked; unlock it before proposing another.")
    stratum = old.stratum if old.stratum in STRATA else "typical"
    rest = plan.remove_box(box_id)
    blocked = _overlaps(cands, list(rest.boxes)) | _overlaps(cands, [(old.lo, old.hi), *exclude])
    table = cands.strata
    k = STRATA.index(stratum)
    picker = Picker(cands, ~blocked & table.informative, [(b.lo, b.hi) for b in rest.boxes],
                     seed)
    i = picker.pick(table.member[:, k], table.strength[:, k])
    if i is None:
        return plan, None
    lo, hi = cands.extent(i)
    new_plan, box = rest.add_box(lo, hi, source=old.source if old.source in ("proposal",
                                 "uncertainty") else "proposal", stratum=stratum,
                                 stats=cands.box_stats(i))
    return new_plan, box.id
