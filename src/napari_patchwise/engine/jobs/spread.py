"""Spreading a total number of boxes across the images of a collection, within per-image bounds.

``patchwise propose A B C --n 30 --per-image 4,12`` asks for 30 boxes over
three images, at least 4 and at most 12 on each: :func:`spread_boxes` shares
the total in proportion to each image's size (a larger volume has more to
sample), then holds every share within the bounds. Deterministic: the same
inputs always give the same shares.
"""

from __future__ import annotations

import math


def parse_per_image(text: str) -> tuple[int, int]:
    """``MIN,MAX`` as two whole numbers ``0 <= MIN <= MAX``, ``MAX >= 1``.

    Examples
    --------
    >>> parse_per_image("2,8")
    (2, 8)
    >>> parse_per_image("8,2")
    Traceback (most recent call last):
    ...
    ValueError: --per-image takes MIN,MAX: two whole numbers with 0 <= MIN <= MAX and MAX >= 1 (e.g. 2,8); got '8,2'.
    """
    try:
        lo, hi = (int(v) for v in str(text).split(","))
    except ValueError:
        lo, hi = -1, -1
    if not (0 <= lo <= hi and hi >= 1):
        raise ValueError(f"--per-image takes MIN,MAX: two whole numbers with 0 <= MIN <= MAX and MAX >= 1 "
                         f"(e.g. 2,8); got {text!r}.")
    return lo, hi


def spread_boxes(total: int, weights, lo: int = 0, hi: int | None = None) -> tuple[int, ...]:
    """Shares of ``total`` boxes in proportion to ``weights``, each within ``[lo, hi]``.

    Shares are found by water-filling: one scale ``s`` such that the shares
    ``clip(s * weight, lo, hi)`` sum to ``total`` (images below ``lo`` get
    ``lo``, above ``hi`` get ``hi``, the others share the rest in proportion);
    whole boxes are handed out by largest remainder (ties to the earlier image). When the bounds cannot meet the
    total (``total < lo * k`` or ``total > hi * k``) the bounds win: every
    image gets ``lo`` (or ``hi``) and the sum differs from ``total``.

    Parameters
    ----------
    total : int
        Boxes to spread (>= 0).
    weights : sequence of float
        One positive weight per image (e.g. its voxel count).
    lo, hi : int
        Boxes per image at least and at most (``hi=None``: no upper bound).

    Returns
    -------
    tuple of int
        One share per image.

    Examples
    --------
    >>> spread_boxes(10, [1, 1, 2])
    (3, 2, 5)
    >>> spread_boxes(30, [1, 1, 10], lo=4, hi=12)
    (9, 9, 12)
    >>> spread_boxes(5, [1, 1, 1], lo=3)
    (3, 3, 3)
    """
    weights = [float(w) for w in weights]
    if not weights or min(weights) <= 0 or total < 0:
        raise ValueError("spreading boxes needs one positive weight per image and a total >= 0.")
    k = len(weights)
    hi = total if hi is None else hi
    if total <= lo * k:
        return (lo,) * k
    if total >= hi * k:
        return (hi,) * k
    def clipped(scale: float) -> list[float]:
        return [min(max(scale * w, lo), hi) for w in weights]

    below, above = 0.0, hi / min(weights)  # sum(clipped(above)) = hi * k > total
    for _ in range(200):  # the scale where the clipped shares sum to the total
        mid = (below + above) / 2
        below, above = (mid, above) if sum(clipped(mid)) < total else (below, mid)
    exact = clipped(above)
    shares = {i: min(math.floor(v + 1e-9), hi) for i, v in enumerate(exact)}
    rest = total - sum(shares.values())
    order = sorted((i for i in range(k) if shares[i] < hi), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:max(rest, 0)]:
        shares[i] += 1
    return tuple(shares[i] for i in range(k))


def spread_budget(budget: int, weights, box_voxels, lo: int = 0, hi: int | None = None) -> tuple[int, ...]:
    """Shares of boxes (as :func:`spread_boxes`) whose voxels, each image's at its own box size, reach ``budget``.

    The total is the smallest number of boxes whose spread holds at least
    ``budget`` voxels, counting every image's boxes at that image's box
    size; within the bounds (at most ``hi`` per image) it may hold fewer.

    Parameters
    ----------
    budget : int
        Voxels (at the magnification) the new boxes should hold in all.
    weights : sequence of float
        As for :func:`spread_boxes`.
    box_voxels : sequence of int
        Voxels of one box of each image.
    lo, hi : int
        Boxes per image at least and at most.

    Examples
    --------
    >>> spread_budget(3000, [1, 1], [1000, 100])   # the second image's boxes hold a tenth as much
    (3, 2)
    >>> spread_budget(3000, [1, 1], [1000, 1000])
    (2, 1)
    >>> spread_budget(10**9, [1, 1], [1000, 100], lo=1, hi=4)
    (4, 4)
    """
    box_voxels = [int(v) for v in box_voxels]
    if len(box_voxels) != len(list(weights)) or min(box_voxels, default=0) < 1 or budget < 0:
        raise ValueError("spreading a budget needs one box size (>= 1 voxel) per image and a budget >= 0.")
    k = len(box_voxels)
    cap = (hi if hi is not None else -(-budget // min(box_voxels)) + lo) * k

    def held(total: int) -> tuple[tuple[int, ...], int]:
        shares = spread_boxes(total, weights, lo, hi)
        return shares, sum(s * v for s, v in zip(shares, box_voxels))

    below, above = -1, cap  # the smallest total holding the budget (held grows with the total)
    if held(cap)[1] < budget:
        return held(cap)[0]
    while above - below > 1:
        mid = (below + above) // 2
        below, above = (below, mid) if held(mid)[1] >= budget else (mid, above)
    return held(above)[0]
