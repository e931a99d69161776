"""Windows of a box's size scored from the signals; the best that overlap neither each other nor a box.

Windows start on cell boundaries (and flush with the far end of the volume),
one box in size; a window's score is the flagged voxels of every signal in
the cells it covers over the voxels of those cells. :func:`pick_windows`
keeps the best windows greedily (non-maximum suppression), never one that
overlaps an existing box or a window already kept. Ties go to the window
nearest the origin (``z``, then ``y``, then ``x``), so the order is the same
on every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .cells import CellGrid
from .request import KINDS_OF_FAILURE
from .signal import Signal

__all__ = ["Window", "explain", "pick_windows"]

#: A further signal is named in a reason when it flags at least this share of what the first flags.
ALSO = 0.25


@dataclass(frozen=True)
class Window:
    """A picked window: its region on the annotation grid, the cells it covers, its score."""

    region: tuple
    cells: tuple
    score: float


def _origins(size: int, box: int, cell: int) -> np.ndarray:
    last = max(0, size - box)
    return np.unique(np.append(np.arange(0, last + 1, cell), last))


def _box_sums(table: np.ndarray, lo: Sequence[np.ndarray], hi: Sequence[np.ndarray]) -> np.ndarray:
    """Sums over cell ranges [lo, hi) from a zero-padded cumulative table (inclusion-exclusion)."""
    total = 0
    for corner in range(8):
        pick = [(hi, lo)[(corner >> a) & 1][a] for a in range(3)]
        sign = -1 if bin(corner).count("1") % 2 else 1
        total = total + sign * table[np.ix_(*pick)]
    return total


def _cumulative(a: np.ndarray) -> np.ndarray:
    out = np.zeros(tuple(s + 1 for s in a.shape))
    out[1:, 1:, 1:] = a.cumsum(0).cumsum(1).cumsum(2)
    return out


def _overlaps(a, b) -> bool:
    return all(x.start < y.stop and y.start < x.stop for x, y in zip(a, b))


def pick_windows(grid: CellGrid, box: Sequence[int], signals: Sequence[Signal], boxes: Sequence[tuple],
                 n: int) -> list[Window]:
    """The ``n`` best-scoring windows of size ``box`` that overlap neither each other nor ``boxes``.

    Parameters
    ----------
    grid : CellGrid
    box : tuple of int
        Window size on the annotation grid (at most the volume's).
    signals : sequence of Signal
    boxes : sequence of tuple of slices
        Existing boxes on the annotation grid.
    n : int

    Examples
    --------
    >>> grid = CellGrid((4, 32, 32), (4, 4, 4))
    >>> counts = grid.zeros(); counts[0, 6, 6] = 50; counts[0, 0, 0] = 60
    >>> s = Signal("uncertainty", counts, lambda c, v: "")
    >>> [(w.region[1].start, w.region[2].start, w.score) for w in pick_windows(grid, (4, 8, 8), [s], [], 3)]
    [(0, 0, 0.234375), (20, 20, 0.1953125)]

    A window overlapping a box is never picked:

    >>> box = (slice(0, 4), slice(0, 4), slice(0, 4))
    >>> [(w.region[1].start, w.region[2].start) for w in pick_windows(grid, (4, 8, 8), [s], [box], 3)]
    [(20, 20)]
    """
    box = tuple(min(int(b), s) for b, s in zip(box, grid.shape))
    total = sum(s.counts for s in signals) if signals else grid.zeros()
    origins = [_origins(s, b, c) for s, b, c in zip(grid.shape, box, grid.cell)]
    lo = [o // c for o, c in zip(origins, grid.cell)]
    hi = [-(-(o + b) // c) for o, b, c in zip(origins, box, grid.cell)]
    flagged = _box_sums(_cumulative(total), lo, hi)
    voxels = _box_sums(_cumulative(grid.voxels()), lo, hi)
    score = np.where(voxels > 0, flagged / np.maximum(voxels, 1), 0.0)
    for b in boxes:
        clash = [(o < r.stop) & (o + size > r.start) for o, r, size in zip(origins, b, box)]
        score[np.ix_(*clash)] = -1.0
    flat = score.ravel()
    order = np.lexsort((np.arange(flat.size), -flat))  # best first, then nearest the origin
    kept: list[Window] = []
    for i in order:
        if flat[i] <= 0 or len(kept) >= n:
            break
        k = np.unravel_index(i, score.shape)
        region = tuple(slice(int(origins[a][k[a]]), int(origins[a][k[a]]) + box[a]) for a in range(3))
        if any(_overlaps(region, w.region) for w in kept):
            continue
        cells = tuple(slice(int(lo[a][k[a]]), int(hi[a][k[a]])) for a in range(3))
        kept.append(Window(region, cells, float(flat[i])))
    return kept


def explain(window: Window, signals: Sequence[Signal], voxels: int) -> tuple[str, str]:
    """``(kind, reason)`` of a window: the kind whose signals flag most, its strongest signal's words first.

    Examples
    --------
    >>> c = np.ones((1, 1, 1))
    >>> sigs = [Signal("uncertainty", c * 5, lambda *a: "u"), Signal("implausible", c * 4, lambda *a: "i1"),
    ...         Signal("implausible", c * 3, lambda *a: "i2"), Signal("disagreement", c * 0.5, lambda *a: "d")]
    >>> explain(Window((), (slice(0, 1),) * 3, 1.0), sigs, 10)
    ('implausible', 'i1; i2; u')
    """
    flagged = [s.flagged(window.cells) for s in signals]
    by_kind = {k: sum(f for f, s in zip(flagged, signals) if s.kind == k) for k in KINDS_OF_FAILURE}
    kind = max(KINDS_OF_FAILURE, key=lambda k: (by_kind[k], -KINDS_OF_FAILURE.index(k)))
    ranked = sorted(range(len(signals)), key=lambda i: (signals[i].kind != kind, -flagged[i], i))
    top = flagged[ranked[0]]
    words = [signals[i].describe(window.cells, voxels) for i in ranked
             if i == ranked[0] or (flagged[i] > 0 and flagged[i] >= ALSO * top)]
    return kind, "; ".join(words)
