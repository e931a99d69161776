"""How many boxes a proposal adds when not told: the preset's target, or part of a small image.

Used by :func:`.propose.propose` and :func:`.propose.propose_by_uncertainty`.
"""

from __future__ import annotations

import math

from ..plan.plan import Plan
from ..plan.presets import TARGET_TOTAL_VOXELS

#: On an image smaller than the low voxel target, the default plan holds at most this share.
SMALL_IMAGE_SHARE = 0.5


def _voxels(size, mag) -> int:
    return math.prod(s // m for s, m in zip(size, mag))


def _default_count(plan: Plan, block, kept) -> int:
    """Boxes to add when neither a count nor a budget is given.

    Up to the preset's suggested count and 5 million voxels at the
    magnification; on an image holding fewer voxels than that, up to half of
    the image (at least one box when the plan has none), so the boxes are
    chosen by stratum instead of tiling the image.
    """
    mag = plan.magnification
    per_box = _voxels(block, mag)
    have = sum(_voxels(b.size, mag) for b in kept)
    volume = _voxels(plan.image.shape, mag)
    if volume < TARGET_TOTAL_VOXELS[0]:
        room = int(SMALL_IMAGE_SHARE * volume - have) // per_box
        return max(room, 0 if kept else 1)
    n_target = max(plan.preset.suggested_count, math.ceil(TARGET_TOTAL_VOXELS[0] / per_box))
    return max(n_target - len(kept), math.ceil(max(0, TARGET_TOTAL_VOXELS[0] - have) / per_box))


def _small_image_note(plan: Plan, n: int) -> str:
    volume = _voxels(plan.image.shape, plan.magnification)
    return (f"the image holds {volume:,} voxels at the magnification, fewer than the "
            f"{TARGET_TOTAL_VOXELS[0] / 1e6:g} million a plan should annotate: by default the "
            f"boxes fill at most half of it ({n} new box{'es' if n != 1 else ''}, "
            "one stratum after another); ask for more with a box count or a budget.")


def _stop(n_added, vox_added, n, budget) -> bool:
    return (n is not None and n_added >= n) or (budget is not None and vox_added >= budget)


def _limits(plan, cands, kept, n, budget):
    if n is not None and budget is not None:
        raise ValueError("give either a box count (n) or a voxel budget, not both.")
    if n is not None and (int(n) != n or n < 0):
        raise ValueError(f"the box count must be a whole number >= 0; got {n!r}.")
    if budget is not None and budget <= 0:
        raise ValueError(f"the voxel budget must be positive; got {budget!r}.")
    notes = []
    if n is None and budget is None:  # fill the plan up to the preset's target
        n = _default_count(plan, cands.block, kept)
        if _voxels(plan.image.shape, plan.magnification) < TARGET_TOTAL_VOXELS[0]:
            notes.append(_small_image_note(plan, n))
    return n, budget, notes
