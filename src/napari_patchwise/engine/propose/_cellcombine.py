"""Combining cells into candidates, for :func:`.cellstats.cell_statistics` (numpy only).

The per-chunk results of :mod:`._cellkernel` are added into per-cell arrays;
summed-area tables over the cells give every candidate's sums and histograms;
percentiles and the noise median are read from the histograms, objects are
joined across chunks and counted per candidate.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..geometry.regions import region_from_bounds
from ._blockkernel import _global_params, _int_counts, _levels_from_counts
from ._cellkernel import SUMS
from .block_grid import border_axes
from .blockstats import STAT_NAMES

_S = {n: i for i, n in enumerate(SUMS)}
_XBINS = 256  # about 1.5 times as many histogram bins of sample values
_DLIN, _DLOG = 64, 64  # linear and logarithmic bins of absolute neighbour differences
_MIN_SIDE = 10
_MAD_TO_STD = 1.4826


def _value_bins(lo: float, hi: float, sub: np.ndarray,
                exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """Histogram edges for sample values, and which bins hold a single value.

    Unit bins when an integer image spans at most 256 grey values. Otherwise
    the edges are 128 quantiles of the global sample (narrow bins where values
    are common; a value holding 1/128 of the sample gets a bin of its own),
    128 even steps between its 1st and 99th percentiles, and 128 steps growing
    geometrically from its minimum to its maximum (so no bin is wider than
    about 9 % of its distance from the minimum); for an integer image they
    are moved to half-integers, so a one-wide bin holds one grey value
    exactly.

    ``lo`` and ``hi`` are the sample's extremes (0 and 1 when it is empty),
    ``sub`` the sample's every :func:`_sub_step`-th value.
    """
    if exact and hi - lo + 1 <= _XBINS:
        edges = np.arange(lo - 0.5, hi + 1.0)
        return edges, np.ones(len(edges) - 1, bool)
    if not sub.size or hi == lo:
        return np.array([lo - 0.5, lo + 0.5]), np.ones(1, bool)
    srt = np.sort(sub).astype(np.float64, copy=False)
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


def _sub_step(n: int) -> int:
    """The step of the subsample that places the value bins: a quarter million values
    are plenty."""
    return max(1, n // 2**18)


def _cell_params(samples, threshold, saturation, exact):
    """Global levels (:func:`._blockkernel._global_params`) and histogram edges.

    Integer pieces of at most 16 bits are counted, not concatenated into floats.
    """
    counts = _int_counts(samples)
    if counts is not None:
        lo, c, first = counts
        gp = _levels_from_counts(lo, c, first, threshold, saturation)
        pieces = [np.asarray(p).ravel() for p in samples]
        step = _sub_step(sum(p.size for p in pieces))
        # every step-th value of the pieces laid end to end
        starts = np.cumsum([0] + [p.size for p in pieces[:-1]])
        sub = np.concatenate([p[(-int(o)) % step::step] for p, o in zip(pieces, starts)])
        gp["xbins"], gp["xexact"] = _value_bins(float(lo), float(lo + len(c) - 1), sub, exact)
    else:
        v = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in samples])
        gp = _global_params([v], threshold, saturation)
        finite = np.isfinite(v)
        if not finite.all():
            v = v[finite]
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
        gp["xbins"], gp["xexact"] = _value_bins(lo, hi, v[::_sub_step(v.size)], exact)
    gp["centre"] = gp.get("threshold", 0.0) if np.isfinite(gp.get("threshold", 0.0)) else 0.0
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


#: Bytes of the int64 working arrays of one block of rows (:func:`_quantiles`) or of bins
#: (:func:`_box_sums`): small blocks reuse freed memory instead of mapping fresh pages.
_BLOCK_BYTES = 2**21


def _quantiles(h, edges, exact, qs) -> list[np.ndarray]:
    """numpy's linear percentiles ``qs`` of every row of histograms ``h``.

    Values in an ``exact`` bin are its centre (integers in unit bins); in other
    bins the ranks are spread evenly over the bin. Rows are taken in blocks.

    Examples
    --------
    >>> h = np.array([[0, 2, 2], [1, 0, 0]])
    >>> [q.tolist() for q in _quantiles(h, np.array([0.5, 1.5, 2.5, 3.5]), np.ones(3, bool), (50,))]
    [[2.5, 1.0]]
    """
    rows = max(1, _BLOCK_BYTES // (8 * max(h.shape[1], 1)))
    if len(h) <= rows:
        return _quantiles_block(h, edges, exact, qs)
    parts = [_quantiles_block(h[r:r + rows], edges, exact, qs) for r in range(0, len(h), rows)]
    return [np.concatenate([p[i] for p in parts]) for i in range(len(qs))]


def _quantiles_block(h, edges, exact, qs) -> list[np.ndarray]:
    """:func:`_quantiles` of one block of rows."""
    n = h.sum(axis=1)
    nb = h.shape[1]
    rows = np.arange(len(h))
    # cumulative counts, each row lifted above the last: one sorted array to search
    lift = rows * (int(n.max(initial=0)) + 1)
    flat = np.cumsum(h, axis=1, dtype=np.int64)
    flat += lift[:, None]
    flat = flat.ravel()

    def value(r):
        # bins whose cumulative count is at most rank r (a whole number), per row
        b = np.searchsorted(flat, r.astype(np.int64) + lift, side="right") - rows * nb
        b = np.minimum(b, nb - 1)
        before = flat[rows * nb + b] - lift - h[rows, b]
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


def _running_sum(a: np.ndarray, axis: int, out: np.ndarray) -> None:
    """``np.cumsum(a, axis, out=out)``, one plane at a time.

    The same additions in the same order (so the same numbers, floats too),
    but numpy's accumulate along an outer axis of a large array is many times
    slower than adding whole planes.
    """
    a, out = np.moveaxis(a, axis, 0), np.moveaxis(out, axis, 0)
    if len(a):
        out[0] = a[0]
    for i in range(1, len(a)):
        np.add(out[i - 1], a[i], out=out[i])


def _box_sums(cells: np.ndarray, spans) -> np.ndarray:
    """Sums over the candidates' cells: ``cells`` is (cz, cy, cx, ...), ``spans``
    the per-axis (first, end) cell of each position. Returns (N, ...).

    Counts (integers) are summed one axis at a time; sums of floats through a
    summed-area table over all three axes, as they always were.
    """
    tail = cells.shape[3:]
    if cells.dtype.kind in "iu" and len(tail) == 1:  # wide histograms: in blocks of bins
        width = max(1, _BLOCK_BYTES // (8 * max(1, int(np.prod(cells.shape[:3])))))
        if tail[0] > width:
            return np.concatenate([_box_sums(cells[..., b:b + width], spans)
                                   for b in range(0, tail[0], width)], axis=1)
    if cells.dtype.kind in "iu":  # exact either way; one axis at a time is less work
        for a, (lo, hi) in enumerate(spans):
            acc = np.zeros(cells.shape[:a] + (cells.shape[a] + 1,) + cells.shape[a + 1:], cells.dtype)
            _running_sum(cells, a, acc[(slice(None),) * a + (slice(1, None),)])
            cells = np.take(acc, hi, axis=a)
            cells -= np.take(acc, lo, axis=a)
            del acc
        return cells.reshape((-1,) + tail)
    acc = np.zeros(tuple(s + 1 for s in cells.shape[:3]) + tail, dtype=cells.dtype)
    inner = acc[1:, 1:, 1:]
    _running_sum(cells, 0, inner)
    _running_sum(inner, 1, inner)
    _running_sum(inner, 2, inner)
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
        sl = region_from_bounds(c0, [a + n for a, n in zip(c0, nc)])
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
