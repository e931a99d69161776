"""Display contrast that a few saturated voxels cannot wreck."""

from __future__ import annotations

import math

import numpy as np


def sample_volume(data, max_voxels: int = 1_000_000, planes: int = 16) -> np.ndarray:
    """A strided sample of a 3D array: up to ``planes`` evenly spaced z-planes.

    Only those planes are read (lazy arrays stay lazy elsewhere).

    Examples
    --------
    >>> sample_volume(np.arange(4 * 100 * 100).reshape(4, 100, 100), max_voxels=400).shape
    (4, 10, 10)
    """
    nz, ny, nx = (int(s) for s in data.shape[-3:])
    zs = np.unique(np.linspace(0, nz - 1, min(nz, planes)).round().astype(int))
    per_plane = max(1, max_voxels // len(zs))
    step = max(1, math.ceil(math.sqrt(ny * nx / per_plane)))
    lead = (0,) * (len(data.shape) - 3)
    return np.stack([np.asarray(data[(*lead, int(z), slice(None, None, step), slice(None, None, step))])
                     for z in zs])


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
        Size of the sample (see :func:`sample_volume`).

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
    s = sample_volume(data, max_voxels).ravel()
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
