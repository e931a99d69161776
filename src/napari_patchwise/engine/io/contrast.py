"""Display contrast that a few saturated voxels cannot wreck."""

from __future__ import annotations

import math

import numpy as np

from ..geometry.regions import chunk_region

MIN_CHUNKS = 16  # a chunked volume is sampled from at least this many chunks (or all of them)


def stored_chunks(data) -> tuple[int, ...] | None:
    """The chunk shape an array is stored in (Zarr, chunked HDF5), or None for numpy, memmap, dask."""
    chunks = getattr(data, "chunks", None)
    if isinstance(chunks, tuple) and len(chunks) == len(data.shape) and all(isinstance(c, int) for c in chunks):
        return chunks
    return None  # numpy, memmap, dask (tuples of tuples), unchunked HDF5


def sample_values(data, max_voxels: int = 1_000_000) -> np.ndarray:
    """A sample of a 3D array's values, reading little of it.

    Chunked arrays (Zarr, HDF5) give whole chunks spread over the volume
    (reading a chunk costs the same as reading part of it); others give
    strided samples of up to 16 evenly spaced z-planes.

    Examples
    --------
    >>> sample_values(np.arange(4 * 100 * 100).reshape(4, 100, 100), max_voxels=400).size
    400
    """
    lead = (0,) * (len(data.shape) - 3)
    shape = tuple(int(s) for s in data.shape[-3:])
    chunks = stored_chunks(data)
    if chunks is not None:
        c = chunks[-3:]
        grid = [math.ceil(s / k) for s, k in zip(shape, c)]
        n = int(np.prod(grid))
        want = min(n, max(MIN_CHUNKS, math.ceil(max_voxels / int(np.prod(c)))))
        if want < n:
            picks = np.random.default_rng(0).choice(n, want, replace=False)
            parts = []
            for flat in np.sort(picks):
                idx = np.unravel_index(int(flat), grid)
                region = chunk_region(idx, c, shape)
                parts.append(np.asarray(data[(*lead, *region)]).ravel())
            return np.concatenate(parts)
    nz, ny, nx = shape
    zs = np.unique(np.linspace(0, nz - 1, min(nz, 16)).round().astype(int))
    step = max(1, math.ceil(math.sqrt(ny * nx * len(zs) / max_voxels)))
    sub = slice(None, None, step)
    return np.concatenate([np.asarray(data[(*lead, int(z), sub, sub)]).ravel() for z in zs])


def robust_contrast_limits(data, low: float = 0.5, high: float = 99.8, *,
                           max_voxels: int = 1_000_000) -> tuple[float, float]:
    """Contrast limits from percentiles of a sample, ignoring a saturated plateau.

    When the sample's maximum is held by more than 0.1 % of it (a saturated
    stripe or clipped detector), those voxels are left out before taking the
    ``low``–``high`` percentiles, so they cannot make the image look black.

    Parameters
    ----------
    data : array-like
        3D (or more, leading axes: their first index) volume, lazy or not.
    low, high : float
        Percentiles.
    max_voxels : int
        Size of the sample (see :func:`sample_values`).

    Returns
    -------
    (float, float)
        ``lo < hi``.

    Examples
    --------
    >>> img = np.full((8, 64, 64), 100, np.uint16)
    >>> img[:, ::2] += np.arange(64, dtype=np.uint16)   # texture 100..163
    >>> img[:, :4, :] = 65535                            # a saturated stripe
    >>> robust_contrast_limits(img)
    (100.0, 163.0)
    >>> robust_contrast_limits(np.zeros((2, 4, 4)))
    (0.0, 1.0)
    """
    s = sample_values(data, max_voxels)
    if s.dtype.kind == "f":
        s = s[np.isfinite(s)]
    if s.size == 0:
        return 0.0, 1.0
    top = s.max()
    plateau = s == top
    if 0.001 < plateau.mean() < 0.5:
        s = s[~plateau]
    lo, hi = (float(v) for v in np.percentile(s, (low, high)))
    if not hi > lo:
        lo, hi = float(s.min()), float(s.max())
    if not hi > lo:
        hi = lo + 1.0
    return lo, hi
