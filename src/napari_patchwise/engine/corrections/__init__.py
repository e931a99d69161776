"""Corrections of a previous segmentation: Add / Remove / Ignore masks merged into training labels."""

from .merge import (MergeCorrectionsRequest, MergeReport, correction_kind, merge_corrections, merge_masks,
                    plan_merge)
from .mitk import (ExportCorrectionsRequest, ImportCorrectionsReport, ImportCorrectionsRequest,
                   export_correction_patches, import_corrections, parse_box_name)
from .store import CORRECTION_KINDS, correction_arrays, correction_path, has_corrections

__all__ = ["CORRECTION_KINDS", "correction_arrays", "correction_path", "has_corrections",
           "MergeCorrectionsRequest", "MergeReport", "correction_kind", "merge_corrections", "merge_masks",
           "plan_merge", "ImportCorrectionsRequest", "ImportCorrectionsReport", "import_corrections",
           "ExportCorrectionsRequest", "export_correction_patches", "parse_box_name"]
