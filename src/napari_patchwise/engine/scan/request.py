"""What a failure scan is asked (:class:`ScanRequest`) and finds (:class:`FailureRegion`, :class:`ScanResult`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..evaluate.prediction import KINDS

__all__ = ["KINDS_OF_FAILURE", "FailureRegion", "ScanRequest", "ScanResult"]

#: The kinds of failure a region is proposed for (its dominant signal).
KINDS_OF_FAILURE = ("uncertainty", "implausible", "disagreement")


def _whole(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


@dataclass(frozen=True)
class ScanRequest:
    """Where to look for a prediction's failures.

    Attributes
    ----------
    project : path
        The project folder.
    prediction : path or mapping of str to path
        A prediction file, a folder with one file per image named after it
        (see :mod:`..evaluate.prediction`), or ``{image name: file}``.
    second_prediction : path or mapping, optional
        Another prediction of the same images (another model, another
        checkpoint): where the two differ counts as uncertain.
    images : sequence of str, optional
        The images to scan (default: every image).
    n : int
        How many regions to propose (at most).
    box_size : tuple of 3 int, optional
        Size of a proposed region in full-resolution voxels (default: the
        plan's size of new boxes). The voxel size is the plan's.
    threshold : float
        Probability from which a voxel of a probability map is foreground.
    kind : str
        What the predictions hold, one of :data:`..evaluate.prediction.KINDS`.
    class_name : str, optional
        The class a one-class prediction is of (default: the plan's only
        class, else its only instance class).

    Examples
    --------
    >>> ScanRequest("p", "pred.tif", n=0)
    Traceback (most recent call last):
    ...
    ValueError: the number of regions to propose (n) must be a whole number >= 1; got 0.
    """

    project: Path
    prediction: Path | Mapping[str, Path]
    second_prediction: Path | Mapping[str, Path] | None = None
    images: Sequence[str] | None = None
    n: int = 10
    box_size: tuple[int, int, int] | None = None
    threshold: float = 0.5
    kind: str = "auto"
    class_name: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "project", Path(self.project))
        if not _whole(self.n) or self.n < 1:
            raise ValueError(f"the number of regions to propose (n) must be a whole number >= 1; got {self.n!r}.")
        object.__setattr__(self, "n", int(self.n))
        if self.box_size is not None:
            size = tuple(self.box_size)
            if len(size) != 3 or not all(_whole(s) and s > 0 for s in size):
                raise ValueError(f"the box size is three whole numbers > 0 (z, y, x voxels); got {self.box_size!r}.")
            object.__setattr__(self, "box_size", tuple(int(s) for s in size))
        if self.kind not in KINDS:
            raise ValueError(f"the prediction kind must be one of {', '.join(KINDS)}; got {self.kind!r}.")
        if not 0 <= float(self.threshold) <= 1:
            raise ValueError(f"the probability threshold lies in [0, 1]; got {self.threshold}.")
        if self.images is not None:
            object.__setattr__(self, "images", tuple(self.images))


@dataclass(frozen=True)
class FailureRegion:
    """A box-sized region where the prediction is likely wrong.

    Attributes
    ----------
    image : str
        The image it lies in.
    lo, hi : tuple of int
        Corners in full-resolution voxels (``hi`` exclusive), on the plan's
        magnification grid and inside the image.
    kind : str
        Its dominant signal, one of :data:`KINDS_OF_FAILURE`.
    reason : str
        Why, in words (the dominant signal first).
    score : float
        Share of the region's voxels the signals flag, summed over signals
        (higher is worse).

    Examples
    --------
    >>> FailureRegion("a", (0, 0, 0), (8, 16, 16), "uncertainty", "40 % of voxels uncertain", 0.4).to_dict()
    {'image': 'a', 'lo': [0, 0, 0], 'hi': [8, 16, 16], 'kind': 'uncertainty', 'reason': '40 % of voxels uncertain', 'score': 0.4}
    """

    image: str
    lo: tuple
    hi: tuple
    kind: str
    reason: str
    score: float

    def __post_init__(self):
        object.__setattr__(self, "lo", tuple(int(v) for v in self.lo))
        object.__setattr__(self, "hi", tuple(int(v) for v in self.hi))
        if self.kind not in KINDS_OF_FAILURE:
            raise ValueError(f"a failure region's kind is one of {', '.join(KINDS_OF_FAILURE)}; got {self.kind!r}.")

    def to_dict(self) -> dict:
        """JSON-ready: ``{"image", "lo", "hi", "kind", "reason", "score"}``."""
        return {"image": self.image, "lo": list(self.lo), "hi": list(self.hi), "kind": self.kind,
                "reason": self.reason, "score": round(float(self.score), 6)}


@dataclass(frozen=True)
class ScanResult:
    """The regions found, worst first, and notes on how they were judged.

    Attributes
    ----------
    regions : tuple of FailureRegion
        Ranked worst-first; no two overlap, none overlaps an existing box.
    notes : tuple of str
        What the scan could not judge or judged against what (e.g. no
        annotated objects: sizes are compared with the prediction's own).
    predictions : mapping of str to str
        The prediction file of each image scanned.
    """

    regions: tuple[FailureRegion, ...]
    notes: tuple[str, ...] = ()
    predictions: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """``{"regions": [...], "notes": [...], "predictions": {...}}``."""
        return {"regions": [r.to_dict() for r in self.regions], "notes": list(self.notes),
                "predictions": dict(self.predictions)}
