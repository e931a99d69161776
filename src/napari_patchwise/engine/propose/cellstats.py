"""Statistics of overlapping candidate boxes, measured once on cells and combined.

Candidates lie at half-box strides from the volume's corner plus one more
position against the far face of each axis (:func:`candidate_layout`), so
every voxel lies in some candidate and features between lattice lines get a
candidate centred on them. Measuring every candidate on its own would read
each voxel up to eight times; instead the volume is cut into *cells* (the
boxes between consecutive candidate faces), each cell is measured once in a
single blockwise dask pass (:func:`cell_statistics`, per-chunk work in
:mod:`._cellkernel`), and a candidate's statistics are combined from the
cells it holds with summed-area tables (:mod:`._cellcombine`).

Sums (mean, standard deviation, foreground share, blank and saturated shares,
gradient, uncertainty, the foreground on border faces) combine exactly.
Percentiles and the noise (a median) come from per-cell histograms: exact for
integer images at magnification 1 spanning at most 256 grey values (and for
neighbour differences below 64), within one histogram bin otherwise.
Objects are connected foreground components of the sampled volume (or label
ids) joined across chunks; a candidate counts those whose bounding box meets
it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dask
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from ..geometry.regions import full_region
from ._cellcombine import _cell_params, _combine
from ._cellkernel import cells_piece, chunk_samples
from ._daskrun import _compute
from .block_grid import BlockGrid, _image_shape
from .blockstats import _as_dask, _check_like, _even, _global_sample, _steps

__all__ = ["CellLayout", "candidate_layout", "cell_statistics"]



@dataclass(frozen=True, eq=False)
class CellLayout:
    """Candidate positions and the cells between their faces.

    Attributes
    ----------
    block : tuple of int
        Candidate size ``(z, y, x)`` in full-resolution voxels.
    image_shape : tuple of int
        Full-resolution image shape.
    magnification : tuple of int
    positions : tuple of 3 ndarray
        Candidate origins along each axis (full resolution, on the
        magnification grid); candidates are all their combinations.
    bounds : tuple of 3 ndarray
        Cell faces along each axis: every candidate face, from 0 to the last
        whole voxel at the magnification.
    tile : tuple of int
        The stride (full resolution): half the box, on the magnification grid.
    """

    block: tuple[int, int, int]
    image_shape: tuple[int, int, int]
    magnification: tuple[int, int, int]
    positions: tuple
    bounds: tuple
    tile: tuple[int, int, int]

    @property
    def grid(self) -> BlockGrid:
        """The candidates as a :class:`.blockstats.BlockGrid` (origins in C order)."""
        mesh = np.meshgrid(*self.positions, indexing="ij")
        origins = np.stack(mesh, axis=-1).reshape(-1, 3).astype(np.int64)
        return BlockGrid(self.block, origins, self.image_shape, self.magnification)

    def __len__(self) -> int:
        return math.prod(len(p) for p in self.positions)

    @property
    def n_cells(self) -> int:
        """Number of cells (the measurement holds a few kilobytes for each)."""
        return math.prod(len(b) - 1 for b in self.bounds)

    def cell_span(self, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """First and end (exclusive) cell of every position along ``axis``."""
        b, p = self.bounds[axis], self.positions[axis]
        return np.searchsorted(b, p), np.searchsorted(b, p + self.block[axis])


def _axis_positions(end: int, b: int, t: int) -> np.ndarray:
    last = end - b
    pos = np.arange(0, last + 1, t, dtype=np.int64)
    return pos if pos[-1] == last else np.append(pos, last)


def candidate_layout(image_shape, block, mag=1) -> CellLayout:
    """Candidate positions at half-box strides plus one against each far face.

    Parameters
    ----------
    image_shape : tuple of 3 int
        Full-resolution shape ``(z, y, x)``.
    block : tuple of 3 int
        Candidate size in full-resolution voxels, a multiple of ``mag`` with
        at least 2 voxels per axis at the magnification, inside the image.
    mag : int, str or tuple of 3 int

    Returns
    -------
    CellLayout
        Along each axis, origins ``0, t, 2t, ...`` with ``t`` half the box
        (rounded down to the magnification grid) and the last origin
        ``end - block`` (``end``: the image size rounded down to the
        magnification), so every voxel of that part lies in some candidate.

    Raises
    ------
    ValueError
        For the same bad input as :func:`.blockstats.candidate_grid`.

    Examples
    --------
    >>> lay = candidate_layout((51, 120, 122), (32, 64, 64))
    >>> [p.tolist() for p in lay.positions]
    [[0, 16, 19], [0, 32, 56], [0, 32, 58]]
    >>> lay.bounds[0].tolist(), len(lay)
    ([0, 16, 19, 32, 48, 51], 27)
    """
    from .block_grid import _grid_args

    shape, b, m, _ = _grid_args(image_shape, block, mag, None)  # validates, lays no grid
    ends = [s // f * f for s, f in zip(shape, m)]
    tile = tuple(max(f, bi // (2 * f) * f) for bi, f in zip(b, m))
    pos = tuple(_axis_positions(e, bi, t) for e, bi, t in zip(ends, b, tile))
    bounds = tuple(np.unique(np.concatenate([p, p + bi, [0, e]])).astype(np.int64)
                   for p, bi, e in zip(pos, b, ends))
    return CellLayout(b, shape, m, pos, bounds, tile)


def cell_statistics(image, layout: CellLayout, *, threshold=None, labels=None, probability=None,
                    saturation=None, sample_step=None, scheduler=None,
                    progress=None) -> dict[str, np.ndarray]:
    """Measure every candidate of ``layout`` in one blockwise pass over the cells.

    Parameters
    ----------
    image, threshold, labels, probability, saturation, sample_step, scheduler, progress
        As for :func:`.blockstats.block_statistics`.
    layout : CellLayout
        From :func:`candidate_layout` for ``image.shape``.

    Returns
    -------
    dict of str to ndarray
        One float64 array per name in :data:`.blockstats.STAT_NAMES`, in the
        order of ``layout.grid.origins``.

    Raises
    ------
    ValueError
        As :func:`.blockstats.block_statistics`.

    Notes
    -----
    The statistics are those of :func:`.blockstats.block_statistics`, with
    these differences: each candidate is sampled on the volume's sample grid
    (every ``step``-th voxel at the magnification from the volume's corner,
    the same points as a candidate on that grid would sample); gradients and
    neighbour differences are taken within tiles of half a box, so they are
    one-sided on the tile faces inside a candidate; ``p01``, ``p50``,
    ``p99`` and the noise of ``snr`` come from histograms (see the module
    notes); ``density`` counts the objects of the sampled volume whose
    bounding box meets the candidate (a block measured alone counts the
    pieces of the objects it cuts).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(100, 5, (8, 16, 16))
    >>> img[:, :8] += 400
    >>> lay = candidate_layout(img.shape, (8, 8, 8))
    >>> st = cell_statistics(img, lay, scheduler="sync")
    >>> len(lay), st["foreground"].round(2).tolist()
    (9, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0])
    """
    if not isinstance(layout, CellLayout):
        raise TypeError("layout must be a CellLayout; build one with candidate_layout(shape, block).")
    tile = layout.tile
    img = _as_dask(image, tuple(2 * t for t in tile))
    shape = _image_shape(img.shape)
    if shape != tuple(layout.image_shape):
        raise ValueError(
            f"the layout was built for shape {tuple(layout.image_shape)} but the image has shape "
            f"{shape}; build it with candidate_layout(image.shape, ...).")
    if img.dtype.kind not in "biuf":
        raise ValueError(f"image dtype {img.dtype} is not numeric; pass an integer or float image.")
    lab = prob = None
    if labels is not None:
        lab = _as_dask(labels, tile)
        _check_like(lab, "labels", shape)
        if lab.dtype.kind not in "biu":
            raise ValueError(
                f"labels have dtype {lab.dtype} but must hold integer ids; convert them, "
                "e.g. labels.astype(np.int32), after checking they are whole numbers.")
    if probability is not None:
        prob = _as_dask(probability, tile)
        _check_like(prob, "probability", shape, lead_ok=True)
    m = layout.magnification
    bw = tuple(b // f for b, f in zip(layout.block, m))
    steps = _steps(bw, sample_step)
    g = tuple(s * f for s, f in zip(steps, m))
    if saturation is None and img.dtype.kind in "iu":
        saturation = np.iinfo(img.dtype).max
    ends = [int(b[-1]) for b in layout.bounds]
    crop = full_region(ends)
    work = img[crop]
    chunks = tuple(max(1, round(c[0] / t)) * t for c, t in zip(img.chunks, tile))
    target = tuple(_even(n, c) for n, c in zip(work.shape, chunks))
    if work.chunks != target:
        work = work.rechunk(target)

    def aligned(arr):
        if arr is None:
            return None
        arr = arr[(Ellipsis,) + crop]
        return arr.rechunk(((-1,) * (arr.ndim - 3)) + work.chunks)

    lab_p, prob_p = aligned(lab), aligned(prob)
    exact = img.dtype.kind in "biu" and all(f == 1 for f in m)
    gp = dask.delayed(_cell_params, pure=True)(_global_sample(work, m), threshold,
                                               saturation, exact)
    starts = [np.cumsum((0,) + c[:-1]) for c in work.chunks]
    last = tuple(-(-e // gi) - 1 for e, gi in zip(ends, g))
    # what every task shares, as one graph node (not unpacked again for each chunk)
    fixed = dask.delayed((layout.bounds, tile, steps, m, last), pure=True, traverse=False)
    pieces, where = [], []
    for ci in np.ndindex(*work.numblocks):
        origin = tuple(int(starts[a][ci[a]]) for a in range(3))
        stop = tuple(origin[a] + work.chunks[a][ci[a]] for a in range(3))
        c0 = tuple(int(np.searchsorted(layout.bounds[a], origin[a], side="right")) - 1
                   for a in range(3))
        nc = tuple(int(np.searchsorted(layout.bounds[a], stop[a], side="left")) - c0[a]
                   for a in range(3))
        pieces.append((ci, origin, c0, nc))
        where.append((c0, nc))
    tasks = _piece_graph(work, lab_p, prob_p, gp, fixed, pieces)
    results, params = _compute((tasks, gp), scheduler, progress)
    return _combine(layout, results, where, params, work.numblocks, steps, g,
                    labelled=lab is not None, with_prob=prob is not None)


#: Chunks measured by one task once the global levels are known: a task per chunk
#: cost more in scheduling and in threads taking turns than the measuring itself.
_PIECES_PER_TASK = 16


def _cells_pieces(samples, gp, fixed, places):
    """:func:`.cells_piece` of consecutive chunks, given their samples and places."""
    return [cells_piece(s, gp, fixed, *where) for s, where in zip(samples, places)]


def _piece_graph(work, lab, prob, gp, fixed, pieces) -> Delayed:
    """Tasks as graph layers (a delayed list of one result per chunk of ``work``):
    ``chunk_samples`` of each chunk as soon as it is read (the chunk is then freed),
    then, once the global levels are known, ``cells_piece`` of up to
    :data:`_PIECES_PER_TASK` consecutive chunks per task.

    Written as a graph directly: a ``dask.delayed`` call per chunk unpacks and
    tokenizes its arguments, a fixed cost of milliseconds per chunk that
    dominated the measurement of small volumes.
    """
    token = tokenize(work.name, None if lab is None else lab.name,
                     None if prob is None else prob.name, gp.key, fixed.key)
    name, sname = "cells-piece-" + token, "chunk-samples-" + token
    lead = () if prob is None else (0,) * (prob.ndim - 3)
    dsk = {}
    for ci, origin, c0, nc in pieces:
        dsk[(sname,) + ci] = (chunk_samples, (work.name,) + ci,
                              None if lab is None else (lab.name,) + ci,
                              None if prob is None else (prob.name,) + lead + ci,
                              fixed.key, origin, c0, nc)
    parts = []
    for k in range(0, len(pieces), _PIECES_PER_TASK):
        group = pieces[k:k + _PIECES_PER_TASK]
        dsk[(name, k)] = (_cells_pieces, [(sname,) + ci for ci, *_ in group], gp.key,
                          fixed.key, [tuple(where) for _, *where in group])
        parts.append((name, k))
    dsk[name] = (_concat_lists, parts)
    deps = [c for c in (work, lab, prob, gp, fixed) if c is not None]
    return Delayed(name, HighLevelGraph.from_collections(name, dsk, dependencies=deps))


def _concat_lists(parts):
    return [r for part in parts for r in part]
