"""The per-chunk work of :func:`.blockstats.block_statistics` (numpy only).

A chunk holding whole blocks is sampled (:func:`_sample`) and every block in
it is measured at once (:func:`_blocks_stats`); the rows come back in the
order of :data:`FIELDS`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi
from scipy.special import xlogy

#: Measured per block (the public statistics without the derived ones).
MEASURED = ("p01", "p50", "p99", "mean", "std", "snr", "foreground", "edge_energy", "blank",
            "saturated", "uncertainty")
_FACES = ("_z0", "_z1", "_y0", "_y1", "_x0", "_x1")  # foreground share on each block face
#: Columns of a row: the measured statistics, then internal counts.
FIELDS = (*MEASURED, "_nan", "_min", "_max", "_ncomp", "_nfg", *_FACES)
_IX = {n: i for i, n in enumerate(FIELDS)}
_MIN_SIDE = 10  # voxels needed on each side of the foreground split for an SNR
_MAD_TO_STD = 1.4826


def _sample(x, nb, bw, mag, steps, how, offset=(0, 0, 0)):
    """Regular sample of every block in a piece holding ``nb`` whole blocks.

    ``x`` has shape ``(..., nbz*bz, nby*by, nbx*bx)`` (full resolution, blocks
    ``bw * mag`` voxels wide). Returns an array of shape
    ``(nbz, nby, nbx, ..., kz, ky, kx)``: every ``step``-th voxel of each block
    at the magnification, where a voxel at the magnification is the mean of
    its ``mag`` cube (``how="mean"``) or its first voxel (``how="first"``).
    ``offset`` shifts the sample by whole voxels at the magnification.
    """
    x = np.asarray(x)
    lead = x.shape[:-3]
    shape = [*lead]
    for n, b, f in zip(nb, bw, mag):
        shape += [n, b, f]
    x = x.reshape(shape)
    L = len(lead)
    sub = (slice(None),) * L
    for st, o in zip(steps, offset):
        sub += (slice(None), slice(o, None, st), slice(None) if how == "mean" else slice(0, 1))
    x = x[sub]
    mag_axes = tuple(L + 3 * i + 2 for i in range(3))
    x = x.mean(axis=mag_axes) if how == "mean" and any(f > 1 for f in mag) else x.squeeze(mag_axes)
    # (...lead, nbz, kz, nby, ky, nbx, kx) -> (nbz, nby, nbx, ...lead, kz, ky, kx)
    order = [L, L + 2, L + 4, *range(L), L + 1, L + 3, L + 5]
    return x.transpose(order)


def _global_params(samples, threshold, saturation):
    """Threshold and reference levels from the global subsample (a list of pieces).

    Pieces of integers of at most 16 bits are counted (:func:`_int_counts`)
    and the levels read from the counts (:func:`_levels_from_counts`), the
    same numbers without sorting a float copy. Otherwise one float64 piece
    is used as it is (not copied); nor is the sample when it holds no NaN.
    """
    counts = _int_counts(samples)
    if counts is not None:
        return _levels_from_counts(*counts, threshold, saturation)
    if len(samples) == 1:
        v = np.asarray(samples[0], dtype=np.float64).ravel()
    else:
        v = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in samples])
    nan = np.isnan(v)
    gp = {"n_nan": int(np.count_nonzero(nan))}
    if gp["n_nan"]:
        v = v[~nan]
    if v.size == 0:
        return gp | {"constant": True, "value": math.nan}
    gp["constant"], gp["value"] = bool(v.min() == v.max()), float(v[0])
    gp["saturation"] = float(v.max() if saturation is None else saturation)
    gp["blank_level"], p01, p99 = (float(p) for p in np.percentile(v, [0.1, 1, 99]))
    gp["range"] = (p99 - p01) or float(v.max() - v.min()) or 1.0
    if threshold is not None:
        gp["threshold"] = float(threshold)
    elif gp["constant"]:
        gp["threshold"] = gp["value"]
    else:
        from skimage.filters import threshold_otsu

        keep = v[(v > gp["blank_level"]) & (v < gp["saturation"])]
        if keep.size == 0 or keep.min() == keep.max():
            keep = v
        gp["threshold"] = float(threshold_otsu(keep))
    return gp


def _int_counts(samples):
    """How often each value from the lowest to the highest occurs in the pieces,
    when every non-empty piece holds integers (or booleans) of at most 16 bits.

    Returns ``(lo, counts, first)`` (``first``: the first value of the first
    non-empty piece), or None for other pieces or when all are empty.

    Examples
    --------
    >>> _int_counts([np.array([3, 5, 3], np.uint8), np.array([], float), np.array([4], np.uint8)])
    (3, array([2, 1, 1]), 3)
    >>> _int_counts([np.array([0.5])]) is None
    True
    """
    pieces = [p.ravel() for p in map(np.asarray, samples) if p.size]
    if not pieces or any(p.dtype.kind not in "biu" or p.dtype.itemsize > 2 for p in pieces):
        return None
    pieces = [p.view(np.uint8) if p.dtype.kind == "b" else p for p in pieces]
    lo = min(int(p.min()) for p in pieces)
    hi = max(int(p.max()) for p in pieces)
    counts = np.zeros(hi - lo + 1, np.int64)
    for p in pieces:
        if p.dtype.kind == "i":
            c = np.bincount(p.astype(np.int32) - lo)
            counts[:c.size] += c
        else:
            c = np.bincount(p)
            counts[:c.size - lo] += c[lo:]
    return lo, counts, int(pieces[0][0])


def _order_value(lo, cum, k):
    """The ``k``-th smallest value (from 0) of counts whose running sum is ``cum``."""
    return float(lo + int(np.searchsorted(cum, k, side="right")))


def _percentile_of_counts(lo, cum, q):
    """numpy's default (linear) percentile ``q`` of the values counted in ``cum``,
    the same float: the two order statistics around rank ``(n - 1) q / 100``,
    mixed from the nearer one.

    Examples
    --------
    >>> v = np.array([7, 3, 3, 9, 4], np.uint8)
    >>> lo, counts, _ = _int_counts([v])
    >>> [_percentile_of_counts(lo, np.cumsum(counts), q) for q in (1, 50, 99)]
    [3.0, 4.0, 8.92]
    >>> np.percentile(v, [1, 50, 99]).tolist()
    [3.0, 4.0, 8.92]
    """
    n = int(cum[-1])
    pos = (n - 1) * (q / 100)
    i = math.floor(pos)
    a, b = _order_value(lo, cum, i), _order_value(lo, cum, min(i + 1, n - 1))
    t = pos - i
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def _levels_from_counts(lo, counts, first, threshold, saturation):
    """:func:`_global_params` of integer pieces from their :func:`_int_counts`."""
    hi = lo + len(counts) - 1
    cum = np.cumsum(counts)
    gp = {"n_nan": 0, "constant": lo == hi, "value": float(first)}
    gp["saturation"] = float(hi if saturation is None else saturation)
    gp["blank_level"], p01, p99 = (_percentile_of_counts(lo, cum, q) for q in (0.1, 1, 99))
    gp["range"] = (p99 - p01) or float(hi - lo) or 1.0
    if threshold is not None:
        gp["threshold"] = float(threshold)
    elif gp["constant"]:
        gp["threshold"] = gp["value"]
    else:
        from skimage.filters import threshold_otsu

        values = np.arange(lo, hi + 1, dtype=np.float64)
        held = counts > 0
        keep = held & (values > gp["blank_level"]) & (values < gp["saturation"])
        if not keep.any() or np.count_nonzero(keep) == 1:
            keep = held
        # the 256 bins numpy gives the kept samples themselves, counted by value
        h, edges = np.histogram(values[keep], bins=256, weights=counts[keep])
        gp["threshold"] = float(threshold_otsu(
            hist=(h.astype(np.int64), (edges[:-1] + edges[1:]) / 2.0)))
    return gp


def _blocks_stats(x, lab, prob, gp, full_voxels, xn=None, raw=None):
    """All numbers (order of ``FIELDS``) for a stack of sampled blocks.

    ``x`` has shape ``(nb, kz, ky, kx)``; ``lab`` the same or None; ``prob``
    ``(nb, kz, ky, kx)``, ``(nb, C, kz, ky, kx)`` or None; ``xn`` the sample
    shifted by one voxel along x (for the noise), ``(nb, kz, ky, kx')`` with
    ``kx' <= kx``, or None to use ``x`` itself; ``raw`` the full-resolution
    voxels behind the sample (for saturation), or None when ``x`` is them. The same numbers as
    numbers as measuring each block alone, computed for all blocks at once.
    """
    nb = x.shape[0]
    out = np.full((nb, len(FIELDS)), np.nan)
    x = np.asarray(x, dtype=np.float64)
    flat = x.reshape(nb, -1)
    k = flat.shape[1]
    nan = np.isnan(flat).sum(axis=1)
    out[:, _IX["_nan"]] = nan
    if nan.any() or math.isnan(gp["value"]):
        return out  # reported as an error by the caller
    srt = np.sort(flat, axis=1)
    out[:, _IX["_min"]], out[:, _IX["_max"]] = srt[:, 0], srt[:, -1]
    for name, q in (("p01", 1), ("p50", 50), ("p99", 99)):  # numpy's "linear" percentile
        pos = q / 100 * (k - 1)
        i0 = int(math.floor(pos))
        i1 = min(i0 + 1, k - 1)
        out[:, _IX[name]] = srt[:, i0] + (srt[:, i1] - srt[:, i0]) * (pos - i0)
    out[:, _IX["mean"]] = flat.mean(axis=1)
    out[:, _IX["std"]] = flat.std(axis=1)
    if lab is not None:
        lab = np.asarray(lab).reshape(nb, -1)
        fg = lab > 0
    else:
        fg = flat > gp["threshold"]
    n_fg = fg.sum(axis=1)
    n_bg = k - n_fg
    out[:, _IX["foreground"]] = n_fg / k
    out[:, _IX["_nfg"]] = n_fg
    cubes = fg.reshape(x.shape)
    for name, face in zip(_FACES, (cubes[:, 0], cubes[:, -1], cubes[:, :, 0], cubes[:, :, -1],
                                   cubes[:, :, :, 0], cubes[:, :, :, -1])):
        out[:, _IX[name]] = face.reshape(nb, -1).mean(axis=1)
    ok = np.minimum(n_fg, n_bg) >= _MIN_SIDE
    if ok.any():
        # noise from differences of x neighbours: blur and objects barely change them
        xn = x[..., 1:] if xn is None else np.asarray(xn, dtype=np.float64)
        d = (xn - x[..., : xn.shape[-1]]).reshape(nb, -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            noise = _MAD_TO_STD * np.median(np.abs(d), axis=1) / math.sqrt(2)
            noise = np.where(noise > 0, noise, d.std(axis=1) / math.sqrt(2))
            mean_fg = np.where(fg, flat, 0.0).sum(axis=1) / n_fg
            mean_bg = np.where(fg, 0.0, flat).sum(axis=1) / n_bg
            diff = mean_fg - mean_bg
            snr = np.where(noise > 0, diff / noise, np.copysign(np.inf, diff))
        out[:, _IX["snr"]] = np.where(ok, snr, np.nan)
    if lab is not None:
        ids = lab[fg]
        which = np.repeat(np.arange(nb), n_fg)
        pairs = np.unique(np.stack([which, ids]), axis=1) if ids.size else np.empty((2, 0), int)
        n_obj = np.bincount(pairs[0], minlength=nb)
    else:  # label every block at once, blocks kept apart by a zero layer
        padded = np.zeros((nb, *(s + 1 for s in x.shape[1:])), bool)
        padded[:, :-1, :-1, :-1] = cubes
        lbl, _ = ndi.label(padded.reshape(-1, *padded.shape[2:]))
        # labels are numbered in scan order, so each block holds a contiguous range
        ends = np.maximum.accumulate(lbl.reshape(nb, -1).max(axis=1)) if nb else np.zeros(0)
        n_obj = np.diff(ends, prepend=0)
    out[:, _IX["_ncomp"]] = n_obj
    grads = np.gradient(x, axis=(1, 2, 3))
    grad = np.sqrt(sum(g * g for g in grads)).reshape(nb, -1)
    out[:, _IX["edge_energy"]] = grad.mean(axis=1) / gp["range"]
    out[:, _IX["blank"]] = ((flat <= gp["blank_level"]) & (grad == 0)).sum(axis=1) / k
    raw_flat = flat if raw is None else np.asarray(raw).reshape(nb, -1)
    out[:, _IX["saturated"]] = (raw_flat >= gp["saturation"]).sum(axis=1) / k
    if prob is not None:
        p = np.clip(np.asarray(prob, dtype=np.float64), 0.0, 1.0)
        if p.ndim == 5 and p.shape[1] > 1:
            h = -xlogy(p, p).sum(axis=1) / math.log(p.shape[1])
        else:
            p = p.reshape(x.shape)
            h = -(xlogy(p, p) + xlogy(1 - p, 1 - p)) / math.log(2)
        out[:, _IX["uncertainty"]] = np.clip(h.reshape(nb, -1).mean(axis=1), 0.0, 1.0)
    return out


def _piece_stats(img, lab, prob, gp, nb, bw, mag, steps, full_voxels):
    """Statistics rows, C order, for the ``nb`` blocks held by one array piece."""
    img = np.asarray(img)
    n = int(np.prod(nb))
    x = _sample(img, nb, bw, mag, steps, "mean")
    x = x.reshape(n, *x.shape[3:])
    xn = _sample(img, nb, bw, mag, steps, "mean", offset=(0, 0, 1))
    xn = xn.reshape(n, *xn.shape[3:])
    ls = None if lab is None else _sample(lab, nb, bw, mag, steps, "first")
    ls = None if ls is None else ls.reshape(n, *ls.shape[3:])
    ps = None if prob is None else _sample(prob, nb, bw, mag, steps, "mean")
    ps = None if ps is None else ps.reshape(n, *ps.shape[3:])
    raw = None
    if any(f > 1 for f in mag):  # averaged voxels never reach the saturation level
        raw = _sample(img, nb, bw, mag, steps, "first")
        raw = raw.reshape(n, *raw.shape[3:])
    rows = _blocks_stats(x, ls, ps, gp, full_voxels, xn, raw)
    if img.dtype.kind == "f":  # NaNs anywhere in a block, not only in its sample
        shape = []
        for nbi, b, f in zip(nb, bw, mag):
            shape += [nbi, b * f]
        rows[:, _IX["_nan"]] = np.isnan(img).reshape(shape).sum(axis=(1, 3, 5)).ravel()
    return rows


def _flat_sample(c, mag, g):
    """The first full-resolution voxel of every ``g``-th voxel at the
    magnification of one chunk, flattened."""
    n = [s // f for s, f in zip(c.shape, mag)]
    if min(n) == 0:  # a chunk thinner than one voxel at the magnification
        return np.empty(0)
    c = np.asarray(c)[tuple(slice(0, k * f) for k, f in zip(n, mag))]
    # full-resolution voxels: averaging would hide saturated and blank voxels
    return _sample(c, (1, 1, 1), n, mag, (g, g, g), "first").ravel()
