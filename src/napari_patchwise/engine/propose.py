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

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .candidates import Candidates, _overlaps, box_size_for, measure_candidates
from .plan import Plan
from .points import PointBoxes, boxes_from_points
from .presets import TARGET_TOTAL_VOXELS
from .strata import STRATA

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

#: Weights of the selection score: stratum strength, distance to chosen boxes, seeded jitter.
_W_STRENGTH, _W_SPREAD, _W_JITTER = 1.0, 1.0, 0.25
#: While covering strata, spread counts less: the most typical member matters most.
_W_SPREAD_COVER = 0.25
#: Strata with as many members are covered in this order: failure modes first.
_COVER_TIES = ("low_snr", "artifact", "edge", "uncertain", "sparse", "dense", "worst", "best",
               "typical")
#: A box covers a stratum it was not picked for only if it is this strong a member.
_STRONG = 0.9


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
    """

    added: tuple[int, ...]
    strata_available: dict = field(default_factory=dict)
    strata_covered: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: boxes added and content strata covered (typical is not counted)."""
        present = [s for s in STRATA if self.strata_available.get(s) and s != "typical"]
        missing = [s for s in present if s not in self.strata_covered]
        text = (f"proposed {len(self.added)} box{'es' if len(self.added) != 1 else ''}; "
                f"strata covered {len(present) - len(missing)}/{len(present)}")
        return text + (f" (missing: {', '.join(missing)})" if missing else "")


def _default_target(plan: Plan, block) -> tuple[int, int]:
    """(boxes, voxels at the magnification) the plan should reach by default."""
    per_box = math.prod(b // m for b, m in zip(block, plan.magnification))
    n = max(plan.preset.suggested_count, math.ceil(TARGET_TOTAL_VOXELS[0] / per_box))
    return n, TARGET_TOTAL_VOXELS[0]


class _Picker:
    """Greedy, seeded choice of well-spread candidates."""

    def __init__(self, cands: Candidates, available: np.ndarray, occupied: Sequence, seed):
        self.c = cands
        self.free = available.copy()
        self.centres = cands.grid.origins + np.asarray(cands.block) / 2.0
        self.diag = float(np.linalg.norm(cands.grid.image_shape)) or 1.0
        self.jitter = np.random.default_rng(seed).random(len(cands))
        self.dist = np.full(len(cands), np.inf)
        for lo, hi in occupied:
            self._seen(np.add(lo, hi) / 2.0)

    def _seen(self, centre) -> None:
        d = np.linalg.norm((self.centres - centre) / np.asarray(self.c.block), axis=1)
        self.dist = np.minimum(self.dist, d)

    def pick(self, mask: np.ndarray, strength: np.ndarray, spread_weight=_W_SPREAD) -> int | None:
        ok = self.free & mask
        if not ok.any():
            return None
        finite = np.isfinite(self.dist)
        if finite.any():  # distance in box widths, saturating at 4
            spread = np.where(finite, np.minimum(self.dist, 4.0) / 4.0, 1.0)
        else:
            spread = np.ones(len(self.c))
        score = _W_STRENGTH * strength + spread_weight * spread + _W_JITTER * self.jitter
        i = int(np.flatnonzero(ok)[np.argmax(score[ok])])
        self.take(i)
        return i

    def take(self, i: int) -> None:
        lo, hi = self.c.extent(i)
        self.free &= ~_overlaps(self.c, [(lo, hi)])
        self._seen(self.centres[i])


def _stop(n_added, vox_added, n, budget) -> bool:
    return (n is not None and n_added >= n) or (budget is not None and vox_added >= budget)


def _limits(plan, cands, kept, n, budget):
    if n is not None and budget is not None:
        raise ValueError("give either a box count (n) or a voxel budget, not both.")
    if n is not None and (int(n) != n or n < 0):
        raise ValueError(f"the box count must be a whole number >= 0; got {n!r}.")
    if budget is not None and budget <= 0:
        raise ValueError(f"the voxel budget must be positive; got {budget!r}.")
    if n is None and budget is None:  # fill the plan up to the preset's target
        n_target, v_target = _default_target(plan, cands.block)
        have = sum(math.prod(s // m for s, m in zip(b.size, plan.magnification)) for b in kept)
        per_box = math.prod(b // m for b, m in zip(cands.block, plan.magnification))
        n = max(n_target - len(kept), math.ceil(max(0, v_target - have) / per_box), 0)
    return n, budget


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
        allows.
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
    First every content stratum present gets one box, rarest stratum first
    (ties: failure modes such as low SNR and artifacts before best and worst
    case), unless a box already covers it (a box picked for one stratum covers
    another only where it is a strong member, strength >= 0.9); then strata,
    typical included, take turns until the count or budget is reached.
    Within a stratum the candidate with the best score wins: its strength in
    the stratum plus its distance to the nearest box (in box widths, counted
    up to 4; weighted 0.25 while covering, 1 while filling) plus a seeded
    jitter.

    Examples
    --------
    >>> from napari_patchwise.engine.plan import ImageRef
    >>> from napari_patchwise.engine.presets import get_preset
    >>> from napari_patchwise.engine.sample import make_sample
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
        plan = plan.replace(boxes=tuple(
            b for b in plan.boxes
            if b.locked or b.status != "todo" or b.source not in ("proposal", "uncertainty")))
    kept = list(plan.boxes)
    n, budget = _limits(plan, cands, kept, n, budget)
    table = cands.strata
    exclude = list(exclude)
    blocked = _overlaps(cands, kept) | _overlaps(cands, exclude)
    usable = ~blocked & (table.informative | include_empty)
    picker = _Picker(cands, usable, [(b.lo, b.hi) for b in kept], seed)
    member = table.member & usable[:, None]
    if include_empty:  # uninformative blocks are typical, so they can be filled in
        member[:, STRATA.index("typical")] |= usable & ~table.informative
    counts = member.sum(axis=0)
    tie = [_COVER_TIES.index(STRATA[k]) for k in range(len(STRATA))]
    order = [STRATA[k] for k in np.lexsort((tie, counts)) if counts[k] > 0]
    covered = {b.stratum for b in kept if b.stratum}
    chosen: list[tuple[int, str]] = []
    per_box = math.prod(b // m for b, m in zip(cands.block, plan.magnification))

    def take(stratum, spread_weight=_W_SPREAD):
        k = STRATA.index(stratum)
        i = picker.pick(member[:, k], table.strength[:, k], spread_weight)
        if i is not None:
            chosen.append((i, stratum))
            covered.add(stratum)
            covered.update(s for s, m, w in zip(STRATA, table.member[i], table.strength[i])
                           if m and w >= _STRONG)
        return i

    for s in order:  # cover: rarest stratum first; typical blocks only fill
        if _stop(len(chosen), len(chosen) * per_box, n, budget):
            break
        if s not in covered and s != "typical":
            take(s, _W_SPREAD_COVER)
    content = [s for s in order if s != "typical"]
    while not _stop(len(chosen), len(chosen) * per_box, n, budget):
        progressed = False
        for s in content + ["typical"]:
            if _stop(len(chosen), len(chosen) * per_box, n, budget):
                break
            progressed |= take(s) is not None
        if not progressed:
            break

    messages = []
    if not usable.any():
        messages.append("no informative candidate is free: every block is empty or taken "
                        "(allow empty regions, remove boxes, or choose a smaller box size).")
    elif not _stop(len(chosen), len(chosen) * per_box, n, budget):
        messages.append(
            f"only {len(chosen)} box{'es' if len(chosen) != 1 else ''} fit without overlapping "
            "existing boxes or empty space; choose a smaller box size to place more.")
    available = {s: int(c) for s, c in zip(STRATA, counts)}
    missing = [s for s in order if s not in covered and s != "typical"]
    if missing:
        messages.append(f"not covered (stopped before reaching them): {', '.join(missing)}; "
                        "raise the box count.")
    ids = []
    for i, stratum in chosen:
        lo, hi = cands.extent(i)
        plan, box = plan.add_box(lo, hi, source="proposal", stratum=stratum,
                                 stats=cands.box_stats(i))
        ids.append(box.id)
    cov = tuple(s for s in STRATA if s in covered and available.get(s))
    return plan, ProposalReport(tuple(ids), available, cov, tuple(messages))


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
    >>> from napari_patchwise.engine.plan import ImageRef
    >>> from napari_patchwise.engine.presets import get_preset
    >>> from napari_patchwise.engine.sample import make_sample
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
    n, budget = _limits(plan, cands, kept, n, budget)
    free = ~_overlaps(cands, kept) & ~_overlaps(cands, list(exclude)) & np.isfinite(unc)
    free &= unc >= min_uncertainty
    jitter = np.random.default_rng(seed).random(len(cands)) * 1e-9
    per_box = math.prod(b // m for b, m in zip(cands.block, plan.magnification))
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
    msgs = () if _stop(len(ids), len(ids) * per_box, n, budget) else (
        f"only {len(ids)} uncertain block{'s' if len(ids) != 1 else ''} fit without overlaps.",)
    return plan, ProposalReport(tuple(ids), counts, cov, msgs)


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
    picker = _Picker(cands, ~blocked & table.informative, [(b.lo, b.hi) for b in rest.boxes],
                     seed)
    i = picker.pick(table.member[:, k], table.strength[:, k])
    if i is None:
        return plan, None
    lo, hi = cands.extent(i)
    new_plan, box = rest.add_box(lo, hi, source=old.source if old.source in ("proposal",
                                 "uncertainty") else "proposal", stratum=stratum,
                                 stats=cands.box_stats(i))
    return new_plan, box.id
