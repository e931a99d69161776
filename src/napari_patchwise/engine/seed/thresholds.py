"""Global thresholds: one value that separates objects from background.

:func:`compute_threshold` applies a scikit-image method to a set of
intensities; :func:`threshold_for_regions` does it once over several regions
(e.g. all chosen boxes) without loading large or lazy ones whole.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["THRESHOLD_METHODS", "compute_threshold", "threshold_for_regions"]

THRESHOLD_METHODS = ("otsu", "li", "yen", "triangle", "local", "manual")
_GLOBAL_METHODS = ("otsu", "li", "yen", "triangle")
_SAMPLE_VALUES = 2_000_000  # intensities kept by threshold_for_regions


def _required(threshold):
    if threshold is None:
        raise ValueError("method 'manual' needs a threshold: pass threshold=<value in image units>.")
    return threshold


def _unknown(method) -> ValueError:
    return ValueError(f"unknown threshold method {method!r}; use one of {', '.join(THRESHOLD_METHODS)}.")


def _number(name: str, value, *, minimum=None) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}.") from None
    if not math.isfinite(v) or (minimum is not None and v < minimum):
        raise ValueError(f"{name} must be a finite number{'' if minimum is None else ' >= 0'}; got {value!r}.")
    return v


def compute_threshold(values, method: str, *, threshold=None) -> float:
    """One global threshold for a set of intensities.

    Parameters
    ----------
    values : array-like
        Intensities, any shape. Non-finite values are ignored, and so are
        the brightest value (a saturation spike would pull the threshold far
        up) and the darkest 0.1 % (blank padding), as in
        :func:`~napari_patchwise.engine.propose.blockstats.block_statistics`, unless
        that leaves nothing with contrast.
    method : {'otsu', 'li', 'yen', 'triangle', 'manual'}
        The :mod:`skimage.filters` method of that name, or ``'manual'``.
    threshold : float, optional
        The value returned for ``'manual'``.

    Examples
    --------
    >>> v = np.r_[np.full(50, 10.0), np.full(50, 100.0)]
    >>> 10 <= compute_threshold(v, "otsu") < 100
    True
    >>> compute_threshold(v, "manual", threshold=42)
    42.0
    >>> compute_threshold(np.ones(5), "li")
    Traceback (most recent call last):
    ...
    ValueError: no contrast: every intensity is 1.0, so no threshold separates foreground from background; choose a region with objects or use method='manual'.
    """
    if method == "manual":
        return _number("threshold", _required(threshold))
    if method == "local":
        raise ValueError("method 'local' has no single global threshold; use seed_region, or a global method.")
    if method not in _GLOBAL_METHODS:
        raise _unknown(method)
    v = np.asarray(values, dtype=np.float64).ravel()
    if (v := v[np.isfinite(v)]).size == 0:
        raise ValueError("no intensities to threshold: the values are empty or not finite.")
    if v.min() == v.max():
        raise ValueError(
            f"no contrast: every intensity is {v[0]}, so no threshold separates foreground from "
            "background; choose a region with objects or use method='manual'."
        )
    from skimage import filters

    keep = v[(v > np.percentile(v, 0.1)) & (v < v.max())]
    v = keep if keep.size and keep.min() < keep.max() else v
    return float(getattr(filters, f"threshold_{method}")(v))


def threshold_for_regions(regions, method: str, *, threshold=None) -> float:
    """One global threshold over several regions (e.g. all chosen boxes).

    Regions are read one z plane at a time and at most about two million
    evenly spaced intensities are kept in all, so large or lazy (zarr, dask)
    regions are never loaded whole.

    Examples
    --------
    >>> a, b = np.zeros((2, 4, 4)), np.full((2, 4, 4), 100.0)
    >>> 0 <= threshold_for_regions([a, b], "otsu") < 100
    True
    """
    if method in ("manual", "local"):
        return compute_threshold((), method, threshold=threshold)
    regions = [r for r in regions if r is not None and math.prod(np.shape(r)) > 0]
    if not regions:
        raise ValueError("no regions (or only empty ones) to compute a threshold over; choose boxes first.")
    step = max(1, -(-sum(math.prod(np.shape(r)) for r in regions) // _SAMPLE_VALUES))
    picked, phase = [], 0
    for r in regions:
        planes = (r[i] for i in range(np.shape(r)[0])) if np.ndim(r) >= 3 else [r]
        for plane in planes:
            flat = np.asarray(plane).ravel()
            picked.append(flat[phase::step].astype(np.float32))
            phase = (phase - flat.size) % step
    return compute_threshold(np.concatenate(picked), method, threshold=threshold)


def threshold_smoothed(raw_regions, smoothed_regions, method: str, *, threshold=None) -> float:
    """One threshold over smoothed regions, leaving out voxels saturated or blank in the raw ones.

    Smoothing turns the edge of a saturated band (or of blank padding) into
    a ramp of values that :func:`compute_threshold` would no longer recognise
    as the brightest (or darkest) value; the voxels are therefore chosen on
    the raw intensities (below the brightest raw value and above the darkest
    0.1 %), smoothed values outside the range of those raw values (bled from
    saturated or blank voxels) are left out too, and the rest thresholded.
    At most about two million evenly spaced values are used.

    Examples
    --------
    >>> raw = np.zeros((4, 8, 8)); raw[:, :, :4] = 10; raw[:, :, 6:] = 100; raw[:, :, :2] = 1000
    >>> smoothed = raw.copy(); smoothed[:, :, 2] = 500  # a ramp next to the saturated part
    >>> 10 <= threshold_smoothed([raw], [smoothed], "otsu") < 100
    True
    """
    if method in ("manual", "local"):
        return compute_threshold((), method, threshold=threshold)
    raw = [np.asarray(r, np.float32).ravel() for r in raw_regions]
    smooth = [np.asarray(s, np.float32).ravel() for s in smoothed_regions]
    if not raw or sum(r.size for r in raw) == 0:
        raise ValueError("no regions (or only empty ones) to compute a threshold over; choose boxes first.")
    every = np.concatenate(raw)
    top, low = float(every.max()), float(np.percentile(every, 0.1))
    step = max(1, -(-every.size // _SAMPLE_VALUES))
    inside = [(r < top) & (r > low) for r in raw]
    if any(m.any() for m in inside):
        lo_v = min(float(r[m].min()) for r, m in zip(raw, inside) if m.any())
        hi_v = max(float(r[m].max()) for r, m in zip(raw, inside) if m.any())
        # smoothed values beyond every raw value kept can only come from saturated or blank voxels
        inside = [m & (s >= lo_v) & (s <= hi_v) for m, s in zip(inside, smooth)]
    kept = np.concatenate([s[m] for s, m in zip(smooth, inside)])[::step]
    if kept.size == 0 or kept.min() == kept.max():
        kept = np.concatenate(smooth)[::step]
    return compute_threshold(kept, method)
