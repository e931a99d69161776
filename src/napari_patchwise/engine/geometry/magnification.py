"""Magnifications: integer downsampling factors per axis, and snapping to their grid.

A magnification is a tuple ``(mz, my, mx)`` of positive integers. Magnification
1 is full resolution; ``(1, 2, 2)`` halves y and x. Boxes are stored in
full-resolution voxels; their ``lo`` and size must be multiples of the
magnification so that they map onto whole voxels of the downsampled grid the
annotations live on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

Triple = tuple[int, int, int]


def _as_int_triple(value, what: str, *, positive: bool) -> Triple:
    if isinstance(value, str):
        parts = [p for p in value.replace("x", ",").replace(" ", ",").split(",") if p]
        if len(parts) == 1 and what == "magnification":
            parts = parts * 3
    elif value is None or isinstance(value, bool):
        raise ValueError(f"{what} must be three whole numbers (z, y, x); got {value!r}.")
    elif np.isscalar(value):
        parts = [value] * 3
    else:
        try:
            parts = list(value)
        except TypeError:
            raise ValueError(f"{what} must be three whole numbers (z, y, x); got {value!r}.") from None
    if len(parts) != 3:
        raise ValueError(
            f"{what} must have three values (z, y, x); got {value!r}. "
            f"Give it as e.g. '1,2,2'."
        )
    out = []
    for p in parts:
        if isinstance(p, bool):
            raise ValueError(f"{what} must be whole numbers (z, y, x); got {value!r}.")
        if isinstance(p, (int, np.integer)):
            i = int(p)
            if positive and i < 1:
                raise ValueError(f"{what} must be positive (>= 1) in every axis; got {value!r}.")
            out.append(i)
            continue
        try:
            f = float(p)
        except (TypeError, ValueError):
            raise ValueError(
                f"{what} must be whole numbers (z, y, x); got {value!r}."
            ) from None
        if not math.isfinite(f) or f != int(f):
            raise ValueError(f"{what} must be whole numbers (z, y, x); got {value!r}.")
        i = int(f)
        if positive and i < 1:
            raise ValueError(f"{what} must be positive (>= 1) in every axis; got {value!r}.")
        out.append(i)
    return tuple(out)  # type: ignore[return-value]


def as_magnification(mag: int | str | Iterable[int]) -> Triple:
    """Normalise a magnification to a tuple of three positive ints ``(mz, my, mx)``.

    Parameters
    ----------
    mag : int, str or sequence of int
        A single factor for every axis, a string such as ``"1,2,2"`` or
        ``"1x2x2"``, or three factors in ``(z, y, x)`` order.

    Returns
    -------
    tuple of int
        The magnification ``(mz, my, mx)``.

    Raises
    ------
    ValueError
        If it is not three positive whole numbers.

    Examples
    --------
    >>> as_magnification(2)
    (2, 2, 2)
    >>> as_magnification("1,2,2")
    (1, 2, 2)
    >>> as_magnification("2")
    (2, 2, 2)
    >>> as_magnification([1, 0, 2])
    Traceback (most recent call last):
    ...
    ValueError: magnification must be positive (>= 1) in every axis; got [1, 0, 2].
    """
    return _as_int_triple(mag, "magnification", positive=True)


def scaled_shape(shape: Sequence[int], mag: Iterable[int] | int) -> Triple:
    """Shape of a volume at a magnification: ``ceil(shape / mag)`` per axis.

    Parameters
    ----------
    shape : sequence of int
        Full-resolution shape ``(z, y, x)``.
    mag : int, str or sequence of int
        Magnification ``(mz, my, mx)``.

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> scaled_shape((96, 385, 384), (1, 2, 2))
    (96, 193, 192)
    """
    m = as_magnification(mag)
    return tuple(-(-int(s) // f) for s, f in zip(shape, m))  # type: ignore[return-value]


def voxel_size_at(voxel_size: Sequence[float], mag: Iterable[int] | int) -> tuple[float, ...]:
    """Physical voxel size at a magnification (``voxel_size * mag``).

    Examples
    --------
    >>> voxel_size_at((2.0, 0.5, 0.5), (1, 2, 2))
    (2.0, 1.0, 1.0)
    """
    m = as_magnification(mag)
    if len(voxel_size) != 3 or any(not (float(v) > 0) for v in voxel_size):
        raise ValueError(
            f"voxel size must be three positive numbers (z, y, x); got {tuple(voxel_size)!r}."
        )
    return tuple(float(v) * f for v, f in zip(voxel_size, m))


def snap_box(
    lo: Sequence[int], hi: Sequence[int], mag: Iterable[int] | int, mode: str = "shrink"
) -> tuple[Triple, Triple]:
    """Snap a half-open box ``[lo, hi)`` onto the grid of a magnification.

    Parameters
    ----------
    lo, hi : sequence of int
        Box corners in full-resolution voxels, ``hi`` exclusive.
    mag : int, str or sequence of int
        Magnification ``(mz, my, mx)``.
    mode : {'shrink', 'expand', 'nearest'}
        ``'shrink'`` rounds ``lo`` up and ``hi`` down, so the result lies
        inside the input; ``'expand'`` rounds ``lo`` down and ``hi`` up, so it
        contains the input; ``'nearest'`` rounds both to the nearest grid line
        (used when a person drags a box edge).

    Returns
    -------
    lo, hi : tuple of int
        Snapped corners. With ``'shrink'`` an axis thinner than one grid step
        collapses to an empty extent (``lo == hi``); callers validate that.

    Examples
    --------
    >>> snap_box((3, 5, 5), (35, 90, 90), (1, 2, 2))
    ((3, 6, 6), (35, 90, 90))
    >>> snap_box((3, 5, 5), (35, 91, 91), (2, 4, 4), mode="expand")
    ((2, 4, 4), (36, 92, 92))
    """
    m = as_magnification(mag)
    lo_ = np.asarray(lo, dtype=np.int64)
    hi_ = np.asarray(hi, dtype=np.int64)
    f = np.asarray(m, dtype=np.int64)
    if mode == "shrink":
        new_lo = -(-lo_ // f) * f
        new_hi = (hi_ // f) * f
        new_hi = np.maximum(new_hi, new_lo)
    elif mode == "expand":
        new_lo = (lo_ // f) * f
        new_hi = -(-hi_ // f) * f
    elif mode == "nearest":
        new_lo = np.floor(lo_ / f + 0.5).astype(np.int64) * f
        new_hi = np.floor(hi_ / f + 0.5).astype(np.int64) * f
        new_hi = np.maximum(new_hi, new_lo + f)
    else:
        raise ValueError(f"mode must be 'shrink', 'expand' or 'nearest'; got {mode!r}.")
    return tuple(int(v) for v in new_lo), tuple(int(v) for v in new_hi)  # type: ignore[return-value]
