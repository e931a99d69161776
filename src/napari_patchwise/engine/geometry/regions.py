"""Region arithmetic, written once: a region is three half-open slices ``(z, y, x)``.

A *region* indexes a 3D array: ``(slice(z0, z1), slice(y0, y1), slice(x0, x1))``
with integer bounds and step 1. Every clip, grow, union, overlap test, shift
and change of magnification of such slices in the package goes through this
module, so a rule about bounds (clipped to the array, never negative, empty
rather than reversed) is stated in one place.

Examples
--------
>>> r = region_from_bounds((2, 0, 5), (4, 3, 9))
>>> grow_region(r, (10, 10, 10), 1)
(slice(1, 5, None), slice(0, 4, None), slice(4, 10, None))
>>> region_shape(clip_region(r, (3, 3, 3)))
(1, 3, 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

Region = tuple[slice, slice, slice]


def full_region(shape: Sequence[int]) -> Region:
    """The slices covering a whole array of ``shape``.

    Parameters
    ----------
    shape : sequence of int
        The array's shape.

    Returns
    -------
    tuple of slice
        ``slice(0, n)`` per axis.

    Examples
    --------
    >>> full_region((2, 3, 4))
    (slice(0, 2, None), slice(0, 3, None), slice(0, 4, None))
    """
    return tuple(slice(0, int(s)) for s in shape)  # type: ignore[return-value]


def region_from_bounds(lo: Sequence[int], hi: Sequence[int]) -> Region:
    """The region ``[lo, hi)`` as slices.

    Parameters
    ----------
    lo, hi : sequence of int
        First index and one past the last index per axis.

    Returns
    -------
    tuple of slice

    Examples
    --------
    >>> region_from_bounds((0, 2, 4), (1, 5, 6))
    (slice(0, 1, None), slice(2, 5, None), slice(4, 6, None))
    """
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))  # type: ignore[return-value]


def region_shape(region: Sequence[slice]) -> tuple[int, ...]:
    """The extent ``stop - start`` of each slice of ``region`` (never negative).

    Examples
    --------
    >>> region_shape((slice(2, 5), slice(0, 1), slice(4, 4)))
    (3, 1, 0)
    """
    return tuple(max(0, int(s.stop) - int(s.start)) for s in region)


def clip_region(region, shape: Sequence[int]) -> Region:
    """Clip 3 slices to ``shape`` (``None`` means the whole array).

    Open ends (``None``) reach the array's edge; a slice that falls outside
    becomes empty (``stop == start``), never reversed.

    Parameters
    ----------
    region : tuple of 3 slice or None
        Slices with step 1 (or ``None``).
    shape : sequence of int
        The array's shape.

    Returns
    -------
    tuple of slice

    Raises
    ------
    ValueError
        When ``region`` is not 3 slices with step 1.

    Examples
    --------
    >>> clip_region((slice(-2, 3), slice(None), slice(1, 99)), (4, 5, 6))
    (slice(0, 3, None), slice(0, 5, None), slice(1, 6, None))
    >>> clip_region((slice(7, 9),) * 3, (4, 4, 4))
    (slice(4, 4, None), slice(4, 4, None), slice(4, 4, None))
    """
    if region is None:
        return full_region(shape)
    if len(region) != 3:
        raise ValueError(f"a region is 3 slices (z, y, x); got {region!r}.")
    out = []
    for s, n in zip(region, shape):
        if not isinstance(s, slice) or s.step not in (None, 1):
            raise ValueError(f"a region is 3 slices with step 1; got {region!r}.")
        n = int(n)
        lo = 0 if s.start is None else max(0, min(int(s.start), n))
        hi = n if s.stop is None else max(lo, min(int(s.stop), n))
        out.append(slice(lo, hi))
    return tuple(out)  # type: ignore[return-value]


def grow_region(region: Sequence[slice], shape: Sequence[int], width: int = 1) -> Region:
    """``region`` widened by ``width`` voxels on every side, clipped to ``shape``.

    Parameters
    ----------
    region : tuple of 3 slice or None
        Slices with step 1, clipped to ``shape`` first (``None`` is the whole array).
    shape : sequence of int
        The array's shape (the grown region stays inside it).
    width : int, optional
        Voxels added on each side (``0`` only clips).

    Returns
    -------
    tuple of slice

    Raises
    ------
    ValueError
        When ``width`` is not a whole number >= 0, or ``region`` not 3 slices.

    Examples
    --------
    >>> grow_region((slice(0, 4), slice(5, 6), slice(8, 10)), (10, 10, 10))
    (slice(0, 5, None), slice(4, 7, None), slice(7, 10, None))
    >>> grow_region((slice(2, 3),) * 3, (4, 4, 4), 0)
    (slice(2, 3, None), slice(2, 3, None), slice(2, 3, None))
    """
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 0:
        raise ValueError(f"width must be a whole number >= 0; got {width!r}.")
    w = int(width)
    return tuple(slice(max(0, s.start - w), min(int(n), s.stop + w))
                 for s, n in zip(clip_region(region, shape), shape))  # type: ignore[return-value]


def union_region(a: Region | None, b: Region | None) -> Region | None:
    """The bounding region of two regions (either may be ``None``).

    Examples
    --------
    >>> union_region((slice(0, 2),) * 3, (slice(5, 6),) * 3)
    (slice(0, 6, None), slice(0, 6, None), slice(0, 6, None))
    >>> union_region(None, (slice(1, 2),) * 3)
    (slice(1, 2, None), slice(1, 2, None), slice(1, 2, None))
    """
    if a is None:
        return b
    if b is None:
        return a
    return tuple(slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b))  # type: ignore[return-value]


def bounding_region(regions: Iterable[Region]) -> Region | None:
    """The bounding region of several regions (``None`` for none).

    Examples
    --------
    >>> bounding_region([(slice(0, 2),) * 3, (slice(4, 5), slice(1, 3), slice(0, 1))])
    (slice(0, 5, None), slice(0, 3, None), slice(0, 2, None))
    >>> bounding_region([]) is None
    True
    """
    out = None
    for r in regions:
        out = union_region(out, r)
    return out


def regions_overlap(a: Sequence[slice], b: Sequence[slice]) -> bool:
    """Whether two regions share at least one voxel.

    Examples
    --------
    >>> regions_overlap((slice(0, 4),) * 3, (slice(3, 8),) * 3)
    True
    >>> regions_overlap((slice(0, 4),) * 3, (slice(4, 8), slice(0, 4), slice(0, 4)))
    False
    """
    return all(x.start < x.stop and y.start < y.stop and x.start < y.stop and y.start < x.stop
               for x, y in zip(a, b))


def relative_region(region: Sequence[slice], origin: Sequence[int]) -> Region:
    """``region`` in the coordinates of an array whose first voxel is at ``origin``.

    Parameters
    ----------
    region : tuple of slice
    origin : sequence of int
        Where the sub-array starts (often the ``start`` of a bounding region).

    Returns
    -------
    tuple of slice

    Examples
    --------
    >>> relative_region((slice(12, 14), slice(3, 5), slice(0, 2)), (10, 3, 0))
    (slice(2, 4, None), slice(0, 2, None), slice(0, 2, None))
    """
    return tuple(slice(s.start - int(o), s.stop - int(o)) for s, o in zip(region, origin))  # type: ignore[return-value]


def region_at_mag(lo: Sequence[int], hi: Sequence[int], mag: Sequence[int]) -> Region:
    """The slices of the full-resolution box ``[lo, hi)`` in an array at magnification ``mag``.

    ``lo`` rounds down and ``hi`` rounds up, so every voxel the box touches is
    inside the region.

    Parameters
    ----------
    lo, hi : sequence of int
        Full-resolution (magnification 1) bounds.
    mag : sequence of int
        The array's magnification (downsampling factor per axis).

    Returns
    -------
    tuple of slice

    Examples
    --------
    >>> region_at_mag((0, 4, 8), (4, 12, 17), (1, 2, 2))
    (slice(0, 4, None), slice(2, 6, None), slice(4, 9, None))
    """
    return tuple(slice(int(l) // int(m), -(-int(h) // int(m)))
                 for l, h, m in zip(lo, hi, mag))  # type: ignore[return-value]


def region_to_full(region: Sequence[slice], mag: Sequence[int], shape: Sequence[int]) -> Region:
    """The full-resolution slices under a region of an array at magnification ``mag``.

    The result is clipped to the full-resolution ``shape`` (the last voxel of a
    magnified array may cover fewer full-resolution voxels).

    Examples
    --------
    >>> region_to_full((slice(0, 2), slice(1, 3), slice(1, 3)), (1, 2, 2), (2, 5, 5))
    (slice(0, 2, None), slice(2, 5, None), slice(2, 5, None))
    """
    return tuple(slice(s.start * int(f), min(s.stop * int(f), int(n)))
                 for s, f, n in zip(region, mag, shape))  # type: ignore[return-value]


def chunk_region(index: Sequence[int], chunks: Sequence[int], shape: Sequence[int]) -> Region:
    """The region of chunk ``index`` in an array of ``shape`` cut into ``chunks``.

    Examples
    --------
    >>> chunk_region((1, 0, 2), (4, 4, 4), (6, 4, 9))
    (slice(4, 6, None), slice(0, 4, None), slice(8, 9, None))
    """
    return tuple(slice(int(i) * int(c), min((int(i) + 1) * int(c), int(s)))
                 for i, c, s in zip(index, chunks, shape))  # type: ignore[return-value]


def region_from_mask(mask: np.ndarray, offset: Sequence[int] = (0, 0, 0)) -> Region | None:
    """Bounding slices of the ``True`` voxels of ``mask`` (shifted by ``offset``).

    Returns ``None`` when ``mask`` holds no ``True`` voxel.

    Examples
    --------
    >>> m = np.zeros((3, 4, 5), bool); m[1, 2:4, 0] = True
    >>> region_from_mask(m, offset=(10, 0, 0))
    (slice(11, 12, None), slice(2, 4, None), slice(0, 1, None))
    >>> region_from_mask(np.zeros((2, 2, 2), bool)) is None
    True
    """
    if not mask.any():
        return None
    out = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other))
        out.append(slice(int(hit[0]) + offset[axis], int(hit[-1]) + 1 + offset[axis]))
    return tuple(out)  # type: ignore[return-value]
