"""Box sizes that fit the image: the preset's default, or the nearest size that does.

A preset's default box is meant for a large volume with (nearly) cubic voxels
at the magnification. :func:`fit_box_size` keeps it when it fits the image and
the voxels are not too anisotropic; otherwise it chooses the size that keeps
the preset's hard minimum, is physically closest to the preset's intended
shape, holds the 230,000 voxels a box should have when any size that fits
can, and is a multiple of the preset's minimum where possible. It says why in
one message, which the CLI prints and the dock shows.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..geometry.magnification import Triple, _as_int_triple, as_magnification
from .presets import MIN_BOX_VOXELS, Preset

__all__ = ["ANISOTROPY_LIMIT", "BoxFit", "fit_box_size"]

#: Voxels this much coarser along one axis than another make the default box
#: physically "absurd": it is refitted to the preset's intended shape.
ANISOTROPY_LIMIT = 1.5
#: Cost weights: physical shape, voxel count against the default's, a size that
#: is not a multiple of a preset size, a box below 230,000 voxels.
_W_SHAPE, _W_COUNT, _W_MULTIPLE, _W_FEW = 1.0, 1.0, 1.0, 10.0
_AXES = "zyx"


def _x(t) -> str:
    return "×".join(str(int(v)) for v in t)


@dataclass(frozen=True)
class BoxFit:
    """The box size chosen for an image.

    Attributes
    ----------
    size : tuple of int
        Box size ``(z, y, x)`` at the magnification.
    default : tuple of int
        The preset's default size at the magnification.
    message : str
        Why ``size`` differs from ``default`` (empty when it does not).
    reason : str
        The same, in a few words (for a narrow dock; empty when it does not).
    """

    size: Triple
    default: Triple
    message: str = ""
    reason: str = ""

    @property
    def changed(self) -> bool:
        """The chosen size is not the preset's default."""
        return self.size != self.default


def _too_small(preset: Preset, room: Triple, shape: Triple, mag: Triple) -> str:
    """The error for an image thinner than the preset's minimum along some axis."""
    bad = [a for a in range(3) if room[a] < preset.minimum[a]]
    parts = [f"{room[a]} voxels along {_AXES[a]}" for a in bad]
    fixes = []
    if any(mag[a] > 1 for a in bad):
        fixes.append("a lower magnification along " + "/".join(_AXES[a] for a in bad if mag[a] > 1))
    fixes.append(
        "the custom preset with a smaller minimum (e.g. "
        + _x(min(preset.minimum[a], room[a]) for a in range(3)) + ")")
    if preset.name != "instance":
        fixes.append("the instance preset (minimum 32×32×32)")
    return (
        f"no box fits: at magnification {_x(mag)} the image {_x(shape)} has only "
        f"{' and '.join(parts)}, fewer than the {preset.name} preset's minimum box "
        f"{_x(preset.minimum)} (z×y×x); use {' or '.join(fixes)}."
    )


def _options(axis: int, preset: Preset, target: float, room: int) -> list[int]:
    """Sizes worth trying along one axis: multiples of the minimum, the preset's
    sizes, the physical target and the whole axis, within [minimum, room]."""
    lo = preset.minimum[axis]
    cap = min(room, int(max(4 * preset.default_size[axis], 2 * target)))
    out = set(range(lo, cap + 1, lo))
    out.update([preset.default_size[axis], round(target), room, math.floor(target),
                math.ceil(target)])
    out.update(a[axis] for a in preset.alternatives)
    return sorted(v for v in out if lo <= v <= room)


def fit_box_size(preset: Preset, image_shape: Sequence[int], mag=1,
                 voxel_size: Sequence[float] = (1.0, 1.0, 1.0)) -> BoxFit:
    """Choose a box size at the magnification for an image.

    Parameters
    ----------
    preset : Preset
        Gives the hard minimum, the default size and the alternatives.
    image_shape : sequence of 3 int
        Full-resolution image shape ``(z, y, x)``.
    mag : int, str or sequence of int
        Magnification the box is sized at.
    voxel_size : sequence of 3 float
        Full-resolution voxel size ``(z, y, x)``; only its ratios matter.

    Returns
    -------
    BoxFit
        The preset's default when it fits the image and the voxels at the
        magnification are at most 1.5 times coarser along one axis than
        another; otherwise the best size by the rules below, with a message.

    Raises
    ------
    ValueError
        When even the preset's minimum does not fit: the message names the
        axis and what to do.

    Notes
    -----
    The preset's default size describes a shape for cubic voxels. With voxel
    size ``v`` at the magnification the same shape and voxel count is
    ``t = default * g / v`` voxels, ``g`` the geometric mean of ``v``. Along
    each axis the sizes tried are the multiples of the minimum up to four
    times the default, the default, the alternatives, ``t`` and the whole axis,
    between the minimum and the image. Among all combinations the one with the
    least cost wins: the squared deviation of the log physical shape from the
    default's (scale removed), plus the squared log ratio of its voxel count
    to the default's (an axis held up by the minimum does not inflate the
    others), plus 1 when the size is not a multiple of the minimum, the
    default or an alternative, plus 10 when it holds fewer than 230,000
    voxels while another combination holds more (for presets whose default
    holds that many). When the default wins it is kept without a message.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.presets import get_preset
    >>> inst = get_preset("instance")
    >>> fit_box_size(inst, (96, 384, 384)).size
    (64, 64, 64)
    >>> fit = fit_box_size(inst, (51, 120, 122), voxel_size=(2.18, 1, 1))
    >>> fit.size, fit.changed
    ((32, 96, 96), True)
    >>> fit_box_size(inst, (20, 512, 512))
    Traceback (most recent call last):
    ...
    ValueError: no box fits: at magnification 1×1×1 the image 20×512×512 has only 20 voxels along z, fewer than the instance preset's minimum box 32×32×32 (z×y×x); use the custom preset with a smaller minimum (e.g. 20×32×32).
    """
    shape = _as_int_triple(image_shape, "image shape", positive=True)
    m = as_magnification(mag)
    vs = tuple(float(v) for v in voxel_size)
    if len(vs) != 3 or not all(np.isfinite(v) and v > 0 for v in vs):
        raise ValueError(f"voxel size must be three positive numbers (z, y, x); got {voxel_size!r}.")
    room = tuple(s // f for s, f in zip(shape, m))
    if any(r < lo for r, lo in zip(room, preset.minimum)):
        raise ValueError(_too_small(preset, room, shape, m))
    v = np.array(vs) * np.array(m)
    default = preset.default_size
    ratio = float(v.max() / v.min())
    fits = all(d <= r for d, r in zip(default, room))
    if fits and ratio <= ANISOTROPY_LIMIT:
        return BoxFit(default, default)

    target = np.array(default) * float(np.exp(np.log(v).mean())) / v
    axes = [_options(a, preset, float(target[a]), room[a]) for a in range(3)]
    combos = np.array(list(itertools.product(*axes)), dtype=np.int64)
    # axes meant alike (same default and voxel size, neither held by the image or
    # the minimum) get the same size
    free = [preset.minimum[a] <= target[a] <= room[a] for a in range(3)]
    for a, b in itertools.combinations(range(3), 2):
        if default[a] == default[b] and v[a] == v[b] and free[a] and free[b]:
            alike = combos[:, a] == combos[:, b]
            combos = combos[alike] if alike.any() else combos
    logphys = np.log(combos * v) - np.log(default)
    shape_cost = ((logphys - logphys.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    count = combos.prod(axis=1)
    count_cost = np.log(count / math.prod(default)) ** 2
    bases = {preset.minimum, default, *preset.alternatives}
    multiple = np.zeros(len(combos), bool)
    for b in bases:
        multiple |= np.all(combos % np.array(b) == 0, axis=1)
    # a preset whose default holds 230,000 voxels keeps to that rule where any size can
    meant = math.prod(default) >= MIN_BOX_VOXELS and bool((count >= MIN_BOX_VOXELS).any())
    few = (count < MIN_BOX_VOXELS) & meant
    cost = (_W_SHAPE * shape_cost + _W_COUNT * count_cost + _W_MULTIPLE * ~multiple
            + _W_FEW * few)
    size = tuple(int(s) for s in combos[int(np.argmin(cost))])
    if size == default:
        return BoxFit(default, default)
    message, reason = _explain(preset, size, room, v, m, fits, ratio)
    return BoxFit(size, default, message, reason)


def _explain(preset: Preset, size: Triple, room: Triple, v: np.ndarray, mag: Triple,
             fits: bool, ratio: float) -> tuple[str, str]:
    """What was chosen instead of the default and why: in full, and in a few words."""
    default = preset.default_size
    why, brief = [], []
    if not fits:
        short = [f"{room[a]} voxels along {_AXES[a]}" for a in range(3) if default[a] > room[a]]
        why.append(f"the image has only {' and '.join(short)}")
        brief.append(f"only {' and '.join(short)}")
    if ratio > ANISOTROPY_LIMIT:
        coarse = "/".join(_AXES[a] for a in range(3) if v[a] == v.max())
        fine = "/".join(_AXES[a] for a in range(3) if v[a] == v.min())
        why.append(f"{coarse} voxels are {ratio:.3g}× coarser than {fine} voxels")
        brief.append(f"{coarse} voxels {ratio:.3g}× coarser")
    bases = [("the minimum", preset.minimum), ("the default", default),
             *(("the alternative " + _x(a), a) for a in preset.alternatives)]
    of = next((name for name, b in bases if all(s % k == 0 for s, k in zip(size, b))), None)
    n = math.prod(size)
    phys = np.array(size) * v
    message = (
        f"box {_x(size)} instead of the {preset.name} preset's {_x(default)} (z×y×x at "
        f"magnification {_x(mag)}): {', and '.join(why)}. {_x(size)} keeps the minimum "
        f"{_x(preset.minimum)}" + (f" (a multiple of {of})" if of else "")
        + f", holds {n:,} voxels" + ("" if n >= MIN_BOX_VOXELS else
                                     f" (no box of {MIN_BOX_VOXELS:,} fits)")
        + f" and is physically {_ratio(phys)} (z:y:x; the preset's shape is {_ratio(default)})."
    )
    return message, f"not the default {_x(default)}: {'; '.join(brief)}"


def _ratio(t) -> str:
    t = np.asarray(t, float)
    return ":".join(f"{p / t.min():.2g}" for p in t)
