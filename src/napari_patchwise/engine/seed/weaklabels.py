"""Weak labels: thresholding seeds for one region at the training magnification.

Seeds are a first guess that a person corrects instead of painting from
scratch: the thresholded foreground, split into instances that never touch,
and a *confident background*. They are computed on one region already at the
training magnification (see :func:`~napari_patchwise.engine.geometry.resample.downsample_mean`); lengths are physical, so
the same parameters hold at every magnification and anisotropy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .thresholds import THRESHOLD_METHODS, _number, _required, _unknown, threshold_smoothed

__all__ = ["SeedParams", "Seeds", "largest_parts", "physical_sigma", "seed_region", "smooth_physical"]

_FACE = ndi.generate_binary_structure(3, 1)
_FULL = ndi.generate_binary_structure(3, 3)


@dataclass(frozen=True)
class SeedParams:
    """How to turn one region into seeds; lengths are physical (e.g. micrometres).

    Attributes
    ----------
    method : str
        One of :data:`THRESHOLD_METHODS`; ``"local"`` compares every voxel with
        the Gaussian-weighted mean of its neighbourhood (skimage ``threshold_local``).
    threshold : float or None
        Threshold in image units; required for ``"manual"``, ignored otherwise.
    block_size : float
        ``"local"``: neighbourhood size; 0 = a quarter of the region's largest
        physical extent (it must exceed the objects). Per axis: an odd number
        of voxels, at least 3 and at most the region.
    offset : float
        ``"local"``: subtracted from the local threshold. Where objects are
        few the local mean is background: use about minus twice the noise.
    object_diameter : float or None
        Typical object diameter; ``None`` or 0 = estimated from the image
        (:func:`~napari_patchwise.engine.seed.objectsize.estimate_object_diameter`).
        ``smooth``, ``min_size`` and ``min_distance`` left at ``None`` are
        derived from it (:func:`~napari_patchwise.engine.seed.objectsize.derive_parameters`).
    smooth : float or None
        Gaussian sigma applied first (0 = none), divided per axis by the
        spacing; ``None`` = derived from the object diameter.
    fill_holes : bool
        Fill the holes of each object in 3D; plane by plane in (y, x) when the
        region is thinner than 3 planes.
    min_size : int or None
        Remove objects smaller than this many voxels (at the magnification);
        ``None`` = derived from the object diameter.
    split : bool
        Split touching objects by a watershed of the distance transform.
    min_distance : float or None
        Least distance between object centres; ``None`` = derived from the
        object diameter; 0 = the larger of 1.5 times the coarsest voxel size
        (a centre is not found again one plane further) and half the typical
        object depth (volume-weighted median over objects of the largest
        inside distance to the object's edge).
    background_margin : float
        Confident background is darker than ``t - margin * (t - low)``, ``low``
        the 1st percentile of the region; 0 = everything below ``t``.
    background_distance : float
        Confident background is at least this far (centre to centre) from the
        foreground; it never touches it, even at a corner (0 = that one voxel).
    """

    method: str = "otsu"
    threshold: float | None = None
    block_size: float = 0.0
    offset: float = 0.0
    smooth: float | None = None
    fill_holes: bool = True
    min_size: int | None = None
    split: bool = True
    min_distance: float | None = None
    background_margin: float = 0.2
    background_distance: float = 0.0
    object_diameter: float | None = None

    @property
    def resolved(self) -> bool:
        """Whether every length is given (nothing left to derive from an object diameter)."""
        return None not in (self.smooth, self.min_size, self.min_distance)

    def __post_init__(self):
        if not isinstance(self.method, str) or self.method not in THRESHOLD_METHODS:
            raise _unknown(self.method)
        if self.method == "manual":
            _number("threshold", _required(self.threshold))
        for name in ("block_size", "smooth", "min_distance", "background_margin", "background_distance",
                     "object_diameter"):
            if getattr(self, name) is not None or name in ("block_size", "background_margin",
                                                           "background_distance"):
                _number(name, getattr(self, name), minimum=0)
        _number("offset", self.offset)
        m = self.min_size
        if m is not None and (type(m) is bool or not isinstance(m, (int, np.integer)) or m < 0):
            raise ValueError(f"min_size must be a whole number of voxels >= 0 (or None: derived); got {m!r}.")
        if self.background_margin > 1:
            raise ValueError(f"background_margin is a fraction of t - low in [0, 1]; got {self.background_margin!r}.")


def _spacing(spacing) -> tuple[float, float, float]:
    try:
        s = tuple(float(v) for v in spacing)
    except (TypeError, ValueError):
        s = ()
    if len(s) != 3 or not all(math.isfinite(v) and v > 0 for v in s):
        raise ValueError(
            f"spacing must be three positive numbers (z, y, x), the physical voxel size of the region "
            f"at its magnification; got {spacing!r}. Use voxel_size_at(voxel_size, mag)."
        )
    return s  # type: ignore[return-value]


def physical_sigma(sigma: float, spacing) -> tuple[float, float, float]:
    """Per-axis Gaussian sigma in voxels for a physical sigma: ``sigma / spacing``."""
    s = _number("smooth", sigma, minimum=0)
    return tuple(s / d for d in _spacing(spacing))  # type: ignore[return-value]


def smooth_physical(image, sigma: float, spacing) -> np.ndarray:
    """Gaussian smoothing with a physical sigma (anisotropy-aware), as float32.

    Examples
    --------
    >>> physical_sigma(1.0, (2.0, 0.5, 0.5))  # sigma in voxels per axis
    (0.5, 2.0, 2.0)
    >>> impulse = np.zeros((9, 33, 33), "float32"); impulse[4, 16, 16] = 1
    >>> round(float(smooth_physical(impulse, 2.0, (2.0, 0.5, 0.5)).sum()), 3)
    1.0
    """
    sig = physical_sigma(sigma, spacing)
    img = np.asarray(image, dtype=np.float32)
    return ndi.gaussian_filter(img, sig, mode="nearest") if any(sig) else img.copy()


@dataclass(frozen=True, eq=False)
class Seeds:
    """Seeds of one region; every array has the region's shape.

    Attributes
    ----------
    labels : ndarray of uint32
        Instance ids ``1..N`` (0 = none); no two ids share a face. With
        ``instance=False``: 0/1.
    foreground : ndarray of bool
        The thresholded mask after filling holes and removing small objects.
    background : ndarray of bool
        Confident background, plus the lines that separate instances
        (foreground voxels of no instance). Never overlaps ``labels``;
        elsewhere it keeps its distance from ``foreground``.
    threshold : float
        The global threshold used; for ``"local"`` the mean local threshold.
    n_objects : int
        Number of instances (semantic: of face-connected objects).
    """

    labels: np.ndarray
    foreground: np.ndarray
    background: np.ndarray
    threshold: float
    n_objects: int


def _local_block(shape, spacing, block: float) -> tuple[int, ...]:
    block = block or max(n * s for n, s in zip(shape, spacing)) / 4.0
    return tuple(min(max(3, int(round(block / s)) | 1), n if n % 2 else max(1, n - 1))
                 for n, s in zip(shape, spacing))


def _fill(mask: np.ndarray) -> np.ndarray:
    thick = mask.shape[0] >= 3
    return ndi.binary_fill_holes(mask, _FACE) if thick else np.stack([ndi.binary_fill_holes(p) for p in mask])


def _remove_small(mask: np.ndarray, min_size: int) -> np.ndarray:
    if min_size <= 1 or not mask.any():
        return mask
    comps, _ = ndi.label(mask, structure=_FACE)
    keep = np.bincount(comps.ravel()) >= min_size
    keep[0] = False
    return keep[comps]


def _default_min_distance(depth, comps, spacing) -> float:
    weight = np.bincount(comps.ravel(), minlength=len(depth))[1:]
    order = np.argsort(depth[1:])
    median = depth[1:][order][np.searchsorted(np.cumsum(weight[order]), weight.sum() / 2)]
    return max(1.5 * max(spacing), 0.5 * float(median))


def markers_at_distance_maxima(dist, comps, depth, spacing, min_distance) -> np.ndarray:
    """Distance maxima at least ``min_distance`` apart; at least one per object.

    Candidates: maxima within the box inscribed in the ball of that radius
    (a separable filter, so its cost does not grow with the radius), one
    per plateau; deepest first, each suppresses closer ones.
    """
    from scipy.spatial import cKDTree

    size = [min(2 * max(1, int(min_distance / (s * math.sqrt(3)))) + 1, 2 * k + 1)
            for s, k in zip(spacing, dist.shape)]
    peaks = (comps > 0) & (dist == ndi.maximum_filter(dist, size=size, mode="constant"))
    _, first = np.unique(ndi.label(peaks, structure=_FULL)[0].ravel(), return_index=True)
    flat = first[1:][np.argsort(-dist.ravel()[first[1:]], kind="stable")]  # deepest first
    phys = np.column_stack(np.unravel_index(flat, dist.shape)) * np.asarray(spacing)
    pairs = np.sort(cKDTree(phys).query_pairs(min_distance * (1 - 1e-9), output_type="ndarray"), axis=1)
    pairs = pairs[np.argsort(pairs[:, 0], kind="stable")]  # rows (deeper, shallower)
    starts = np.searchsorted(pairs[:, 0], np.arange(len(flat) + 1))
    keep = np.ones(len(flat), bool)
    for i in np.unique(pairs[:, 0]):
        if keep[i]:
            keep[pairs[starts[i]:starts[i + 1], 1]] = False
    flat = flat[keep]
    lab, d = comps.ravel(), dist.ravel()
    missing = np.arange(len(depth)) > 0
    missing[lab[flat]] = False
    if missing.any():  # an object without a marker gets its deepest voxel
        deepest = np.flatnonzero(missing[lab] & (d == depth[lab]))
        flat = np.concatenate([flat, deepest[np.unique(lab[deepest], return_index=True)[1]]])
    markers = np.zeros(dist.shape, np.int32)
    np.put(markers, flat, np.arange(1, len(flat) + 1))
    return markers


def _separate(labels: np.ndarray) -> np.ndarray:
    """Clear voxels (in place) so that no two different ids share a face; the larger id yields."""
    for axis in range(3):
        a = np.moveaxis(labels, axis, 0)
        lo, hi = a[:-1], a[1:]
        clash = (lo > 0) & (hi > 0) & (lo != hi)
        if clash.any():
            a[np.pad(clash & (lo > hi), [(0, 1), (0, 0), (0, 0)])
              | np.pad(clash & (hi > lo), [(1, 0), (0, 0), (0, 0)])] = 0
    return labels


def _sequential(labels: np.ndarray) -> tuple[np.ndarray, int]:
    ids, inverse = np.unique(labels, return_inverse=True)
    if ids[0] != 0:
        inverse = inverse + 1
    return inverse.reshape(labels.shape).astype(np.uint32), int(np.count_nonzero(ids))


def seed_region(image, spacing, params: SeedParams = SeedParams(), *, threshold=None,
                instance: bool = True) -> Seeds:
    """Seeds for one region: foreground, instances and confident background.

    Parameters
    ----------
    image : array-like, shape (z, y, x)
        The region, already at the training magnification.
    spacing : sequence of 3 float
        Physical voxel size of ``image`` (z, y, x).
    params : SeedParams
    threshold : float, optional
        A precomputed global threshold (e.g. :func:`.thresholds.threshold_for_regions`
        over all boxes) used instead of one computed for this region; it
        takes precedence over ``params.threshold``. Not for ``"local"``.
    instance : bool
        False: semantic seeds (labels 0/1, never split).

    Returns
    -------
    Seeds

    Notes
    -----
    Lengths left unset in ``params`` are derived from its object diameter,
    estimated from this region when not given (see
    :func:`~napari_patchwise.engine.seed.objectsize.resolve_seed_params`).
    Physical Gaussian smoothing; foreground ``image > t``; fill holes; remove
    small objects; face-connected objects; with ``instance`` and ``split``, a
    watershed of the physical distance transform from maxima at least
    ``min_distance`` apart, then every face contact between two ids is
    cleared (the larger id yields). Cleared voxels join ``background``.

    Examples
    --------
    >>> img = np.zeros((5, 20, 20), "float32")
    >>> img[1:4, 3:9, 3:9] = img[1:4, 11:17, 11:17] = 100
    >>> s = seed_region(img, (2.0, 0.5, 0.5))
    >>> s.n_objects, s.labels.dtype.name, bool((s.background & (s.labels > 0)).any())
    (2, 'uint32', False)
    """
    if not isinstance(params, SeedParams):
        raise ValueError(f"params must be a SeedParams; got {type(params).__name__}.")
    img = np.asarray(image)
    if img.ndim != 3:
        hint = " (this is a single plane: add a z axis, e.g. image[np.newaxis])" if img.ndim == 2 else ""
        raise ValueError(f"image has shape {img.shape}; a 3D (z, y, x) region is needed{hint}.")
    if img.size == 0:
        raise ValueError(f"image is empty (shape {img.shape}); choose a region with voxels along every axis.")
    sp = _spacing(spacing)
    if not params.resolved:
        from .objectsize import resolve_seed_params

        params, _ = resolve_seed_params(params, [img], sp)
    raw, img = img, smooth_physical(img, params.smooth, sp)
    if params.method == "local":
        if threshold is not None:
            raise ValueError("method 'local' computes its own threshold for every voxel; do not pass threshold=.")
        from skimage.filters import threshold_local

        t = threshold_local(img, _local_block(img.shape, sp, params.block_size),
                            method="gaussian", offset=params.offset, mode="nearest")
        t_used = float(t.mean())
    else:
        if threshold is None:
            threshold = threshold_smoothed([raw], [img], params.method, threshold=params.threshold)
        t = t_used = _number("threshold", threshold)
    fg = _remove_small(_fill(img > t) if params.fill_holes else img > t, int(params.min_size))
    comps, n = ndi.label(fg, structure=_FACE)
    if not instance:
        labels = fg.astype(np.uint32)
    elif params.split and n:
        from skimage.segmentation import watershed

        dist = ndi.distance_transform_edt(fg, sampling=sp)
        depth = np.zeros(n + 1)
        np.maximum.at(depth, comps.ravel(), dist.ravel())
        md = params.min_distance or _default_min_distance(depth, comps, sp)
        # no watershed_line: in scikit-image 0.26 it can grow the queue without bound (MemoryError on
        # a 100³ region); _separate then carves the one-voxel gaps the lines would have drawn
        ws = watershed(-dist, markers_at_distance_maxima(dist, comps, depth, sp, md), mask=fg, connectivity=1)
        labels, n = _sequential(_separate(ws))
    else:
        labels = comps.astype(np.uint32)
    low = float(np.percentile(img, 1))
    dark = img < t - params.background_margin * np.maximum(t - low, 0)
    near = ndi.binary_dilation(fg, structure=_FULL)
    if params.background_distance > 0 and fg.any():
        near |= ndi.distance_transform_edt(~fg, sampling=sp) < params.background_distance
    background = (dark & ~near) | (fg & (labels == 0))
    return Seeds(labels=labels, foreground=fg, background=background, threshold=t_used, n_objects=int(n))


def largest_parts(labels: np.ndarray) -> np.ndarray:
    """Keep only the largest face-connected part of each id (smaller parts become 0).

    Splitting touching objects can leave an id in several pieces; a seed
    should be one object.

    Examples
    --------
    >>> a = np.array([[[1, 1, 0, 1, 2]]])
    >>> largest_parts(a).tolist()
    [[[1, 1, 0, 0, 2]]]
    """
    from skimage.measure import label as components

    comps = components(labels, background=0, connectivity=1)
    n = int(comps.max())
    if n == 0:
        return labels
    flat_c, flat_l = comps.ravel(), labels.ravel()
    sizes = np.bincount(flat_c, minlength=n + 1)
    owner = np.zeros(n + 1, labels.dtype)
    owner[flat_c] = flat_l
    order = np.lexsort((-sizes[1:], owner[1:])) + 1  # by id, largest part first
    ids = owner[order]
    first = np.ones(len(order), bool)
    first[1:] = ids[1:] != ids[:-1]
    keep = np.zeros(n + 1, bool)
    keep[order[first]] = True
    return np.where(keep[comps], labels, 0).astype(labels.dtype)
