"""Corrections of a previous segmentation: Add / Remove / Ignore masks merged into training labels."""

from .merge import (MergeCorrectionsRequest, MergeReport, correction_kind, merge_corrections, merge_masks,
                    plan_merge)
from .store import CORRECTION_KINDS, correction_arrays, correction_path, has_corrections

__all__ = ["CORRECTION_KINDS", "correction_arrays", "correction_path", "has_corrections",
           "MergeCorrectionsRequest", "MergeReport", "correction_kind", "merge_corrections", "merge_masks",
           "plan_merge"]
