"""A prediction read on the annotation grid, slab by slab: labels, raw probabilities, foreground.

:class:`..evaluate.prediction.Prediction` thresholds a probability map as it
reads it; a scan needs the probabilities themselves (how close to the
threshold a voxel is), read here the same way (block means of a
full-resolution map).
"""

from __future__ import annotations

import numpy as np

from ..evaluate.prediction import Prediction
from ..geometry.regions import region_to_full
from ..geometry.resample import downsample_mean

__all__ = ["labels_of", "probability_of"]


def probability_of(pred: Prediction, region) -> np.ndarray:
    """The probabilities of an annotation-grid region (float64, in [0, 1]).

    Examples
    --------
    >>> pred = Prediction("p", np.arange(8).reshape(1, 2, 4) / 10, "probability", (1, 2, 2), True, 0.3)
    >>> probability_of(pred, (slice(0, 1), slice(0, 1), slice(0, 2))).round(3).tolist()
    [[[0.25, 0.45]]]
    """
    m = pred.magnification
    if pred.full_resolution and m != (1, 1, 1):
        block = downsample_mean(np.asarray(pred.data[region_to_full(region, m, pred.data.shape)]), m)
    else:
        block = np.asarray(pred.data[tuple(region)])
    block = block.astype(np.float64)
    if block.size and (np.nanmin(block) < 0 or np.nanmax(block) > 1):
        raise ValueError(
            f"{pred.path} is read as a probability map but holds values from {np.nanmin(block):g} to "
            f"{np.nanmax(block):g}; probabilities lie in [0, 1]: rescale it, or give --kind instances "
            "(or semantic) for labels.")
    return np.nan_to_num(block, nan=0.0)


def labels_of(pred: Prediction, region) -> np.ndarray:
    """Labels of an annotation-grid region (int64; a probability map thresholded to 0/1).

    Examples
    --------
    >>> pred = Prediction("p", np.array([[[0, 3, 3, 0]]], "uint8"), "instances", (1, 1, 1), False)
    >>> labels_of(pred, (slice(0, 1), slice(0, 1), slice(1, 4))).tolist()
    [[[3, 3, 0]]]
    """
    return pred.read(region)
