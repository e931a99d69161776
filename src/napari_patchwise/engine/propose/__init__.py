"""Where to annotate next: candidate blocks, strata, stratified selection, points, uncertainty."""

from .run import ProposalReport, propose, propose_by_uncertainty, repropose_box
from .candidates import Candidates, measure_candidates
from .strata import StrataTable, assign_strata
from .points import PointBoxes, boxes_from_points

__all__ = [
    "Candidates",
    "PointBoxes",
    "ProposalReport",
    "StrataTable",
    "assign_strata",
    "boxes_from_points",
    "measure_candidates",
    "propose",
    "propose_by_uncertainty",
    "repropose_box",
]
