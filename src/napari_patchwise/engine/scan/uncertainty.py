"""Uncertainty: voxels of a probability map near the threshold, or where two predictions differ.

From a probability map a voxel is uncertain when ``|p - threshold| < band``
(``p`` in 0.3-0.7 for the default threshold 0.5 and band 0.2). From two label
predictions a voxel is flagged when one calls it foreground and the other not,
or when both do but the objects do not pair up there: each object of one
prediction is paired with the object of the other it overlaps most, and a
voxel whose pair is not the paired one lies in a split or merge of one
prediction against the other.

Both read their volumes slab by slab (``read(region) -> array``) and count
flagged voxels per cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .cells import CellGrid
from .pairing import best_pairs, contingency, unpaired
from .signal import Signal

__all__ = ["BAND", "disagreement_between", "probability_uncertainty"]

#: Half-width of the uncertain band of probabilities around the threshold.
BAND = 0.2


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "0 %"


def probability_uncertainty(read: Callable, grid: CellGrid, threshold: float = 0.5, band: float = BAND) -> Signal:
    """Voxels with a probability within ``band`` of ``threshold``, per cell.

    Examples
    --------
    >>> p = np.zeros((4, 8, 8)); p[:, :4, :4] = 0.5
    >>> s = probability_uncertainty(lambda r: p[r], CellGrid((4, 8, 8), (4, 4, 4)))
    >>> s.counts[0].tolist()
    [[64.0, 0.0], [0.0, 0.0]]
    >>> s.describe((slice(0, 1), slice(0, 1), slice(0, 2)), 128)
    '50 % of voxels uncertain (p in 0.3-0.7)'
    """
    counts = grid.zeros()
    for region in grid.slabs():
        p = read(region)
        grid.add(counts, region, np.abs(p - threshold) < band)
    lo, hi = max(0.0, threshold - band), min(1.0, threshold + band)

    def describe(cells, voxels):
        return f"{_pct(counts[cells].sum(), voxels)} of voxels uncertain (p in {lo:.2g}-{hi:.2g})"

    return Signal("uncertainty", counts, describe)


def disagreement_between(read_a: Callable, read_b: Callable, grid: CellGrid) -> Signal:
    """Voxels where two label predictions differ (foreground, or object pairing), per cell.

    Examples
    --------
    >>> a = np.zeros((2, 8, 8), int); a[:, :, :4] = 1; a[:, :, 4:] = 2
    >>> b = a.copy(); b[:, :4, :] = 3          # b merges the two objects in the top half
    >>> s = disagreement_between(lambda r: a[r], lambda r: b[r], CellGrid((2, 8, 8), (2, 4, 4)))
    >>> s.counts[0].tolist()                  # where b's object 3 is not a's objects' best pair
    [[32.0, 32.0], [0.0, 0.0]]
    >>> s.describe((slice(0, 1), slice(0, 2), slice(0, 2)), 128)
    'the two predictions differ on 50 % of voxels (foreground 0 %, object pairing 50 %)'
    """
    table: dict = {}
    for region in grid.slabs():
        contingency(read_a(region), read_b(region), table)
    best = (*best_pairs(table, True), *best_pairs(table, False))
    fg, pairing = grid.zeros(), grid.zeros()
    for region in grid.slabs():
        a, b = read_a(region), read_b(region)
        fa, fb = a > 0, b > 0
        grid.add(fg, region, fa != fb)
        wrong = unpaired(a, b, table, best)
        grid.add(pairing, region, wrong)
    counts = fg + pairing

    def describe(cells, voxels):
        return (f"the two predictions differ on {_pct(counts[cells].sum(), voxels)} of voxels (foreground "
                f"{_pct(fg[cells].sum(), voxels)}, object pairing {_pct(pairing[cells].sum(), voxels)})")

    return Signal("uncertainty", counts, describe)
