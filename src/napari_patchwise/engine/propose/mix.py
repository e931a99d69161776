"""The mixed next round: failure-scan regions and stratified boxes, in a given proportion.

nnActive found foreground-aware, class-stratified selection beats plain
uncertainty in 3D, so a next round does not take only the regions where a
model fails: a fraction ``mix`` of its ``n`` boxes comes from the failure scan
(worst first), the rest from the normal stratified proposal. When there are
too few of one kind the other fills in. A box never overlaps a box the plan
holds (annotated or not), an excluded region, or another box of the round.

:func:`mix_round` is pure: it takes the failure regions (any objects with
``image``, ``lo``, ``hi``, ``kind``, ``reason`` and ``score``, as the failure
scan returns them) and the stratified candidates, and returns what to add.

Examples
--------
>>> from dataclasses import dataclass
>>> from napari_patchwise.engine import ImageRef, Plan
>>> @dataclass(frozen=True)
... class Region:
...     image: str; lo: tuple; hi: tuple; kind: str; reason: str; score: float
>>> plans = {"a": Plan(ImageRef((32, 128, 128)))}
>>> fails = [Region("a", (0, 0, 0), (16, 32, 32), "merge", "merges 2 objects", 0.9)]
>>> strat = [Candidate("a", (16, 64, 64), (32, 96, 96), "dense")]
>>> m = mix_round(fails, strat, n=2, mix=0.5, plans=plans, sizes={"a": (16, 32, 32)})
>>> [(p.stratum, p.source, p.notes) for p in m.picks]
[('failure:merge', 'uncertainty', 'merges 2 objects'), ('dense', 'proposal', '')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..geometry.box import Box
from ..plan.plan import Plan

#: Source of a failure box (a model's weak spot, as uncertainty boxes are).
FAILURE_SOURCE = "uncertainty"
#: Stratum prefix of a failure box: ``failure:<kind>``.
FAILURE_PREFIX = "failure:"


@dataclass(frozen=True)
class Candidate:
    """A box the stratified proposal would add: image, extent (full resolution), stratum, statistics."""

    image: str
    lo: tuple
    hi: tuple
    stratum: str | None = None
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Pick:
    """A box of the round: where, and how it is to be added (source, stratum, notes, statistics)."""

    image: str
    lo: tuple
    hi: tuple
    source: str
    stratum: str | None
    notes: str = ""
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def failure(self) -> bool:
        """Whether the box comes from the failure scan."""
        return (self.stratum or "").startswith(FAILURE_PREFIX)


@dataclass(frozen=True)
class MixResult:
    """What :func:`mix_round` chose.

    Attributes
    ----------
    picks : tuple of Pick
        The boxes, failures first (worst first), then stratified ones.
    asked : int
        Failure boxes asked for: ``round(n * mix)``.
    failures, stratified : int
        Boxes of each kind chosen.
    skipped : int
        Failure regions left out because they overlap a box, an excluded region or
        a box chosen before, or lie in an image not chosen.
    messages : tuple of str
        Notes: a kind short and filled by the other, fewer boxes than asked.
    """

    picks: tuple[Pick, ...]
    asked: int
    failures: int
    stratified: int
    skipped: int = 0
    messages: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"asked_failures": self.asked, "failures": self.failures, "stratified": self.stratified,
                "skipped_failure_regions": self.skipped}


def failure_asked(n: int, mix: float) -> int:
    """Failure boxes of a round of ``n`` with fraction ``mix`` (halves round up).

    Examples
    --------
    >>> failure_asked(10, 0.5), failure_asked(5, 0.5), failure_asked(3, 0.0), failure_asked(3, 1.0)
    (5, 3, 0, 3)
    """
    return int(math.floor(n * mix + 0.5))


def failure_extent(region, plan: Plan, size: Sequence[int]) -> tuple[tuple, tuple]:
    """The box of a failure region: ``size`` (or the region's, if larger) centred on it, on the
    magnification grid and inside the image (:meth:`.Plan.fit`, moved rather than cut).

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef
    >>> from types import SimpleNamespace
    >>> r = SimpleNamespace(lo=(0, 100, 100), hi=(8, 110, 110))
    >>> failure_extent(r, Plan(ImageRef((32, 128, 128))), (16, 32, 32))
    ((0, 89, 89), (16, 121, 121))
    """
    extent = [max(int(s), int(h) - int(l)) for s, l, h in zip(size, region.lo, region.hi)]
    lo = [int(round((int(l) + int(h)) / 2 - e / 2)) for l, h, e in zip(region.lo, region.hi, extent)]
    hi = [l + e for l, e in zip(lo, extent)]
    return plan.fit(lo, hi, keep_size=True)


def _overlap(a_lo, a_hi, b_lo, b_hi) -> bool:
    return all(al < bh and bl < ah for al, ah, bl, bh in zip(a_lo, a_hi, b_lo, b_hi))


def mix_round(regions: Sequence, stratified: Sequence[Candidate], *, n: int, mix: float,
              plans: Mapping[str, Plan], sizes: Mapping[str, Sequence[int]],
              exclude: Mapping[str, Sequence] | None = None) -> MixResult:
    """Choose ``n`` boxes: ``round(n * mix)`` from failure ``regions``, the rest from ``stratified``.

    Parameters
    ----------
    regions : sequence
        Failure regions, worst first, each with ``image``, ``lo``, ``hi``
        (full-resolution voxels, half-open), ``kind``, ``reason`` and ``score``.
    stratified : sequence of Candidate
        Boxes of the stratified proposal, in the order it would add them.
    n : int
        Boxes of the round (>= 1).
    mix : float
        Fraction of failure boxes, in [0, 1].
    plans : mapping of str to Plan
        The images that may get boxes, by name; their boxes are never overlapped.
    sizes : mapping of str to (z, y, x)
        Box size per image in full-resolution voxels (failure boxes get it).
    exclude : mapping of str to sequence of (lo, hi), optional
        More regions per image never to overlap (e.g. annotated outside boxes).

    Returns
    -------
    MixResult

    Notes
    -----
    Failure regions are taken worst first up to ``round(n * mix)``; stratified
    candidates then fill the round; if they run out, further failure regions
    fill it. A failure box is ``sizes[image]`` (or the region, if larger)
    centred on the region (:func:`failure_extent`), with source
    ``"uncertainty"``, stratum ``failure:<kind>``, the reason as notes and the
    score (and the region) in its statistics.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of boxes is a whole number >= 1; got {n!r}.")
    if not (isinstance(mix, (int, float)) and 0.0 <= float(mix) <= 1.0):
        raise ValueError(f"--mix is the fraction of failure boxes, from 0 to 1; got {mix!r}.")
    taken: dict[str, list] = {name: [(b.lo, b.hi) for b in plan.boxes] for name, plan in plans.items()}
    for name, extents in (exclude or {}).items():
        taken.setdefault(name, []).extend((tuple(lo), tuple(hi)) for lo, hi in extents)

    def free(image, lo, hi) -> bool:
        return image in plans and not any(_overlap(lo, hi, a, b) for a, b in taken[image])

    asked = failure_asked(n, float(mix))
    queue = list(regions)
    picks: list[Pick] = []
    skipped = 0

    def take_failures(limit: int) -> None:
        nonlocal skipped
        while queue and sum(p.failure for p in picks) < limit and len(picks) < n:
            r = queue.pop(0)
            if r.image not in plans:
                skipped += 1
                continue
            lo, hi = failure_extent(r, plans[r.image], sizes[r.image])
            if not free(r.image, lo, hi):
                skipped += 1
                continue
            taken[r.image].append((lo, hi))
            stats = {"score": round(float(r.score), 4), "kind": str(r.kind),
                     "region_lo": [int(v) for v in r.lo], "region_hi": [int(v) for v in r.hi]}
            picks.append(Pick(r.image, lo, hi, FAILURE_SOURCE, FAILURE_PREFIX + str(r.kind), str(r.reason), stats))

    take_failures(asked)
    for c in stratified:
        if len(picks) >= n:
            break
        lo, hi = tuple(int(v) for v in c.lo), tuple(int(v) for v in c.hi)
        if free(c.image, lo, hi):
            taken[c.image].append((lo, hi))
            picks.append(Pick(c.image, lo, hi, "proposal", c.stratum, "", dict(c.stats)))
    n_fail = sum(p.failure for p in picks)
    messages = []
    if n_fail < asked:
        messages.append(f"only {n_fail} of the {asked} failure boxes asked for were free of existing boxes; "
                        "stratified boxes filled in.")
    if len(picks) < n:
        take_failures(n)
        extra = sum(p.failure for p in picks) - n_fail
        if extra:
            messages.append(f"too few stratified boxes were free; {extra} more failure box"
                            f"{'es' if extra != 1 else ''} filled in.")
    if len(picks) < n:
        messages.append(f"only {len(picks)} of {n} boxes fit without overlapping existing boxes; "
                        "choose a smaller box size or fewer boxes.")
    failures = tuple(p for p in picks if p.failure)
    rest = tuple(p for p in picks if not p.failure)
    return MixResult(failures + rest, asked, len(failures), len(rest), skipped, tuple(messages))


def add_picks(plan: Plan, picks: Sequence[Pick], round_number: int) -> tuple[Plan, tuple[Box, ...]]:
    """``plan`` with the ``picks`` added as boxes of round ``round_number``; and the new boxes.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef
    >>> pick = Pick("a", (0, 0, 0), (8, 16, 16), "uncertainty", "failure:merge", "merges 2 objects", {"score": 0.7})
    >>> plan, (box,) = add_picks(Plan(ImageRef((16, 64, 64))), [pick], 3)
    >>> box.id, box.round, box.stratum, box.notes, box.stats["score"]
    (1, 3, 'failure:merge', 'merges 2 objects', 0.7)
    """
    new = []
    for p in picks:
        plan, box = plan.add_box(p.lo, p.hi, source=p.source, stratum=p.stratum, notes=p.notes,
                                 stats=dict(p.stats), round=round_number)
        new.append(box)
    return plan, tuple(new)
