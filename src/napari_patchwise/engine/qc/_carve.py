"""Separation kernels behind :mod:`.separation`: which voxels to carve, and writing them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._touchscan import pair_index


@dataclass(frozen=True)
class SkippedPair:
    """A touching pair that :func:`plan_carve` left touching, and why.

    Attributes
    ----------
    a, b : int
        The ids, ``a < b``.
    reason : str
        Why neither side could be carved.

    Examples
    --------
    >>> str(SkippedPair(2, 3, "carving either side would delete a whole object"))
    '2–3: carving either side would delete a whole object'
    """

    a: int
    b: int
    reason: str

    def __str__(self) -> str:
        return f"{self.a}–{self.b}: {self.reason}"


def plan_carve(c, shape, count):
    """Which voxels to clear so that the pairs of contacts ``c`` stop touching.

    ``count(ids)`` gives the voxel counts of ``ids``. Each pair starts by
    carving its bigger id (ties: the higher id), moves on to the other one when
    that id would vanish (all its pairs together) and is skipped when that
    would vanish too. Returns ``(voxels (K, 3), separated pairs, skipped)``, ``skipped``
    a tuple of :class:`SkippedPair`.
    """
    rows, inv = pair_index(np.minimum(c.a, c.b), np.maximum(c.a, c.b))
    ids = np.unique(rows)
    held = count(ids)
    size = held[np.searchsorted(ids, rows)]
    first = np.where(size[:, 0] > size[:, 1], rows[:, 0], rows[:, 1])
    other = np.where(first == rows[:, 0], rows[:, 1], rows[:, 0])
    state = np.zeros(len(rows), dtype=np.int8)
    flat = np.ravel_multi_index(np.concatenate([c.first, c.second]).T, shape)
    both = np.concatenate([c.a, c.b])
    while True:  # every round moves some pairs on: carve first -> carve other -> skip
        carve = np.where(state == 0, first, other)
        use = np.flatnonzero(state[inv] < 2)
        at = use + np.where(c.a[use] == carve[inv[use]], 0, len(c.a))  # the end to clear
        voxels, once = np.unique(flat[at], return_index=True)
        cut, lost = np.unique(both[at[once]], return_counts=True)
        gone = cut[lost >= held[np.searchsorted(ids, cut)]]
        bad = (state < 2) & np.isin(carve, gone)
        if not bad.any():
            break
        state[bad] += 1
    skipped = tuple(SkippedPair(int(p), int(q), "carving either side would delete a whole object "
                                f"(id {int(p)} or id {int(q)})") for p, q in rows[state == 2].tolist())
    return (np.stack(np.unravel_index(voxels, shape), axis=1).astype(np.int64),
            rows[state < 2], skipped)


def as_pairs(pairs) -> np.ndarray:
    """``pairs`` as an int64 array of shape (M, 2) with the smaller id first."""
    want = np.asarray(pairs)
    if want.size and (want.dtype.kind not in "iu" or want.shape[-1:] != (2,)):
        raise ValueError(f"pairs must be whole-number ids, shape (M, 2); got {want.dtype} "
                         f"values of shape {want.shape}.")
    return np.sort(want.reshape(-1, 2).astype(np.int64), axis=1)


def of_pairs(lo, hi, want) -> np.ndarray:
    """Which rows of ``(lo, hi)`` are one of the rows of ``want``."""
    info = np.iinfo(lo.dtype)
    want = want[((want >= info.min) & (want <= info.max)).all(axis=1)]  # ids that can occur
    _, inv = pair_index(np.concatenate([want[:, 0].astype(lo.dtype), lo]),
                        np.concatenate([want[:, 1].astype(lo.dtype), hi]))
    return np.isin(inv[len(want):], inv[:len(want)])


def check_voxels(shape, background, voxels) -> np.ndarray:
    """``voxels`` as (K, 3) int64 after checking they and ``background`` fit ``shape``."""
    if background is not None and tuple(background.shape) != shape:
        raise ValueError(f"background has shape {tuple(background.shape)} but the labels have "
                         f"{shape}; pass the background layer of these labels, or None.")
    v = np.asarray(voxels, dtype=np.int64).reshape(-1, 3)
    if len(v) and (v.min() < 0 or np.any(v.max(axis=0) >= shape)):
        raise ValueError(f"the separation has voxels outside the labels' shape {shape}; "
                         "plan it with separate() on these labels.")
    return v


def write_voxels(arr, voxels: np.ndarray, value) -> int:
    """Set ``arr`` to ``value`` at ``voxels`` by read-modify-write of their bounding
    box (basic slices only); returns how many of them held something else before."""
    lo = voxels.min(axis=0)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, voxels.max(axis=0) + 1))
    at = tuple((voxels - lo).T)
    block = np.array(arr[box])
    changed = int(np.count_nonzero(block[at] != value))
    block[at] = value
    arr[box] = block
    return changed
