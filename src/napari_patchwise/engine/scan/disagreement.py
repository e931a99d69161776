"""Disagreement with the annotations: what the prediction gets wrong inside annotated boxes.

Inside a box only annotated voxels count (not unannotated, not ignore). A
voxel is wrong when the prediction calls it foreground and the annotation
background (extra), the other way round (missed), or when both call it
foreground but the objects do not pair up (:mod:`.pairing`): a split or a
merge. Split and merge *counts* use evaluate's majority rule
(:func:`..evaluate.instances.split_merge_counts`).

A box is never proposed again, so its failures speak for the regions beside
it: :func:`nearby_signal` flags the cells within one box size around a box
with :data:`NEARBY_WEIGHT` times the share of its voxels the prediction gets
wrong (the model likely fails there in the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..evaluate.instances import split_merge_counts
from .cells import CellGrid
from .pairing import contingency, unpaired
from .signal import Signal

__all__ = ["NEARBY_WEIGHT", "BoxFailure", "box_failure", "nearby_signal"]

#: How much of a box's share of wrong voxels the cells beside it get.
NEARBY_WEIGHT = 0.5


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class BoxFailure:
    """What the prediction gets wrong in one annotated box.

    Examples
    --------
    >>> f = BoxFailure(3, (slice(0, 4),) * 3, 1000, 50, 120, 1, 2, 400)
    >>> f.share, f.text()
    (0.4, 'the prediction merges 2 annotated objects, splits 1, misses 12 % of the annotated foreground and adds 5 %')
    """

    box_id: int
    region: tuple
    annotated: int
    extra: int
    missed: int
    splits: int
    merges: int
    wrong: int
    foreground: int = 0

    @property
    def share(self) -> float:
        """Share of the annotated voxels the prediction gets wrong."""
        return self.wrong / self.annotated if self.annotated else 0.0

    def text(self) -> str:
        fg = self.foreground or self.annotated
        parts = []
        if self.merges:
            parts.append(f"merges {_plural(self.merges, 'annotated object')}")
        if self.splits:
            parts.append(f"splits {self.splits}" if self.merges else f"splits {_plural(self.splits, 'annotated object')}")
        parts.append(f"misses {100 * self.missed / fg:.0f} % of the annotated foreground")
        parts.append(f"adds {100 * self.extra / fg:.0f} %")
        return "the prediction " + ", ".join(parts[:-1]) + " and " + parts[-1]


def box_failure(box_id: int, region, annotated: np.ndarray, truth: np.ndarray, pred: np.ndarray,
                instances: bool) -> BoxFailure:
    """Compare a box's prediction with its annotation.

    Parameters
    ----------
    box_id : int
    region : tuple of slices
        The box on the annotation grid.
    annotated : ndarray of bool
        Voxels that are annotated (class or background, not ignore).
    truth, pred : ndarray of int
        Annotated and predicted labels (0 background); object ids when
        ``instances``, else foreground values.
    instances : bool
        Whether both hold object ids (splits and merges are counted).

    Examples
    --------
    >>> truth = np.zeros((1, 1, 10), int); truth[..., :4] = 1; truth[..., 5:9] = 2
    >>> pred = np.zeros_like(truth); pred[..., :9] = 7            # one object over both
    >>> f = box_failure(1, None, np.ones(truth.shape, bool), truth, pred, True)
    >>> f.merges, f.extra, f.missed, f.wrong
    (1, 1, 0, 5)
    """
    t, p = np.where(annotated, truth, 0), np.where(annotated, pred, 0)
    tf, pf = t > 0, p > 0
    extra, missed = annotated & pf & ~tf, annotated & tf & ~pf
    wrong = extra | missed
    splits = merges = 0
    if instances:
        wrong |= unpaired(t, p, contingency(t, p))
        splits, merges = split_merge_counts(p, t)
    return BoxFailure(int(box_id), region, int(annotated.sum()), int(extra.sum()), int(missed.sum()),
                      int(splits), int(merges), int(wrong.sum()), int(tf.sum()))


def nearby_signal(grid: CellGrid, failures: Sequence[BoxFailure], reach: Sequence[int],
                  weight: float = NEARBY_WEIGHT) -> Signal:
    """Cells within ``reach`` voxels of a box, flagged by the share the prediction gets wrong in it.

    A cell near several boxes takes the worst one's share.

    Examples
    --------
    >>> f = BoxFailure(2, (slice(0, 4), slice(0, 4), slice(0, 4)), 100, 0, 0, 0, 1, 40)
    >>> s = nearby_signal(CellGrid((4, 16, 16), (4, 4, 4)), [f], (4, 4, 4))
    >>> s.counts[0, :3, 0].tolist()
    [12.8, 12.8, 0.0]
    >>> s.describe((slice(0, 1), slice(1, 2), slice(0, 1)), 64)
    'beside box 2, where the prediction merges 1 annotated object, misses 0 % of the annotated foreground and adds 0 %'
    """
    share = grid.zeros()
    owner = np.full(grid.n_cells, -1, np.int64)
    for i, f in enumerate(failures):
        if not f.wrong:
            continue
        grown = tuple(slice(max(0, r.start - d), min(s, r.stop + d)) for r, d, s in zip(f.region, reach, grid.shape))
        cells = grid.cells_of(grown)
        value = weight * f.share
        better = share[cells] < value
        share[cells] = np.where(better, value, share[cells])
        owner[cells] = np.where(better, i, owner[cells])
    counts = share * grid.voxels()

    def describe(cells, voxels):
        sub_owner, sub_counts = owner[cells].ravel(), counts[cells].ravel()
        f = failures[int(sub_owner[int(np.argmax(sub_counts))])]
        return f"beside box {f.box_id}, where {f.text()}"

    return Signal("disagreement", counts, describe)
