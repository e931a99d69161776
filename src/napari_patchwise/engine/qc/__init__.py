"""Clean labels: per-box and plan checks, touching instances."""

from .checks import BoxQC, QCReport, check_box, check_project
from .touching import Contacts, Separation, find_contacts, separate, touching_pairs

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
