"""Implausible objects: sizes and shapes outside the annotated range, fragments, touching objects.

The range comes from the annotated objects (:func:`reference`): the median
and the median absolute deviation (MAD) of their log volumes and log
elongations. A predicted object is an outlier when it lies more than
:data:`K` MADs from the median *and* beyond the annotated extremes by a factor
of :data:`MARGIN` (larger than the largest annotated object, smaller than the
smallest: a **fragment**, or more elongated than the most elongated). Without
annotated objects the prediction's own objects give the range, and the
extremes are not required.

Predicted objects that touch (a voxel beside a voxel of another object) are
flagged when annotated objects never touch (:func:`touches`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .cells import CellGrid
from .objects import ObjectTable
from .named import ObjectCounter
from .touch import contact_voxels
from .signal import Signal

__all__ = ["K", "MARGIN", "Outliers", "Reference", "contact_voxels", "implausible_signals", "judge", "reference",
           "touches"]

#: How many MADs from the median an outlier lies at least.
K = 3.5
#: How far beyond the annotated extremes an outlier lies at least (a factor).
MARGIN = 1.5
#: The least MAD of log values (objects of one size still allow some spread).
MIN_MAD = 0.1
#: Outlier objects named in reasons (the worst, per image).
MAX_NAMED = 64


@dataclass(frozen=True)
class Reference:
    """The range of plausible objects.

    Examples
    --------
    >>> from .objects import measure_objects
    >>> lab = np.zeros((5, 5, 60), int)
    >>> for i in range(6): lab[1:4, 1:4, 10 * i:10 * i + 3 + i % 2] = i + 1
    >>> ref = reference(measure_objects(lab), "annotated")
    >>> ref.n, round(ref.median_volume, 1), ref.max_volume
    (6, 31.2, 36.0)
    """

    source: str
    n: int
    median_volume: float
    mad_volume: float
    min_volume: float
    max_volume: float
    median_elongation: float
    mad_elongation: float
    max_elongation: float


def _robust(values: np.ndarray) -> tuple[float, float]:
    logs = np.log(values)
    med = float(np.median(logs))
    return med, max(MIN_MAD, 1.4826 * float(np.median(np.abs(logs - med))))


def reference(table: ObjectTable, source: str) -> Reference | None:
    """The range of ``table``'s objects (``None`` with fewer than 3)."""
    if len(table) < 3:
        return None
    vol = table.voxels.astype(float)
    mv, dv = _robust(vol)
    el = table.elongation[np.isfinite(table.elongation)]
    me, de = _robust(el) if len(el) >= 3 else (np.nan, np.nan)
    return Reference(source, len(table), float(np.exp(mv)), dv, float(vol.min()), float(vol.max()),
                     float(np.exp(me)), de, float(el.max()) if len(el) else np.nan)


@dataclass(frozen=True, eq=False)
class Outliers:
    """Objects judged implausible: ids of large / elongated ones (with a reason each) and of fragments."""

    named: dict
    fragments: np.ndarray
    fragment_limit: float


def judge(table: ObjectTable, ref: Reference) -> Outliers:
    """The objects of ``table`` outside ``ref``'s range.

    Examples
    --------
    >>> ref = Reference("annotated", 10, 100.0, 0.2, 60.0, 150.0, 1.5, 0.2, 2.0)
    >>> t = ObjectTable(np.array([1, 2, 3, 4]), np.array([100, 900, 5, 100]), np.zeros((4, 3)),
    ...                 np.array([1.2, 1.4, np.nan, 6.0]))
    >>> out = judge(t, ref)
    >>> out.named
    {2: 'object 2 is 9.0x the median annotated volume', 4: 'object 4 is 6.0x as long as wide (annotated objects: at most 2.0x)'}
    >>> out.fragments.tolist(), out.fragment_limit
    ([3], 40.0)
    """
    vol = table.voxels.astype(float)
    logs = np.log(np.maximum(vol, 1))
    mv = np.log(ref.median_volume)
    own = ref.source != "annotated"
    big = logs > mv + K * ref.mad_volume
    small_limit = np.exp(mv - K * ref.mad_volume)
    if not own:
        big &= vol > MARGIN * ref.max_volume
        small_limit = min(small_limit, ref.min_volume / MARGIN)
    small = vol < small_limit
    el = table.elongation
    long_ = np.zeros(len(table), bool)
    if np.isfinite(ref.median_elongation):
        with np.errstate(invalid="ignore"):
            long_ = np.log(el) > np.log(ref.median_elongation) + K * ref.mad_elongation
            if not own:
                long_ &= el > MARGIN * ref.max_elongation
        long_ &= np.isfinite(el)
    ratios = np.where(big, vol / ref.median_volume, 0.0)
    ratios = np.maximum(ratios, np.where(long_ & ~big, np.nan_to_num(el) / ref.median_elongation, 0.0))
    order = np.argsort(-ratios, kind="stable")
    named = {}
    for i in order[:MAX_NAMED]:
        if big[i]:
            named[int(table.ids[i])] = (f"object {table.ids[i]} is {vol[i] / ref.median_volume:.1f}x the median "
                                        f"{ref.source} volume")
        elif long_[i]:
            limit = "at most" if not own else "median"
            value = ref.max_elongation if not own else ref.median_elongation
            named[int(table.ids[i])] = (f"object {table.ids[i]} is {el[i]:.1f}x as long as wide ({ref.source} "
                                        f"objects: {limit} {value:.1f}x)")
    return Outliers(dict(sorted(named.items())), table.ids[small & ~big], float(small_limit))


def touches(labels: np.ndarray) -> bool:
    """Whether two objects of ``labels`` touch anywhere."""
    return bool(contact_voxels(labels).any())


def implausible_signals(read: Callable, grid: CellGrid, table: ObjectTable, outliers: Outliers, *,
                        touching: bool, source: str = "annotated") -> list[Signal]:
    """Signals of outlier objects, fragments and (with ``touching``) touching objects, per cell.

    Examples
    --------
    >>> lab = np.zeros((4, 16, 16), int); lab[:, :8, :8] = 1; lab[:, 12, 12] = 2; lab[:, 14:, :2] = 3
    >>> from .objects import measure_objects
    >>> out = Outliers({1: "object 1 is big"}, np.array([2]), 5.0)
    >>> grid = CellGrid((4, 16, 16), (4, 8, 8))
    >>> big, frag = implausible_signals(lambda r: lab[r], grid, measure_objects(lab), out, touching=False)
    >>> big.counts[0].tolist(), big.describe((slice(0, 1),) * 3, 256)
    ([[256.0, 0.0], [0.0, 0.0]], 'object 1 is big')
    >>> frag.counts[0].tolist(), frag.describe((slice(0, 1), slice(1, 2), slice(1, 2)), 256)
    ([[0.0, 0.0], [0.0, 4.0]], '1 fragment (objects under 5 voxels, smaller than any annotated)')
    """
    frag, contact = grid.zeros(), grid.zeros()
    frag_count = grid.zeros()
    frag_set = np.sort(outliers.fragments.astype(np.int64))
    counter = ObjectCounter(grid, outliers.named)
    prev = None
    for region in grid.slabs() if len(frag_set) or touching or outliers.named else ():
        lab = read(region)
        counter.add(lab, region)
        if len(frag_set):
            grid.add(frag, region, np.isin(lab, frag_set))
        if touching:
            both = lab if prev is None else np.concatenate([prev, lab])
            c = contact_voxels(both)
            grid.add(contact, region, c if prev is None else c[1:])
            prev = lab[-1:]
    if len(frag_set):
        rows = np.isin(table.ids, frag_set)
        cells = np.floor(table.centroid[rows] / np.array(grid.cell)).astype(np.int64)
        cells = np.minimum(cells, np.array(grid.n_cells) - 1)
        np.add.at(frag_count, tuple(cells.T), 1)
    signals = []
    named = counter.signal("implausible")
    if named is not None:
        signals.append(named)
    if len(frag_set):
        def describe_fragments(cells, voxels):
            k = int(frag_count[cells].sum())
            than = "smaller than any annotated" if source == "annotated" else "far below the median"
            return f"{k} fragment{'s' if k != 1 else ''} (objects under {outliers.fragment_limit:.3g} voxels, {than})"
        signals.append(Signal("implausible", frag, describe_fragments))
    if touching:
        def describe_touching(cells, voxels):
            return (f"predicted objects touch on {int(contact[cells].sum())} voxels; annotated objects never touch")
        signals.append(Signal("implausible", contact, describe_touching))
    return signals
