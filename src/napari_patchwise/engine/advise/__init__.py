"""The advisor: measure an image before the first box and say how to plan its annotation.

:func:`run_advise` reads a bounded block of the image (and of its labels),
measures it (:mod:`.snr`, :mod:`.objects`, :mod:`.shape`) and answers with
the problem types, a trainer, a magnification, a box size and a box count
(:mod:`.decide`).
"""

from .decide import BOX_RANGES
from .job import Advice, AdviseRequest, Measures, run_advise
from .objects import ObjectMeasures

__all__ = ["BOX_RANGES", "Advice", "AdviseRequest", "Measures", "ObjectMeasures", "run_advise"]
