"""Pure computational core of napari-patchwise.

Nothing in this sub-package imports Qt, napari or magicgui, so every function
can run headless, in scripts, on a cluster, or in tests without a display.
"""

from .box import Box, box_from_center, boxes_overlap
from .magnification import (
    as_magnification,
    scaled_shape,
    snap_box,
    voxel_size_at,
)
from .plan import ClassSpec, ImageRef, Plan
from .presets import PRESETS, Preset, get_preset
from .validation import Finding, validate_box, validate_plan, worst_severity

__all__ = [
    "PRESETS",
    "Box",
    "ClassSpec",
    "Finding",
    "ImageRef",
    "Plan",
    "Preset",
    "as_magnification",
    "box_from_center",
    "boxes_overlap",
    "get_preset",
    "scaled_shape",
    "snap_box",
    "validate_box",
    "validate_plan",
    "voxel_size_at",
    "worst_severity",
]
