"""The faster ways of measuring cells give the numbers of the plain formulas they replace."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_patchwise.engine.propose._blockkernel import (
    _global_params,
    _int_counts,
    _percentile_of_counts,
)
from napari_patchwise.engine.propose._cellcombine import (
    _box_sums,
    _cell_params,
    _quantiles,
    _running_sum,
)
from napari_patchwise.engine.propose._cellkernel import _local_gradient
from napari_patchwise.engine.propose._cellobjects import _bounding_boxes


def _spans(rng, ncell, npos):
    """Random (first, end) cells per position: spans of 1 to 3 cells, as at the far faces."""
    lo = rng.integers(0, ncell, npos)
    hi = np.minimum(lo + rng.integers(1, 4, npos), ncell)
    return lo, hi


def _sat_box_sums(cells, spans):
    """The summed-area table over all three axes (the formula used before)."""
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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_running_sum_is_cumsum_to_the_last_bit(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1e6, (5, 7, 6, 3)) + rng.normal(0, 1e-6, (5, 7, 6, 3))
    for axis in range(4):
        out = np.empty_like(a)
        _running_sum(a, axis, out)
        assert np.array_equal(out, np.cumsum(a, axis=axis))
    inplace = a.copy()
    _running_sum(inplace, 1, inplace)  # in place, as the summed-area table uses it
    assert np.array_equal(inplace, np.cumsum(a, axis=1))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_box_sums_of_counts_are_the_sums_over_the_cells(seed):
    rng = np.random.default_rng(seed)
    shape = (4, 6, 5)
    cells = rng.integers(0, 1000, shape + (3, 7)).astype(np.int32)
    spans = [_spans(rng, n, k) for n, k in zip(shape, (3, 5, 4))]
    got = _box_sums(cells, spans)
    want = [cells[z0:z1, y0:y1, x0:x1].sum(axis=(0, 1, 2))
            for z0, z1 in zip(*spans[0]) for y0, y1 in zip(*spans[1]) for x0, x1 in zip(*spans[2])]
    assert got.dtype == np.int32 and got.shape == (3 * 5 * 4, 3, 7)
    assert np.array_equal(got, np.array(want))
    assert np.array_equal(got, _sat_box_sums(cells, spans))


@pytest.mark.parametrize("seed", [0, 1])
def test_box_sums_of_floats_keep_the_summed_area_table_to_the_last_bit(seed):
    rng = np.random.default_rng(seed)
    shape = (5, 4, 6)
    cells = rng.normal(0, 1e4, shape + (12,))
    spans = [_spans(rng, n, k) for n, k in zip(shape, (4, 3, 5))]
    assert np.array_equal(_box_sums(cells, spans), _sat_box_sums(cells, spans))


def _plain_quantiles(h, edges, exact, qs):
    """Row by row: the bin holding each rank found by counting (the formula used before)."""
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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_quantiles_by_search_equal_quantiles_by_counting(seed):
    rng = np.random.default_rng(seed)
    nb = 40
    h = rng.integers(0, 30, (200, nb)) * (rng.random((200, nb)) < 0.3)  # sparse, with gaps
    h[:3] = 0  # rows with no samples
    h[5] = 0
    h[5, nb - 1] = 7  # everything in the last bin
    h[6] = 0
    h[6, 0] = 1  # a single sample
    edges = np.concatenate([np.arange(21) - 0.5, np.geomspace(20, 900, 20)])
    exact = np.arange(nb) < 20
    qs = (1, 50, 99, 0, 100)
    for counts in (h.astype(np.int32), h.astype(np.int64)):
        got = _quantiles(counts, edges, exact, qs)
        want = _plain_quantiles(counts, edges, exact, qs)
        for g, w in zip(got, want):
            assert np.array_equal(g, w, equal_nan=True)
    assert np.isnan(got[0][:3]).all() and np.isfinite(got[0][3:]).all()


def _plain_local_gradient(x, axis, tile):
    """Forward and backward differences added into a zeroed array, then divided (as before)."""
    n = x.shape[axis]
    out = np.zeros_like(x)
    if n < 2:
        return out
    same = tile[1:] == tile[:-1]
    shape = [1] * x.ndim
    shape[axis] = n - 1
    d = np.diff(x, axis=axis)
    if not same.all():
        d *= same.reshape(shape)
    head = [slice(None)] * x.ndim
    tail = [slice(None)] * x.ndim
    head[axis], tail[axis] = slice(0, n - 1), slice(1, n)
    out[tuple(head)] += d
    out[tuple(tail)] += d
    count = np.zeros(n)
    count[:-1] += same
    count[1:] += same
    shape[axis] = n
    out /= np.maximum(count, 1).reshape(shape)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_local_gradient_is_the_plain_formula_to_the_last_bit(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 12, 3))
    x = rng.normal(0, 1e3, shape) * rng.choice([1e-3, 1.0, 1e5], shape)
    for axis in range(3):
        n = shape[axis]
        width = int(rng.integers(1, 5))  # tiles of one sample too: their gradient is 0
        tile = (np.arange(n) + int(rng.integers(0, width))) // width
        got = _local_gradient(x, axis, tile)
        assert np.array_equal(got, _plain_local_gradient(x, axis, tile))
        grad_np = np.gradient(x, axis=axis) if n > 1 else np.zeros_like(x)
        if (tile == tile[0]).all() and n > 1:  # one tile: numpy's own gradient, up to rounding
            assert np.allclose(got, grad_np, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_bounding_boxes_are_those_of_find_objects(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 20, 3))
    fg = ndi.gaussian_filter(rng.standard_normal(shape), 1.0) > 0.1 if min(shape) > 1 \
        else rng.random(shape) > 0.5
    lbl, n = ndi.label(fg)
    if seed == 0:  # one label scattered over the chunk: a box far larger than the object
        lbl = np.zeros(shape, np.int32)
        lbl[0, 0, 0] = lbl[-1, -1, -1] = 1
        n = 1
    lo, hi = _bounding_boxes(lbl, n)
    found = ndi.find_objects(lbl)
    assert lo.shape == hi.shape == (n, 3) and lo.dtype == hi.dtype == np.int64
    assert lo.tolist() == [[s.start for s in f] for f in found]
    assert hi.tolist() == [[s.stop for s in f] for f in found]


def test_bounding_boxes_of_noise_are_those_of_find_objects():
    """So many objects that per-plane counts would outgrow the chunk: find_objects' own boxes."""
    rng = np.random.default_rng(7)
    lbl, n = ndi.label(rng.random((40, 12, 9)) > 0.8)
    assert max(lbl.shape) * (n + 1) > 2 * lbl.size  # the case the counts leave out
    lo, hi = _bounding_boxes(lbl, n)
    found = ndi.find_objects(lbl)
    assert lo.tolist() == [[s.start for s in f] for f in found]
    assert hi.tolist() == [[s.stop for s in f] for f in found]


@pytest.mark.parametrize("seed", [0, 1])
def test_quantiles_and_box_sums_in_blocks_equal_one_block(seed, monkeypatch):
    """Wide histograms are combined in blocks of rows and bins: the same numbers."""
    import napari_patchwise.engine.propose._cellcombine as cc

    rng = np.random.default_rng(seed)
    shape, nb = (4, 6, 5), 37
    cells = (rng.integers(0, 20, shape + (nb,)) * (rng.random(shape + (nb,)) < 0.4)).astype(np.int32)
    spans = [_spans(rng, n, k) for n, k in zip(shape, (3, 5, 4))]
    edges = np.arange(nb + 1) - 0.5
    exact = np.ones(nb, bool)
    whole = _box_sums(cells, spans)
    q_whole = _quantiles(whole, edges, exact, (1, 50, 99))
    monkeypatch.setattr(cc, "_BLOCK_BYTES", 8 * int(np.prod(shape)) * 5)  # 5 bins, 37 rows a block
    blocks = _box_sums(cells, spans)
    assert np.array_equal(blocks, whole)
    assert max(1, cc._BLOCK_BYTES // (8 * nb)) < len(whole)  # the quantiles really go in blocks
    for a, b in zip(_quantiles(blocks, edges, exact, (1, 50, 99)), q_whole):
        assert np.array_equal(a, b, equal_nan=True)


def _integer_pieces(rng, case):
    """Pieces of a global sample as the chunk tasks give them: integers of one dtype,
    with empty float pieces (chunks thinner than a voxel at the magnification)."""
    dtype = {0: np.uint8, 1: np.uint16, 2: np.int16, 3: np.int8, 4: bool}[case % 5]
    info = np.iinfo(dtype) if dtype is not bool else None
    pieces = []
    for _ in range(int(rng.integers(1, 9))):
        n = int(rng.integers(0, 3000)) if rng.random() < 0.8 else 0
        if dtype is bool:
            p = rng.random(n) < rng.random()
        else:
            centre = rng.uniform(info.min, info.max)
            p = rng.normal(centre, rng.choice([0.3, 5, 400]), n)
            if rng.random() < 0.3:  # saturated or blank voxels
                p[: n // 10] = info.max if rng.random() < 0.5 else info.min
            p = p.clip(info.min, info.max).round().astype(dtype)
        pieces.append(p if n or rng.random() < 0.5 else np.empty(0))
    if rng.random() < 0.1:  # a constant sample
        pieces = [np.full(50, pieces[0].ravel()[:1] if pieces[0].size else 7, dtype)]
    return pieces


@pytest.mark.parametrize("seed", range(6))
def test_levels_from_integer_counts_equal_levels_from_floats(seed):
    """Integer samples are counted instead of sorted as floats; every level, value
    bin and flag is the same number."""
    rng = np.random.default_rng(seed)
    checked = 0
    for case in range(60):
        pieces = _integer_pieces(rng, case)
        if not any(np.size(p) for p in pieces):
            continue
        floats = [np.asarray(p, np.float64) for p in pieces]
        assert _int_counts(pieces) is not None and _int_counts(floats) is None
        threshold = None if rng.random() < 0.8 else float(rng.integers(0, 100))
        saturation = None if rng.random() < 0.5 else float(rng.integers(1, 300))
        assert _global_params(pieces, threshold, saturation) == \
            _global_params(floats, threshold, saturation)
        exact = bool(rng.random() < 0.7)
        got = _cell_params(pieces, threshold, saturation, exact)
        want = _cell_params(floats, threshold, saturation, exact)
        assert got.keys() == want.keys()
        for key in want:
            assert np.array_equal(got[key], want[key]), (case, key)
        checked += 1
    assert checked > 40


def test_levels_of_a_large_integer_sample_equal_levels_from_floats():
    """Over a quarter million values the value bins come from every k-th value of
    the pieces laid end to end, as they did from the float copy."""
    rng = np.random.default_rng(7)
    pieces = [rng.gamma(2, 300, n).clip(0, 65535).astype(np.uint16)
              for n in (170_001, 223_457, 199_999, 250_003)]
    floats = [np.asarray(p, np.float64) for p in pieces]
    got, want = _cell_params(pieces, None, None, True), _cell_params(floats, None, None, True)
    for key in want:
        assert np.array_equal(got[key], want[key]), key


def test_percentile_of_counts_is_numpys():
    rng = np.random.default_rng(3)
    for _ in range(3000):
        v = rng.integers(-5, rng.choice([3, 50, 30000]), int(rng.integers(1, 500)))
        lo, counts, _ = _int_counts([v.astype(np.int16)])
        cum = np.cumsum(counts)
        for q in (0.1, 1, 99, float(rng.uniform(0, 100))):
            assert _percentile_of_counts(lo, cum, q) == np.percentile(v, q)
