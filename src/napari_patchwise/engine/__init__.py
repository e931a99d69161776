"""Pure computational core of napari-patchwise.

Nothing in this sub-package imports Qt, napari or magicgui, so every function
can run headless, in scripts, on a cluster, or in tests without a display.
"""

from .geometry.box import Box, box_from_center, boxes_overlap
from .geometry.magnification import (
    as_magnification,
    scaled_shape,
    snap_box,
    voxel_size_at,
)
from .plan.plan import ClassSpec, ImageRef, Plan
from .plan.presets import PRESETS, Preset, get_preset
from .plan.rules import validate_box, validate_plan
from .findings import Finding, worst_severity

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
