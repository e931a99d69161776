"""The typical size of the objects in an image, and the seeding parameters derived from it.

Thresholding seeds need three lengths that depend on the objects, not on the
image format: how much to smooth (noise and texture are smaller than the
objects), the smallest object worth keeping, and how far apart two objects'
centres must be for the watershed to split them. All three follow from one
number, the objects' typical physical diameter, which
:func:`estimate_object_diameter` measures from the image and the voxel size
(a person can give it instead, as in Cellpose). :func:`derive_parameters` is
the one place where the three lengths are derived from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["MARKER_FRACTION", "MIN_VOLUME_FRACTION", "SMOOTH_FRACTION", "SMOOTH_FRACTIONS", "DerivedParams",
           "SizeEstimate", "choose_smoothing", "derive_parameters", "estimate_object_diameter",
           "resolve_seed_params"]

#: Gaussian smoothing sigma as a fraction of the object diameter, when no image says better.
SMOOTH_FRACTION = 0.125
#: The smoothing fractions :func:`choose_smoothing` picks from.
SMOOTH_FRACTIONS = (0.08, 0.125, 0.2)
#: Least distance between watershed markers (object centres) as a fraction of the diameter.
MARKER_FRACTION = 0.5
#: Smallest object kept, as a fraction of the volume of a ball of the object diameter.
MIN_VOLUME_FRACTION = 0.05

_ESTIMATE_SMOOTH = 0.15  # smoothing while measuring, as a fraction of the current guess
_VOXEL_BUDGET = 1 << 23  # voxels measured at most (regions beyond are left out, evenly)
_THICKNESS_ROUNDS, _VOLUME_ROUNDS = 4, 2
_FACE = ndi.generate_binary_structure(3, 1)


@dataclass(frozen=True)
class DerivedParams:
    """Seeding lengths derived from an object diameter (see :func:`derive_parameters`).

    Attributes
    ----------
    smooth : float
        Gaussian sigma, physical units.
    min_size : int
        Smallest object kept, in voxels of the given spacing.
    min_distance : float
        Least distance between object centres for the watershed, physical units.
    """

    smooth: float
    min_size: int
    min_distance: float


def _positive(name, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number (physical units, like the voxel size); got {value!r}.")
    return v


def derive_parameters(diameter: float, spacing, *, smooth_fraction: float = SMOOTH_FRACTION) -> DerivedParams:
    """Smoothing, smallest object and marker distance for objects of this diameter.

    Parameters
    ----------
    diameter : float
        Typical object diameter, in the physical units of ``spacing``.
    spacing : sequence of 3 float
        Voxel size ``(z, y, x)`` of the arrays that will be seeded (at their
        magnification).
    smooth_fraction : float
        Smoothing sigma as a fraction of the diameter (see :func:`choose_smoothing`).

    Returns
    -------
    DerivedParams
        ``smooth = smooth_fraction * diameter``; ``min_size`` = the voxels of
        ``MIN_VOLUME_FRACTION`` of a ball of that diameter (at least 1);
        ``min_distance = MARKER_FRACTION * diameter``.

    Notes
    -----
    The fractions were chosen on regions of one synthetic sample (dense,
    sparse, low-SNR, edge) and on time points 0 and 10 of the CHO nuclei
    time-lapse; the upper end of :data:`SMOOTH_FRACTIONS` (0.2, not 0.3) was
    set after seeing the embryo nuclei. The ovule nuclei, the other CHO time
    points and another synthetic sample were not looked at;
    ``benchmarks/bench_seeding_quality.py`` reports them apart.

    Examples
    --------
    >>> derive_parameters(8.0, (2.0, 0.5, 0.5))
    DerivedParams(smooth=1.0, min_size=26, min_distance=4.0)
    """
    d = _positive("the object diameter", diameter)
    sp = [_positive("the voxel size", s) for s in spacing]
    if len(sp) != 3:
        raise ValueError(f"spacing must be three voxel sizes (z, y, x); got {spacing!r}.")
    ball = math.pi / 6 * d ** 3
    return DerivedParams(smooth=float(smooth_fraction) * d,
                         min_size=max(1, int(MIN_VOLUME_FRACTION * ball / math.prod(sp))),
                         min_distance=MARKER_FRACTION * d)


def choose_smoothing(regions, spacing, diameter: float, *, fractions=SMOOTH_FRACTIONS) -> float:
    """The smoothing fraction (of the diameter) that best separates objects from background.

    For each fraction the regions are smoothed by ``fraction * diameter`` and
    Otsu's criterion is measured: the between-class variance of the two
    classes Otsu's threshold makes, over the total variance. Smoothing helps
    while it removes noise and texture inside objects and background, and
    hurts once it blurs objects into their surroundings; the fraction with
    the best separation is returned (``SMOOTH_FRACTION`` without regions).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = np.zeros((16, 48, 48), "float32"); img[4:12, 8:24, 8:24] = 10
    >>> noisy = img + rng.normal(0, 6, img.shape).astype("float32")
    >>> choose_smoothing([noisy], (1.0, 0.5, 0.5), 8.0) > choose_smoothing([img], (1.0, 0.5, 0.5), 8.0)
    True
    """
    from skimage.filters import threshold_otsu

    from .weaklabels import smooth_physical

    arrays = [np.asarray(r, np.float32) for r in regions if np.size(r)]
    if not arrays:
        return SMOOTH_FRACTION
    arrays = _budget(arrays)
    best, best_eta = SMOOTH_FRACTION, -1.0
    for f in fractions:
        v = np.concatenate([smooth_physical(a, f * diameter, spacing).ravel() for a in arrays])
        if v.min() == v.max():
            continue
        fg = v > threshold_otsu(v)
        w = fg.mean()
        eta = w * (1 - w) * (v[fg].mean() - v[~fg].mean()) ** 2 / v.var() if 0 < w < 1 else 0.0
        if eta > best_eta + 1e-9:
            best, best_eta = f, eta
    return float(best)


@dataclass(frozen=True)
class SizeEstimate:
    """The typical object size measured in an image (see :func:`estimate_object_diameter`).

    Attributes
    ----------
    diameter : float
        Typical object diameter (physical units), three significant digits.
    thickness : float
        Twice the median inscribed radius at the object centres (physical
        units); below ``diameter`` for flat or elongated objects.
    n_objects : int
        Objects measured in the last round.
    """

    diameter: float
    thickness: float
    n_objects: int


def _round3(x: float) -> float:
    return float(f"{x:.3g}")


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def _budget(regions: list) -> list:
    total = sum(r.size for r in regions)
    if total <= _VOXEL_BUDGET:
        return regions
    keep = max(1, int(len(regions) * _VOXEL_BUDGET / total))
    return [regions[i] for i in np.linspace(0, len(regions) - 1, keep).round().astype(int)]


def _measure(regions, spacing, diameter, threshold_of, by_volume):
    """One round: smooth by the current guess, threshold, split at distance maxima, measure."""
    from skimage.segmentation import watershed

    from .weaklabels import markers_at_distance_maxima, smooth_physical

    smoothed = [smooth_physical(r, _ESTIMATE_SMOOTH * diameter, spacing) for r in regions]
    t = threshold_of(regions, smoothed)
    depths, sizes = [], []
    for img in smoothed:
        fg = ndi.binary_fill_holes(img > t, _FACE)
        if not fg.any():
            continue
        comps, n = ndi.label(fg, structure=_FACE)
        dist = ndi.distance_transform_edt(fg, sampling=spacing)
        depth = np.zeros(n + 1)
        np.maximum.at(depth, comps.ravel(), dist.ravel())
        markers = markers_at_distance_maxima(dist, comps, depth, spacing, MARKER_FRACTION * diameter)
        if by_volume:
            regions_ = watershed(-dist, markers, mask=fg)
            sizes.append(np.bincount(regions_.ravel())[1:])
        else:
            depths.append(dist[markers > 0])
    if by_volume:
        n = np.concatenate(sizes) if sizes else np.zeros(0)
        n = n[n > 0].astype(float)
        if not n.size:
            return None
        return _weighted_median((6 * n * math.prod(spacing) / math.pi) ** (1 / 3), n), int(n.size)
    d = np.concatenate(depths) if depths else np.zeros(0)
    return (2 * float(np.median(d)), int(d.size)) if d.size else None


def estimate_object_diameter(regions, spacing, *, method: str = "otsu", threshold=None) -> SizeEstimate:
    """The typical physical diameter of the bright objects in one or more regions.

    Parameters
    ----------
    regions : sequence of array-like, shape (z, y, x)
        Image regions (e.g. the chosen boxes at the training magnification);
        a single 3D array is one region.
    spacing : sequence of 3 float
        Their physical voxel size.
    method : {'otsu', 'li', 'yen', 'triangle', 'manual'}
        How the foreground is thresholded ('local' measures with Otsu).
    threshold : float, optional
        The value for ``method='manual'``.

    Returns
    -------
    SizeEstimate

    Raises
    ------
    ValueError
        When nothing passes the threshold (no objects to measure): give the
        diameter instead.

    Notes
    -----
    A distance-transform estimate on a smoothed threshold, made
    self-consistent. Starting from 8 of the coarsest voxel sizes, each round
    smooths the regions by ``SMOOTH_FRACTION`` of the current guess, applies
    one threshold to all of them, fills holes and finds the object centres
    as maxima of the physical distance transform at least
    ``MARKER_FRACTION`` of the guess apart (so touching objects merged by
    the threshold are measured one by one). Four rounds take twice the
    median distance at the centres (the inscribed diameter: noise and
    texture make it too small at first, and each round smooths more, up to
    a fixed point); two more take the volume-weighted median
    equivalent-ball diameter ``(6 V / pi)^(1/3)`` of the watershed regions
    grown from those centres, so flat and elongated objects count by their
    volume, like Cellpose's diameter. Regions with more than about 8 million
    voxels in all are measured on an evenly spaced subset of them.

    Examples
    --------
    >>> zz, yy, xx = np.mgrid[:20, :64, :64]
    >>> img = np.zeros((20, 64, 64), "float32")
    >>> for cz, cy, cx in [(10, 16, 16), (10, 16, 46), (10, 46, 30)]:
    ...     img[((zz - cz) * 2) ** 2 + ((yy - cy) * 0.5) ** 2 + ((xx - cx) * 0.5) ** 2 <= 4.0 ** 2] = 100
    >>> est = estimate_object_diameter(img, (2.0, 0.5, 0.5))
    >>> 7.0 < est.diameter < 9.0, est.n_objects   # balls of diameter 8
    (True, 3)
    """
    from .thresholds import threshold_smoothed
    from .weaklabels import _spacing

    if hasattr(regions, "ndim") and np.ndim(regions) == 3:
        regions = [regions]
    arrays = [np.asarray(r, dtype=np.float32) for r in regions]
    if not arrays or any(a.ndim != 3 for a in arrays):
        raise ValueError("regions must be one or more 3D (z, y, x) arrays.")
    arrays = _budget([a for a in arrays if a.size])
    if not arrays:
        raise ValueError("the regions are empty; choose boxes with voxels in them.")
    sp = _spacing(spacing)
    method = "otsu" if method == "local" else method

    def threshold_of(raw, smoothed):
        return threshold_smoothed(raw, smoothed, method, threshold=threshold)

    diameter, thickness, n = 8 * max(sp), None, 0
    for rnd in range(_THICKNESS_ROUNDS + _VOLUME_ROUNDS):
        got = _measure(arrays, sp, diameter, threshold_of, by_volume=rnd >= _THICKNESS_ROUNDS)
        if got is None:
            if rnd == 0:
                raise ValueError("no objects to measure: nothing in the regions passes the threshold; "
                                 "give the object diameter instead (e.g. --diameter).")
            break
        diameter, n = got
        if rnd < _THICKNESS_ROUNDS:
            thickness = diameter
    return SizeEstimate(diameter=_round3(diameter), thickness=_round3(thickness), n_objects=n)


def resolve_seed_params(params, regions, spacing):
    """``params`` with every length set: given values kept, the others derived from the diameter.

    Parameters
    ----------
    params : SeedParams
    regions : sequence of array-like
        The regions to be seeded (at their magnification): where the object
        diameter is measured when ``params.object_diameter`` is not given.
    spacing : sequence of 3 float
        Their physical voxel size.

    Returns
    -------
    params : SeedParams
        With ``object_diameter``, ``smooth``, ``min_size`` and ``min_distance`` set.
    estimate : SizeEstimate or None
        The measurement, when the diameter was estimated.

    Examples
    --------
    >>> from napari_patchwise.engine.seed.weaklabels import SeedParams
    >>> p, est = resolve_seed_params(SeedParams(object_diameter=8.0, smooth=0.0), [], (2.0, 0.5, 0.5))
    >>> p.smooth, p.min_size, p.min_distance, est
    (0.0, 26, 4.0, None)
    """
    from dataclasses import replace

    estimate = None
    diameter = params.object_diameter or None
    if params.resolved and diameter is None:
        return params, None
    if diameter is None:
        estimate = estimate_object_diameter(regions, spacing, method=params.method, threshold=params.threshold)
        diameter = estimate.diameter
    fraction = choose_smoothing(regions, spacing, diameter) if params.smooth is None else SMOOTH_FRACTION
    derived = derive_parameters(diameter, spacing, smooth_fraction=fraction)
    given = {k: getattr(params, k) for k in ("smooth", "min_size", "min_distance")}
    fill = {k: getattr(derived, k) if v is None else v for k, v in given.items()}
    return replace(params, object_diameter=float(diameter), **fill), estimate
