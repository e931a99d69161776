"""A head start: weak labels from thresholds, imported labels or probabilities, Cellpose."""

from .run import seed_boxes, import_into_boxes, cellpose_into_boxes
from .report import SeedReport
from .thresholding import preview_box
from .weaklabels import SeedParams, seed_region
from .objectsize import SizeEstimate, estimate_object_diameter, resolve_seed_params
from .imports import read_cellpose_seg, read_label_image, read_probability
from .label_grid import labels_from_probability, labels_to_annotation

__all__ = [
    "SeedParams",
    "SeedReport",
    "SizeEstimate",
    "cellpose_into_boxes",
    "estimate_object_diameter",
    "import_into_boxes",
    "labels_from_probability",
    "labels_to_annotation",
    "preview_box",
    "read_cellpose_seg",
    "read_label_image",
    "read_probability",
    "resolve_seed_params",
    "seed_boxes",
    "seed_region",
]
