# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The sample loop of ``_cellkernel.cells_piece``, compiled (Cython, no GIL held).

One pass over a chunk's samples gives what the numpy kernel computes in some
twenty array passes: the tile-local gradient, the blank and saturated flags,
the neighbour difference along x, the per-cell sums and both histograms.
``_fastkernel`` documents how the numbers compare with the numpy kernel.
"""

import numpy as np

from libc.math cimport sqrt, fabs


cdef void _weights(const long long[::1] tile, double[::1] wb, double[::1] wf, double[::1] inv,
                   long long[::1] prev, long long[::1] nxt) noexcept nogil:
    """Per sample along one axis: the weights of its backward and forward differences
    (1 within its tile, else 0) and one over how many count (1 or 1/2: multiplying
    by 1/2 is dividing by 2 exactly); the neighbours' indices, clamped."""
    cdef Py_ssize_t n = tile.shape[0], p
    cdef int count
    for p in range(n):
        prev[p] = p - 1 if p > 0 else 0
        nxt[p] = p + 1 if p < n - 1 else n - 1
        wb[p] = 0.0
        wf[p] = 0.0
        inv[p] = 1.0
        if n < 2:
            continue
        count = 0
        if p > 0 and tile[p - 1] == tile[p]:
            wb[p] = 1.0
            count += 1
        if p < n - 1 and tile[p + 1] == tile[p]:
            wf[p] = 1.0
            count += 1
        if count == 2:
            inv[p] = 0.5


cdef inline Py_ssize_t _search(double v, const double[::1] edges) noexcept nogil:
    """``clip(searchsorted(edges, v, side="right") - 1, 0, bins - 1)``."""
    cdef Py_ssize_t lo = 0, hi = edges.shape[0], mid, nb = edges.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if edges[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    lo -= 1
    if lo < 0:
        return 0
    if lo > nb - 1:
        return nb - 1
    return lo


cdef void _bins_of(const double[:, :, ::1] x, const double[::1] edges, const int[::1] lut,
                   bint use_lut, int[:, :, ::1] out) noexcept nogil:
    """Histogram bin of every sample (``use_lut``: every value is a whole number in ``lut``)."""
    cdef Py_ssize_t i, j, k
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if use_lut:
                for k in range(x.shape[2]):
                    out[i, j, k] = lut[<Py_ssize_t>x[i, j, k]]
            else:
                for k in range(x.shape[2]):
                    out[i, j, k] = <int>_search(x[i, j, k], edges)


def sample_loop(const double[:, :, ::1] x, const double[:, :, ::1] raw,
                const unsigned char[:, :, ::1] fg, const double[:, :, ::1] xn,
                const unsigned char[::1] okx, const double[:, :, ::1] h,
                const long long[::1] tz, const long long[::1] ty, const long long[::1] tx,
                const long long[::1] cz, const long long[::1] cy, const long long[::1] cx,
                Py_ssize_t ncy, Py_ssize_t ncx, Py_ssize_t nc,
                double blank_level, double saturation, double centre,
                const double[::1] xbins, const int[::1] xlut, bint use_xlut,
                const double[::1] dbins, const int[::1] dlut, bint use_dlut):
    """Per-cell sums ``(nc, 12)`` (in ``_cellkernel.SUMS`` order) and the two histograms.

    ``cx`` is non-decreasing: a row's samples are taken in runs of one cell,
    summed in registers and added to the cell once per run.
    """
    cdef Py_ssize_t nz = x.shape[0], ny = x.shape[1], nx = x.shape[2], nxn = xn.shape[2]
    cdef Py_ssize_t nlut = dlut.shape[0]
    sums_a = np.zeros((nc, 12))
    hx_a = np.zeros((nc, xbins.shape[0] - 1), np.int64)
    hd_a = np.zeros((nc, dbins.shape[0] - 1), np.int64)
    xb_a = np.empty((nz, ny, nx), np.int32)
    w = np.empty((3, 3, max(nz, ny, nx)))
    nb = np.empty((3, 2, max(nz, ny, nx)), np.int64)
    cdef double[:, ::1] sums = sums_a
    cdef long long[:, ::1] hx = hx_a
    cdef long long[:, ::1] hd = hd_a
    cdef int[:, :, ::1] xb = xb_a
    cdef double[:, :, ::1] wv = w
    cdef long long[:, :, ::1] nv = nb
    cdef bint has_h = h.shape[0] > 0
    cdef double gz_on = 1.0 if nz > 1 else 0.0
    cdef double gy_on = 1.0 if ny > 1 else 0.0
    cdef double gx_on = 1.0 if nx > 1 else 0.0
    cdef Py_ssize_t i, j, k, k0, k1, c
    cdef double v, gz, gy, gx, grad, cv, d, dm, ad, s_x, s_x2, s_xfg, s_grad, s_h, s_d, s_d2
    cdef long long n_fg, n_blank, n_sat, n_d
    cdef unsigned char f
    with nogil:
        _weights(tz, wv[0, 0, :nz], wv[0, 1, :nz], wv[0, 2, :nz], nv[0, 0, :nz], nv[0, 1, :nz])
        _weights(ty, wv[1, 0, :ny], wv[1, 1, :ny], wv[1, 2, :ny], nv[1, 0, :ny], nv[1, 1, :ny])
        _weights(tx, wv[2, 0, :nx], wv[2, 1, :nx], wv[2, 2, :nx], nv[2, 0, :nx], nv[2, 1, :nx])
        _bins_of(x, xbins, xlut, use_xlut, xb)
        for i in range(nz):
            for j in range(ny):
                k0 = 0
                while k0 < nx:
                    k1 = k0 + 1
                    while k1 < nx and cx[k1] == cx[k0]:
                        k1 += 1
                    c = (cz[i] * ncy + cy[j]) * ncx + cx[k0]
                    s_x = s_x2 = s_xfg = s_grad = s_h = s_d = s_d2 = 0.0
                    n_fg = n_blank = n_sat = n_d = 0
                    for k in range(k0, k1):
                        v = x[i, j, k]
                        # numpy.gradient within the tile, axis by axis (the numpy kernel's steps)
                        gz = ((v - x[nv[0, 0, i], j, k]) * wv[0, 0, i]
                              + (x[nv[0, 1, i], j, k] - v) * wv[0, 1, i]) * wv[0, 2, i] * gz_on
                        gy = ((v - x[i, nv[1, 0, j], k]) * wv[1, 0, j]
                              + (x[i, nv[1, 1, j], k] - v) * wv[1, 1, j]) * wv[1, 2, j] * gy_on
                        gx = ((v - x[i, j, nv[2, 0, k]]) * wv[2, 0, k]
                              + (x[i, j, nv[2, 1, k]] - v) * wv[2, 1, k]) * wv[2, 2, k] * gx_on
                        grad = sqrt(gz * gz + gy * gy + gx * gx)
                        cv = v - centre
                        f = fg[i, j, k]
                        s_x += cv
                        s_x2 += cv * cv
                        s_xfg += cv * (1.0 if f else 0.0)
                        s_grad += grad
                        n_fg += f != 0
                        n_blank += v <= blank_level and grad == 0
                        n_sat += raw[i, j, k] >= saturation
                        if has_h:
                            s_h += h[i, j, k]
                        hx[c, xb[i, j, k]] += 1
                        if k < nxn:
                            d = xn[i, j, k] - v
                            if okx[k]:
                                dm = d
                                n_d += 1
                                ad = fabs(d)
                                if use_dlut and ad < nlut:
                                    hd[c, dlut[<Py_ssize_t>ad]] += 1
                                else:
                                    hd[c, _search(ad, dbins)] += 1
                            else:
                                dm = d * 0.0
                            s_d += dm
                            s_d2 += dm * dm
                    sums[c, 0] += k1 - k0
                    sums[c, 1] += s_x
                    sums[c, 2] += s_x2
                    sums[c, 3] += n_fg
                    sums[c, 4] += s_xfg
                    sums[c, 5] += s_grad
                    sums[c, 6] += n_blank
                    sums[c, 7] += n_sat
                    sums[c, 8] += s_h
                    sums[c, 9] += n_d
                    sums[c, 10] += s_d
                    sums[c, 11] += s_d2
                    k0 = k1
    return sums_a, hx_a, hd_a


def boxes_sizes(const int[:, :, ::1] lbl, Py_ssize_t n):
    """First and end index along each axis, and the size, of labels ``1..n``."""
    lo_a = np.empty((n, 3), np.int64)
    hi_a = np.zeros((n, 3), np.int64)
    size_a = np.zeros(n, np.int64)
    cdef long long[:, ::1] lo = lo_a
    cdef long long[:, ::1] hi = hi_a
    cdef long long[::1] size = size_a
    cdef Py_ssize_t i, j, k, m
    with nogil:
        for m in range(n):
            lo[m, 0] = lbl.shape[0]
            lo[m, 1] = lbl.shape[1]
            lo[m, 2] = lbl.shape[2]
        for i in range(lbl.shape[0]):
            for j in range(lbl.shape[1]):
                for k in range(lbl.shape[2]):
                    m = lbl[i, j, k]
                    if m == 0:
                        continue
                    m -= 1
                    size[m] += 1
                    if i < lo[m, 0]:
                        lo[m, 0] = i
                    if i >= hi[m, 0]:
                        hi[m, 0] = i + 1
                    if j < lo[m, 1]:
                        lo[m, 1] = j
                    if j >= hi[m, 1]:
                        hi[m, 1] = j + 1
                    if k < lo[m, 2]:
                        lo[m, 2] = k
                    if k >= hi[m, 2]:
                        hi[m, 2] = k + 1
    return lo_a, hi_a, size_a
