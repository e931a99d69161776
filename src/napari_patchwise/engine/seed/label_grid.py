"""Imported labels and probabilities as annotation labels: ids ``1..N`` on the annotation grid.

Examples
--------
>>> import numpy as np
>>> p = np.array([[[0.9, 0.1, 0.8, 0.7]]])
>>> labels_to_annotation(labels_from_probability(p), (1, 1, 4), (1, 1, 2)).tolist()
[[[0, 2]]]
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..geometry.magnification import as_magnification, scaled_shape

__all__ = ["labels_from_probability", "labels_to_annotation", "relabel_sequential_uint32"]


def relabel_sequential_uint32(labels) -> np.ndarray:
    """Ids ``1..N`` in the order of the original ids; 0 stays 0.

    Examples
    --------
    >>> relabel_sequential_uint32(np.array([[[0, 7, 7, 3]]])).tolist()
    [[[0, 2, 2, 1]]]
    """
    a = np.asarray(labels)
    if a.dtype.kind not in "iub":
        raise ValueError(f"labels must be integers; got {a.dtype}.")
    if a.size and a.dtype.kind == "i" and a.min() < 0:
        raise ValueError("labels must be >= 0 (0 = background); got negative ids.")
    ids, inverse = np.unique(a, return_inverse=True)
    if ids.size and ids[0] != 0:
        inverse = inverse + 1
    return inverse.reshape(a.shape).astype(np.uint32)


def labels_from_probability(prob, *, threshold=0.5, instance=True, min_size=0) -> np.ndarray:
    """Labels from a probability map: face-connected parts of ``prob >= threshold``.

    Parameters
    ----------
    prob : array-like, shape (z, y, x)
    threshold : float
        In (0, 1].
    instance : bool
        True: one id per connected part (``1..N``); False: 0/1.
    min_size : int
        Parts smaller than this many voxels are dropped.

    Examples
    --------
    >>> p = np.array([[[0.9, 0.1, 0.8, 0.7]]])
    >>> labels_from_probability(p).tolist(), labels_from_probability(p, instance=False).tolist()
    ([[[1, 0, 2, 2]]], [[[1, 0, 1, 1]]])
    """
    a = np.asarray(prob)
    if a.ndim != 3:
        raise ValueError(f"prob has shape {a.shape}; a 3D (z, y, x) map is needed.")
    if not 0 < float(threshold) <= 1:
        raise ValueError(f"threshold must lie in (0, 1]; got {threshold!r}.")
    if int(min_size) != min_size or min_size < 0:
        raise ValueError(f"min_size must be a whole number of voxels >= 0; got {min_size!r}.")
    comps, _ = ndi.label(a >= threshold)
    if min_size > 1:
        keep = np.bincount(comps.ravel()) >= min_size
        keep[0] = False
        comps[~keep[comps]] = 0
    return relabel_sequential_uint32(comps) if instance else (comps > 0).astype(np.uint32)


def labels_to_annotation(labels, image_shape, mag) -> np.ndarray:
    """Bring an imported label volume onto the annotation grid of a magnification.

    A full-resolution volume (``labels.shape == image_shape``) is sampled at
    the centre voxel of every magnification block (block start plus half its
    size, rounded down; the last, partial blocks use their own size). A
    volume already at the magnification (``ceil(image_shape / mag)``) is
    returned as is.

    Examples
    --------
    >>> lab = np.arange(5).reshape(1, 1, 5)
    >>> labels_to_annotation(lab, (1, 1, 5), (1, 1, 2)).tolist()
    [[[1, 3, 4]]]
    >>> labels_to_annotation(lab, (1, 1, 12), (1, 1, 2))
    Traceback (most recent call last):
    ...
    ValueError: labels have shape (1, 1, 5); expected the image's shape (1, 1, 12) (full resolution) or (1, 1, 6) (at magnification (1, 1, 2)).
    """
    m = as_magnification(mag)
    full = tuple(int(s) for s in image_shape)
    small = scaled_shape(full, m)
    shape = tuple(labels.shape)
    if shape == full and m != (1, 1, 1):
        index = []
        for n, f, k in zip(full, m, small):
            start = np.arange(k) * f
            index.append(start + np.minimum(f, n - start) // 2)
        if hasattr(labels, "oindex"):  # zarr: read only the sampled voxels
            return np.asarray(labels.oindex[tuple(index)])
        return np.asarray(labels)[np.ix_(*index)]
    if shape == small:
        return np.asarray(labels)
    raise ValueError(
        f"labels have shape {shape}; expected the image's shape {full} (full resolution) "
        f"or {small} (at magnification {m})."
    )
