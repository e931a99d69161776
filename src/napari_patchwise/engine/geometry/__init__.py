"""Where boxes are: boxes, magnifications, voxel sizes, overlaps, regions (slices of an array)."""

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
from .regions import (
    Region,
    bounding_region,
    clip_region,
    full_region,
    grow_region,
    region_at_mag,
    region_from_bounds,
    region_from_mask,
    region_shape,
    region_to_full,
    regions_overlap,
    relative_region,
    union_region,
)

__all__ = [
    "Box",
    "Region",
    "VoxelChoice",
    "as_box_id",
    "as_magnification",
    "bounding_region",
    "clip_region",
    "full_region",
    "grow_region",
    "box_from_center",
    "boxes_overlap",
    "downsample_mean",
    "choose_voxel_size",
    "format_voxel_size",
    "normalize_unit",
    "overlap_pairs",
    "parse_voxel_size",
    "region_at_mag",
    "region_from_bounds",
    "region_from_mask",
    "region_shape",
    "region_to_full",
    "regions_overlap",
    "relative_region",
    "scaled_shape",
    "snap_box",
    "union_region",
    "voxel_size_at",
]
