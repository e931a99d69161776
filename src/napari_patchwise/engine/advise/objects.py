"""The objects of a volume and what they are like: sizes, thickness, shape, contacts.

:func:`as_instances` turns labels (instance ids, or a binary mask whose
connected components become the objects) into sequential ids;
:func:`measure_objects` measures them in physical units. Sizes cover every
object; the shape measures (:mod:`.shape`), which cost more, cover a bounded
number of them chosen at random (seeded). Objects the sampled block cuts
are measured as far as they are inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from . import shape

__all__ = ["ObjectMeasures", "as_instances", "measure_objects", "weighted_median", "weighted_quantile"]

#: Objects given their shape measured, at most.
MAX_SHAPED = 48
#: Objects of fewer voxels are fragments: left out of every measure.
MIN_VOXELS = 8
#: An object is star-convex when this fraction of it is visible from its centre.
STAR_CONVEX = 0.95
_FULL = np.ones((3, 3, 3), dtype=bool)


@dataclass(frozen=True)
class ObjectMeasures:
    """What the objects are like.

    Attributes
    ----------
    source : str
        Where the objects come from: ``'labels'``, ``'mask'`` (connected
        components of a binary mask) or ``'threshold'`` (the image thresholded).
    n_objects : int
        Objects of at least :data:`MIN_VOXELS` voxels.
    diameter : tuple of float
        Equivalent-ball diameter ``(6 V / pi)^(1/3)``: 10th, 50th and 90th percentile.
    thickness : tuple of float
        Diameter of the largest inscribed ball (:func:`.shape.thickness`): the
        same percentiles, over the shaped objects.
    star_convexity : float
        Median of :func:`.shape.star_convexity`.
    star_convex_fraction : float
        Share of the objects at least :data:`STAR_CONVEX` star-convex.
    elongation : float
        Median :func:`.shape.elongation`.

    Every shape measure covers the shaped objects and weighs each by its volume
    (its share of the objects' voxels), so that specks and fragments in the
    labels do not outvote the objects they sit among.
    slenderness : float
        Skeleton length over thickness (:func:`.shape.skeleton_measures`,
        :func:`.shape.thickness`): below 1 for a ball, 10 for a tube ten times as
        long as wide, more for a neuron's branches. The median weighted by the
        objects' volumes, so that fragments do not hide the large objects' shape.
    branching_fraction : float
        Fraction of the shaped objects' volume in objects with at least two branch points.
    touching_fraction : float or None
        Fraction of the objects in contact with another (``None``: not measurable,
        e.g. the components of a mask never touch).
    n_shaped : int
        Objects whose shape was measured.
    """

    source: str
    n_objects: int
    diameter: tuple[float, float, float]
    thickness: tuple[float, float, float]
    star_convexity: float
    star_convex_fraction: float
    elongation: float
    slenderness: float
    branching_fraction: float
    touching_fraction: float | None
    n_shaped: int

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def as_instances(labels) -> tuple[np.ndarray, str]:
    """Sequential instance ids ``1..N`` of labels, and whether they were ``'labels'`` or a
    binary ``'mask'`` (whose 26-connected components become the objects).

    Examples
    --------
    >>> lab = np.zeros((1, 3, 7), np.int64); lab[0, 0, :2], lab[0, 2, 4:] = 90, 7
    >>> ids, source = as_instances(lab)
    >>> sorted(np.unique(ids).tolist()), source
    ([0, 1, 2], 'labels')
    >>> ids, source = as_instances(lab > 0)
    >>> int(ids.max()), source
    (2, 'mask')
    """
    from skimage.segmentation import relabel_sequential

    lab = np.asarray(labels)
    if lab.dtype != bool and lab.size and lab.min() < 0:
        raise ValueError("labels must be 0 (background) or positive ids; negative values found.")
    if lab.dtype.kind == "f":
        if not np.array_equal(lab, np.round(lab)):
            raise ValueError("labels must be whole numbers (instance ids, or 0/1 for a mask); got fractions: "
                             "threshold a probability map first.")
        lab = lab.astype(np.int64)
    if lab.dtype == bool or int(lab.max(initial=0)) <= 1:
        ids, _ = ndi.label(lab > 0, structure=_FULL)
        return ids.astype(np.uint32), "mask"
    return relabel_sequential(lab.astype(np.int64))[0].astype(np.uint32), "labels"


def _percentiles(values, weights=None) -> tuple[float, float, float]:
    if len(values) == 0:
        return (math.nan, math.nan, math.nan)
    if weights is None:
        return tuple(float(v) for v in np.percentile(values, [10, 50, 90]))  # type: ignore[return-value]
    return tuple(weighted_quantile(values, weights, q) for q in (0.1, 0.5, 0.9))  # type: ignore[return-value]


def weighted_quantile(values, weights, q: float) -> float:
    """The value below which a share ``q`` of the total weight lies (``nan`` for no values).

    Examples
    --------
    >>> weighted_quantile([1.0, 2.0, 30.0], [1, 1, 5], 0.5), weighted_quantile([1.0, 2.0, 30.0], [1, 1, 1], 0.5)
    (30.0, 2.0)
    >>> weighted_quantile([1.0, 2.0, 30.0], [1, 1, 5], 0.1)
    1.0
    """
    v, w = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    if v.size == 0:
        return math.nan
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][min(len(v) - 1, int(np.searchsorted(cum, q * cum[-1])))])


def weighted_median(values, weights) -> float:
    """:func:`weighted_quantile` at one half.

    Examples
    --------
    >>> weighted_median([1.0, 50.0], [1, 3])
    50.0
    """
    return weighted_quantile(values, weights, 0.5)


def measure_objects(instances, spacing, *, source: str = "labels", touching_ids=None,
                    max_shaped: int = MAX_SHAPED, seed: int = 0) -> ObjectMeasures:
    """Measure the objects of an instance image.

    Parameters
    ----------
    instances : ndarray of int, shape (z, y, x)
        Sequential ids ``1..N`` (0 = none), e.g. from :func:`as_instances`.
    spacing : sequence of 3 float
        Physical voxel size.
    source : str
        Recorded as :attr:`ObjectMeasures.source`. For ``'labels'`` the touching
        objects are those sharing a face with another id.
    touching_ids : array-like of int, optional
        The ids known to touch another object (e.g. those a watershed split
        apart); for a ``'mask'`` without them touching is not measured.
    max_shaped : int
        Objects whose shape is measured, at most.
    seed : int
        Chooses them when there are more.

    Returns
    -------
    ObjectMeasures

    Examples
    --------
    >>> lab = np.zeros((12, 12, 30), np.uint32)
    >>> lab[2:7, 2:7, 2:7] = 1; lab[2:7, 2:7, 7:12] = 2; lab[3:6, 3:6, 20:29] = 3
    >>> m = measure_objects(lab, (1.0, 1.0, 1.0))
    >>> m.n_objects, m.touching_fraction, m.thickness[1], m.star_convexity
    (3, 0.6666666666666666, 6.0, 1.0)
    """
    ids = np.asarray(instances)
    sp = tuple(float(v) for v in spacing)
    counts = np.bincount(ids.ravel().astype(np.intp))
    counts[0] = 0
    kept = np.flatnonzero(counts >= MIN_VOXELS)
    if len(kept) == 0:
        kept = np.flatnonzero(counts)
    n = len(kept)
    diameters = (6 * counts[kept] * math.prod(sp) / math.pi) ** (1 / 3)
    if source == "labels" and touching_ids is None:
        from ..qc.touching import touching_pairs

        touching_ids = touching_pairs(ids).ravel()
    touching = None
    if touching_ids is not None and n:
        touching = float(np.isin(kept, np.asarray(touching_ids)).sum() / n)
    boxes = ndi.find_objects(ids)
    pool = np.asarray(kept, dtype=np.intp)
    if len(pool) > max_shaped:
        pool = np.sort(np.random.default_rng(seed).choice(pool, max_shaped, replace=False))
    thick, slender, star, elong, branching = [], [], [], [], []
    for i in pool:
        mask = ids[boxes[i - 1]] == i
        thick.append(shape.thickness(mask, sp))
        star.append(shape.star_convexity(mask, seed=seed))
        elong.append(shape.elongation(mask, sp, seed=seed))
        branches, length = shape.skeleton_measures(mask, sp)
        slender.append(length / thick[-1])
        branching.append(branches >= 2)
    weights = counts[pool].astype(np.float64)
    return ObjectMeasures(
        source=source, n_objects=n, diameter=_percentiles(diameters),
        thickness=_percentiles(thick, weights),
        star_convexity=weighted_median(star, weights),
        star_convex_fraction=float(np.average(np.array(star) >= STAR_CONVEX, weights=weights)) if star
        else math.nan, elongation=weighted_median(elong, weights), slenderness=weighted_median(slender, weights),
        branching_fraction=float(np.average(branching, weights=weights)) if branching else math.nan,
        touching_fraction=touching, n_shaped=len(pool))
