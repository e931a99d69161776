"""Propose annotation boxes: stratified from image content, from points, or by uncertainty.

The steps are separate so a viewer can measure once and propose many times:

1. :func:`measure_candidates` lays a grid of box-sized candidate blocks over
   the image at the plan's magnification, measures them
   (:func:`.blockstats.block_statistics`, out of core) and assigns strata
   (:func:`.strata.assign_strata`).
2. :func:`propose` picks candidates that cover every stratum, spread over
   the volume, never overlap boxes already in the plan, and adds them.
   :func:`propose_by_uncertainty` ranks by a model's uncertainty instead;
   :func:`repropose_box` swaps one box for another of its stratum.
3. :func:`boxes_from_points` centres boxes on points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .blockstats import BlockGrid, block_statistics, candidate_grid, edge_blocks
from .box import Box
from .magnification import _as_int_triple, snap_box
from .plan import Plan
from .presets import TARGET_TOTAL_VOXELS
from .strata import STRATA, StrataTable, assign_strata, describe_stats

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


@dataclass(frozen=True, eq=False)
class Candidates:
    """Measured candidate blocks of one size on one image.

    Attributes
    ----------
    grid : BlockGrid
        The candidate blocks (full-resolution origins, one block size).
    stats : dict of str to ndarray
        Per-block statistics (:data:`.blockstats.STAT_NAMES`).
    strata : StrataTable
        Stratum memberships.
    """

    grid: BlockGrid
    stats: dict
    strata: StrataTable

    def __len__(self) -> int:
        return len(self.grid)

    @property
    def block(self) -> tuple[int, int, int]:
        return self.grid.block

    def extent(self, i: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """``(lo, hi)`` of candidate ``i`` in full-resolution voxels."""
        lo = tuple(int(v) for v in self.grid.origins[i])
        return lo, tuple(a + b for a, b in zip(lo, self.grid.block))

    def box_stats(self, i: int) -> dict:
        """What is kept on a box proposed from candidate ``i``."""
        return describe_stats(self.stats, i) | {"strata": list(self.strata.strata_of(i))}


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


def box_size_for(plan: Plan, size=None) -> tuple[int, int, int]:
    """Full-resolution box size for ``plan``: ``size`` (at the magnification)
    or the preset's default.

    Raises
    ------
    ValueError
        If ``size`` is below the preset's minimum.

    Examples
    --------
    >>> from napari_patchwise.engine.plan import ImageRef
    >>> from napari_patchwise.engine.presets import get_preset
    >>> plan = Plan(ImageRef((64, 256, 256)), get_preset("instance"), (1, 2, 2))
    >>> box_size_for(plan), box_size_for(plan, (32, 96, 96))
    ((64, 128, 128), (32, 192, 192))
    >>> box_size_for(plan, (16, 64, 64))
    Traceback (most recent call last):
    ...
    ValueError: box size (16, 64, 64) (z, y, x at the magnification) is below the instance preset's minimum (32, 32, 32); use at least (32, 64, 64).
    """
    s = plan.preset.default_size if size is None else _as_int_triple(size, "size", positive=True)
    small = any(a < b for a, b in zip(s, plan.preset.minimum))
    if small:
        fix = tuple(max(a, b) for a, b in zip(s, plan.preset.minimum))
        raise ValueError(
            f"box size {tuple(s)} (z, y, x at the magnification) is below the "
            f"{plan.preset.name} preset's minimum {plan.preset.minimum}; use at least {fix}."
        )
    return plan.preset.size_at(plan.magnification, s)


def _check_fits(plan: Plan, block) -> None:
    shape = plan.image.shape
    if any(b > s for b, s in zip(block, shape)):
        at_mag = tuple(b // m for b, m in zip(block, plan.magnification))
        raise ValueError(
            f"a box of {at_mag} voxels at magnification {plan.magnification} spans {tuple(block)} "
            f"full-resolution voxels, more than the image {tuple(shape)}; choose a smaller box "
            "size or magnification."
        )


def measure_candidates(image, plan: Plan, *, size=None, labels=None, probability=None,
                       threshold=None, sample_step=None, scheduler=None,
                       progress=None) -> Candidates:
    """Measure box-sized candidate blocks of ``image`` for ``plan``.

    Parameters
    ----------
    image : array-like, shape (z, y, x)
        numpy, zarr or dask array; read blockwise, never loaded whole.
    plan : Plan
        Gives the image shape, magnification and preset.
    size : tuple of 3 int, optional
        Box size at the magnification; the preset's default by default.
    labels, probability, threshold, sample_step, scheduler, progress
        Passed to :func:`.blockstats.block_statistics`.

    Returns
    -------
    Candidates

    Raises
    ------
    ValueError
        If the image does not match the plan, a box does not fit, or the
        statistics refuse the image (2D, constant, NaN, ...).

    Examples
    --------
    >>> from napari_patchwise.engine.plan import ImageRef
    >>> from napari_patchwise.engine.presets import get_preset
    >>> from napari_patchwise.engine.sample import make_sample
    >>> s = make_sample((32, 128, 128))
    >>> plan = Plan(ImageRef(s.image.shape), get_preset("instance"), 1)
    >>> c = measure_candidates(s.image, plan, size=(32, 32, 32), scheduler="sync")
    >>> len(c), c.block
    (16, (32, 32, 32))
    """
    shape = tuple(int(v) for v in getattr(image, "shape", np.shape(image)))
    if len(shape) == 3 and shape != tuple(plan.image.shape):
        raise ValueError(
            f"the image has shape {shape} but the plan was made for {tuple(plan.image.shape)}; "
            "open the plan's own image or start a new plan for this one."
        )
    block = box_size_for(plan, size)
    if len(shape) == 3:
        _check_fits(plan, block)
    # a 2D image gets the plan's grid, so block_statistics words the error
    grid = candidate_grid(plan.image.shape, block, mag=plan.magnification)
    stats = block_statistics(image, grid, threshold=threshold, labels=labels,
                             probability=probability, sample_step=sample_step,
                             scheduler=scheduler, progress=progress)
    table = assign_strata(stats, edge=edge_blocks(grid.origins, grid.block, grid.image_shape))
    return Candidates(grid, stats, table)


def _overlaps(cands: Candidates, boxes: Iterable[Box | tuple]) -> np.ndarray:
    """Candidates overlapping any of ``boxes`` (Box or (lo, hi))."""
    lo = cands.grid.origins
    hi = lo + np.asarray(cands.block)
    hit = np.zeros(len(cands), bool)
    for b in boxes:
        blo, bhi = (b.lo, b.hi) if isinstance(b, Box) else b
        hit |= np.all((lo < np.asarray(bhi)) & (hi > np.asarray(blo)), axis=1)
    return hit


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
    missing = [s for s in order if s not in covered]
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


# ---------------------------------------------------------------------------- points
@dataclass(frozen=True)
class PointBoxes:
    """Boxes centred on points.

    Attributes
    ----------
    extents : tuple of ((lo), (hi))
        One box per accepted point, full-resolution voxels.
    points : tuple of int
        Index of the point behind each extent.
    messages : tuple of str
        One line per point that was shifted inside or rejected.
    """

    extents: tuple
    points: tuple[int, ...]
    messages: tuple[str, ...]


def _fmt_point(p) -> str:
    vals = [int(v) if float(v).is_integer() else round(float(v), 1) for v in p]
    return f"({', '.join(map(str, vals))})"


def boxes_from_points(points, size, image_shape, mag=1, *, border: str = "shift") -> PointBoxes:
    """Boxes of ``size`` centred on ``points``.

    Parameters
    ----------
    points : array-like, shape (N, 3)
        Centres ``(z, y, x)`` in full-resolution voxel coordinates.
    size : tuple of 3 int
        Full-resolution box size, a multiple of ``mag``.
    image_shape : tuple of 3 int
    mag : int or tuple of 3 int
    border : {"shift", "reject"}
        What to do when a box would stick out of the image: move it inside
        (it is then not centred on its point) or drop it.

    Returns
    -------
    PointBoxes

    Raises
    ------
    ValueError
        For points that are not (N, 3) finite numbers, points outside the
        image, a box larger than the image or an unknown ``border``.

    Examples
    --------
    >>> r = boxes_from_points([[80, 80, 80], [10, 80, 80]], (160, 160, 160), (200, 300, 300))
    >>> r.extents[0]
    ((0, 0, 0), (160, 160, 160))
    >>> r.extents[1]
    ((0, 0, 0), (160, 160, 160))
    >>> print(r.messages[0])
    point 1 at (10, 80, 80) is 70 voxels too close to the z border for a 160×160×160 box centred on it; shifted inside by (70, 0, 0).
    >>> r = boxes_from_points([[100, 150, 150], [10, 150, 150]], (160, 160, 160),
    ...                       (200, 300, 300), border="reject")
    >>> r.points, r.messages
    ((0,), ('point 1 at (10, 150, 150) is 70 voxels too close to the z border for a 160×160×160 box centred on it; rejected (use border="shift" to move the box inside instead).',))
    """
    if border not in ("shift", "reject"):
        raise ValueError(f'border must be "shift" or "reject"; got {border!r}.')
    pts = np.asarray(points, dtype=float)
    if pts.size == 0:
        pts = pts.reshape(0, 3)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(
            f"points must be an (N, 3) array of z, y, x coordinates; got shape {pts.shape}. "
            "For 2D points add a z column.")
    if not np.isfinite(pts).all():
        bad = int(np.flatnonzero(~np.isfinite(pts).all(axis=1))[0])
        raise ValueError(f"point {bad} has a missing or infinite coordinate; remove or fix it.")
    shape = np.asarray(_as_int_triple(image_shape, "image shape", positive=True))
    s = np.asarray(_as_int_triple(size, "size", positive=True))
    m = np.broadcast_to(np.asarray(mag, dtype=int), (3,)) if np.ndim(mag) else np.full(3, int(mag))
    if np.any(s % m):
        raise ValueError(f"box size {tuple(s)} is not a multiple of the magnification {tuple(m)}.")
    lim = (shape // m) * m
    if np.any(s > lim):
        raise ValueError(f"a box of {tuple(s)} voxels does not fit in the image {tuple(shape)}; "
                         "choose a smaller box size or magnification.")
    outside = np.flatnonzero(np.any((pts < -0.5) | (pts > shape - 0.5), axis=1))
    if outside.size:
        i = int(outside[0])
        raise ValueError(
            f"{outside.size} point{'s lie' if outside.size > 1 else ' lies'} outside the image "
            f"{tuple(int(v) for v in shape)}, e.g. point {i} at "
            f"{_fmt_point(pts[i])}; check the points are in voxel "
            "coordinates (z, y, x) of this image, not physical units.")
    extents, kept, msgs = [], [], []
    for i, p in enumerate(pts):
        lo0 = np.round(p + 0.5 - s / 2).astype(int)  # centre of the box on the point
        lo, hi = snap_box(tuple(lo0), tuple(lo0 + s), tuple(m), mode="nearest")
        lo, hi = np.asarray(lo), np.asarray(lo) + s
        shift = np.where(lo < 0, -lo, np.where(hi > lim, lim - hi, 0))
        if np.any(shift):
            ax = int(np.argmax(np.abs(shift)))
            where = (f"point {i} at {_fmt_point(p)} is "
                     f"{int(abs(shift[ax]))} voxels too close to the {'zyx'[ax]} border for a "
                     f"{'×'.join(map(str, s))} box centred on it")
            if border == "reject":
                msgs.append(where + '; rejected (use border="shift" to move the box inside '
                            "instead).")
                continue
            msgs.append(where + f"; shifted inside by {tuple(int(v) for v in shift)}.")
            lo, hi = lo + shift, hi + shift
        extents.append((tuple(int(v) for v in lo), tuple(int(v) for v in hi)))
        kept.append(i)
    return PointBoxes(tuple(extents), tuple(kept), tuple(msgs))
