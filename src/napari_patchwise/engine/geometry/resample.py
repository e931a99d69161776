"""Resampling between magnifications: block means of full-resolution regions."""

from __future__ import annotations

import numpy as np

from .magnification import as_magnification


def downsample_mean(region, mag) -> np.ndarray:
    """Block mean (float32) of a full-resolution 3D region by the magnification ``mag``.

    Any numeric dtype is accepted. The result has shape ``ceil(shape / mag)``:
    partial blocks at the far ends are averaged over the voxels they have.

    Examples
    --------
    >>> a = np.arange(5, dtype="uint16").reshape(1, 1, 5)
    >>> downsample_mean(a, (1, 1, 2))
    array([[[0.5, 2.5, 4. ]]], dtype=float32)
    """
    m = as_magnification(mag)
    a = np.asarray(region)
    if a.ndim != 3:
        raise ValueError(f"region has shape {a.shape}; a 3D (z, y, x) array is needed.")
    if m == (1, 1, 1):
        return a.astype(np.float32, copy=True)
    out = a
    for axis, f in enumerate(m):
        if f > 1 and a.shape[axis]:
            out = np.add.reduceat(out, np.arange(0, a.shape[axis], f), axis=axis, dtype=np.float64)
    cz, cy, cx = (np.minimum(f, n - np.arange(0, n, f)) for n, f in zip(a.shape, m))
    return (out / (cz[:, None, None] * cy[None, :, None] * cx[None, None, :])).astype(np.float32)
