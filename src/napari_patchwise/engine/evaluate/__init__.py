"""How good a segmentation is: one-to-one matching of objects, and the Evaluate job.

:func:`evaluate` compares a prediction with a project's annotations inside
its boxes (:class:`EvaluateRequest` says what to compare); the metrics are
pure functions on arrays: :func:`match_instances`, Dice/IoU counts
(:mod:`.semantic`), variation of information (:mod:`.voi`), instance counts
with splits and merges (:mod:`.instances`).
"""

from .metrics import InstanceMatch, match_instances
from .run import EvaluateRequest, EvaluateResult, evaluate
from .voi import split_merge_vi

__all__ = [
    "EvaluateRequest",
    "EvaluateResult",
    "InstanceMatch",
    "evaluate",
    "match_instances",
    "split_merge_vi",
]
