"""Voxels where two objects touch."""

from __future__ import annotations

import numpy as np

__all__ = ["contact_voxels"]


def contact_voxels(labels: np.ndarray) -> np.ndarray:
    """Voxels of an object beside a voxel of another object (6-connected).

    Examples
    --------
    >>> contact_voxels(np.array([[[1, 1, 2, 0, 3]]])).astype(int).tolist()
    [[[0, 1, 1, 0, 0]]]
    """
    out = np.zeros(labels.shape, bool)
    for ax in range(labels.ndim):
        a = np.swapaxes(labels, 0, ax)
        o = np.swapaxes(out, 0, ax)
        d = (a[1:] != a[:-1]) & (a[1:] > 0) & (a[:-1] > 0)
        o[1:] |= d
        o[:-1] |= d
    return out
