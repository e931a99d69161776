"""Where boxes lie in the volume: the clustered-boxes check and the halves it cuts the volume in.

Used by :func:`.validation.validate_plan` (the ``clustered`` finding) and by the
proposal's picker (:mod:`.selection`), so a proposal keeps clear of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..findings import Finding
from ..geometry.box import Box
from ..geometry.magnification import Triple



def _finding(code, message):
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
    corners = np.array([(*b.lo, *b.hi) for b in boxes], float)
    median = np.median(corners[:, 3:] - corners[:, :3], axis=0)
    splits = [2 if split else 1 for split in split_axes(shape, median)]
    n_parts = math.prod(splits)
    if n_parts < 2:
        return None
    centres = (corners[:, :3] + corners[:, 3:]) / 2
    crowded = _crowded_part(centres, shape, splits) if n >= n_parts else None
    return crowded or _one_sided(centres, shape, splits)


def _one_sided(centres: np.ndarray, shape: Triple, splits) -> Finding | None:
    """Every box (at least three) on one side of a split axis."""
    n = len(centres)
    for ax in range(3):  # every box on one side of an axis
        if splits[ax] < 2 or n < 3:
            continue
        low = int(np.count_nonzero(centres[:, ax] < shape[ax] / 2))
        if low in (0, n):
            side, half = ("low", (shape[ax] // 2, shape[ax] - 1)) if low else (
                "high", (0, shape[ax] // 2 - 1))
            a = "zyx"[ax]
            return _finding(
                "clustered",
                f"all {n} boxes have their centre in the {side} half along {a}, none in "
                f"{a} {half[0]}–{half[1]}; move some there so the plan sees the whole volume.")
    return None


def _crowded_part(centres: np.ndarray, shape: Triple, splits) -> Finding | None:
    """One part holds at least half of the boxes while half of the parts hold none."""
    n, n_parts = len(centres), math.prod(splits)
    k = np.asarray(splits)
    part = np.where(k > 1, np.minimum(k - 1, np.floor_divide(centres * k, np.asarray(shape, float))), 0)
    keys, first, counts = np.unique(part.astype(np.int64), axis=0, return_index=True,
                                    return_counts=True)
    empty = n_parts - len(keys)
    top = np.flatnonzero(counts == counts.max())
    pick = top[np.argmin(first[top])]  # on a tie, the part of the earliest box
    crowded_key, crowded = tuple(int(v) for v in keys[pick]), int(counts[pick])
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
