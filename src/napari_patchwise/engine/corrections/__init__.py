"""Corrections of a previous segmentation: Add / Remove / Ignore masks merged into training labels."""

from .merge import (MergeCorrectionsRequest, MergeReport, correction_kind, merge_corrections, merge_masks,
                    plan_merge)

__all__ = ["MergeCorrectionsRequest", "MergeReport", "correction_kind", "merge_corrections", "merge_masks",
           "plan_merge"]
