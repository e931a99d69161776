"""What to annotate: presets, the plan, box rules and findings, the project folder and its store."""

from .presets import PRESETS, Preset, get_preset
from .classes import ClassSpec, parse_classes
from .plan import ImageRef, Plan
from .boxfit import BoxFit, fit_box_size
from .rules import validate_box, validate_plan
from .collection import Collection, ImageEntry
from .plan_file import ProjectError, is_project, load_collection, load_plan
from .project import create_project, open_project, save_plan
from .project_images import add_image, annotated_voxels, remove_image, save_collection
from .annotation_store import open_annotations
from .lock import ProjectLocked, project_lock
from .annotation import Composition, compose
from .border import border_mask, box_interior
from .box_arrays import compose_box

__all__ = [
    "BoxFit",
    "ClassSpec",
    "Collection",
    "Composition",
    "ImageEntry",
    "ImageRef",
    "PRESETS",
    "Plan",
    "Preset",
    "ProjectError",
    "ProjectLocked",
    "add_image",
    "annotated_voxels",
    "border_mask",
    "box_interior",
    "compose",
    "compose_box",
    "create_project",
    "fit_box_size",
    "get_preset",
    "is_project",
    "load_collection",
    "load_plan",
    "open_annotations",
    "open_project",
    "parse_classes",
    "project_lock",
    "remove_image",
    "save_collection",
    "save_plan",
    "validate_box",
    "validate_plan",
]
