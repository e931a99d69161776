"""What a seeding run wrote (:class:`SeedReport`), for the CLI and the dock to show."""

from __future__ import annotations

from dataclasses import dataclass, field

from .objectsize import SizeEstimate
from .weaklabels import SeedParams


@dataclass
class SeedReport:
    """What a seeding run wrote.

    Attributes
    ----------
    class_name : str
    method : str
    threshold : float or None
        The global threshold used (``None`` for imports).
    boxes : dict of int to dict
        Per box: ``objects`` (seeded instances), ``foreground`` and
        ``background`` voxels written, ``kept`` (edited voxels left alone).
    skipped : dict of int to str
        Boxes not seeded, with the reason.
    empty : list of int
        Boxes where thresholding found no object: nothing (not even
        background) was painted there and their status is unchanged.
    params : SeedParams or None
        Thresholding: the parameters used, with the object diameter and the
        lengths derived from it.
    estimate : SizeEstimate or None
        Thresholding: the object size measured in the boxes, when the
        diameter was not given.
    groups : list of list of int
        Thresholding: boxes that overlap (or touch, while compact), seeded as one region.
    distinct : int or None
        Thresholding: the number of distinct objects written (an object in
        two boxes of a group is counted in each box's ``objects`` but once
        here); ``None`` when each box's objects are its own.
    """

    class_name: str
    method: str
    threshold: float | None = None
    boxes: dict[int, dict] = field(default_factory=dict)
    skipped: dict[int, str] = field(default_factory=dict)
    empty: list[int] = field(default_factory=list)
    params: SeedParams | None = None
    estimate: SizeEstimate | None = None
    groups: list[list[int]] = field(default_factory=list)
    distinct: int | None = None

    @property
    def objects(self) -> int:
        """Objects written, each counted once even when it lies in two boxes."""
        if self.distinct is not None:
            return self.distinct
        return sum(b["objects"] for b in self.boxes.values())

    def parameters_line(self) -> str:
        """The object diameter (estimated or given) and the lengths used, in one line ('' for imports)."""
        p = self.params
        if p is None:
            return ""
        how = "estimated" if self.estimate is not None else "given"
        return (f"object diameter {p.object_diameter:.3g} ({how}); smoothing sigma {p.smooth:.3g}, "
                f"smallest object {p.min_size} voxels, min centre distance {p.min_distance:.3g}")

    def summary(self) -> str:
        objs = self.objects
        fg = sum(b["foreground"] for b in self.boxes.values())
        kept = sum(b["kept"] for b in self.boxes.values())
        thr = "" if self.threshold is None else f" (threshold {self.threshold:.4g})"
        done = len(self.boxes) - len(self.empty)
        of = f" of {len(self.boxes)}" if self.empty else ""
        text = (
            f"seeded {done}{of} boxes with {self.method}{thr}: {objs} {self.class_name} "
            f"objects, {fg} foreground voxels"
        )
        if kept:
            text += f"; {kept} edited voxels kept"
        if self.empty:
            text += (f"; no objects found in boxes {', '.join(map(str, self.empty))} (nothing painted "
                     "there: try a threshold per box with smoothing, or a manual threshold)")
        if self.skipped:
            text += "; skipped " + "; ".join(f"box {k}: {v}" for k, v in sorted(self.skipped.items()))
        joined = [g for g in self.groups if len(g) > 1]
        if joined:
            text += "; seeded together (overlapping or touching): " + ", ".join(
                "+".join(map(str, g)) for g in joined)
        if self.params is not None:
            text += f". {self.parameters_line()}"
        return text
