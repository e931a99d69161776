"""Box rules: findings for each box and for the whole plan.

Every rule returns :class:`Finding` records; the engine never talks to the user
directly. Errors block export of their box, warnings are shown and carried into
export manifests, infos are advice.

Rules (sizes and counts at the plan's magnification):

=========================  ========  ==============================================
code                       severity  when
=========================  ========  ==============================================
``outside-image``          error     the box reaches outside the image
``not-aligned``            error     ``lo`` or the size is not a multiple of the
                                     magnification
``below-minimum``          error     smaller than the preset's hard minimum
``border-too-wide``        error     narrower than ``2 × ignore_border + 1`` along
                                     an axis: nothing is left inside the preset's
                                     ignore border (:mod:`.border`)
``not-multiple``           info      size is not an integer multiple of the
                                     preset's minimum (or default) size
``few-voxels``             warning   fewer than 230,000 voxels (an info when the
                                     whole image holds fewer)
``overlap``                warning   shares voxels with another box
``total-voxels``           warning   the plan's total is outside 5–10 million
``image-share``            info      instead of ``total-voxels`` when the image
                                     holds fewer than 5 million voxels: the
                                     share of the image the boxes hold
``few-boxes``              info      fewer than 10 boxes
``clustered``              warning   boxes crowd one part of the volume while
                                     other parts have none
=========================  ========  ==============================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..findings import SEVERITIES, Finding
from ..geometry.box import Box
from .border import border_problem
from .clustering import _cluster_finding
from ..geometry.magnification import Triple, as_magnification
from ..geometry.overlaps import overlap_partners
from .presets import MIN_BOX_VOXELS, MIN_BOXES, TARGET_TOTAL_VOXELS, Preset


def voxels_at(box: Box, mag: Sequence[int]) -> int:
    """Number of voxels a box covers at magnification ``mag``.

    Examples
    --------
    >>> voxels_at(Box(1, (0, 0, 0), (32, 170, 170)), (1, 2, 2))
    231200
    """
    return math.prod(-(-s // m) for s, m in zip(box.size, mag))


def image_share_text(total: int, volume: int, mag) -> str:
    """What the boxes hold of an image smaller than the plan's voxel target.

    Examples
    --------
    >>> image_share_text(294_912, 746_640, (1, 1, 1))
    'the boxes hold 39.5 % of the image (294,912 of 746,640 voxels at magnification 1×1×1); the whole image is smaller than the 5–10 million voxels a plan aims for.'
    """
    lo, hi = TARGET_TOTAL_VOXELS
    return (f"the boxes hold {100 * total / max(volume, 1):.3g} % of the image ({total:,} of "
            f"{volume:,} voxels at magnification {_fmt(mag)}); the whole image is smaller than "
            f"the {lo / 1e6:g}–{hi / 1e6:g} million voxels a plan aims for.")


def voxel_target_text(boxes: Sequence[Box], image_shape: Sequence[int], mag) -> str:
    """One line on the plan's annotated voxels against the target, for a dock.

    Examples
    --------
    >>> voxel_target_text([Box(1, (0, 0, 0), (64, 64, 64))], (96, 384, 384), 1)
    '0.26 M voxels at magnification 1×1×1 ✗ target 5–10 M'
    >>> voxel_target_text([Box(1, (0, 0, 0), (32, 96, 96))], (51, 120, 122), 1)
    '0.29 M voxels at magnification 1×1×1, 39.5 % of the image (smaller than the 5–10 M target)'
    """
    m = as_magnification(mag)
    total = sum(voxels_at(b, m) for b in boxes)
    volume = math.prod(int(s) // f for s, f in zip(image_shape, m))
    lo, hi = TARGET_TOTAL_VOXELS
    text = f"{total / 1e6:.2f} M voxels at magnification {_fmt(m)}"
    if volume < lo:
        return (text + f", {100 * total / max(volume, 1):.3g} % of the image (smaller than the "
                f"{lo / 1e6:g}–{hi / 1e6:g} M target)")
    return text + f" {'✓' if lo <= total <= hi else '✗'} target {lo / 1e6:g}–{hi / 1e6:g} M"


def _check_shape(image_shape) -> Triple:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3:
        raise ValueError(
            f"the image must be 3D (z, y, x); got shape {shape}. Add a z axis or pick a 3D image."
        )
    return shape  # type: ignore[return-value]


def _fmt(t: Sequence[int]) -> str:
    return "×".join(str(int(v)) for v in t)


def validate_box(box: Box, image_shape: Sequence[int], mag, preset: Preset) -> list[Finding]:
    """Check one box against the image bounds, the magnification grid and the preset.

    Parameters
    ----------
    box : Box
        Box in full-resolution voxels.
    image_shape : sequence of int
        Full-resolution image shape ``(z, y, x)``.
    mag : int, str or sequence of int
        Magnification the box will be annotated at.
    preset : Preset
        Size rules.

    Returns
    -------
    list of Finding

    Examples
    --------
    >>> from napari_patchwise.engine import get_preset
    >>> ok = Box(1, (0, 0, 0), (32, 170, 170))
    >>> validate_box(ok, (64, 256, 256), (1, 2, 2), get_preset("neuron"))
    []
    >>> bad = Box(2, (1, 0, 1), (29, 170, 171))
    >>> [f.code for f in validate_box(bad, (64, 256, 256), (1, 2, 2), get_preset("neuron"))]
    ['not-aligned', 'below-minimum', 'not-multiple', 'few-voxels']
    >>> thin = Box(3, (0, 0, 0), (32, 160, 160))
    >>> [f.code for f in validate_box(thin, (160, 160, 160), 1, get_preset("membrane"))]
    ['below-minimum', 'border-too-wide', 'not-multiple']
    """
    return _box_findings(box, _check_shape(image_shape), as_magnification(mag), preset)


def _box_findings(box: Box, shape: Triple, m: Triple, preset: Preset) -> list[Finding]:
    """:func:`validate_box` on a checked shape and magnification (once per plan, not per box)."""
    out: list[Finding] = []
    bid = box.id
    size = box.size
    if any(l < 0 for l in box.lo) or any(h > s for h, s in zip(box.hi, shape)):
        out.append(
            Finding(
                "error",
                "outside-image",
                bid,
                f"box [{_fmt(box.lo)}, {_fmt(box.hi)}) reaches outside the image {_fmt(shape)} (z×y×x); "
                "move it inside or clip it.",
            )
        )
    bad_lo = [a for a, (l, f) in zip("zyx", zip(box.lo, m)) if l % f]
    bad_size = [a for a, (s, f) in zip("zyx", zip(size, m)) if s % f]
    if bad_lo or bad_size:
        parts = []
        if bad_lo:
            parts.append(f"position {_fmt(box.lo)} (axes {''.join(bad_lo)})")
        if bad_size:
            parts.append(f"size {_fmt(size)} (axes {''.join(bad_size)})")
        out.append(
            Finding(
                "error",
                "not-aligned",
                bid,
                f"{' and '.join(parts)} not divisible by the magnification {_fmt(m)}; "
                "snap the box to the magnification grid.",
            )
        )
    size_at = tuple(s / f for s, f in zip(size, m))
    if any(s < mn for s, mn in zip(size_at, preset.minimum)):
        out.append(
            Finding(
                "error",
                "below-minimum",
                bid,
                f"size {_fmt(int(s) for s in size_at)} at magnification {_fmt(m)} is below the "
                f"{preset.name} minimum {_fmt(preset.minimum)} (z×y×x); enlarge the box.",
            )
        )
    if preset.ignore_border:
        problem = border_problem(tuple(-(-s // f) for s, f in zip(size, m)), preset.ignore_border)
        if problem:
            out.append(Finding("error", "border-too-wide", bid, f"{problem[0].upper()}{problem[1:]}"))
    bases = {preset.minimum, preset.default_size, *preset.alternatives}
    if not any(all(s % b == 0 for s, b in zip(size_at, base)) for base in bases):
        out.append(
            Finding(
                "info",
                "not-multiple",
                bid,
                f"size {_fmt(int(s) for s in size_at)} at magnification {_fmt(m)} is not an integer "
                f"multiple of the {preset.name} box size {_fmt(preset.minimum)}"
                + (f" or {_fmt(preset.default_size)}" if preset.default_size != preset.minimum else "")
                + "; multiples tile training patches best.",
            )
        )
    n = math.prod(-(-s // f) for s, f in zip(size, m))
    whole = math.prod(s // f for s, f in zip(shape, m))
    if n < MIN_BOX_VOXELS <= whole:
        out.append(
            Finding(
                "warning",
                "few-voxels",
                bid,
                f"{n:,} voxels at magnification {_fmt(m)}, fewer than {MIN_BOX_VOXELS:,}; "
                "make the box larger.",
            )
        )
    elif n < MIN_BOX_VOXELS:  # no box can reach the rule: say so, without a warning colour
        out.append(
            Finding(
                "info",
                "few-voxels",
                bid,
                f"{n:,} voxels at magnification {_fmt(m)}, fewer than {MIN_BOX_VOXELS:,}, but "
                f"the whole image holds only {whole:,}: no box can hold more.",
            )
        )
    return out


def _overlap_findings(boxes: Sequence[Box]) -> list[Finding]:
    partners = overlap_partners(boxes)  # a grid index: n log n, not every pair
    return [
        Finding(
            "warning",
            "overlap",
            bid,
            f"overlaps box{'es' if len(p) > 1 else ''} {', '.join(map(str, sorted(p)))}; "
            "overlapping voxels are annotated once but counted twice, and leak between splits.",
        )
        for bid, p in partners.items()
    ]


def validate_plan(
    boxes: Sequence[Box], image_shape: Sequence[int], mag, preset: Preset
) -> list[Finding]:
    """Check every box and the plan as a whole.

    Parameters
    ----------
    boxes : sequence of Box
    image_shape : sequence of int
        Full-resolution image shape ``(z, y, x)``.
    mag : int, str or sequence of int
        Magnification.
    preset : Preset

    Returns
    -------
    list of Finding
        Per-box findings in box order, then plan findings.

    Examples
    --------
    >>> from napari_patchwise.engine import get_preset
    >>> boxes = [Box(i, (0, 0, 64 * i), (64, 64, 64 * i + 64)) for i in range(3)]
    >>> [(f.code, f.box_id) for f in validate_plan(boxes, (64, 64, 192), 1, get_preset("instance"))]
    [('image-share', None), ('few-boxes', None)]
    """
    m = as_magnification(mag)
    shape = _check_shape(image_shape)
    out: list[Finding] = []
    for b in sorted(boxes, key=lambda b: b.id):
        out.extend(_box_findings(b, shape, m, preset))
    out.extend(_overlap_findings(boxes))
    out.sort(key=lambda f: (f.box_id, SEVERITIES.index(f.severity)))
    total = sum(voxels_at(b, m) for b in boxes)
    lo, hi = TARGET_TOTAL_VOXELS
    volume = math.prod(s // f for s, f in zip(shape, m))
    if volume < lo:  # the target cannot be reached: say how much of the image is planned
        out.append(Finding("info", "image-share", None, image_share_text(total, volume, m)))
    elif not lo <= total <= hi:
        out.append(
            Finding(
                "warning",
                "total-voxels",
                None,
                f"the plan covers {total:,} voxels at magnification {_fmt(m)}; aim for "
                f"{lo / 1e6:g}–{hi / 1e6:g} million "
                + ("(add boxes)." if total < lo else "(remove or shrink boxes)."),
            )
        )
    if len(boxes) < MIN_BOXES:
        out.append(
            Finding(
                "info",
                "few-boxes",
                None,
                f"{len(boxes)} box{'es' if len(boxes) != 1 else ''}; many small, well-distributed "
                f"boxes (at least {MIN_BOXES}) train better than a few large ones.",
            )
        )
    clustered = _cluster_finding(boxes, shape)
    if clustered is not None:
        out.append(clustered)
    return out
