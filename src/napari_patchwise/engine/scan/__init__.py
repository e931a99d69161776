"""Failure scan: regions of whole images where a prediction is likely wrong, ranked worst-first.

:func:`scan_failures` reads a :class:`ScanRequest` and returns a
:class:`ScanResult` of :class:`FailureRegion` boxes. Three kinds of signals
(one module each) count flagged voxels on a coarse grid of cells
(:mod:`.cells`): :mod:`.uncertainty` (a probability map near its threshold,
or two predictions that differ), :mod:`.implausible` (objects whose size or
shape lies outside the annotated ones', fragments, touching objects) and
:mod:`.disagreement` (where the prediction disagrees with the annotations
inside boxes, which flags the regions beside them). :mod:`.pick` chooses the
non-overlapping box-sized windows that score highest, never over a box.
"""

from .request import FailureRegion, ScanRequest, ScanResult
from .run import scan_failures

__all__ = ["FailureRegion", "ScanRequest", "ScanResult", "scan_failures"]
