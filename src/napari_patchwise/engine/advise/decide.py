"""From measures to advice: problem types, trainer, magnification, box size and box count.

The rules, in one place (thresholds are module constants):

- **snr**: the signal-to-noise (:mod:`.snr`) is below :data:`SNR_LOW`;
  below :data:`SNR_SEVERE` the image is extremely noisy.
- **boundary**: at least :data:`TOUCHING` of the objects touch another: the
  boundaries between them must be learned.
- **topology**: the objects are slender (volume-weighted skeleton length over
  thickness at least :data:`SLENDER`) or elongated (principal axes ratio at
  least :data:`ELONGATED`): thin, long or branching structures.
- **none**: none of these.

Trainer: nnU-Net for topology, a semantic mask or an extremely noisy image;
StarDist for compact star-convex objects standing apart in a background
(at least :data:`STAR_CONVEX_SHARE` of them star-convex, foreground below
:data:`DENSE`); Cellpose otherwise (touching or irregular cells with clear
boundaries). Box count by difficulty (the rescue-segmentation notes): moderate
5–10, difficult 3D 10–30, extremely noisy 30–50, raised within the range to
reach the preset's 5 million annotated voxels. The magnification keeps the
smallest structures :data:`MIN_ACROSS` voxels across, and with a boundary
problem is at most :data:`BOUNDARY_FACTOR` along any axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..geometry.magnification import Triple, as_magnification
from ..plan.boxfit import fit_box_size
from ..plan.presets import TARGET_TOTAL_VOXELS, Preset
from .objects import ObjectMeasures

__all__ = ["BOX_RANGES", "box_count", "coarsest_magnification", "limit_for_boundaries", "problem_types",
           "recommend_trainer"]

SNR_LOW = 2.5
SNR_SEVERE = 1.0
TOUCHING = 0.3
SLENDER = 8.0
ELONGATED = 4.0
STAR_CONVEX_SHARE = 0.8
DENSE = 0.6
#: The smallest structures should stay at least this many voxels across at the magnification.
MIN_ACROSS = 4
#: Largest downsampling factor considered along an axis.
MAX_FACTOR = 16
#: Largest factor along any axis for a boundary problem: the boundaries between touching
#: objects are a voxel or two wide and blur first.
BOUNDARY_FACTOR = 2
#: Boxes to plan by difficulty (low, high).
BOX_RANGES = {"moderate": (5, 10), "difficult": (10, 30), "extreme": (30, 50)}


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def problem_types(snr: float, objects: ObjectMeasures | None) -> tuple[list[str], list[str]]:
    """The problem types and why.

    Examples
    --------
    >>> problem_types(8.0, None)
    (['none'], ['signal-to-noise 8 is fine (2.5 or more); no objects were found to measure.'])
    >>> problem_types(0.6, None)[0]
    ['snr']
    """
    problems, why = [], []
    if math.isfinite(snr) and snr < SNR_LOW:
        problems.append("snr")
        how = "extremely noisy" if snr < SNR_SEVERE else "noisy"
        why.append(f"signal-to-noise {snr:.2g} is below {SNR_LOW}: {how}.")
    if objects is not None and objects.touching_fraction is not None and objects.touching_fraction >= TOUCHING:
        problems.append("boundary")
        why.append(f"{_pct(objects.touching_fraction)} of the objects touch another: the boundaries between "
                   "them must be learned.")
    if objects is not None and (objects.slenderness >= SLENDER or objects.elongation >= ELONGATED):
        problems.append("topology")
        why.append(f"the objects are thin, long or branching (skeleton {objects.slenderness:.3g} times as long as "
                   f"they are thick, principal axes ratio {objects.elongation:.2g}, "
                   f"{_pct(objects.branching_fraction)} of their volume branching).")
    if not problems:
        problems = ["none"]
        fine = f"signal-to-noise {snr:.2g} is fine ({SNR_LOW} or more)" if math.isfinite(snr) else \
            "signal-to-noise could not be measured"
        why.append(fine + ("; no objects were found to measure." if objects is None else
                           "; objects are compact and mostly apart."))
    return problems, why


def recommend_trainer(problems: Sequence[str], snr: float, objects: ObjectMeasures | None,
                      foreground_fraction: float) -> tuple[str, list[str]]:
    """The trainer to recommend and why.

    Examples
    --------
    >>> recommend_trainer(["snr"], 0.5, None, 0.1)
    ('nnunet', ['extremely noisy (signal-to-noise below 1): nnU-Net learns from 3D context without a shape model.'])
    """
    if "topology" in problems:
        return "nnunet", ["thin, long or branching structures: nnU-Net segments them (or their boundaries) in 3D "
                          "without assuming a shape; StarDist's star-convex polyhedra and Cellpose's flows to a "
                          "centre do not fit them."]
    if objects is not None and objects.source == "mask":
        return "nnunet", ["the labels are a mask (one class, no instances): a semantic task, nnU-Net's."]
    if math.isfinite(snr) and snr < SNR_SEVERE:
        return "nnunet", [f"extremely noisy (signal-to-noise below {SNR_SEVERE:g}): nnU-Net learns from 3D context "
                          "without a shape model."]
    if objects is None:
        return "nnunet", ["no objects could be measured: nnU-Net makes no assumption about their shape."]
    star = objects.star_convex_fraction
    if star >= STAR_CONVEX_SHARE and objects.elongation < ELONGATED and foreground_fraction < DENSE:
        return "stardist", [f"compact objects apart in a background ({_pct(star)} star-convex, foreground "
                            f"{_pct(foreground_fraction)}): StarDist's star-convex polyhedra fit them"
                            + (" and split the touching ones." if "boundary" in problems else ".")]
    why = []
    if "boundary" in problems:
        why.append("touching")
    if star < STAR_CONVEX_SHARE:
        why.append(f"irregular (only {_pct(star)} star-convex)")
    if foreground_fraction >= DENSE:
        why.append(f"densely packed (foreground {_pct(foreground_fraction)})")
    return "cellpose", [f"{', '.join(why) or 'irregular'} cells with clear boundaries: Cellpose's flows follow "
                        "any shape and separate neighbours."]


def coarsest_magnification(smallest: float, voxel_size: Sequence[float], *,
                           across: int = MIN_ACROSS, max_factor: int = MAX_FACTOR) -> Triple:
    """The coarsest power-of-two magnification keeping ``smallest`` at least ``across`` voxels.

    Each axis is downsampled on its own (anisotropic magnifications such as
    ``(1, 2, 2)`` are allowed), by the largest power of two up to
    ``max_factor`` at which ``smallest / (voxel_size * factor) >= across``.

    Examples
    --------
    >>> coarsest_magnification(2.0, (0.284, 0.128, 0.128))
    (1, 2, 2)
    >>> coarsest_magnification(10.0, (10.0, 10.0, 10.0))     # structures one voxel thin
    (1, 1, 1)
    >>> coarsest_magnification(float("nan"), (1.0, 1.0, 1.0))
    (1, 1, 1)
    """
    out = []
    for v in voxel_size:
        f = 1
        while math.isfinite(smallest) and f * 2 <= max_factor and smallest / (float(v) * f * 2) >= across:
            f *= 2
        out.append(f)
    return as_magnification(out)


def limit_for_boundaries(mag: Sequence[int], problems: Sequence[str]) -> Triple:
    """``mag`` at most :data:`BOUNDARY_FACTOR` along every axis when there is a boundary problem.

    Examples
    --------
    >>> limit_for_boundaries((2, 8, 8), ["boundary"]), limit_for_boundaries((2, 8, 8), ["none"])
    ((2, 2, 2), (2, 8, 8))
    """
    if "boundary" not in problems:
        return as_magnification(mag)
    return as_magnification([min(int(f), BOUNDARY_FACTOR) for f in mag])


def box_fit(preset: Preset, shape: Sequence[int], mag: Triple, voxel_size: Sequence[float]):
    """The box size at ``mag`` (the boxfit rule), halving the largest factor while no box fits;
    ``(mag, size, note)``; at magnification 1 with no room the box is the whole image."""
    mag = tuple(mag)
    while True:
        try:
            return mag, fit_box_size(preset, shape, mag, voxel_size).size, ""
        except ValueError as e:
            if max(mag) == 1:
                return mag, tuple(int(s) for s in shape), f"{e} The box is the whole image."
            big = max(range(3), key=lambda a: mag[a])
            mag = tuple(m // 2 if a == big else m for a, m in enumerate(mag))


def box_count(problems: Sequence[str], snr: float, box_size: Sequence[int]) -> tuple[int, str, str]:
    """How many boxes to plan: ``(count, difficulty, why)``.

    Examples
    --------
    >>> box_count(["none"], 9.0, (64, 64, 64))[:2]
    (10, 'moderate')
    >>> box_count(["boundary"], 9.0, (64, 64, 64))[:2]
    (20, 'difficult')
    >>> box_count(["snr", "boundary"], 0.5, (64, 64, 64))[:2]
    (50, 'extreme')
    """
    real = [p for p in problems if p != "none"]
    if math.isfinite(snr) and snr < SNR_SEVERE:
        difficulty, n = "extreme", 40 + 10 * (len(real) > 1)
    elif real:
        difficulty, n = "difficult", 15 + 10 * (len(real) > 1)
    else:
        difficulty, n = "moderate", 8
    lo, hi = BOX_RANGES[difficulty]
    per_box = math.prod(int(s) for s in box_size)
    need = math.ceil(TARGET_TOTAL_VOXELS[0] / per_box)
    n = min(hi, max(n, need))
    words = {"moderate": "a moderate problem", "difficult": "a difficult 3D problem",
             "extreme": "an extremely noisy image"}[difficulty]
    why = (f"{words}: plan {lo}–{hi} boxes; {n} boxes of {'×'.join(map(str, box_size))} hold "
           f"{n * per_box / 1e6:.1f} million voxels ({TARGET_TOTAL_VOXELS[0] // 10**6}–"
           f"{TARGET_TOTAL_VOXELS[1] // 10**6} million recommended).")
    return n, difficulty, why
