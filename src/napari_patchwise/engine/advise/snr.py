"""Signal-to-noise of a volume: the contrast between foreground and background over the noise.

The noise is measured where the signal is flat: from the differences between
neighbouring voxels along x (the finest axis in practice) that lie in the same
class (both foreground or both background), so edges do not count as noise.
For independent noise of standard deviation ``s`` such a difference has
standard deviation ``s * sqrt(2)``; its median absolute deviation divided by
``0.6745 * sqrt(2)`` estimates ``s`` robustly. Noise that neighbouring voxels
share (a filtered tomogram) escapes it, so the background's own robust spread
counts as noise too where the background should be flat (:func:`signal_to_noise`).
The signal is the difference of the foreground's and the background's means.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

__all__ = ["boundary_mask", "noise_sigma", "robust_std", "signal_to_noise"]

_MAD = 0.6744897501960817  # median absolute deviation of a standard normal


def noise_sigma(image, classes) -> float:
    """Robust standard deviation of the noise, from neighbouring voxels of the same class.

    Parameters
    ----------
    image : array-like, shape (z, y, x)
    classes : array-like of int, same shape
        A class per voxel (e.g. 0 background, 1 foreground); pairs of voxels
        of different classes are left out.

    Returns
    -------
    float
        ``nan`` when no two neighbours share a class.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(0, 5.0, (20, 40, 40))
    >>> stripes = np.broadcast_to(np.arange(40) % 4 < 2, img.shape)
    >>> img[stripes] += 100                      # edges every two voxels are not noise
    >>> round(noise_sigma(img, np.zeros(img.shape, int))), round(noise_sigma(img, stripes), 1)
    (17, 5.0)
    """
    img = np.asarray(image, dtype=np.float64)
    cls = np.asarray(classes)
    if img.shape[-1] < 2:
        return math.nan
    same = cls[..., 1:] == cls[..., :-1]
    d = (img[..., 1:] - img[..., :-1])[same]
    if d.size == 0:
        return math.nan
    mad = float(np.median(np.abs(d - np.median(d))))
    if mad == 0:  # integer images with little noise: fall back on the standard deviation
        mad = float(np.std(d)) * _MAD
    return mad / (_MAD * math.sqrt(2))


def robust_std(values) -> float:
    """Standard deviation from the median absolute deviation (1.4826 MAD).

    Examples
    --------
    >>> round(robust_std(np.random.default_rng(0).normal(0, 3.0, 100000)), 1)
    3.0
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return math.nan
    return float(np.median(np.abs(v - np.median(v)))) / _MAD


def signal_to_noise(image, foreground, background, *, background_is_noise: bool = True) -> float:
    """``|mean(foreground) - mean(background)| / noise``.

    Parameters
    ----------
    image : array-like, shape (z, y, x)
    foreground, background : array-like of bool, same shape
        Voxels of each; voxels in neither are left out.
    background_is_noise : bool
        The noise is the larger of :func:`noise_sigma` and the background's
        robust spread (:func:`robust_std`): to a segmenter everything that
        varies in the background is noise, including the correlated noise of
        a filtered tomogram that neighbouring voxels share. ``False``: only
        :func:`noise_sigma` (for dense labels, whose "background" is the
        objects' interiors and holds texture, not noise).

    Returns
    -------
    float
        ``nan`` when either set is empty; ``inf`` for a noiseless image.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> img = rng.normal(10, 4.0, (10, 30, 30))
    >>> fg = np.zeros(img.shape, bool); fg[:, :, 10:20] = True
    >>> img[fg] += 20
    >>> round(signal_to_noise(img, fg, ~fg))   # 20 / 4
    5
    >>> smooth = rng.normal(10, 4.0, (10, 30, 15)).repeat(2, axis=2)   # pairs share their noise
    >>> smooth[fg] += 20
    >>> round(signal_to_noise(smooth, fg, ~fg)), round(signal_to_noise(smooth, fg, ~fg, background_is_noise=False))
    (5, 8)
    """
    img = np.asarray(image, dtype=np.float64)
    fg, bg = np.asarray(foreground, bool), np.asarray(background, bool)
    if not fg.any() or not bg.any():
        return math.nan
    classes = np.where(fg, 1, np.where(bg, 0, 2))
    sigma = noise_sigma(np.where(classes == 2, 0, img), classes)
    if background_is_noise:
        sigma = max(sigma, robust_std(img[bg])) if math.isfinite(sigma) else robust_std(img[bg])
    contrast = abs(float(img[fg].mean()) - float(img[bg].mean()))
    if not sigma > 0:
        return math.inf if contrast > 0 else math.nan
    return contrast / sigma


def boundary_mask(labels) -> np.ndarray:
    """Voxels of an object that touch (by a face) a voxel of another id or of the background.

    Examples
    --------
    >>> lab = np.zeros((1, 1, 6), int); lab[0, 0, 1:3], lab[0, 0, 3:5] = 1, 2
    >>> boundary_mask(lab).astype(int).tolist()
    [[[0, 1, 1, 1, 1, 0]]]
    """
    lab = np.asarray(labels)
    face = ndi.generate_binary_structure(3, 1)
    differs = (ndi.maximum_filter(lab, footprint=face, mode="nearest") != lab) | (
        ndi.minimum_filter(lab, footprint=face, mode="nearest") != lab)
    return differs & (lab != 0)
