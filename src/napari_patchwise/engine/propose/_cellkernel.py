"""The per-chunk work of :func:`.cellstats.cell_statistics`.

Two steps per chunk: :func:`chunk_samples` as soon as it is read (the chunk
can then be freed), :func:`cells_piece` once the global levels are known, in
numpy or with the compiled sample loop (:mod:`._fastkernel`).

A chunk is sampled on the volume's regular sample grid (every ``step``-th
voxel at the magnification, counted from the volume's corner), and sums,
counts and histograms of the samples are accumulated per *cell*: the boxes
between consecutive candidate faces. Candidates are unions of cells, so their
statistics are sums of cell sums (:mod:`.cellstats`). Gradients and neighbour
differences are taken within *tiles* (the half-box lattice from the corner), so
the numbers never depend on how the volume is chunked; chunks hold whole
tiles.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import xlogy

from . import _fastkernel
from ._cellobjects import _no_objects, _objects

#: Per-cell sums, in this order.
SUMS = ("n", "x", "x2", "n_fg", "x_fg", "grad", "n_blank", "n_sat", "h", "n_d", "d", "d2")
_S = {n: i for i, n in enumerate(SUMS)}


def _axis_samples(c0: int, c1: int, g: int) -> np.ndarray:
    """Global sample indices ``k`` with ``k * g`` in ``[c0, c1)``."""
    return np.arange(-(-c0 // g), -(-c1 // g), dtype=np.int64)


def _take(a, lead: int, ks, g, mag, origin, how: str, shift: int = 0):
    """Voxels at the magnification of ``a`` at the global sample indices ``ks``.

    ``a`` has ``lead`` leading axes, then a full-resolution (z, y, x) piece
    starting at ``origin`` whose extent is a multiple of ``mag``; sample ``k``
    lies at ``k * g`` (full resolution). A voxel at the magnification is the
    mean of its ``mag`` cube (``how="mean"``) or its first voxel (``"first"``).
    ``shift`` moves the x positions by whole voxels at the magnification;
    positions that leave the piece are dropped.
    """
    a = np.asarray(a)
    shape = list(a.shape[:lead])
    for n, f in zip(a.shape[lead:], mag):
        shape += [n // f, f]
    out = a.reshape(shape)  # positions are evenly spaced: slices, so nothing is copied here
    for ax in range(3):
        f = mag[ax]
        pos = (ks[ax] * g[ax] - origin[ax]) // f + (shift if ax == 2 else 0)
        pos = pos[pos < out.shape[lead + 2 * ax]]
        key = [slice(None)] * out.ndim
        step = int(g[ax] // f)
        key[lead + 2 * ax] = (slice(int(pos[0]), int(pos[-1]) + 1, step) if pos.size
                              else slice(0, 0))
        if how != "mean":
            key[lead + 2 * ax + 1] = slice(0, 1)
        out = out[tuple(key)]
    mag_axes = tuple(lead + 2 * ax + 1 for ax in range(3))
    if how == "mean" and any(f > 1 for f in mag):
        return out.mean(axis=mag_axes)
    return out.reshape(out.shape[:lead] + tuple(out.shape[lead + 2 * ax] for ax in range(3)))


def _local_gradient(x: np.ndarray, axis: int, tile: np.ndarray) -> np.ndarray:
    """:func:`numpy.gradient` along ``axis``, taken separately within each tile.

    ``tile`` gives the tile of every sample along the axis; differences never
    cross a tile face (one-sided at tile faces, 0 for a tile one sample thick):
    a sample's value is (backward + forward difference) / (how many of the two
    lie in its tile).

    Examples
    --------
    >>> _local_gradient(np.array([0.0, 1.0, 4.0, 9.0, 16.0]), 0, np.array([0, 0, 0, 1, 1]))
    array([1., 2., 3., 7., 7.])
    """
    n = x.shape[axis]
    if n < 2:
        return np.zeros_like(x)
    same = tile[1:] == tile[:-1]
    shape = [1] * x.ndim
    shape[axis] = n - 1
    d = np.diff(x, axis=axis)
    if not same.all():
        d *= same.reshape(shape)

    def part(a, b):
        key = [slice(None)] * x.ndim
        key[axis] = slice(a, b)
        return tuple(key)

    out = np.empty_like(x)
    np.add(d[part(0, n - 2)], d[part(1, n - 1)], out=out[part(1, n - 1)])
    out[part(0, 1)] = d[part(0, 1)]
    out[part(n - 1, n)] = d[part(n - 2, n - 1)]
    count = np.zeros(n)
    count[:-1] += same
    count[1:] += same
    if (count > 1).any():  # dividing by 1 changes nothing
        shape[axis] = n
        out /= np.maximum(count, 1).reshape(shape)
    return out


def _cell_index(k, g, bounds, first):
    """Cell (relative to ``first``) of each global sample index ``k`` along one axis."""
    return np.searchsorted(bounds, k * g, side="right") - 1 - first


def chunk_samples(img, lab, prob, fixed, origin, cell0, ncell):
    """What the measurement keeps of one chunk: its samples, taken as soon as it is read.

    The chunk itself can then be freed, before the global levels that
    :func:`cells_piece` needs are known; only the samples (one voxel in
    ``step**3``, in the chunk's dtype) wait for them.

    Parameters
    ----------
    img : array, shape (z, y, x)
        The chunk, full resolution, starting at ``origin``; its extent is a
        multiple of ``mag`` and its faces lie on tile faces.
    lab, prob : array or None
        Labels ``(z, y, x)``, probabilities ``(z, y, x)`` or ``(C, z, y, x)``.
    fixed, origin, cell0, ncell
        As for :func:`cells_piece`.

    Returns
    -------
    dict
        ``ks`` (global sample indices per axis), ``labelled`` (labels
        given), ``x`` (samples: the chunk's voxels at the sample points, or the means
        of their ``mag`` cubes), ``raw`` (the first voxel of each cube, or
        None at magnification 1), ``xn`` (the samples one voxel further
        along x), ``lb`` and ``p`` (labels and probabilities at the samples,
        or None), ``nan`` (full-resolution NaNs per cell); ``x`` is None for a
        chunk thinner than one sample step.
    """
    bounds, tile, steps, mag, last = fixed
    img = np.asarray(img)
    g = [s * f for s, f in zip(steps, mag)]
    ext = [origin[a] + img.shape[a] for a in range(3)]
    ks = [_axis_samples(origin[a], ext[a], g[a]) for a in range(3)]
    cshape = tuple(ncell)
    out = {"ks": ks, "x": None, "raw": None, "xn": None, "lb": None, "p": None,
           "labelled": lab is not None}
    if img.dtype.kind == "f":
        out["nan"] = _nan_per_cell(img, origin, bounds, cell0, cshape)
    else:
        out["nan"] = np.zeros(cshape, np.int64)
    if min(k.size for k in ks) == 0:  # a chunk thinner than one sample step
        return out
    copy = np.ascontiguousarray
    out["x"] = copy(_take(img, 0, ks, g, mag, origin, "mean"))
    if any(f > 1 for f in mag):
        out["raw"] = copy(_take(img, 0, ks, g, mag, origin, "first"))
    # noise: the voxel next along x of each sample (full resolution)
    out["xn"] = copy(_take(img, 0, ks, g, mag, origin, "mean", shift=1))
    if lab is not None:
        out["lb"] = copy(_take(lab, 0, ks, g, mag, origin, "first"))
    if prob is not None:
        out["p"] = copy(_take(prob, np.ndim(prob) - 3, ks, g, mag, origin, "mean"))
    return out


def cells_piece(samples, gp, fixed, origin, cell0, ncell, use_compiled=None):
    """Per-cell sums, histograms and objects of one chunk, from its :func:`chunk_samples`.

    Parameters
    ----------
    samples : dict
        :func:`chunk_samples` of the chunk.
    gp : dict
        Global levels (threshold, blank level, saturation, range, the centre
        subtracted before summing) and the histogram edges ``xbins`` (sample
        values) and ``dbins`` (absolute neighbour differences).
    fixed : tuple
        What every chunk shares: ``bounds`` (cell faces along each axis, full
        resolution, from 0 to the image end), ``tile`` (tile width per axis),
        ``steps`` (sample step at the magnification), ``mag`` and ``last`` (the
        index of the volume's last sample plane along each axis).
    origin : tuple of int
        Full-resolution corner of the chunk.
    cell0, ncell : tuple of int
        First cell and number of cells the chunk meets, per axis.
    use_compiled : bool, optional
        Use the compiled sample loop (:mod:`._fastkernel`); by default when
        it is built.

    Returns
    -------
    dict
        ``sums`` (cells, len(SUMS)), ``hx``, ``hd`` histograms, ``faces``
        (cells, 6, 2) foreground and sample counts on the volume's border
        planes, ``nan`` per cell (full-resolution NaNs), ``min``/``max``, and
        the objects: bounding boxes (global sample indices) and sizes, with
        the label planes on the chunk faces (no labels) or the ids (labels).
    """
    bounds, tile, steps, mag, last = fixed
    if use_compiled is None:
        use_compiled = _fastkernel.available()
    xbins, dbins = gp["xbins"], gp["dbins"]
    g = [s * f for s, f in zip(steps, mag)]
    ks = samples["ks"]
    out = {"min": math.nan, "max": math.nan, "nan": samples["nan"]}
    cshape = tuple(ncell)
    nc = int(np.prod(cshape))
    if samples["x"] is None:  # a chunk thinner than one sample step
        out.update(sums=np.zeros(cshape + (len(SUMS),)),
                   hx=np.zeros(cshape + (len(xbins) - 1,), np.int64),
                   hd=np.zeros(cshape + (len(dbins) - 1,), np.int64),
                   faces=np.zeros(cshape + (6, 2), np.int64),
                   objects=_no_objects(samples["labelled"]))
        return out
    x = samples["x"].astype(np.float64)
    raw = x if samples["raw"] is None else samples["raw"]
    out["min"], out["max"] = float(np.nanmin(raw)), float(np.nanmax(raw))  # constant image?
    cells = [_cell_index(ks[a], g[a], bounds[a], cell0[a]) for a in range(3)]
    tiles = [ks[a] * g[a] // tile[a] for a in range(3)]

    lb = samples["lb"]
    fg = lb > 0 if lb is not None else x > gp["threshold"]
    xn = samples["xn"].astype(np.float64)
    nx = xn.shape[2]
    npos = (ks[2][:nx] * steps[2] + 1) * mag[2]  # full-resolution x of the neighbours
    ok_x = npos // tile[2] == ks[2][:nx] * g[2] // tile[2]
    h = None
    if samples["p"] is not None:
        p = np.clip(samples["p"].astype(np.float64), 0.0, 1.0)
        if p.ndim == 4 and p.shape[0] > 1:
            h = -xlogy(p, p).sum(axis=0) / math.log(p.shape[0])
        else:
            p = p.reshape(x.shape)
            h = -(xlogy(p, p) + xlogy(1 - p, 1 - p)) / math.log(2)

    if use_compiled:
        xlut = gp.get("xlut")
        all_in_xlut = xlut is not None and raw is x and 0 <= out["min"] and out["max"] < len(xlut)
        as8 = np.ascontiguousarray
        sums, hx, hd = _fastkernel._ckernel.sample_loop(
            x, as8(raw, np.float64), fg.view(np.uint8), as8(xn), ok_x.view(np.uint8),
            np.zeros((0, 0, 0)) if h is None else as8(h.reshape(x.shape), np.float64),
            *(as8(t, np.int64) for t in tiles), *(as8(c, np.int64) for c in cells),
            cshape[1], cshape[2], nc, float(gp["blank_level"]),
            float(gp["saturation"]), float(gp["centre"]),
            *_bins(xbins, xlut, all_in_xlut),
            *_bins(dbins, gp.get("dlut"), True))
        out["sums"] = sums.reshape(cshape + (len(SUMS),))
        out["hx"] = hx.reshape(cshape + (-1,))
        out["hd"] = hd.reshape(cshape + (-1,))
        out["faces"] = _border_faces(fg, ks, last, cells, cshape).reshape(cshape + (6, 2))
        out["objects"] = _objects(fg, lb, ks, use_compiled=True)
        return out
    grad = None
    for a in range(3):
        ga = _local_gradient(x, a, tiles[a])
        np.multiply(ga, ga, out=ga)
        grad = ga if grad is None else np.add(grad, ga, out=grad)
    np.sqrt(grad, out=grad)
    blank = (x <= gp["blank_level"]) & (grad == 0)
    sat = raw >= gp["saturation"]
    d = (xn - x[..., :nx])
    dmask = np.zeros(x.shape, bool)
    dmask[..., :nx] = ok_x[None, None, :]
    dfull = np.zeros(x.shape)
    dfull[..., :nx] = d
    q = np.empty((len(SUMS),) + x.shape)  # one contiguous plane per quantity
    c = np.subtract(x, gp["centre"], out=q[_S["x"]])  # centred: squares keep their precision
    q[_S["n"]] = 1.0
    np.multiply(c, c, out=q[_S["x2"]])
    q[_S["n_fg"]] = fg
    np.multiply(c, fg, out=q[_S["x_fg"]])
    q[_S["grad"]] = grad
    q[_S["n_blank"]] = blank
    q[_S["n_sat"]] = sat
    q[_S["h"]] = 0.0 if h is None else h
    q[_S["n_d"]] = dmask
    dm = np.multiply(dfull, dmask, out=q[_S["d"]])
    np.multiply(dm, dm, out=q[_S["d2"]])
    out["sums"] = np.moveaxis(_cell_sums(q, cells, cshape), 0, -1)
    cid = _cell_ids(cells, cshape)
    out["hx"] = _histogram(cid, x.ravel(), xbins, nc, gp.get("xlut")).reshape(cshape + (-1,))
    dcid = cid[dmask.ravel()]
    out["hd"] = _histogram(dcid, np.abs(dfull).ravel()[dmask.ravel()], dbins, nc,
                           gp.get("dlut")).reshape(cshape + (-1,))
    out["faces"] = _border_faces(fg, ks, last, cells, cshape).reshape(cshape + (6, 2))
    out["objects"] = _objects(fg, lb, ks)
    return out


def _bins(edges, lut, use_lut):
    """The histogram edges and look-up table as the compiled loop takes them. ``use_lut``:
    the table is used for the values it holds (for the sample values, when it holds them all,
    as :func:`_histogram` decides; the loop checks each neighbour difference against its end)."""
    edges = np.asarray(edges, np.float64)
    if lut is None:
        return edges, np.zeros(0, np.int32), False
    return edges, np.asarray(lut, np.int32), bool(use_lut)


def _cell_sums(q: np.ndarray, cells, cshape) -> np.ndarray:
    """Sums of ``q`` (quantities × z × y × x samples) over the cells; ``cells`` gives each
    sample's cell along each axis (non-decreasing). Returns (quantities, *cshape)."""
    for a in (0, 1, 2):  # outer axes first: their sums add whole contiguous rows
        starts = np.searchsorted(cells[a], np.arange(cshape[a]))
        ends = np.append(starts[1:], len(cells[a]))
        size = ends - starts
        if size.min() == size.max() > 0:  # equal cells (the usual case): a reshape and a sum
            shape = q.shape[: a + 1] + (cshape[a], int(size[0])) + q.shape[a + 2:]
            q = q.reshape(shape).sum(axis=a + 2)
            continue
        part = np.add.reduceat(q, np.minimum(starts, len(cells[a]) - 1), axis=a + 1)
        empty = starts >= ends
        if empty.any():  # reduceat gives one sample for an empty cell: it holds nothing
            shape = [1] * q.ndim
            shape[a + 1] = cshape[a]
            part = np.where(empty.reshape(shape), 0.0, part)
        q = part
    return q


def _histogram(cid, values, edges, nc, lut=None) -> np.ndarray:
    """Counts per (cell, bin); values outside the edges go to the end bins.

    ``lut`` maps whole numbers ``0, 1, ...`` to their bins (faster than a search).
    """
    nb = len(edges) - 1
    if lut is not None and values.size and values.min() >= 0 and values.max() < len(lut):
        b = lut[values.astype(np.int64)]
    else:
        b = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, nb - 1)
    return np.bincount(cid * nb + b, minlength=nc * nb).reshape(nc, nb)


def _cell_ids(cells, cshape) -> np.ndarray:
    """Cell (flat index in ``cshape``) of every sample, given each axis' cells."""
    return ((cells[0][:, None, None] * cshape[1] + cells[1][None, :, None]) * cshape[2]
            + cells[2][None, None, :]).ravel()


def _border_faces(fg, ks, last, cells, cshape) -> np.ndarray:
    """(cells, 6, 2): foreground and sample counts on the volume's six border planes."""
    nc = int(np.prod(cshape))
    out = np.zeros((nc, 6, 2), np.int64)
    for a in range(3):
        for side, k in enumerate((0, last[a])):
            hit = np.flatnonzero(ks[a] == k)
            if hit.size == 0:
                continue
            at = int(hit[0])
            plane = list(cells)
            plane[a] = cells[a][at:at + 1]
            c, f = _cell_ids(plane, cshape), np.take(fg, [at], axis=a).ravel()
            out[:, 2 * a + side, 0] = np.bincount(c, weights=f, minlength=nc).astype(np.int64)
            out[:, 2 * a + side, 1] = np.bincount(c, minlength=nc)
    return out


def _nan_per_cell(img, origin, bounds, cell0, cshape) -> np.ndarray:
    """Full-resolution NaNs per cell of a float chunk."""
    nan = np.isnan(img)
    if not nan.any():
        return np.zeros(cshape, np.int64)
    counts = nan.astype(np.int64)
    for a in range(3):
        faces = bounds[a][cell0[a]:cell0[a] + cshape[a]] - origin[a]
        counts = np.add.reduceat(counts, np.clip(faces, 0, None), axis=a)
    return counts
