"""Disagreement with the annotations: what the prediction gets wrong inside annotated boxes.

Inside a box only annotated voxels count (not unannotated, not ignore). A
voxel is wrong when the prediction calls it foreground and the annotation
background (extra), the other way round (missed), or when both call it
foreground but the objects do not pair up (:mod:`.pairing`): a split or a
merge. Split and merge *counts* use evaluate's majority rule
(:func:`..evaluate.instances.split_merge_counts`).

A box is never proposed again, so its failures speak for regions outside
it. The predicted objects that merge or split annotated objects in a box are
wrong wherever they go: :func:`continuation_signal` flags their surface (where
they meet other objects) outside the box. And the model likely fails
the same way next to the box: :func:`nearby_signal` flags the cells around
it with :data:`NEARBY_WEIGHT` times the share of its voxels the prediction
gets wrong, fading to nothing one box size away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..evaluate.metrics import overlap_table
from .cells import CellGrid
from .pairing import contingency, unpaired
from .named import object_signal
from .signal import Signal

__all__ = ["CONTINUE_WEIGHT", "NEARBY_WEIGHT", "BoxFailure", "box_failure", "continuation_signal", "culprits",
           "nearby_signal"]

#: How much of a box's share of wrong voxels the cells beside it get (at the box; less further away).
NEARBY_WEIGHT = 0.25
#: How much a voxel of a predicted object that merges or splits annotated objects in a box counts outside it.
CONTINUE_WEIGHT = 0.5


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class BoxFailure:
    """What the prediction gets wrong in one annotated box.

    Examples
    --------
    >>> f = BoxFailure(3, (slice(0, 4),) * 3, 1000, 50, 120, 1, 2, 400)
    >>> f.share, f.text()
    (0.4, 'the prediction has 2 merges and 1 split, misses 12 % of the annotated foreground and adds 5 %')
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
    culprits: dict = field(default_factory=dict, compare=False)
    wrong_class: int = 0

    @property
    def share(self) -> float:
        """Share of the annotated voxels the prediction gets wrong."""
        return self.wrong / self.annotated if self.annotated else 0.0

    def text(self) -> str:
        fg = self.foreground or self.annotated
        parts = [f"{k} {word}{'' if k == 1 else 's'}" for k, word in ((self.merges, "merge"), (self.splits, "split"))
                 if k]
        has = f"has {' and '.join(parts)}, " if parts else ""
        if self.wrong_class:
            has += f"gives {100 * self.wrong_class / fg:.0f} % of the annotated foreground another class, "
        return (f"the prediction {has}misses {100 * self.missed / fg:.0f} % of the annotated foreground and adds "
                f"{100 * self.extra / fg:.0f} %")


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
        ``instances``, else class values (a voxel of the wrong class is wrong).
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
    found = {}
    confused = np.zeros(0)
    if not instances:  # class values: foreground of the wrong class is wrong too
        confused = tf & pf & (t != p)
        wrong |= confused
    else:
        wrong |= unpaired(t, p, contingency(t, p))
        splits, merges, found = culprits(p, t, box_id)
    return BoxFailure(int(box_id), region, int(annotated.sum()), int(extra.sum()), int(missed.sum()),
                      int(splits), int(merges), int(wrong.sum()), int(tf.sum()), found,
                      int(confused.sum()))


def culprits(pred: np.ndarray, truth: np.ndarray, box_id: int) -> tuple[int, int, dict]:
    """``(splits, merges, {predicted id: reason})``: the predicted objects of splits and merges in a box.

    The majority rule of :func:`..evaluate.instances.split_merge_counts`: a
    predicted object is a merge when two or more annotated objects lie (by more
    than half their voxels) in it; the pieces of a split are the predicted
    objects lying in one annotated object, two or more of them.

    Examples
    --------
    >>> truth = np.array([[[1, 1, 1, 1, 2, 2, 3, 3]]])
    >>> pred = np.array([[[4, 4, 5, 5, 6, 6, 6, 6]]])
    >>> splits, merges, found = culprits(pred, truth, 7)
    >>> splits, merges
    (1, 1)
    >>> found[6]
    'object 6 merges 2 annotated objects in box 7'
    >>> found[4]
    'object 4 is one of 2 pieces of an annotated object in box 7'
    """
    p, g, inter, psize, gsize = overlap_table(pred, truth)
    if not len(p):
        return 0, 0, {}
    p_in = 2 * inter > np.array([psize[i] for i in p.tolist()])
    g_in = 2 * inter > np.array([gsize[i] for i in g.tolist()])
    found = {}
    gs, n_pieces = np.unique(g[p_in], return_counts=True)
    for gid, k in zip(gs[n_pieces >= 2], n_pieces[n_pieces >= 2]):
        for pid in p[p_in & (g == gid)]:
            found[int(pid)] = f"object {pid} is one of {k} pieces of an annotated object in box {box_id}"
    ps, n_merged = np.unique(p[g_in], return_counts=True)
    for pid, k in zip(ps[n_merged >= 2], n_merged[n_merged >= 2]):
        found[int(pid)] = f"object {pid} merges {k} annotated objects in box {box_id}"
    return int((n_pieces >= 2).sum()), int((n_merged >= 2).sum()), found


def nearby_signal(grid: CellGrid, failures: Sequence[BoxFailure], reach: Sequence[int],
                  weight: float = NEARBY_WEIGHT) -> Signal:
    """Cells near a box, flagged by the share of voxels the prediction gets wrong in it.

    A cell beside the box gets ``weight`` times that share, fading to nothing
    ``reach`` voxels away (per axis, the farthest counts); a cell near several
    boxes takes the largest.

    Examples
    --------
    >>> f = BoxFailure(2, (slice(0, 4), slice(0, 4), slice(0, 4)), 100, 0, 0, 0, 1, 40)
    >>> s = nearby_signal(CellGrid((4, 16, 16), (4, 4, 4)), [f], (4, 8, 8))
    >>> (s.counts[0, :4, 0] / 64).round(3).tolist()
    [0.1, 0.075, 0.025, 0.0]
    >>> s.describe((slice(0, 1), slice(1, 2), slice(0, 1)), 64)
    'beside box 2, where the prediction has 1 merge, misses 0 % of the annotated foreground and adds 0 %'
    """
    share = grid.zeros()
    owner = np.full(grid.n_cells, -1, np.int64)
    centres = [(np.arange(n) + 0.5) * c for n, c in zip(grid.n_cells, grid.cell)]
    for i, f in enumerate(failures):
        if not f.wrong:
            continue
        far = [np.maximum(0, np.maximum(r.start - c, c - r.stop)) / max(1, d)
               for c, r, d in zip(centres, f.region, reach)]
        dist = np.maximum(np.maximum(far[0][:, None, None], far[1][None, :, None]), far[2][None, None, :])
        value = weight * f.share * np.clip(1 - dist, 0, 1)
        better = value > share
        share = np.where(better, value, share)
        owner = np.where(better, i, owner)
    counts = share * grid.voxels()

    def describe(cells, voxels):
        sub_owner, sub_counts = owner[cells].ravel(), counts[cells].ravel()
        f = failures[int(sub_owner[int(np.argmax(sub_counts))])]
        return f"beside box {f.box_id}, where {f.text()}"

    return Signal("disagreement", counts, describe)


def continuation_signal(read, grid: CellGrid, failures: Sequence[BoxFailure],
                        weight: float = CONTINUE_WEIGHT) -> Signal | None:
    """The surface of the predicted objects that merge or split annotated objects in a box, wherever they go.

    Such an object is wrong as a whole, but where it is wrong is where it
    meets other objects (a false cut, or the missing cut of a merge): its
    voxels beside another object count, :data:`CONTINUE_WEIGHT` each.

    Examples
    --------
    >>> lab = np.zeros((2, 4, 16), int); lab[:, :, :12] = 6; lab[:, :, 12:] = 9
    >>> f = BoxFailure(7, None, 10, 0, 0, 0, 1, 5, culprits={6: "object 6 merges 2 annotated objects in box 7"})
    >>> s = continuation_signal(lambda r: lab[r], CellGrid((2, 4, 16), (2, 4, 4)), [f])
    >>> s.counts[0, 0].tolist(), s.describe((slice(0, 1), slice(0, 1), slice(2, 4)), 64)
    ([0.0, 0.0, 4.0, 0.0], 'object 6 merges 2 annotated objects in box 7, and continues here')
    """
    named = {}
    for f in failures:
        for pid, text in f.culprits.items():
            named.setdefault(pid, f"{text}, and continues here")
    return object_signal(read, grid, named, "disagreement", weight, surface=True)
