"""Export validated boxes as training data (nnU-Net v2, StarDist, Cellpose, OME-Zarr)."""

from .model import (
    FORMAT_NAMES,
    MANIFEST_NAME,
    SPLITS,
    CaseOutput,
    CaseRef,
    Crop,
    ExportContext,
    ExportError,
    ExportOptions,
    ExportReport,
    case_name,
)
from .run import export_project
from .splits import assign_splits

__all__ = [
    "FORMAT_NAMES",
    "MANIFEST_NAME",
    "SPLITS",
    "CaseOutput",
    "CaseRef",
    "Crop",
    "ExportContext",
    "ExportError",
    "ExportOptions",
    "ExportReport",
    "assign_splits",
    "case_name",
    "export_project",
]
