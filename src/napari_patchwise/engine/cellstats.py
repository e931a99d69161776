"""Statistics of overlapping candidate boxes, measured once on cells and combined.

Candidates lie at half-box strides from the volume's corner plus one more
position against the far face of each axis (:func:`candidate_layout`), so
every voxel lies in some candidate and features between lattice lines get a
candidate centred on them. Measuring every candidate on its own would read
each voxel up to eight times; instead the volume is cut into *cells* (the
boxes between consecutive candidate faces), each cell is measured once in a
single blockwise dask pass (:func:`cell_statistics`, per-chunk work in
:mod:`._cellkernel`), and a candidate's statistics are combined from the
cells it holds with summed-area tables.

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

from dataclasses import dataclass

import dask
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._blockkernel import _global_params
from ._cellkernel import SUMS, cells_piece
from ._daskrun import _compute
from .blockstats import (
    STAT_NAMES,
    BlockGrid,
    _as_dask,
    _check_like,
    _even,
    _global_sample,
    _image_shape,
    _steps,
    border_axes,
)
from .magnification import _as_int_triple, as_magnification

__all__ = ["CellLayout", "candidate_layout", "cell_statistics"]

_S = {n: i for i, n in enumerate(SUMS)}
_XBINS = 256  # about 1.5 times as many histogram bins of sample values
_DLIN, _DLOG = 64, 64  # linear and logarithmic bins of absolute neighbour differences
_MIN_SIDE = 10
_MAD_TO_STD = 1.4826


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
        return int(np.prod([len(p) for p in self.positions]))

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
    from .blockstats import candidate_grid

    grid = candidate_grid(image_shape, block, mag=mag)  # validates the input
    m, b = grid.magnification, grid.block
    ends = [s // f * f for s, f in zip(grid.image_shape, m)]
    tile = tuple(max(f, bi // (2 * f) * f) for bi, f in zip(b, m))
    pos = tuple(_axis_positions(e, bi, t) for e, bi, t in zip(ends, b, tile))
    bounds = tuple(np.unique(np.concatenate([p, p + bi, [0, e]])).astype(np.int64)
                   for p, bi, e in zip(pos, b, ends))
    return CellLayout(b, grid.image_shape, m, pos, bounds, tile)


def _value_bins(v: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """Histogram edges for sample values, and which bins hold a single value.

    Unit bins when an integer image spans at most 256 grey values. Otherwise
    the edges are 128 quantiles of the global sample (narrow bins where values
    are common; a value holding 1/128 of the sample gets a bin of its own),
    128 even steps between its 1st and 99th percentiles, and 128 steps growing
    geometrically from its minimum to its maximum (so no bin is wider than
    about 9 % of its distance from the minimum); for an integer image they
    are moved to half-integers, so a one-wide bin holds one grey value
    exactly.
    """
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if exact and hi - lo + 1 <= _XBINS:
        edges = np.arange(lo - 0.5, hi + 1.0)
        return edges, np.ones(len(edges) - 1, bool)
    if not v.size or hi == lo:
        return np.array([lo - 0.5, lo + 0.5]), np.ones(1, bool)
    srt = np.sort(v[:: max(1, v.size // 2**18)])  # a quarter million values are plenty
    q = srt[np.linspace(0, srt.size - 1, _XBINS // 2 + 1).round().astype(np.int64)]
    a, b = srt[int(0.01 * (srt.size - 1))], srt[int(0.99 * (srt.size - 1))]
    span = hi - lo
    edges = np.concatenate([q, np.linspace(a, b, _XBINS // 2 + 1),
                            lo + np.geomspace(span / 2**16, span, _XBINS // 2)])
    if exact:
        edges = np.unique(np.concatenate([[lo - 0.5, hi + 0.5], np.floor(edges) + 0.5]))
        return edges, np.diff(edges) == 1
    point = np.unique(q[1:][np.diff(q) == 0])  # a value held by many samples
    narrow = point + np.maximum(np.abs(point), 1.0) * 1e-9
    edges = np.unique(np.concatenate([edges, narrow, [hi * (1 + 1e-12) + 1e-12]]))
    flags = np.zeros(len(edges) - 1, bool)
    flags[np.searchsorted(edges, point)] = True
    return edges, flags


def _cell_params(samples, threshold, saturation, exact):
    """Global levels (:func:`._blockkernel._global_params`) and histogram edges."""
    v = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in samples])
    gp = _global_params([v], threshold, saturation)
    v = v[np.isfinite(v)]
    gp["centre"] = gp.get("threshold", 0.0) if np.isfinite(gp.get("threshold", 0.0)) else 0.0
    gp["xbins"], gp["xexact"] = _value_bins(v, exact)
    unit = 1.0 if exact else gp.get("range", 1.0) / 4096
    lin = (np.arange(_DLIN + 1) - 0.5) * unit
    top = max(4 * gp.get("range", 1.0), 2 * lin[-1])
    gp["dbins"] = np.concatenate([lin, np.geomspace(lin[-1], top, _DLOG + 1)[1:]])
    gp["dexact"] = np.arange(_DLIN + _DLOG) < _DLIN if exact else np.zeros(_DLIN + _DLOG, bool)
    if exact and gp["xbins"][-1] < 2**16:  # whole numbers: bins by look-up instead of search
        grey = np.arange(int(gp["xbins"][-1]) + 1)
        for key, edges in (("xlut", gp["xbins"]), ("dlut", gp["dbins"])):
            b = np.searchsorted(edges, grey, side="right") - 1
            gp[key] = np.clip(b, 0, len(edges) - 2).astype(np.int32)
    return gp


def _quantiles(h, edges, exact, qs) -> list[np.ndarray]:
    """numpy's linear percentiles ``qs`` of every row of histograms ``h``.

    Values in an ``exact`` bin are its centre (integers in unit bins); in other
    bins the ranks are spread evenly over the bin.
    """
    n = h.sum(axis=1)
    cum = np.cumsum(h, axis=1)
    nb = h.shape[1]
    rows = np.arange(len(h))

    def value(r):
        b = np.minimum((cum <= r[:, None]).sum(axis=1), nb - 1)
        before = cum[rows, b] - h[rows, b]
        frac = (r - before + 0.5) / np.maximum(h[rows, b], 1)
        inside = edges[b] + frac * (edges[b + 1] - edges[b])
        return np.where(exact[b], (edges[b] + edges[b + 1]) / 2, inside)

    out = []
    for q in qs:
        pos = q / 100 * np.maximum(n - 1, 0)
        i0 = np.floor(pos)
        i1 = np.minimum(i0 + 1, np.maximum(n - 1, 0))
        v0, v1 = value(i0), value(i1)
        out.append(np.where(n > 0, v0 + (v1 - v0) * (pos - i0), np.nan))
    return out


def _box_sums(cells: np.ndarray, spans) -> np.ndarray:
    """Sums over the candidates' cells: ``cells`` is (cz, cy, cx, ...), ``spans``
    the per-axis (first, end) cell of each position. Returns (N, ...)."""
    tail = cells.shape[3:]
    acc = np.zeros(tuple(s + 1 for s in cells.shape[:3]) + tail, dtype=cells.dtype)
    inner = acc[1:, 1:, 1:]
    np.cumsum(cells, axis=0, out=inner)
    np.cumsum(inner, axis=1, out=inner)
    np.cumsum(inner, axis=2, out=inner)
    (z0, z1), (y0, y1), (x0, x1) = spans
    out = (acc[np.ix_(z1, y1, x1)] - acc[np.ix_(z0, y1, x1)] - acc[np.ix_(z1, y0, x1)]
           - acc[np.ix_(z1, y1, x0)] + acc[np.ix_(z0, y0, x1)] + acc[np.ix_(z0, y1, x0)]
           + acc[np.ix_(z1, y0, x0)] - acc[np.ix_(z0, y0, x0)])
    return out.reshape((-1,) + tail)


def _merge_objects(results, grid_shape, labelled):
    """Join the objects of all chunks: (lo, hi, size) per object, in sample indices."""
    offsets = np.cumsum([0] + [len(r["objects"]["size"]) for r in results])
    lo = np.concatenate([r["objects"]["lo"] for r in results])
    hi = np.concatenate([r["objects"]["hi"] for r in results])
    size = np.concatenate([r["objects"]["size"] for r in results])
    total = int(offsets[-1])
    if total == 0:
        return lo, hi, size
    if labelled:
        ids = np.concatenate([r["objects"]["ids"] for r in results])
        _, group = np.unique(ids, return_inverse=True)
    else:  # components touching across a chunk face are one object
        index = np.arange(len(results)).reshape(grid_shape)
        pa, pb = [], []
        for a in range(3):
            lo_side = np.take(index, np.arange(1, grid_shape[a]), axis=a).ravel()
            hi_side = np.take(index, np.arange(0, grid_shape[a] - 1), axis=a).ravel()
            for c_hi, c_lo in zip(hi_side, lo_side):
                p_hi = results[c_hi]["objects"]["planes"]
                p_lo = results[c_lo]["objects"]["planes"]
                if p_hi is None or p_lo is None:
                    continue
                u, v = p_hi[2 * a + 1], p_lo[2 * a]
                if u.shape != v.shape:
                    continue
                both = (u > 0) & (v > 0)
                pa.append(u[both].astype(np.int64) - 1 + offsets[c_hi])
                pb.append(v[both].astype(np.int64) - 1 + offsets[c_lo])
        a_ = np.concatenate(pa) if pa else np.zeros(0, np.int64)
        b_ = np.concatenate(pb) if pb else np.zeros(0, np.int64)
        graph = coo_matrix((np.ones(len(a_), np.int8), (a_, b_)), shape=(total, total))
        _, group = connected_components(graph, directed=False)
    n = int(group.max()) + 1
    olo = np.full((n, 3), np.iinfo(np.int64).max)
    ohi = np.zeros((n, 3), np.int64)
    np.minimum.at(olo, group, lo)
    np.maximum.at(ohi, group, hi)
    return olo, ohi, np.bincount(group, weights=size, minlength=n)


def _objects_per_candidate(layout, lo, hi, g) -> np.ndarray:
    """Objects whose bounding box (in sample indices) meets each candidate."""
    npos = [len(p) for p in layout.positions]
    diff = np.zeros([n + 1 for n in npos], np.int64)
    if len(lo) == 0:
        return np.zeros(len(layout))
    r0, r1 = [], []
    for a in range(3):
        p = layout.positions[a]
        first = -(-p // g[a])  # first sample index inside each candidate
        end = -(-(p + layout.block[a]) // g[a])
        r0.append(np.searchsorted(end, lo[:, a], side="right"))
        r1.append(np.searchsorted(first, hi[:, a], side="left"))
    keep = np.all([b > a for a, b in zip(r0, r1)], axis=0)
    r0 = [r[keep] for r in r0]
    r1 = [r[keep] for r in r1]
    for corner in range(8):
        idx = tuple((r1 if corner >> (2 - a) & 1 else r0)[a] for a in range(3))
        sign = (-1) ** bin(corner).count("1")
        np.add.at(diff, idx, sign)
    return diff.cumsum(0).cumsum(1).cumsum(2)[: npos[0], : npos[1], : npos[2]].ravel()


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
    crop = tuple(slice(0, e) for e in ends)
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
    work_d = work.to_delayed(optimize_graph=False)
    lab_d = None if lab_p is None else lab_p.to_delayed(optimize_graph=False)
    prob_d = None if prob_p is None else prob_p.to_delayed(optimize_graph=False)
    exact = img.dtype.kind in "biu" and all(f == 1 for f in m)
    gp = dask.delayed(_cell_params, pure=True)(_global_sample(work, m, work_d), threshold,
                                               saturation, exact)
    starts = [np.cumsum((0,) + c[:-1]) for c in work.chunks]
    last = tuple(-(-e // gi) - 1 for e, gi in zip(ends, g))
    fn = dask.delayed(cells_piece, pure=True)
    # what every task shares, as one graph node (not unpacked again for each chunk)
    fixed = dask.delayed((layout.bounds, tile, steps, m, last), pure=True, traverse=False)
    tasks, where = [], []
    for ci in np.ndindex(*work.numblocks):
        origin = tuple(int(starts[a][ci[a]]) for a in range(3))
        stop = tuple(origin[a] + work.chunks[a][ci[a]] for a in range(3))
        c0 = tuple(int(np.searchsorted(layout.bounds[a], origin[a], side="right")) - 1
                   for a in range(3))
        nc = tuple(int(np.searchsorted(layout.bounds[a], stop[a], side="left")) - c0[a]
                   for a in range(3))
        lp = None if lab_d is None else lab_d[ci]
        pp = None if prob_d is None else prob_d[(0,) * (prob_p.ndim - 3) + ci]
        tasks.append(fn(work_d[ci], lp, pp, gp, fixed, origin, c0, nc))
        where.append((c0, nc))
    results, params = _compute((tasks, gp), scheduler, progress)
    return _combine(layout, results, where, params, work.numblocks, steps, g,
                    labelled=lab is not None, with_prob=prob is not None)


def _combine(layout, results, where, gp, grid_shape, steps, g, labelled, with_prob):
    """Candidate statistics from the per-chunk cell results."""
    ncell = tuple(len(b) - 1 for b in layout.bounds)
    first = results[0]
    sums = np.zeros(ncell + (len(SUMS),))
    # counts: 32 bits hold every sample of all but enormous volumes, and halve the work
    total = sum(float(r["sums"][..., _S["n"]].sum()) for r in results)
    count = np.int32 if total < 2**31 else np.int64
    hx = np.zeros(ncell + first["hx"].shape[3:], count)
    hd = np.zeros(ncell + first["hd"].shape[3:], count)
    faces = np.zeros(ncell + (6, 2), np.int64)
    nan = np.zeros(ncell, np.int64)
    for r, (c0, nc) in zip(results, where):
        sl = tuple(slice(a, a + n) for a, n in zip(c0, nc))
        sums[sl] += r["sums"]
        hx[sl] += r["hx"]
        hd[sl] += r["hd"]
        faces[sl] += r["faces"]
        nan[sl] += r["nan"]
    spans = [layout.cell_span(a) for a in range(3)]
    grid = layout.grid
    n_nan = _box_sums(nan, spans)
    if gp["n_nan"] or np.any(n_nan > 0):
        bad = np.flatnonzero(n_nan > 0)
        at = f", e.g. the block at {grid.origins[bad[0]].tolist()}" if bad.size else ""
        raise ValueError(
            f"image contains NaN values ({gp['n_nan']} in the global subsample, "
            f"{bad.size} of {len(grid)} candidate blocks affected{at}); clean or fill "
            "them first, e.g. with np.nan_to_num(image) or by interpolating.")
    lo_all = min(r["min"] for r in results)
    hi_all = max(r["max"] for r in results)
    if gp["constant"] and lo_all == hi_all:
        raise ValueError(
            f"the image is constant (every voxel is {gp['value']:g}); there is no contrast "
            "to threshold, so nothing can be proposed. Check that the right image was loaded.")
    S = _box_sums(sums, spans)
    col = {name: S[:, i] for name, i in _S.items()}
    n = col["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = col["x"] / n
        st = {"mean": mean_c + gp["centre"],
              "std": np.sqrt(np.maximum(col["x2"] / n - mean_c ** 2, 0.0))}
        st["p01"], st["p50"], st["p99"] = _quantiles(_box_sums(hx, spans), gp["xbins"],
                                                     gp["xexact"], (1, 50, 99))
        n_fg = col["n_fg"]
        n_bg = n - n_fg
        st["foreground"] = n_fg / n
        (mad,) = _quantiles(_box_sums(hd, spans), gp["dbins"], gp["dexact"], (50,))
        noise = _MAD_TO_STD * mad / np.sqrt(2)
        d_std = np.sqrt(np.maximum(col["d2"] / col["n_d"] - (col["d"] / col["n_d"]) ** 2, 0))
        noise = np.where(noise > 0, noise, d_std / np.sqrt(2))
        diff = col["x_fg"] / n_fg - (col["x"] - col["x_fg"]) / n_bg
        snr = np.where(noise > 0, diff / noise, np.copysign(np.inf, diff))
        st["snr"] = np.where(np.minimum(n_fg, n_bg) >= _MIN_SIDE, snr, np.nan)
        st["edge_energy"] = col["grad"] / n / gp["range"]
        st["blank"] = col["n_blank"] / n
        st["saturated"] = col["n_sat"] / n
        st["uncertainty"] = col["h"] / n if with_prob else np.full(len(n), np.nan)
        lo, hi, size = _merge_objects(results, grid_shape, labelled)
        ncomp = _objects_per_candidate(layout, lo, hi, g).astype(np.float64)
        n_obj = ncomp
        if not labelled:  # touching objects merge into one component: also count by volume
            sizes = n_fg[ncomp > 0] / ncomp[ncomp > 0]
            if sizes.size:
                n_obj = np.maximum(ncomp, n_fg / np.median(sizes))
        full = float(np.prod(layout.block))
        st["density"] = n_obj / full * 1000.0
        far = np.asarray(layout.image_shape) - grid.origins - np.asarray(layout.block)
        st["border_distance"] = np.minimum(grid.origins, far).min(axis=1).astype(np.float64)
        fc = _box_sums(faces, spans).reshape(-1, 3, 2, 2)
        share = np.where(fc[..., 1] > 0, fc[..., 0] / np.maximum(fc[..., 1], 1), 0.0)
        touch = np.stack([grid.origins == 0, far == 0], axis=-1) & border_axes(layout.block, layout.image_shape)[None, :, None]
        st["border_foreground"] = np.where(touch, share, 0.0).max(axis=(1, 2))
    return {k: np.asarray(st[k], dtype=np.float64) for k in STAT_NAMES}
