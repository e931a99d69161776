"""Where boxes are: boxes, magnifications, voxel sizes, overlaps, a box's part of an array."""

from .box import Box, as_box_id, box_from_center, boxes_overlap
from .magnification import as_magnification, scaled_shape, snap_box, voxel_size_at
from .voxelsize import (
    VoxelChoice,
    choose_voxel_size,
    format_voxel_size,
    parse_voxel_size,
    normalize_unit,
)
from .overlaps import overlap_pairs
from .resample import downsample_mean

__all__ = [
    "Box",
    "VoxelChoice",
    "as_box_id",
    "as_magnification",
    "box_from_center",
    "boxes_overlap",
    "downsample_mean",
    "choose_voxel_size",
    "format_voxel_size",
    "normalize_unit",
    "overlap_pairs",
    "parse_voxel_size",
    "scaled_shape",
    "snap_box",
    "voxel_size_at",
]
