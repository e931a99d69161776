"""Candidate boxes: box-sized blocks of an image, measured and sorted into strata.

Candidates lie at half-box strides plus one position against each far face
(:func:`.cellstats.candidate_layout`), so they overlap and every voxel lies in
some candidate; they are measured together on cells
(:func:`.cellstats.cell_statistics`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .block_grid import BlockGrid, edge_blocks
from ..geometry.box import Box
from .cellstats import candidate_layout, cell_statistics
from ..geometry.magnification import _as_int_triple
from ..plan.plan import Plan
from .strata import StrataTable, assign_strata, describe_stats
from ..io.workload import check_proposal

__all__ = ["Candidates", "box_size_for", "measure_candidates"]


@dataclass(frozen=True, eq=False)
class Candidates:
    """Measured candidate blocks of one size on one image.

    Attributes
    ----------
    grid : BlockGrid
        The candidate blocks (full-resolution origins, one block size); they
        overlap (half-box strides and blocks against the far faces).
    stats : dict of str to ndarray
        Per-block statistics (:data:`.blockstats.STAT_NAMES`).
    strata : StrataTable
        Stratum memberships.
    """

    grid: BlockGrid
    stats: dict
    strata: StrataTable

    def __len__(self) -> int:
        return len(self.grid)

    @property
    def block(self) -> tuple[int, int, int]:
        return self.grid.block

    def extent(self, i: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """``(lo, hi)`` of candidate ``i`` in full-resolution voxels."""
        lo = tuple(int(v) for v in self.grid.origins[i])
        return lo, tuple(a + b for a, b in zip(lo, self.grid.block))

    def box_stats(self, i: int) -> dict:
        """What is kept on a box proposed from candidate ``i``."""
        return describe_stats(self.stats, i) | {"strata": list(self.strata.strata_of(i))}


def box_size_for(plan: Plan, size=None) -> tuple[int, int, int]:
    """Full-resolution box size for ``plan``: ``size`` (at the magnification),
    else the plan's box size (:meth:`.plan.Plan.box_fit`: set by hand, or the
    preset's default fitted to the image).

    Raises
    ------
    ValueError
        If the size is below the preset's minimum, or no box fits the image.

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> from napari_patchwise.engine.plan.presets import get_preset
    >>> plan = Plan(ImageRef((64, 256, 256)), get_preset("instance"), (1, 2, 2))
    >>> box_size_for(plan), box_size_for(plan, (32, 96, 96))
    ((64, 128, 128), (32, 192, 192))
    >>> box_size_for(plan, (16, 64, 64))
    Traceback (most recent call last):
    ...
    ValueError: box size (16, 64, 64) (z, y, x at the magnification) is below the instance preset's minimum (32, 32, 32); use at least (32, 64, 64).
    """
    s = plan.box_fit().size if size is None else _as_int_triple(size, "size", positive=True)
    small = any(a < b for a, b in zip(s, plan.preset.minimum))
    if small:
        fix = tuple(max(a, b) for a, b in zip(s, plan.preset.minimum))
        raise ValueError(
            f"box size {tuple(s)} (z, y, x at the magnification) is below the "
            f"{plan.preset.name} preset's minimum {plan.preset.minimum}; use at least {fix}."
        )
    return plan.preset.size_at(plan.magnification, s)


def _check_fits(plan: Plan, block) -> None:
    shape = plan.image.shape
    if any(b > s for b, s in zip(block, shape)):
        at_mag = tuple(b // m for b, m in zip(block, plan.magnification))
        raise ValueError(
            f"a box of {at_mag} voxels at magnification {plan.magnification} spans {tuple(block)} "
            f"full-resolution voxels, more than the image {tuple(shape)}; choose a smaller box "
            "size or magnification."
        )


def measure_candidates(image, plan: Plan, *, size=None, labels=None, probability=None,
                       threshold=None, sample_step=None, scheduler=None,
                       progress=None, on_start=None) -> Candidates:
    """Measure overlapping box-sized candidate blocks of ``image`` for ``plan``.

    Parameters
    ----------
    image : array-like, shape (z, y, x)
        numpy, zarr or dask array; read blockwise, never loaded whole.
    plan : Plan
        Gives the image shape, magnification and preset.
    size : tuple of 3 int, optional
        Box size at the magnification; by default the plan's
        (:meth:`.plan.Plan.box_fit`).
    labels, probability, threshold, sample_step, scheduler, progress
        Passed to :func:`.cellstats.cell_statistics`.
    on_start : callable, optional
        Called with the :class:`.workload.ProposalWork` (what is about to be
        measured, :meth:`~.workload.ProposalWork.summary`) once the volume is
        known to hold data and the work to fit in memory, before the long pass.

    Returns
    -------
    Candidates

    Raises
    ------
    ValueError
        If the image does not match the plan, a box does not fit, the volume
        holds no data or the work would not fit in memory
        (:func:`.workload.check_proposal`), or the statistics refuse the image
        (2D, constant, NaN, ...).

    Examples
    --------
    >>> from napari_patchwise.engine.plan.plan import ImageRef
    >>> from napari_patchwise.engine.plan.presets import get_preset
    >>> from napari_patchwise.engine.samples.nuclei import make_sample
    >>> s = make_sample((32, 128, 128))
    >>> plan = Plan(ImageRef(s.image.shape), get_preset("instance"), 1)
    >>> c = measure_candidates(s.image, plan, size=(32, 32, 32), scheduler="sync")
    >>> len(c), c.block
    (49, (32, 32, 32))
    """
    shape = tuple(int(v) for v in getattr(image, "shape", np.shape(image)))
    if len(shape) == 3 and shape != tuple(plan.image.shape):
        raise ValueError(
            f"the image has shape {shape} but the plan was made for {tuple(plan.image.shape)}; "
            "open the plan's own image or start a new plan for this one."
        )
    block = box_size_for(plan, size)
    if len(shape) == 3:
        _check_fits(plan, block)
    # a 2D image gets the plan's layout, so cell_statistics words the error
    layout = candidate_layout(plan.image.shape, block, mag=plan.magnification)
    if len(shape) == 3:  # before anything is allocated for the candidates
        work = check_proposal(image, plan.image.path or plan.image.name, shape,
                              layout.block, layout.n_cells, len(layout))
        if on_start is not None:
            on_start(work)
    stats = cell_statistics(image, layout, threshold=threshold, labels=labels,
                            probability=probability, sample_step=sample_step,
                            scheduler=scheduler, progress=progress)
    grid = layout.grid
    table = assign_strata(stats, edge=edge_blocks(grid.origins, grid.block, grid.image_shape))
    return Candidates(grid, stats, table)


def _overlaps(cands: Candidates, boxes: Iterable[Box | tuple]) -> np.ndarray:
    """Candidates overlapping any of ``boxes`` (Box or (lo, hi))."""
    lo = cands.grid.origins
    hi = lo + np.asarray(cands.block)
    hit = np.zeros(len(cands), bool)
    for b in boxes:
        blo, bhi = (b.lo, b.hi) if isinstance(b, Box) else b
        hit |= np.all((lo < np.asarray(bhi)) & (hi > np.asarray(blo)), axis=1)
    return hit
