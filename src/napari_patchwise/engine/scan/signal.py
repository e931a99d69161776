"""One signal of a scan: flagged voxels counted per cell, and how to say why a region is flagged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Signal"]


@dataclass(frozen=True, eq=False)
class Signal:
    """Flagged voxels per cell of a :class:`.cells.CellGrid`, of one kind of failure.

    Attributes
    ----------
    kind : str
        ``'uncertainty'``, ``'implausible'`` or ``'disagreement'``.
    counts : ndarray
        Flagged voxels per cell (may be fractional: a weighted flag).
    describe : callable
        ``describe(cells, voxels) -> str``: the reason for a window covering
        the cells ``cells`` (a tuple of slices) and ``voxels`` voxels.

    Examples
    --------
    >>> s = Signal("uncertainty", np.ones((2, 2, 2)), lambda cells, n: f"{n} voxels")
    >>> s.flagged((slice(0, 1), slice(0, 2), slice(0, 2))), s.describe(None, 4)
    (4.0, '4 voxels')
    """

    kind: str
    counts: np.ndarray
    describe: Callable[[tuple, int], str]

    def flagged(self, cells: tuple) -> float:
        """Flagged voxels in the cells ``cells``."""
        return float(self.counts[cells].sum())
