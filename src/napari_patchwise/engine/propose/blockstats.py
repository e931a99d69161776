"""Per-block image statistics on a grid of candidate boxes.

The first step of stratified box proposal: lay a grid of candidate blocks over
a volume (:func:`candidate_grid`, in :mod:`.block_grid`) and measure each block
once (:func:`block_statistics`). Strata and box selection are built on these
numbers elsewhere. Inputs may be numpy, zarr or dask arrays; the volume is
read blockwise in a single dask pass and never loaded whole.
"""

from __future__ import annotations

import math
import dask
import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from ._blockkernel import _FACES, _IX, FIELDS, MEASURED, _flat_sample, _global_params, _piece_stats
from ._daskrun import _compute
from ..geometry.regions import full_region, region_from_bounds
from .block_grid import BlockGrid, _image_shape, border_axes

__all__ = ["STAT_NAMES", "block_statistics"]

STAT_NAMES = ("p01", "p50", "p99", "mean", "std", "snr", "foreground", "density",
              "edge_energy", "blank", "saturated", "border_distance", "border_foreground",
              "uncertainty")
_SAMPLE_VOXELS = 2_000_000
_SMALL_VOXELS = 64_000_000  # below this every chunk feeds the global levels
_GLOBAL_CHUNKS = 32  # chunks feeding the global levels of a large volume ...
_GLOBAL_BYTES = 256 * 2**20  # ... holding at most about this much in memory
_BLOCK_SAMPLE = 4096  # voxels sampled per block by default
_CHUNK_VOXELS = 4_000_000


def _as_dask(arr, block):
    """Wrap ``arr`` lazily, keeping zarr/dask chunks and block-aligning numpy."""
    if isinstance(arr, da.Array):
        return arr
    if not (hasattr(arr, "shape") and hasattr(arr, "dtype")):
        arr = np.asarray(arr)  # lists and other small in-memory inputs
    chunks = None if isinstance(arr, np.ndarray) else getattr(arr, "chunks", None)
    if chunks is None:
        k = max(1, int((_CHUNK_VOXELS / np.prod(block)) ** (1 / 3)))
        lead = tuple(arr.shape[:-3])
        chunks = lead + tuple(min(s, k * b) for s, b in zip(arr.shape[-3:], block))
    return da.from_array(arr, chunks=chunks)


def _check_like(arr, name, shape, lead_ok=False):
    ok = tuple(arr.shape) == shape or (lead_ok and arr.ndim == 4 and tuple(arr.shape[1:]) == shape)
    if not ok:
        want = f"{shape} or (C, {', '.join(map(str, shape))})" if lead_ok else f"{shape}"
        raise ValueError(
            f"the {name} array has shape {tuple(arr.shape)} but the image has shape {shape}; "
            f"pass a {name} array of shape {want}."
        )


def _steps(bw, sample_step):
    """Per-axis sampling steps (at the magnification) for blocks ``bw`` wide."""
    if sample_step is None:
        s = max(1, int((np.prod(bw) / _BLOCK_SAMPLE) ** (1 / 3) + 1e-9))
    else:
        s = int(sample_step)
        if s < 1 or s != sample_step:
            raise ValueError(f"sample_step must be a whole number >= 1; got {sample_step!r}.")
    return tuple(min(s, max(1, b // 2)) for b in bw)


def _even(n, c):
    """The chunk tuple dask makes for length ``n`` cut every ``c``."""
    return (c,) * (n // c) + ((n % c,) if n % c else ())


def _global_sample(img, mag):
    """A lazy list of the pieces of a regular subsample of a spread of chunks of ``img``.

    Every chunk is used for small volumes (up to 64 million voxels), an evenly
    spread set of 32 chunks (fewer if they would hold more than 256 MiB) for
    larger ones. The pieces share their chunks with the per-block tasks, so
    no chunk is read twice; the sampled chunks wait in memory until the
    global levels are known. One graph layer, written directly (a
    ``dask.delayed`` call per chunk costs milliseconds to build).
    """
    nblocks = img.numblocks
    total = int(np.prod(nblocks))
    chunk_bytes = np.prod([max(c) for c in img.chunks]) * img.dtype.itemsize
    held = max(2, int(_GLOBAL_BYTES // max(chunk_bytes, 1)))  # chunks waiting in memory
    k = total if img.size <= _SMALL_VOXELS else min(total, _GLOBAL_CHUNKS, held)
    picks = np.unique(np.linspace(0, total - 1, k).round().astype(np.int64))
    chunk_voxels = np.prod([max(c) for c in img.chunks]) / np.prod(mag)
    g = max(1, math.ceil((len(picks) * chunk_voxels / _SAMPLE_VOXELS) ** (1 / 3)))
    name = "global-sample-" + tokenize(img.name, tuple(mag), g, picks)
    dsk = {}
    for flat in picks:
        ci = tuple(int(i) for i in np.unravel_index(int(flat), nblocks))
        dsk[(name,) + ci] = (_flat_sample, (img.name,) + ci, tuple(mag), g)
    dsk[name] = list(dsk)
    return Delayed(name, HighLevelGraph.from_collections(name, dsk, dependencies=[img]))


def block_statistics(image, grid: BlockGrid, *, threshold=None, labels=None, probability=None,
                     saturation=None, sample_step=None, scheduler=None,
                     progress=None) -> dict[str, np.ndarray]:
    """Measure every candidate block of ``grid`` in one blockwise pass.

    Parameters
    ----------
    image : array-like, shape (z, y, x)
        numpy, zarr or dask array (zarr/dask chunks are kept).
    grid : BlockGrid
        Candidate blocks from :func:`candidate_grid` for ``image.shape``.
    threshold : float, optional
        Global foreground threshold; Otsu on a global subsample by default.
    labels : array-like of int, shape (z, y, x), optional
        Instance ids; when given they define foreground and density.
    probability : array-like, shape (z, y, x) or (C, z, y, x), optional
        Foreground probability, or class probabilities summing to 1 over C.
    saturation : float, optional
        Saturation level; the dtype maximum for integer images, else the
        subsample maximum.
    sample_step : int, optional
        Measure every ``sample_step``-th voxel (at the magnification) of each
        block along each axis. By default the step keeps about 4,000 voxels
        per block; 1 measures every voxel.
    scheduler : None, str or dask scheduler, optional
        None uses dask's default (threads); a local scheduler name such as
        ``"sync"`` is passed to dask; any other string is a
        ``dask.distributed`` scheduler address.
    progress : callable, optional
        Called as ``progress(done, total)`` while tasks finish; the last call
        has ``done == total``.

    Returns
    -------
    dict of str to ndarray
        One float64 array of length ``len(grid)`` for every name in
        :data:`STAT_NAMES`.

    Raises
    ------
    ValueError
        2D image, shape mismatches, float labels, NaNs in the image, a
        constant volume, or a distributed address without ``distributed``.
    TypeError
        If ``grid`` is not a :class:`BlockGrid`.

    Notes
    -----
    With a magnification other than 1 the image and probability are
    downsampled by block means and labels by striding, then measured there.
    Each block is measured on a regular sample (``sample_step``); NaNs are
    looked for in every voxel of float images. Non-overlapping grids are read
    one chunk at a time (chunks are merged to hold whole blocks), so the
    volume is read once. A global subsample (every chunk of a small volume,
    32 evenly spread chunks of a large one; at most about 2 million voxels)
    gives the threshold (Otsu, ignoring blank and saturated voxels), the
    blank level (its 0.1 percentile), the intensity range (its p99 - p01)
    and the default saturation.

    - ``p01``, ``p50``, ``p99``, ``mean``, ``std``: block intensities.
    - ``foreground``: fraction of voxels above the threshold (labels > 0 if
      labels are given); this foreground mask is used below.
    - ``snr``: (foreground mean - background mean) / noise, with noise =
      1.4826 * MAD / sqrt(2) of the differences between x neighbours (their
      std / sqrt(2) if the MAD is 0), which blur and objects barely change;
      NaN when either side has fewer than 10 voxels, +-inf for noiseless data.
    - ``density``: objects per 1000 full-resolution block voxels: distinct
      label ids; else face-connected foreground components in the block, or
      its foreground volume over the median component volume of the image if
      that is more (touching objects merge into one component).
    - ``edge_energy``: mean gradient magnitude (:func:`numpy.gradient`) over
      the global intensity range, so it does not depend on the scale.
    - ``blank``: fraction of voxels at or below the blank level that also
      have zero gradient (constant slabs, not noisy dark background).
    - ``saturated``: fraction of voxels at or above the saturation level.
    - ``border_distance``: smallest distance from the block to a volume face,
      in full-resolution voxels (0 when it touches the border).
    - ``border_foreground``: largest foreground share on a block face that
      lies on the volume border, along axes holding at least two blocks
      (:func:`border_axes`); objects cut by the volume edge. 0 elsewhere.
    - ``uncertainty``: mean entropy of the probabilities, normalised to
      [0, 1] (binary entropy in bits, or categorical over ``ln C``); NaN
      without a probability map.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(100, 5, (8, 16, 16))
    >>> img[:, :8] += 400
    >>> from napari_patchwise.engine.propose.block_grid import candidate_grid
    >>> g = candidate_grid(img.shape, (8, 8, 8))
    >>> st = block_statistics(img, g, scheduler="sync")
    >>> st["foreground"].tolist(), st["border_distance"].tolist()
    ([1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    >>> bool(np.isnan(st["uncertainty"]).all())
    True
    """
    if not isinstance(grid, BlockGrid):
        raise TypeError("grid must be a BlockGrid; build one with candidate_grid(image.shape, block).")
    img = _as_dask(image, grid.block)
    shape = _image_shape(img.shape)
    if shape != tuple(grid.image_shape):
        raise ValueError(
            f"grid was built for shape {tuple(grid.image_shape)} but the image has shape {shape}; "
            "build it with candidate_grid(image.shape, ...)."
        )
    if img.dtype.kind not in "biuf":
        raise ValueError(f"image dtype {img.dtype} is not numeric; pass an integer or float image.")
    lab = prob = None
    if labels is not None:
        lab = _as_dask(labels, grid.block)
        _check_like(lab, "labels", shape)
        if lab.dtype.kind not in "biu":
            raise ValueError(
                f"labels have dtype {lab.dtype} but must hold integer ids; convert them, "
                "e.g. labels.astype(np.int32), after checking they are whole numbers."
            )
    if probability is not None:
        prob = _as_dask(probability, grid.block)
        _check_like(prob, "probability", shape, lead_ok=True)
    m = grid.magnification
    B = np.asarray(grid.block)
    bw = tuple(int(b) // f for b, f in zip(grid.block, m))
    steps = _steps(bw, sample_step)
    if saturation is None and img.dtype.kind in "iu":
        saturation = np.iinfo(img.dtype).max
    counts = [n // b for n, b in zip(shape, grid.block)]
    lattice = len(grid.origins) == np.prod(counts) and np.array_equal(
        grid.origins, np.stack(np.meshgrid(*[np.arange(c) * b for c, b in zip(counts, B)],
                                           indexing="ij"), -1).reshape(-1, 3))
    full = int(np.prod(grid.block))
    fn = dask.delayed(_piece_stats, pure=True)
    if lattice:  # non-overlapping blocks: one task per chunk holding whole blocks
        crop = full_region([c * b for c, b in zip(counts, B)])
        native = img.chunks
        chunks = tuple(max(1, round(c[0] / b)) * int(b) for c, b in zip(native, B))
        work = img[crop]
        if work.chunks != tuple(_even(n, c) for n, c in zip(work.shape, chunks)):
            work = work.rechunk(chunks)

        def aligned(arr):
            if arr is None:
                return None
            arr = arr[(Ellipsis,) + crop]
            return arr.rechunk(((-1,) * (arr.ndim - 3)) + work.chunks)

        lab_p, prob_p = aligned(lab), aligned(prob)
        # one delayed object per chunk, shared by the global levels and the blocks
        work_d = work.to_delayed(optimize_graph=False)
        lab_d = None if lab_p is None else lab_p.to_delayed(optimize_graph=False)
        prob_d = None if prob_p is None else prob_p.to_delayed(optimize_graph=False)
        gp = dask.delayed(_global_params, pure=True)(_global_sample(work, m), threshold,
                                                     saturation)
        starts = [np.cumsum((0,) + c[:-1]) // b for c, b in zip(work.chunks, B)]
        tasks, where = [], []
        for ci in np.ndindex(*work.numblocks):
            nb = tuple(work.chunks[a][ci[a]] // int(B[a]) for a in range(3))
            piece = work_d[ci]
            lp = None if lab_d is None else lab_d[ci]
            pp = None if prob_d is None else prob_d[(0,) * (prob_p.ndim - 3) + ci]
            tasks.append(fn(piece, lp, pp, gp, nb, bw, m, steps, full))
            first = [int(starts[a][ci[a]]) for a in range(3)]
            idx = np.stack(np.meshgrid(*[np.arange(f, f + n) for f, n in zip(first, nb)],
                                       indexing="ij"), -1).reshape(-1, 3)
            where.append(np.ravel_multi_index(idx.T, counts))
    else:  # overlapping or irregular blocks: one task per block
        gp = dask.delayed(_global_params, pure=True)(_global_sample(img, m), threshold,
                                                     saturation)
        def piece(arr, o):
            if arr is None:
                return None
            return arr[(Ellipsis,) + region_from_bounds(o, [a + b for a, b in zip(o, B)])]

        tasks = [fn(piece(img, o), piece(lab, o), piece(prob, o), gp, (1, 1, 1), bw, m, steps, full)
                 for o in grid.origins]
        where = [np.array([i]) for i in range(len(grid.origins))]
    rows, params = _compute((tasks, gp), scheduler, progress)
    table = np.full((len(grid.origins), len(FIELDS)), np.nan)
    for r, w in zip(rows, where):
        table[w] = r
    n_nan = table[:, _IX["_nan"]]
    if params["n_nan"] or np.any(n_nan > 0):
        bad = np.flatnonzero(n_nan > 0)
        where = f", e.g. the block at {grid.origins[bad[0]].tolist()}" if bad.size else ""
        raise ValueError(
            f"image contains NaN values ({params['n_nan']} in the global subsample, "
            f"{bad.size} of {len(grid)} candidate blocks affected{where}); clean or fill "
            "them first, e.g. with np.nan_to_num(image) or by interpolating."
        )
    if params["constant"] and np.ptp(table[:, [_IX["_min"], _IX["_max"]]]) == 0:
        raise ValueError(
            f"the image is constant (every voxel is {params['value']:g}); there is no contrast "
            "to threshold, so nothing can be proposed. Check that the right image was loaded."
        )
    stats = {n: table[:, _IX[n]].copy() for n in MEASURED}
    ncomp, nfg = table[:, _IX["_ncomp"]], table[:, _IX["_nfg"]]
    n_obj = ncomp
    if lab is None:  # touching objects merge into one component: also count by volume
        sizes = nfg[ncomp > 0] / ncomp[ncomp > 0]
        if sizes.size:
            n_obj = np.maximum(ncomp, nfg / np.median(sizes))
    stats["density"] = n_obj / full * 1000.0
    hi = np.asarray(grid.image_shape) - grid.origins - np.asarray(grid.block)
    stats["border_distance"] = np.minimum(grid.origins, hi).min(axis=1).astype(np.float64)
    faces = table[:, [_IX[f] for f in _FACES]].reshape(-1, 3, 2)
    touch = np.stack([grid.origins == 0, hi == 0], axis=-1) & border_axes(
        grid.block, grid.image_shape)[None, :, None]
    stats["border_foreground"] = np.where(touch, faces, 0.0).max(axis=(1, 2))
    return {n: stats[n] for n in STAT_NAMES}
