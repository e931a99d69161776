"""What to annotate: presets, the plan, box rules and findings, the project folder and its store."""

from .presets import PRESETS, Preset, get_preset
from .plan import ClassSpec, ImageRef, Plan, parse_classes
from .boxfit import BoxFit, fit_box_size
from .rules import validate_box, validate_plan
from .project import (
    ProjectError,
    create_project,
    is_project,
    load_plan,
    open_annotations,
    open_project,
    save_plan,
)
from .lock import ProjectLocked, project_lock
from .annotation import Composition, compose

__all__ = [
    "BoxFit",
    "ClassSpec",
    "Composition",
    "ImageRef",
    "PRESETS",
    "Plan",
    "Preset",
    "ProjectError",
    "ProjectLocked",
    "compose",
    "create_project",
    "fit_box_size",
    "get_preset",
    "is_project",
    "load_plan",
    "open_annotations",
    "open_project",
    "parse_classes",
    "project_lock",
    "save_plan",
    "validate_box",
    "validate_plan",
]
