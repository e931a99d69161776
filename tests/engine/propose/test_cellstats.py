"""Overlapping candidates measured once on cells: positions, coverage, and the combined
statistics against direct measurement of every candidate."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import dask.array as da
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from scipy.special import xlogy
from scipy.stats import spearmanr
from skimage.filters import threshold_otsu

from napari_patchwise.engine.propose.block_grid import candidate_grid
from napari_patchwise.engine.propose.blockstats import STAT_NAMES, _steps, block_statistics
from napari_patchwise.engine.propose._cellcombine import _cell_params, _value_bins
from napari_patchwise.engine.propose.cellstats import CellLayout, candidate_layout, cell_statistics
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.propose.run import measure_candidates

SHAPE = (40, 70, 66)  # not a multiple of the box: far-face candidates on every axis
BLOCK = (16, 32, 32)


# ----------------------------------------------------------------------------- positions
def test_half_box_strides_plus_the_far_face():
    lay = candidate_layout((96, 384, 384), (64, 64, 64))
    assert lay.positions[0].tolist() == [0, 32]  # z 32-95 is reachable (a third of the demo)
    assert lay.positions[1].tolist() == list(range(0, 321, 32))
    lay = candidate_layout((51, 120, 122), (32, 64, 64))
    assert [p.tolist() for p in lay.positions] == [[0, 16, 19], [0, 32, 56], [0, 32, 58]]
    assert len(lay.grid) == len(lay) == 27


def test_positions_at_a_magnification_stay_on_its_grid():
    lay = candidate_layout((33, 101, 99), (16, 32, 32), mag=(1, 2, 2))
    for p, b, e, f in zip(lay.positions, lay.block, (33, 100, 98), (1, 2, 2)):
        assert np.all(p % f == 0) and p[-1] + b == e
    assert lay.tile == (8, 16, 16)


@st.composite
def volumes(draw):
    mag = draw(st.sampled_from([(1, 1, 1), (1, 2, 2), (2, 2, 2), (1, 1, 3)]))
    bw = tuple(draw(st.integers(2, 12)) for _ in range(3))
    block = tuple(b * f for b, f in zip(bw, mag))
    shape = tuple(b + draw(st.integers(0, 3 * b + 5)) for b in block)
    return shape, block, mag


@settings(max_examples=200, deadline=None)
@given(case=volumes())
def test_every_voxel_lies_in_some_candidate(case):
    shape, block, mag = case
    lay = candidate_layout(shape, block, mag)
    covered = np.zeros(shape, bool)
    for o in lay.grid.origins:
        assert np.all(o % mag == 0) and np.all(o + block <= shape)
        covered[tuple(slice(a, a + b) for a, b in zip(o, block))] = True
    whole = tuple(slice(0, s // f * f) for s, f in zip(shape, mag))  # whole voxels at the mag
    assert covered[whole].all()
    # consecutive positions are at most half a box apart (rounded to the grid), and distinct
    for p, b, f in zip(lay.positions, block, mag):
        assert np.all(np.diff(p) > 0) and np.all(np.diff(p) <= max(f, b // (2 * f) * f))


@settings(max_examples=15, deadline=None)
@given(case=volumes(), seed=st.integers(0, 2**16))
def test_every_voxel_of_a_random_volume_lies_in_some_measured_candidate(case, seed):
    shape, block, mag = case
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 1000, shape).astype(np.uint16)
    plan = Plan(ImageRef(shape), get_preset("custom", minimum=tuple(b // f for b, f in
                                                                     zip(block, mag))), mag)
    cands = measure_candidates(img, plan, scheduler="sync")
    covered = np.zeros(shape, bool)
    for i in range(len(cands)):
        lo, hi = cands.extent(i)
        covered[tuple(slice(a, b) for a, b in zip(lo, hi))] = True
    assert covered[tuple(slice(0, s // f * f) for s, f in zip(shape, mag))].all()
    assert all(np.isfinite(cands.stats["mean"]))


# --------------------------------------------------------------------- direct measurement
def _volume(seed=0, shape=SHAPE):
    rng = np.random.default_rng(seed)
    smooth = ndi.gaussian_filter(rng.standard_normal(shape), (1.5, 3, 3))
    obj = smooth > 0.12
    img = 100 + 800 * obj + rng.normal(0, 10, shape)
    img = np.clip(img, 0, 65535).astype(np.uint16)
    img[20:26, 40:64, 0:20] = 0  # blank slab
    img[2:6, 4:10, 50:60] = 65535  # saturated patch
    labels = ndi.label(obj)[0].astype(np.int32)
    prob = rng.uniform(0, 1, shape).astype(np.float32)
    return img, labels, prob


def _down(a, mag, how="mean"):
    z, y, x = (n // f * f for n, f in zip(a.shape[-3:], mag))
    a = a[..., :z, :y, :x]
    if how == "first":
        return a[..., :: mag[0], :: mag[1], :: mag[2]]
    lead = a.shape[:-3]
    shape = lead + (z // mag[0], mag[0], y // mag[1], mag[1], x // mag[2], mag[2])
    n = len(lead)
    return a.astype(np.float64).reshape(shape).mean(axis=(n + 1, n + 3, n + 5))


def _tile_gradient(x, tiles):
    """numpy.gradient applied to each tile on its own (a plain loop over tiles)."""
    grads = []
    for axis, tile in enumerate(tiles):
        g = np.zeros_like(x)
        for t in np.unique(tile):
            idx = np.flatnonzero(tile == t)
            sl = [slice(None)] * 3
            sl[axis] = slice(idx[0], idx[-1] + 1)
            if len(idx) >= 2:
                g[tuple(sl)] = np.gradient(x[tuple(sl)], axis=axis)
        grads.append(g)
    return np.sqrt(sum(g * g for g in grads))


def _direct(img, lay, labels=None, prob=None, threshold=None, saturation=65535):
    """Every candidate measured on its own points of the volume's sample grid."""
    m, B = lay.magnification, np.array(lay.block)
    steps = _steps(tuple(b // f for b, f in zip(lay.block, m)), None)
    g = np.array(steps) * m
    work = _down(img, m)
    raw_all = _down(img, m, "first").astype(float)
    blank_level, p01, p99 = np.percentile(raw_all, [0.1, 1, 99])
    if threshold is None:
        threshold = threshold_otsu(raw_all[(raw_all > blank_level) & (raw_all < saturation)])
    rng_ = p99 - p01
    sl = tuple(slice(0, None, s) for s in steps)
    X, R = work[sl], raw_all[sl]
    ks = [np.arange(n) for n in X.shape]
    tiles = [k * gi // t for k, gi, t in zip(ks, g, lay.tile)]
    G = _tile_gradient(X, tiles)
    # x neighbour one voxel (at the magnification) further, inside the same tile
    nb = ks[2] * steps[2] + 1
    ok_x = (nb < work.shape[2]) & (nb * m[2] // lay.tile[2] == tiles[2])
    D = np.full(X.shape, np.nan)
    D[..., ok_x] = work[::steps[0], ::steps[1], nb[ok_x]] - X[..., ok_x]
    L = None if labels is None else _down(labels, m, "first")[sl]
    FG = L > 0 if L is not None else X > threshold
    H = None
    if prob is not None:
        P = np.clip(_down(prob, m)[(Ellipsis,) + sl], 0, 1)
        H = (-xlogy(P, P).sum(0) / np.log(P.shape[0]) if P.ndim == 4
             else -(xlogy(P, P) + xlogy(1 - P, 1 - P)) / np.log(2))
    if L is None:
        lbl, _ = ndi.label(FG)
    else:
        lbl = L
    boxes = [(np.array([s.start for s in f]), np.array([s.stop for s in f]))
             for f in ndi.find_objects(lbl) if f is not None]
    last = np.array(X.shape) - 1
    out = {n: [] for n in STAT_NAMES}
    ncomp, nfg = [], []
    for o in lay.grid.origins:
        k0, k1 = -(-o // g), -(-(o + B) // g)
        c = tuple(slice(a, b) for a, b in zip(k0, k1))
        x, fg = X[c], FG[c]
        srt = np.sort(x, axis=None)
        for name, q in zip(("p01", "p50", "p99"), (1, 50, 99)):
            out[name].append(np.percentile(x, q))
            pos = q / 100 * (srt.size - 1)  # the two values numpy interpolates between
            out.setdefault(name + "_around", []).append(
                (srt[int(pos)], srt[min(int(pos) + 1, srt.size - 1)]))
        out["mean"].append(x.mean())
        out["std"].append(x.std())
        out["foreground"].append(fg.mean())
        d = D[c][np.isfinite(D[c])]
        noise = 1.4826 * np.median(np.abs(d)) / np.sqrt(2) or d.std() / np.sqrt(2)
        out.setdefault("noise", []).append(noise)
        if fg.sum() >= 10 and (~fg).sum() >= 10:
            out["snr"].append((x[fg].mean() - x[~fg].mean()) / noise)
        else:
            out["snr"].append(np.nan)
        out["edge_energy"].append(G[c].mean() / rng_)
        out["blank"].append(np.mean((x <= blank_level) & (G[c] == 0)))
        out["saturated"].append(np.mean(R[c] >= saturation))
        out["uncertainty"].append(np.nan if H is None else H[c].mean())
        far = np.array(lay.image_shape) - o - B
        out["border_distance"].append(min(o.min(), far.min()))
        counted = np.array(lay.image_shape) >= 2 * B
        shares = []
        for a in range(3):
            for side, k in ((o[a] == 0, 0), (far[a] == 0, last[a])):
                if side and counted[a] and k0[a] <= k < k1[a]:
                    face = np.take(FG, k, axis=a)[tuple(s for i, s in enumerate(c) if i != a)]
                    shares.append(face.mean())
        out["border_foreground"].append(max(shares, default=0.0))
        ncomp.append(sum(np.all(lo < k1) and np.all(hi > k0) for lo, hi in boxes))
        nfg.append(fg.sum())
    ncomp, nfg = np.array(ncomp, float), np.array(nfg, float)
    n_obj = ncomp
    if labels is None and (ncomp > 0).any():
        n_obj = np.maximum(ncomp, nfg / np.median(nfg[ncomp > 0] / ncomp[ncomp > 0]))
    out["density"] = list(1000 * n_obj / np.prod(B))
    return {n: np.asarray(v, float) for n, v in out.items()}


def _within_a_bin(got, ref, edges, names=("p01", "p50", "p99")):
    """Each percentile is off by at most the widest bin holding one of the two sample values
    it is interpolated between."""
    w = np.diff(edges)
    for n in names:
        around = ref[n + "_around"]
        b = np.clip(np.searchsorted(edges, around, side="right") - 1, 0, len(w) - 1)
        tol = w[b].max(axis=1)
        assert np.all(np.abs(got[n] - ref[n]) <= tol + 1e-9), n


EXACT = ("mean", "std", "foreground", "edge_energy", "blank", "saturated", "border_distance",
         "border_foreground", "uncertainty", "density")


def _check(got, ref, exact_noise):
    """Sums exactly; the SNR exactly when its noise (a median) comes from one-value bins
    (whole-number images at magnification 1), else within 10 %."""
    for n in EXACT:
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-9, atol=1e-12, equal_nan=True,
                                   err_msg=n)
    np.testing.assert_allclose(got["snr"], ref["snr"], rtol=1e-9 if exact_noise else 0.1,
                               equal_nan=True, err_msg="snr")


def _wrap(kind, arr, tmp_path, name, chunks):
    if kind == "numpy":
        return arr
    if kind == "dask":
        return da.from_array(arr, chunks=chunks)
    z = zarr.create_array(store=str(tmp_path / f"{name}.zarr"), shape=arr.shape,
                          chunks=chunks[-arr.ndim:] if arr.ndim == 3 else (arr.shape[0], *chunks),
                          dtype=arr.dtype)
    z[:] = arr
    return zarr.open_array(str(tmp_path / f"{name}.zarr"), mode="r")


@pytest.mark.parametrize("kind", ["numpy", "zarr", "dask"])
@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2)])
def test_combined_statistics_equal_direct_measurement(kind, mag, tmp_path):
    img, labels, prob = _volume()
    lay = candidate_layout(SHAPE, BLOCK, mag)
    got = cell_statistics(_wrap(kind, img, tmp_path, "img", (10, 24, 20)), lay)
    ref = _direct(img, lay)
    assert list(got) == list(STAT_NAMES)
    _check(got, ref, exact_noise=mag == (1, 1, 1))
    assert got["saturated"].max() > 0 and got["blank"].max() > 0 and np.nanmax(got["snr"]) > 5
    # percentiles from the histograms: within one bin (exact in a one-grey-value bin)
    gp = _cell_params([_down(img, mag, "first")], None, 65535, mag == (1, 1, 1))
    _within_a_bin(got, ref, gp["xbins"])


@pytest.mark.parametrize("kind", ["numpy", "zarr"])
def test_labels_probability_and_explicit_levels(kind, tmp_path):
    img, labels, prob = _volume(1)
    lay = candidate_layout(SHAPE, BLOCK, (1, 2, 2))
    three = np.stack([prob, (1 - prob) / 2, (1 - prob) / 2])
    got = cell_statistics(_wrap(kind, img, tmp_path, "img", (10, 24, 20)), lay, threshold=500.0,
                          labels=_wrap(kind, labels, tmp_path, "lab", (10, 24, 20)),
                          probability=_wrap(kind, three, tmp_path, "prob", (10, 24, 20)),
                          saturation=1000)
    ref = _direct(img, lay, labels=labels, prob=three, threshold=500.0, saturation=1000)
    _check(got, ref, exact_noise=False)
    assert np.isfinite(got["uncertainty"]).all()


def test_exact_percentiles_for_an_image_of_few_grey_values():
    rng = np.random.default_rng(3)
    img = rng.integers(0, 200, SHAPE).astype(np.uint8)
    lay = candidate_layout(SHAPE, BLOCK)
    got, ref = cell_statistics(img, lay), _direct(img, lay, saturation=255)
    for n in ("p01", "p50", "p99"):
        np.testing.assert_array_equal(got[n], ref[n], err_msg=n)


def test_float_images_noise_and_percentiles_within_the_stated_tolerance():
    img = _volume(2)[0].astype(np.float32) / 7.0  # not whole numbers: histograms interpolate
    lay = candidate_layout(SHAPE, BLOCK)
    top = float(img.max())  # a float image saturates at its maximum
    got, ref = cell_statistics(img, lay), _direct(img, lay, saturation=top)
    gp = _cell_params([img], None, top, False)
    _within_a_bin(got, ref, gp["xbins"])
    # the noise (a median of absolute differences) is off by at most a bin of its histogram:
    # 1/4096 of the intensity range, or 9 % above 64 such steps
    ok = np.isfinite(ref["snr"])
    noise = ref["noise"][ok]
    implied = noise * ref["snr"][ok] / got["snr"][ok]
    step = 1.4826 / np.sqrt(2) * gp["range"] / 4096
    assert np.all(np.abs(implied - noise) <= np.maximum(0.09 * noise, step) + 1e-12)
    for n in EXACT:
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-6, atol=1e-9, equal_nan=True,
                                   err_msg=n)


def test_the_numbers_do_not_depend_on_the_chunks(tmp_path):
    img, labels, _ = _volume(4)
    lay = candidate_layout(SHAPE, BLOCK, (1, 2, 2))
    a = cell_statistics(img, lay, labels=labels)
    b = cell_statistics(_wrap("zarr", img, tmp_path, "v", (7, 13, 9)), lay, labels=labels)
    c = cell_statistics(_wrap("dask", img, tmp_path, "v", (40, 70, 66)), lay)
    d = cell_statistics(img, lay)
    for n in STAT_NAMES:
        np.testing.assert_allclose(a[n], b[n], rtol=1e-12, equal_nan=True, err_msg=n)
        np.testing.assert_allclose(c[n], d[n], rtol=1e-12, equal_nan=True, err_msg=n)


def test_objects_joined_across_chunks_are_counted_once():
    img = np.full((16, 64, 64), 100, np.uint16)
    img[4:12, 20:44, 10:54] = 900  # one object crossing every chunk face below
    lay = candidate_layout(img.shape, (16, 32, 32))
    whole = cell_statistics(img, lay, threshold=500, sample_step=1)
    split = cell_statistics(da.from_array(img, chunks=(16, 16, 16)), lay, threshold=500,
                            sample_step=1)
    np.testing.assert_array_equal(whole["density"], split["density"])
    # every candidate meets the object; those holding little of it count just the one
    assert np.min(whole["density"]) * 16 * 32 * 32 / 1000 == pytest.approx(1)


# ------------------------------------------------------------ against block_statistics
def test_lattice_candidates_agree_with_blocks_measured_alone():
    """Candidates on the lattice sample the same points as a block measured on its own."""
    img, _, _ = _volume(5, (48, 128, 128))
    lay = candidate_layout(img.shape, BLOCK)
    got = cell_statistics(img, lay)
    ref = block_statistics(img, lay.grid)
    g = np.array(_steps(BLOCK, None))
    on = np.all(lay.grid.origins % g == 0, axis=1)
    assert on.all()  # 48×128×128 with 16×32×32 boxes: every position is on the sample grid
    for n in ("mean", "std", "foreground", "saturated", "border_distance", "border_foreground",
              "uncertainty"):
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-9, equal_nan=True, err_msg=n)
    # neighbour differences and gradients stay inside a tile (half a box); objects are counted
    # whole rather than cut at the candidate's faces
    np.testing.assert_allclose(got["snr"], ref["snr"], rtol=0.15, equal_nan=True)
    for n in ("edge_energy", "density"):
        assert spearmanr(got[n], ref[n])[0] > 0.9, n
        rel = np.abs(got[n] - ref[n]) / np.maximum(np.abs(ref[n]), 1e-12)
        assert np.median(rel) < 0.15, n


# ----------------------------------------------------------------------- bad input
def test_bad_input():
    img, labels, _ = _volume()
    lay = candidate_layout(SHAPE, BLOCK)
    with pytest.raises(TypeError, match="CellLayout"):
        cell_statistics(img, candidate_grid(SHAPE, BLOCK))
    with pytest.raises(ValueError, match=r"layout was built for shape \(40, 70, 66\)"):
        cell_statistics(img[..., :60], lay)
    with pytest.raises(ValueError, match="2D.*z axis"):
        cell_statistics(img[0], lay)
    with pytest.raises(ValueError, match="must hold integer ids"):
        cell_statistics(img, lay, labels=labels.astype(float))
    with pytest.raises(ValueError, match="constant.*nothing can be proposed"):
        cell_statistics(np.full(SHAPE, 7, np.uint16), lay)
    with pytest.raises(ValueError, match="larger than the image"):
        candidate_layout(SHAPE, (16, 32, 128))


def test_every_nan_is_found_even_off_the_sample():
    img = np.random.default_rng(1).normal(100, 5, (64, 128, 128)).astype(np.float32)
    img[33, 65, 67] = np.nan  # odd indices: not on the 4-voxel sample of 64³ boxes
    lay = candidate_layout(img.shape, (64, 64, 64))
    with pytest.raises(ValueError, match=r"NaN.*4 of 9 candidate blocks.*\[0, 32, 32\]"):
        cell_statistics(img, lay)


def test_zarr_is_read_lazily_and_progress_reaches_the_end(tmp_path):
    img = _volume()[0]
    z = _wrap("zarr", img, tmp_path, "v", (16, 32, 32))

    class Guard:  # refuses whole-array conversion
        shape, dtype, ndim, chunks = z.shape, z.dtype, z.ndim, z.chunks

        def __getitem__(self, key):
            return z[key]

        def __array__(self, *args, **kwargs):
            raise AssertionError("whole input materialised")

    calls = []
    lay = candidate_layout(SHAPE, BLOCK)
    got = cell_statistics(Guard(), lay, scheduler="sync", progress=lambda d, t: calls.append((d, t)))
    np.testing.assert_allclose(got["mean"], _direct(img, lay)["mean"])
    assert calls[-1][0] == calls[-1][1] > 0


def _bins_of(v, exact):
    return _value_bins(float(v.min()), float(v.max()), v, exact)


def test_value_bins():
    edges, exact = _bins_of(np.arange(10, 200, dtype=float), True)
    assert exact.all() and edges[0] == 9.5 and edges[-1] == 199.5
    v = np.concatenate([np.zeros(5000), np.linspace(100, 1000, 5000), np.full(100, 65535.0)])
    edges, exact = _bins_of(v, True)
    assert len(edges) <= 400 and exact[0] and edges[0] == -0.5 and edges[1] == 0.5
    body = (edges[:-1] >= 100) & (edges[1:] <= 1000)
    assert np.diff(edges)[body].max() <= 10  # narrow where values are common
    edges, exact = _bins_of(v / 3, False)
    grow = np.diff(edges) / np.maximum(edges[1:] - edges[0], 1e-9)
    assert grow[edges[1:] - edges[0] > 1].max() < 0.1  # no bin wider than ~9 % of its place


def test_layout_is_frozen():
    lay = candidate_layout(SHAPE, BLOCK)
    assert isinstance(lay, CellLayout)
    with pytest.raises(AttributeError):
        lay.block = (2, 2, 2)


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="only matters when the optional 'distributed' package is installed")
def test_local_measurement_does_not_import_distributed():
    # dask's default scheduler looks for a distributed client by importing the package (about
    # a second per process); a proposal on local threads needs none of it
    code = (
        "import sys, numpy as np\n"
        "from napari_patchwise.engine.plan.plan import ImageRef, Plan\n"
        "from napari_patchwise.engine.propose.run import measure_candidates\n"
        "img = np.random.default_rng(0).normal(100, 5, (32, 64, 64))\n"
        "plan = Plan(ImageRef(img.shape), box_size=(32, 32, 32))\n"
        "cands = measure_candidates(img, plan)\n"
        "print(len(cands), 'distributed' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    n, imported = out.stdout.split()
    assert int(n) > 0
    assert imported == "False"
