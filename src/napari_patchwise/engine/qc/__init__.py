"""Clean labels: per-box and plan checks, touching instances."""

from .checks import BoxQC, QCReport, check_box, check_project
from .touching import Contacts, find_contacts, touching_pairs
from .separation import Separation, separate

__all__ = [
    "BoxQC",
    "Contacts",
    "QCReport",
    "Separation",
    "check_box",
    "check_project",
    "find_contacts",
    "separate",
    "touching_pairs",
]
