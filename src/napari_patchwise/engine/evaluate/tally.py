"""Counts of one box that add up over boxes, and the scores they give.

A :class:`Tally` holds what the scores of a set of boxes need: voxel counts
per class (Dice, IoU), instance counts per IoU threshold (TP/FP/FN, splits,
merges, matched IoUs) and the contingency table of the variation of
information. ``sum(tallies)`` pools boxes (overall, per stratum), so pooled
scores are computed from pooled counts, never averaged from per-box scores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .instances import InstanceCounts, rates
from .semantic import dice, iou
from .voi import vi_from_table

__all__ = ["Tally", "pooled"]


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, eq=False)
class Tally:
    """Counts of one or more boxes.

    Attributes
    ----------
    thresholds : tuple of float
        The IoU thresholds of the instance counts.
    classes : mapping of str to (tp, fp, fn)
        Voxel counts of each class evaluated.
    instances : InstanceCounts or None
        Pooled over the instance classes evaluated (``None``: none is).
    table : mapping
        VI contingency ``{(image, class, predicted id, ground-truth id): voxels}``.
    voxels : int
        Voxels evaluated (annotated and not ignored).
    boxes : int
        How many boxes were added up.
    """

    thresholds: tuple[float, ...]
    classes: Mapping[str, tuple[int, int, int]] = field(default_factory=dict)
    instances: InstanceCounts | None = None
    table: Mapping[tuple, int] = field(default_factory=dict)
    voxels: int = 0
    boxes: int = 1

    def __add__(self, other: Tally) -> Tally:
        if other == 0:
            return self
        classes = dict(self.classes)
        for name, c in other.classes.items():
            old = classes.get(name, (0, 0, 0))
            classes[name] = tuple(a + b for a, b in zip(old, c))
        if self.instances is None or other.instances is None:
            inst = self.instances or other.instances
        else:
            inst = self.instances + other.instances
        table = Counter(self.table)
        table.update(other.table)
        return Tally(self.thresholds, classes, inst, dict(table), self.voxels + other.voxels,
                     self.boxes + other.boxes)

    def __radd__(self, other):  # sum() starts from 0
        if other == 0:
            return self
        return NotImplemented

    def scores(self) -> dict:
        """The scores as plain numbers (``None`` where nothing could be compared).

        ``dice`` and ``iou`` are the mean over the classes evaluated;
        ``precision``, ``recall``, ``f1`` are at the first IoU threshold;
        ``ap`` is StarDist's average precision (TP / (TP + FP + FN)) averaged
        over the thresholds, ``matching`` lists every threshold.

        Examples
        --------
        >>> t = Tally((0.5,), {"cells": (3, 1, 0)}, InstanceCounts((0.5,), (1,), (1,), (0,), 0.8),
        ...           voxels=4)
        >>> s = t.scores()
        >>> s["dice"], s["precision"], s["f1"], s["mean_matched_iou"], s["vi_split"]
        (0.8571428571428571, 0.5, 0.6666666666666666, 0.8, None)
        """
        per_class = {name: {"dice": dice(*c), "iou": iou(*c), "tp": c[0], "fp": c[1], "fn": c[2]}
                     for name, c in self.classes.items()}
        out = {
            "boxes": self.boxes,
            "voxels": self.voxels,
            "dice": _mean(c["dice"] for c in per_class.values()),
            "iou": _mean(c["iou"] for c in per_class.values()),
            "precision": None, "recall": None, "f1": None, "ap": None,
            "mean_matched_iou": None, "splits": None, "merges": None,
            "vi_split": None, "vi_merge": None,
            "classes": per_class,
            "matching": [],
        }
        c = self.instances
        if c is not None and self.voxels:
            matching = rates(c)
            first = matching[0]
            out.update(precision=first["precision"], recall=first["recall"], f1=first["f1"],
                       ap=sum(m["ap"] for m in matching) / len(matching),
                       mean_matched_iou=c.matched_iou_sum / c.tp[0] if c.tp[0] else None,
                       splits=c.splits, merges=c.merges, matching=matching)
            if self.table:
                out["vi_split"], out["vi_merge"] = vi_from_table(self.table)
        return out


def pooled(tallies: Sequence[Tally], thresholds: Sequence[float]) -> Tally:
    """The sum of ``tallies`` (an empty tally of no box when there are none)."""
    if not tallies:
        return Tally(tuple(thresholds), boxes=0)
    return sum(tallies[1:], tallies[0])
