"""How good a segmentation is: one-to-one matching of objects."""

from .metrics import InstanceMatch, match_instances

__all__ = [
    "InstanceMatch",
    "match_instances",
]
