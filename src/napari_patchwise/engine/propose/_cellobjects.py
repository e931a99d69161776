"""The objects of one chunk for :mod:`._cellkernel`: connected foreground (or labels)
at the sample points, their bounding boxes and sizes, and what joins them to the
objects of neighbouring chunks (:func:`._cellcombine._merge_objects`)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from . import _fastkernel


def _no_objects(labelled: bool):
    """No objects (``ids`` an empty array when labels define them)."""
    return {"lo": np.zeros((0, 3), np.int64), "hi": np.zeros((0, 3), np.int64),
            "size": np.zeros(0, np.int64), "ids": np.zeros(0, np.int64) if labelled else None,
            "planes": None}


def _objects(fg, lb, ks, use_compiled=False):
    """Objects of the chunk: bounding boxes in global sample indices, sizes, and
    what joins them to other chunks (label planes on the faces, or label ids)."""
    k0 = np.array([k[0] for k in ks])
    if lb is None:
        lbl, n = ndi.label(fg)
        ids = None
    else:
        ids, inv = np.unique(lb.ravel(), return_inverse=True)
        keep = ids > 0
        lbl = np.cumsum(keep)[inv].reshape(lb.shape) * keep[inv].reshape(lb.shape)
        ids, n = ids[keep].astype(np.int64), int(keep.sum())
    if n == 0:
        res = _no_objects(lb is not None)
        res["planes"] = None if lb is not None else _planes(lbl)
        return res
    if use_compiled:
        lo, hi, size = _fastkernel._ckernel.boxes_sizes(np.ascontiguousarray(lbl, np.int32), n)
    else:
        lo, hi = _bounding_boxes(lbl, n)
        size = np.bincount(lbl.ravel(), minlength=n + 1)[1:].astype(np.int64)
    return {"lo": lo + k0, "hi": hi + k0, "size": size, "ids": ids,
            "planes": None if lb is not None else _planes(lbl)}


def _bounding_boxes(lbl: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First and end (exclusive) index along each axis of labels ``1..n`` (each present).

    What :func:`scipy.ndimage.find_objects` gives, from counts of every label
    in every plane (numpy releases the GIL for them; no slice objects are made);
    with so many objects that those counts would take more memory than the
    chunk (noise), from :func:`scipy.ndimage.find_objects` itself.

    Examples
    --------
    >>> lbl = np.zeros((2, 3, 4), np.int32)
    >>> lbl[0, 1, 1:3] = 1
    >>> lbl[1, 0:3, 3] = 2
    >>> lo, hi = _bounding_boxes(lbl, 2)
    >>> lo.tolist(), hi.tolist()
    ([[0, 1, 1], [1, 0, 3]], [[1, 2, 3], [2, 3, 4]])
    >>> many = np.arange(1, 25, dtype=np.int32).reshape(2, 3, 4)  # 24 one-voxel objects
    >>> lo, hi = _bounding_boxes(many, 24)
    >>> lo[5].tolist(), hi[5].tolist()
    ([0, 1, 1], [1, 2, 2])
    """
    lo = np.empty((n, 3), np.int64)
    hi = np.empty((n, 3), np.int64)
    if max(lbl.shape) * (n + 1) > 2 * lbl.size:  # many small objects (noise): the counts would outgrow the chunk
        for i, found in enumerate(ndi.find_objects(lbl, max_label=n)):
            lo[i] = [s.start for s in found]
            hi[i] = [s.stop for s in found]
        return lo, hi
    flat = lbl.astype(np.int64).ravel()
    for a in range(3):
        size = lbl.shape[a]
        shape = [1, 1, 1]
        shape[a] = size
        plane = np.broadcast_to((np.arange(size) * (n + 1)).reshape(shape), lbl.shape).ravel()
        seen = np.bincount(plane + flat, minlength=size * (n + 1)).reshape(size, n + 1)[:, 1:] > 0
        lo[:, a] = seen.argmax(axis=0)
        hi[:, a] = size - seen[::-1].argmax(axis=0)
    return lo, hi


def _planes(lbl):
    """Label planes on the six faces of a chunk (low z, high z, low y, ...)."""
    return tuple(np.ascontiguousarray(np.take(lbl, i, axis=a)) for a in range(3) for i in (0, -1))
