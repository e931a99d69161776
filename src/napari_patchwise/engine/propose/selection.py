"""Choosing candidates: the order strata are covered in, and the greedy, seeded picker.

Used by :func:`.propose.propose` and :func:`.propose.repropose_box`.
Candidates overlap (half-box strides), so taking one makes every candidate
that shares a voxel with it unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .candidates import Candidates, _overlaps
from .strata import STRATA
from ..plan.clustering import axis_halves

#: Weights of the selection score: stratum strength, distance to chosen boxes, seeded jitter.
W_STRENGTH, W_SPREAD, W_JITTER = 1.0, 1.0, 0.25
#: While covering strata, spread counts less: the most typical member matters most.
W_SPREAD_COVER = 0.25
#: While covering, each other uncovered stratum a candidate is a strong member of adds this ...
W_ALSO = 0.5
#: ... and each uncovered stratum it would leave without a free member takes this off.
W_BLOCK = 1.0
#: While filling, a candidate in the half of an axis no box has reached, while two or more
#: keep to the other half, gets this.
W_BALANCE = 0.3
#: Strata with up to this many free members are checked for being blocked.
_FEW_MEMBERS = 64
#: Failure modes first: the order of strata that are equally easy to place.
COVER_PRIORITY = ("low_snr", "artifact", "edge", "uncertain", "sparse", "dense", "worst", "best",
                  "typical")
#: A box covers a stratum it was not picked for only if it is this strong a member.
STRONG = 0.9
#: Strata whose members fit fewer non-overlapping boxes than this are covered first.
FEW_PLACES = 3


def places(cands: Candidates, members: np.ndarray, cap: int = FEW_PLACES) -> int:
    """How many non-overlapping boxes the ``members`` could hold, counted up to ``cap``.

    Examples
    --------
    >>> from napari_patchwise.engine.propose.block_grid import candidate_grid
    >>> from napari_patchwise.engine.propose.strata import assign_strata
    >>> grid = candidate_grid((32, 32, 128), (32, 32, 32), stride=16)
    >>> stats = {k: np.zeros(len(grid)) for k in ("p01", "p99", "foreground", "density",
    ...          "snr", "blank", "saturated", "border_distance", "uncertainty")}
    >>> c = Candidates(grid, stats, assign_strata(stats))
    >>> places(c, np.ones(len(grid), bool)), places(c, np.arange(len(grid)) < 2)
    (3, 1)
    """
    idx = np.flatnonzero(members)
    lo = cands.grid.origins[idx]
    size = np.asarray(cands.block)
    n = 0
    while idx.size and n < cap:
        n += 1
        apart = np.any(np.abs(lo - lo[0]) >= size, axis=1)
        idx, lo = idx[apart], lo[apart]
    return n


def cover_order(cands: Candidates, member: np.ndarray) -> list[str]:
    """Strata with members, in the order the cover pass takes them.

    Strata whose members fit only one or two non-overlapping boxes come first
    (fewest first): a box taken for another stratum could block them. The
    others follow in :data:`COVER_PRIORITY` order, failure modes first: they
    have room anywhere, so how many candidates they have says nothing.
    """
    counts = member.sum(axis=0)
    room = [places(cands, member[:, k]) for k in range(len(STRATA))]
    prio = [COVER_PRIORITY.index(STRATA[k]) for k in range(len(STRATA))]
    return [STRATA[k] for k in np.lexsort((prio, room)) if counts[k] > 0]


def blockers(cands: Candidates, members: np.ndarray) -> np.ndarray:
    """Candidates that overlap every one of ``members`` (taking one leaves none free)."""
    lo = cands.grid.origins
    size = np.asarray(cands.block)
    hit = np.ones(len(cands), bool)
    for j in np.flatnonzero(members):
        hit &= np.all(np.abs(lo - lo[j]) < size, axis=1)
    return hit


class Picker:
    """Greedy, seeded choice of well-spread, non-overlapping candidates."""

    def __init__(self, cands: Candidates, available: np.ndarray, occupied: Sequence, seed):
        self.c = cands
        self.free = available.copy()
        self.centres = cands.grid.origins + np.asarray(cands.block) / 2.0
        self.jitter = np.random.default_rng(seed).random(len(cands))
        self.dist = np.full(len(cands), np.inf)
        # halves of the axes the clustered-boxes check splits (-1: not split)
        self.half = axis_halves(self.centres, cands.grid.image_shape, cands.block)
        self.seen_half = np.zeros((3, 2), int)
        for lo, hi in occupied:
            self._seen(np.add(lo, hi) / 2.0)

    def _seen(self, centre) -> None:
        d = np.linalg.norm((self.centres - centre) / np.asarray(self.c.block), axis=1)
        self.dist = np.minimum(self.dist, d)
        half = axis_halves(np.asarray(centre)[None], self.c.grid.image_shape, self.c.block)[0]
        for a, h in enumerate(half):
            if h >= 0:
                self.seen_half[a, h] += 1

    def balance(self) -> np.ndarray:
        """1 per axis where at least two boxes keep to one half and the candidate lies in the
        other (a third box there would make the plan clustered along that axis)."""
        out = np.zeros(len(self.c))
        for a in range(3):
            lo, hi = self.seen_half[a]
            if min(lo, hi) == 0 and max(lo, hi) >= 2:
                out += self.half[:, a] == (0 if lo == 0 else 1)
        return out

    def pick(self, mask: np.ndarray, strength: np.ndarray, spread_weight=W_SPREAD,
             bonus=0.0) -> int | None:
        """Take the best free candidate of ``mask``; None when none is free."""
        ok = self.free & mask
        if not ok.any():
            return None
        finite = np.isfinite(self.dist)
        if finite.any():  # distance in box widths, saturating at 4
            spread = np.where(finite, np.minimum(self.dist, 4.0) / 4.0, 1.0)
        else:
            spread = np.ones(len(self.c))
        score = W_STRENGTH * strength + spread_weight * spread + W_JITTER * self.jitter + bonus
        if spread_weight == W_SPREAD:  # filling: keep clear of a clustered plan
            score = score + W_BALANCE * self.balance()
        i = int(np.flatnonzero(ok)[np.argmax(score[ok])])
        self.take(i)
        return i

    def take(self, i: int) -> None:
        lo, hi = self.c.extent(i)
        self.free &= ~_overlaps(self.c, [(lo, hi)])
        self._seen(self.centres[i])
