"""Synthetic volumes with known answers, for the demo and the tests."""

from .nuclei import SampleVolume, make_sample
from .rare import make_rare_sample

__all__ = [
    "SampleVolume",
    "make_rare_sample",
    "make_sample",
]
