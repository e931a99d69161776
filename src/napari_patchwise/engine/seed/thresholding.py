"""What thresholding writes into a set of boxes, computed once for Apply and for Preview.

:func:`prepare_seeding` fixes everything that depends on the whole choice of
boxes: the global threshold (over all chosen boxes), the object diameter and
the lengths derived from it, and the *groups* of boxes seeded together (overlapping, or touching while compact).
:func:`seed_group` then seeds one group as one region (the bounding box of
its boxes), so seeds never touch across boxes and an object crossing two
boxes keeps one id. Apply (``seeding.seed_boxes``) writes every group;
:func:`preview_box` returns exactly what Apply writes into one box.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..geometry.box import Box, boxes_overlap
from ..geometry.regions import bounding_region, relative_region
from .weaklabels import largest_parts
from ..plan.box_arrays import box_region, choose_boxes, image_at_mag
from ..geometry.magnification import voxel_size_at
from .objectsize import SizeEstimate, resolve_seed_params
from ..plan.plan import Plan
from .thresholds import threshold_smoothed
from .weaklabels import SeedParams, seed_region, smooth_physical

__all__ = ["BoxSeeds", "GroupSeeds", "SeedSetup", "box_groups", "prepare_seeding", "preview_box", "seed_group",
           "usable_boxes"]

Progress = Callable[[int, int], None]


def usable_boxes(plan: Plan, boxes: Sequence[Box]) -> tuple[list[Box], dict[int, str]]:
    """The boxes that can be seeded, and the others with the reason."""
    m, usable, skipped = plan.magnification, [], {}
    for b in boxes:
        if any(lo % f for lo, f in zip(b.lo, m)) or any(h > s for h, s in zip(b.hi, plan.image.shape)):
            skipped[b.id] = "not on the magnification grid or outside the image (fix its validation errors first)"
        else:
            usable.append(b)
    return usable, skipped


#: Touching boxes are seeded together only while their bounding region holds at most this many
#: times the voxels of the boxes themselves (a chain of boxes across a volume is not read whole).
COMPACT_GROUP = 1.5


def _near(a: Box, b: Box) -> bool:
    """Whether two boxes overlap or share a face, an edge or a corner."""
    return all(al <= bh and bl <= ah for al, ah, bl, bh in zip(a.lo, a.hi, b.lo, b.hi))


def _bbox_voxels(boxes) -> int:
    lo = np.min([b.lo for b in boxes], axis=0)
    hi = np.max([b.hi for b in boxes], axis=0)
    return int(np.prod(hi - lo))


def box_groups(boxes: Sequence[Box], compact: float = COMPACT_GROUP) -> list[tuple[Box, ...]]:
    """Boxes seeded together, in the given order: overlapping boxes always, touching ones while compact.

    Boxes that overlap, directly or through others, must be seeded as one
    region (else their seeds would touch inside the overlap). Boxes that only
    touch (a face, an edge or a corner) are joined as well, so an object
    crossing them keeps one id, as long as the joined group's bounding region
    holds at most ``compact`` times the voxels of its boxes; otherwise they
    are seeded apart (their seeds may then meet at the shared face, where no
    training crop holds both).

    Examples
    --------
    >>> bs = [Box(1, (0, 0, 0), (4, 4, 4)), Box(2, (0, 0, 8), (4, 4, 12)), Box(3, (0, 0, 4), (4, 4, 8))]
    >>> [[b.id for b in g] for g in box_groups(bs)]
    [[1, 2, 3]]
    >>> [[b.id for b in g] for g in box_groups(bs[:2])]
    [[1], [2]]
    >>> diagonal = [Box(1, (0, 0, 0), (4, 4, 4)), Box(2, (4, 4, 4), (8, 8, 8))]  # a shared corner only
    >>> [[b.id for b in g] for g in box_groups(diagonal)]
    [[1], [2]]
    """
    n = len(boxes)
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i):
            if boxes_overlap(boxes[i], boxes[j]):
                parent[root(i)] = root(j)

    def members(r):
        return [boxes[k] for k in range(n) if root(k) == r]

    for i in range(n):
        for j in range(i):
            ri, rj = root(i), root(j)
            if ri == rj or not _near(boxes[i], boxes[j]):
                continue
            joined = members(ri) + members(rj)
            if _bbox_voxels(joined) <= compact * sum(math.prod(b.size) for b in joined):
                parent[ri] = rj
    groups: dict[int, list[Box]] = {}
    for i, b in enumerate(boxes):
        groups.setdefault(root(i), []).append(b)
    return [tuple(g) for g in groups.values()]


@dataclass(frozen=True, eq=False)
class SeedSetup:
    """Everything a seeding run fixes before it seeds any box.

    Attributes
    ----------
    params : SeedParams
        With the object diameter and every length set.
    threshold : float or None
        The global threshold over all chosen boxes; ``None`` for a threshold
        per group (``per_box_threshold``) or per voxel (``"local"``).
    estimate : SizeEstimate or None
        The measured object size, when the diameter was not given.
    groups : tuple of tuple of Box
        Chosen boxes seeded together (see :func:`box_groups`).
    spacing : tuple of float
        Voxel size at the magnification.
    instance : bool
        Whether the class is an instance class.
    """

    params: SeedParams
    threshold: float | None
    estimate: SizeEstimate | None
    groups: tuple
    spacing: tuple
    instance: bool

    def group_of(self, box_id: int) -> tuple:
        """The group holding box ``box_id``."""
        for g in self.groups:
            if any(b.id == box_id for b in g):
                return g
        raise ValueError(f"box {box_id} is not among the boxes being seeded; choose it first.")


def prepare_seeding(plan: Plan, image, usable: Sequence[Box], params: SeedParams, *, instance: bool = True,
                    per_box_threshold: bool = False, progress: Progress | None = None,
                    total: int | None = None) -> SeedSetup:
    """Threshold, object size and groups for seeding ``usable`` boxes of ``image``.

    Every chosen box is read once (block mean at the magnification); with
    ``progress`` it is called with ``(done, total)`` after each. The object
    diameter is measured over all of them (unless given), then the global
    threshold is computed over all of them smoothed as they will be
    thresholded.
    """
    mag = plan.magnification
    spacing = voxel_size_at(plan.image.voxel_size, mag)
    need_regions = (not per_box_threshold and params.method != "local") or not params.resolved
    regions = []
    if need_regions:
        for i, b in enumerate(usable):
            regions.append(image_at_mag(image, b, mag))
            if progress:
                progress(i + 1, total or len(usable))
    params, estimate = resolve_seed_params(params, regions, spacing) if usable else (params, None)
    threshold = None
    if usable and not per_box_threshold and params.method != "local":
        threshold = _threshold(regions, spacing, params)
    return SeedSetup(params, threshold, estimate, tuple(box_groups(list(usable))), tuple(spacing), instance)


def _threshold(regions, spacing, params: SeedParams) -> float:
    """One threshold over the regions as they are thresholded: smoothed by ``params.smooth``."""
    smoothed = [smooth_physical(r, params.smooth, spacing) for r in regions]
    return threshold_smoothed(regions, smoothed, params.method, threshold=params.threshold)


def _bounds(plan: Plan, group) -> tuple[slice, ...]:
    return bounding_region(box_region(plan, b) for b in group)


@dataclass(frozen=True, eq=False)
class GroupSeeds:
    """Seeds of one group of boxes, over the bounding region of its boxes.

    Attributes
    ----------
    region : tuple of slice
        The group's bounding region in the annotation arrays.
    labels : ndarray of uint32
        Ids ``1..N`` inside the group's boxes (0 elsewhere); no two touch.
    foreground, background : ndarray of bool
        The thresholded foreground and the confident background (with the
        lines between instances), inside the boxes.
    threshold : float
        The threshold used.
    """

    region: tuple
    labels: np.ndarray
    foreground: np.ndarray
    background: np.ndarray
    threshold: float

    def crop(self, plan: Plan, box: Box) -> BoxSeeds:
        """This group's seeds inside one of its boxes."""
        sl = relative_region(box_region(plan, box), [r.start for r in self.region])
        labels = self.labels[sl]
        return BoxSeeds(box.id, labels, self.foreground[sl], self.background[sl], self.threshold,
                        int(np.count_nonzero(np.unique(labels))))


@dataclass(frozen=True, eq=False)
class BoxSeeds:
    """What seeding writes into one box (ids as in its group; the writer renumbers them).

    Attributes
    ----------
    box_id : int
    labels : ndarray of uint32
    foreground, background : ndarray of bool
    threshold : float
    n_objects : int
        Distinct ids in the box.
    """

    box_id: int
    labels: np.ndarray
    foreground: np.ndarray
    background: np.ndarray
    threshold: float
    n_objects: int


def _one_part_per_box(labels: np.ndarray, boxes) -> np.ndarray:
    """Each id one face-connected part inside every box (a crop holds one box), largest part kept.

    Clearing voxels for one box can split a part in an overlapping box, so
    the boxes are visited again until nothing changes.
    """
    for _ in range(len(boxes) + 1):
        changed = False
        for sl in boxes:
            part = labels[sl]
            kept = largest_parts(part)
            if not np.array_equal(kept, part):
                labels[sl] = kept
                changed = True
        if not changed:
            break
    return labels


def seed_group(plan: Plan, image, setup: SeedSetup, group) -> GroupSeeds:
    """Seed the boxes of one group as one region with the setup's threshold and lengths.

    The image is read over the bounding region of the group's boxes and seeded
    there; what lies outside every box of the group is then cleared, and each
    id keeps only its largest face-connected part, in the group and inside
    each of its boxes (the training crops).
    """
    mag = plan.magnification
    region = _bounds(plan, group)
    lo = tuple(s.start for s in region)
    hi = tuple(s.stop for s in region)
    full = Box(0, tuple(v * m for v, m in zip(lo, mag)), tuple(v * m for v, m in zip(hi, mag)))
    img = image_at_mag(image, full, mag)
    threshold = setup.threshold
    if threshold is None and setup.params.method != "local":
        threshold = _threshold([image_at_mag(image, b, mag) for b in group], setup.spacing, setup.params)
    seeds = seed_region(img, setup.spacing, setup.params, threshold=threshold, instance=setup.instance)
    inside = np.zeros(img.shape, bool)
    boxes = [relative_region(box_region(plan, b), lo) for b in group]
    for sl in boxes:
        inside[sl] = True
    labels = np.where(inside, seeds.labels, 0).astype(np.uint32)
    if setup.instance:
        labels = _one_part_per_box(largest_parts(labels), boxes)
    # the gaps carved between instances are background on purpose, not covered objects
    background = seeds.background & inside
    foreground = seeds.foreground & inside & ~seeds.background
    return GroupSeeds(region, labels, foreground, background, float(seeds.threshold))


def preview_box(plan: Plan, image, box_id: int, *, box_ids: Sequence[int] | None = None,
                class_name: str | None = None, params: SeedParams = SeedParams(),
                per_box_threshold: bool = False) -> tuple[BoxSeeds, SeedSetup]:
    """Exactly what Apply (``seed_boxes`` with the same arguments) writes into box ``box_id``.

    The threshold and the object size are computed over all chosen boxes
    (``box_ids``), and the box is seeded together with the boxes it overlaps
    or touches, as Apply does; only ids differ (Apply continues after the
    largest id already in the layer, in the same order).

    Returns
    -------
    seeds : BoxSeeds
    setup : SeedSetup
        The threshold, object size and lengths used.
    """
    kinds = {c.name: c.kind for c in plan.classes}
    name = class_name or plan.classes[0].name
    if name not in kinds:
        raise ValueError(f"the plan has no class {name!r}; its classes are {list(kinds)}.")
    chosen, skipped = usable_boxes(plan, choose_boxes(plan, box_ids))
    if box_id in skipped:
        raise ValueError(f"box {box_id} cannot be seeded: {skipped[box_id]}.")
    if box_id not in [b.id for b in chosen]:
        raise ValueError(f"box {box_id} is not among the chosen boxes; preview one of them.")
    if tuple(image.shape) != plan.image.shape:
        raise ValueError(f"the image has shape {tuple(image.shape)}; the plan was made for {plan.image.shape}.")
    setup = prepare_seeding(plan, image, chosen, params, instance=kinds[name] == "instance",
                            per_box_threshold=per_box_threshold)
    group = setup.group_of(box_id)
    return seed_group(plan, image, setup, group).crop(plan, plan.box(box_id)), setup
