"""Where boxes lie in the volume: the clustered-boxes check and the halves it cuts the volume in.

Used by :func:`.validation.validate_plan` (the ``clustered`` finding) and by the
proposal's picker (:mod:`.selection`), so a proposal keeps clear of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .box import Box
from .magnification import Triple

if TYPE_CHECKING:
    from .validation import Finding


def _finding(code, message):
    from .validation import Finding  # validation imports this module

    return Finding("warning", code, None, message)


def split_axes(shape, extent) -> list[bool]:
    """Axes the clustered-boxes check cuts in two: at least 1.5 box extents long.

    Examples
    --------
    >>> split_axes((96, 384, 60), (64, 64, 64))
    [True, True, False]
    """
    return [bool(s >= 1.5 * e) for s, e in zip(shape, extent)]


def axis_halves(centres, shape, extent) -> np.ndarray:
    """Half (0 low, 1 high; -1 on an axis not split) of each box centre, per axis.

    Examples
    --------
    >>> axis_halves([[32, 100, 30]], (96, 384, 60), (64, 64, 64)).tolist()
    [[0, 0, -1]]
    """
    c = np.asarray(centres, float)
    half = (c >= np.asarray(shape) / 2).astype(int)
    return np.where(split_axes(shape, extent), half, -1)


def _cluster_finding(boxes: Sequence[Box], shape: Triple) -> Finding | None:
    """Warn when boxes crowd one part of the volume while other parts are empty.

    The volume is cut in two along every axis at least 1.5 times the median
    box extent (so boxes can sit in either half; z included: a 96-plane
    stack with 64-plane boxes is split); each box counts in the part holding
    its centre. The plan is clustered when at least three boxes all lie on
    one side of a split axis, or when at least half of the parts hold no box
    while one part holds at least half of the boxes (and at least three).
    """
    n = len(boxes)
    if n < 2:
        return None
    median = np.median([b.size for b in boxes], axis=0)
    splits = [2 if split else 1 for split in split_axes(shape, median)]
    n_parts = math.prod(splits)
    if n_parts < 2:
        return None
    crowded = _crowded_part(boxes, shape, splits) if n >= n_parts else None
    return crowded or _one_sided(boxes, shape, splits)


def _one_sided(boxes: Sequence[Box], shape: Triple, splits) -> Finding | None:
    """Every box (at least three) on one side of a split axis."""
    n = len(boxes)
    for ax in range(3):  # every box on one side of an axis
        if splits[ax] < 2 or n < 3:
            continue
        low = sum(b.center[ax] < shape[ax] / 2 for b in boxes)
        if low in (0, n):
            side, half = ("low", (shape[ax] // 2, shape[ax] - 1)) if low else (
                "high", (0, shape[ax] // 2 - 1))
            a = "zyx"[ax]
            return _finding(
                "clustered",
                f"all {n} boxes have their centre in the {side} half along {a}, none in "
                f"{a} {half[0]}–{half[1]}; move some there so the plan sees the whole volume.")
    return None


def _crowded_part(boxes: Sequence[Box], shape: Triple, splits) -> Finding | None:
    """One part holds at least half of the boxes while half of the parts hold none."""
    n, n_parts = len(boxes), math.prod(splits)
    counts: dict[tuple[int, ...], int] = {}
    for b in boxes:
        key = tuple(
            min(k - 1, int(c * k // s)) if k > 1 else 0 for c, k, s in zip(b.center, splits, shape)
        )
        counts[key] = counts.get(key, 0) + 1
    empty = n_parts - len(counts)
    crowded_key, crowded = max(counts.items(), key=lambda kv: kv[1])
    if 2 * empty < n_parts or crowded < max(3, math.ceil(n / 2)):
        return None
    where = ", ".join(
        f"{'z' if ax == 0 else 'y' if ax == 1 else 'x'} {('low' if k == 0 else 'high')} half"
        for ax, (k, sp) in enumerate(zip(crowded_key, splits))
        if sp > 1
    )
    return _finding(
        "clustered",
        f"{crowded} of {n} boxes lie in one part of the volume ({where}) while {empty} of "
        f"{n_parts} parts have none; spread boxes over the volume.",
    )
