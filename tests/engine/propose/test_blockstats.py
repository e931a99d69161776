"""Tests for per-block statistics on candidate grids."""

from __future__ import annotations

import importlib.util

import dask.array as da
import numpy as np
import pytest
import zarr
from scipy import ndimage as ndi
from scipy.special import xlogy
from skimage.filters import threshold_otsu

from napari_patchwise.engine.propose.block_grid import candidate_grid
from napari_patchwise.engine.propose.blockstats import STAT_NAMES, block_statistics
from napari_patchwise.engine.samples.nuclei import make_sample

SHAPE = (32, 64, 64)
BLOCK = (16, 32, 32)


# ------------------------------------------------------------- brute-force reference
def _volume(seed=0):
    rng = np.random.default_rng(seed)
    smooth = ndi.gaussian_filter(rng.standard_normal(SHAPE), (1.5, 3, 3))
    obj = smooth > 0.12
    img = 100 + 800 * obj + rng.normal(0, 10, SHAPE)
    img = np.clip(img, 0, 65535).astype(np.uint16)
    img[20:26, 40:64, 0:20] = 0  # blank slab
    img[2:6, 4:10, 50:60] = 65535  # saturated patch
    labels = ndi.label(obj)[0].astype(np.int32)
    prob = rng.uniform(0, 1, SHAPE).astype(np.float32)
    return img, labels, prob


def _down(a, mag):
    mz, my, mx = mag
    z, y, x = (n // f * f for n, f in zip(a.shape, mag))
    a = a[:z, :y, :x].astype(np.float64)
    return a.reshape(z // mz, mz, y // my, my, x // mx, mx).mean(axis=(1, 3, 5))


def _reference(img, grid, labels=None, prob=None, threshold=None, saturation=65535):
    mag = grid.magnification
    work = _down(img, mag)  # small volume: the global subsample is the whole array
    lab = None if labels is None else labels[:: mag[0], :: mag[1], :: mag[2]][
        : work.shape[0], : work.shape[1], : work.shape[2]]
    pw = None if prob is None else _down(prob, mag)
    raw = img[:: mag[0], :: mag[1], :: mag[2]][: work.shape[0], : work.shape[1], : work.shape[2]]
    raw = raw.astype(float)  # first full-resolution voxel of each voxel at the magnification
    blank_level, p01, p99 = np.percentile(raw, [0.1, 1, 99])
    if threshold is None:
        keep = raw[(raw > blank_level) & (raw < saturation)]
        threshold = threshold_otsu(keep)
    out = {n: [] for n in STAT_NAMES}
    ncomp, nfg = [], []
    bw = np.array(grid.block) // mag
    for o in grid.origins:
        lo = o // mag
        sl = tuple(slice(a, a + b) for a, b in zip(lo, bw))
        x = work[sl]
        fg = lab[sl] > 0 if lab is not None else x > threshold
        for n, q in zip(("p01", "p50", "p99"), np.percentile(x, [1, 50, 99])):
            out[n].append(q)
        out["mean"].append(x.mean())
        out["std"].append(x.std())
        out["foreground"].append(fg.mean())
        bg = x[~fg]
        if fg.sum() >= 10 and bg.size >= 10:
            d = np.diff(x, axis=2)
            noise = 1.4826 * np.median(np.abs(d)) / np.sqrt(2) or d.std() / np.sqrt(2)
            out["snr"].append((x[fg].mean() - bg.mean()) / noise)
        else:
            out["snr"].append(np.nan)
        if lab is not None:
            n_obj = len(set(np.unique(lab[sl])) - {0})
        else:
            n_obj = ndi.label(fg)[1]
        ncomp.append(n_obj)
        nfg.append(fg.sum())
        faces = [fg[0], fg[-1], fg[:, 0], fg[:, -1], fg[:, :, 0], fg[:, :, -1]]
        hi_gap = np.array(grid.image_shape) - o - np.array(grid.block)
        counted = np.array(grid.image_shape) >= 2 * np.array(grid.block)
        on_border = [o[a] == 0 if side == 0 else hi_gap[a] == 0
                     for a in range(3) for side in (0, 1)]
        out["border_foreground"].append(max(
            [f.mean() for f, b, a in zip(faces, on_border, np.repeat(range(3), 2))
             if b and counted[a]], default=0.0))
        gz, gy, gx = np.gradient(x)
        gm = np.sqrt(gz**2 + gy**2 + gx**2)
        out["edge_energy"].append(gm.mean() / (p99 - p01))
        out["blank"].append(np.mean((x <= blank_level) & (gm == 0)))
        out["saturated"].append(np.mean(raw[sl] >= saturation))
        hi = np.array(grid.image_shape) - o - np.array(grid.block)
        out["border_distance"].append(min(o.min(), hi.min()))
        if pw is None:
            out["uncertainty"].append(np.nan)
        else:
            p = pw[sl]
            out["uncertainty"].append(np.mean(-(xlogy(p, p) + xlogy(1 - p, 1 - p)) / np.log(2)))
    ncomp, nfg = np.array(ncomp, float), np.array(nfg, float)
    n_obj = ncomp
    if lab is None and (ncomp > 0).any():
        n_obj = np.maximum(ncomp, nfg / np.median(nfg[ncomp > 0] / ncomp[ncomp > 0]))
    out["density"] = list(1000 * n_obj / np.prod(grid.block))
    return {n: np.asarray(v, dtype=float) for n, v in out.items()}


def _wrap(kind, arr, tmp_path, name):
    if kind == "numpy":
        return arr
    if kind == "dask":
        return da.from_array(arr, chunks=(8, 24, 40))
    z = zarr.create_array(store=str(tmp_path / f"{name}.zarr"), shape=arr.shape,
                          chunks=(16, 16, 32), dtype=arr.dtype)
    z[:] = arr
    return zarr.open_array(str(tmp_path / f"{name}.zarr"), mode="r")


@pytest.mark.parametrize("kind", ["numpy", "zarr", "dask"])
@pytest.mark.parametrize("mag", [1, (1, 2, 2)])
@pytest.mark.parametrize("stride", [None, (8, 16, 16)])
def test_statistics_match_reference(kind, mag, stride, tmp_path):
    img, labels, prob = _volume()
    grid = candidate_grid(SHAPE, BLOCK, mag=mag, stride=stride)
    got = block_statistics(_wrap(kind, img, tmp_path, "img"), grid)
    assert list(got) == list(STAT_NAMES)
    ref = _reference(img, grid)
    for n in STAT_NAMES:
        assert got[n].shape == (len(grid),) and got[n].dtype == np.float64
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=n)
    assert np.isnan(got["uncertainty"]).all()
    assert got["saturated"].max() > 0 and got["blank"].max() > 0

    got = block_statistics(_wrap(kind, img, tmp_path, "img2"), grid, threshold=500.0,
                           labels=_wrap(kind, labels, tmp_path, "lab"),
                           probability=_wrap(kind, prob, tmp_path, "prob"), saturation=1000)
    ref = _reference(img, grid, labels=labels, prob=prob, threshold=500.0, saturation=1000)
    for n in STAT_NAMES:
        np.testing.assert_allclose(got[n], ref[n], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=n)


def test_explicit_threshold_changes_foreground():
    img, _, _ = _volume()
    grid = candidate_grid(SHAPE, BLOCK)
    lo = block_statistics(img, grid, threshold=-1)["foreground"]
    hi = block_statistics(img, grid, threshold=70000)["foreground"]
    assert np.all(lo == 1) and np.all(hi == 0)


# --------------------------------------------------------------- planted regions
@pytest.fixture(scope="module")
def sample():
    return make_sample((32, 128, 128))


def _inside(grid, box, overlap=False):
    lo, hi = np.array(box[0]), np.array(box[1])
    ends = grid.origins + np.array(grid.block)
    if overlap:
        return np.all((grid.origins < hi) & (ends > lo), axis=1)
    return np.all((grid.origins >= lo) & (ends <= hi), axis=1)


def test_sample_regions(sample):
    grid = candidate_grid(sample.image.shape, (4, 16, 16))
    st = block_statistics(sample.image, grid)
    reg = sample.regions
    dense, sparse = _inside(grid, reg["dense"]), _inside(grid, reg["sparse"])
    assert np.median(st["foreground"][dense]) > 5 * max(np.median(st["foreground"][sparse]), 0.01)
    assert np.mean(st["density"][dense]) > 3 * np.mean(st["density"][sparse])
    # without labels the dim low-SNR nuclei mostly stay below the global threshold
    low = _inside(grid, reg["low_snr"])
    snr_low = np.nan_to_num(st["snr"][low], nan=-np.inf)
    assert np.all(snr_low < np.nanmedian(st["snr"][dense]))
    sat = _inside(grid, reg["saturated"], overlap=True)
    assert np.all(st["saturated"][sat] >= 0.05) and np.all(st["saturated"][~sat] == 0)
    blank = _inside(grid, reg["blank"])
    assert blank.sum() >= 4 and np.all(st["blank"][blank] == 1.0)
    assert np.all(st["blank"][~_inside(grid, reg["blank"], overlap=True)] < 0.01)
    edge = _inside(grid, reg["edge"])
    far = np.any(grid.origins + np.array(grid.block) == np.array(grid.image_shape), axis=1)
    assert np.any(edge & far) and np.all(st["border_distance"][edge & far] == 0)
    assert np.all((st["border_distance"] == 0) == (far | np.any(grid.origins == 0, axis=1)))


def test_saturation_is_found_at_a_magnification(sample):
    # averaged 2x2 voxels of a saturated stripe stay saturated in the raw voxels behind them
    grid = candidate_grid(sample.image.shape, (8, 32, 32), mag=(1, 2, 2))
    st = block_statistics(sample.image, grid)
    sat = _inside(grid, sample.regions["saturated"], overlap=True)
    assert np.all(st["saturated"][sat] > 0) and np.all(st["saturated"][~sat] == 0)


def test_sample_low_snr_with_labels(sample):
    grid = candidate_grid(sample.image.shape, (8, 32, 32), mag=(1, 2, 2))
    st = block_statistics(sample.image, grid, labels=sample.labels)
    low = _inside(grid, sample.regions["low_snr"])
    dense = _inside(grid, sample.regions["dense"])
    assert np.nanmax(st["snr"][low]) < 0.5 * np.nanmin(st["snr"][dense])


# ------------------------------------------------------------------ uncertainty
def test_uncertainty_binary_and_classes():
    img, _, _ = _volume()
    grid = candidate_grid(SHAPE, BLOCK)
    half = np.full(SHAPE, 0.5, np.float32)
    np.testing.assert_allclose(block_statistics(img, grid, probability=half)["uncertainty"], 1.0)
    hard = (np.indices(SHAPE).sum(0) % 2).astype(np.float32)
    assert np.all(block_statistics(img, grid, probability=hard)["uncertainty"] == 0)
    three = np.full((3, *SHAPE), 1 / 3, np.float32)
    np.testing.assert_allclose(
        block_statistics(img, grid, probability=three)["uncertainty"], 1.0, rtol=1e-6)
    onehot = np.zeros((3, *SHAPE), np.float32)
    onehot[1] = 1
    assert np.all(block_statistics(img, grid, probability=onehot)["uncertainty"] == 0)


# ------------------------------------------------------------------ bad input
def test_bad_inputs():
    img, labels, _ = _volume()
    grid = candidate_grid(SHAPE, BLOCK)
    with pytest.raises(ValueError, match="2D.*z axis"):
        block_statistics(img[0], grid)
    with pytest.raises(ValueError, match=r"grid was built for shape \(32, 64, 64\).*\(32, 64, 32\)"):
        block_statistics(img[..., :32], grid)
    with pytest.raises(TypeError, match="BlockGrid"):
        block_statistics(img, (16, 32, 32))
    with pytest.raises(ValueError, match=r"labels array has shape \(32, 64, 32\).*\(32, 64, 64\)"):
        block_statistics(img, grid, labels=labels[..., :32])
    with pytest.raises(ValueError, match="float64 but must hold integer ids"):
        block_statistics(img, grid, labels=labels.astype(float))
    with pytest.raises(ValueError, match=r"probability array has shape \(2, 32, 64\)"):
        block_statistics(img, grid, probability=np.zeros((2, 32, 64)))
    with pytest.raises(ValueError, match="constant.*nothing can be proposed"):
        block_statistics(np.full(SHAPE, 7, np.uint16), grid)


def test_nan_reported():
    img = _volume()[0].astype(np.float32)
    grid = candidate_grid(SHAPE, BLOCK)
    img[17, 33, 35] = np.nan  # not on the stride-1 subsample? it is: small volume, s == 1
    with pytest.raises(ValueError, match=r"NaN.*1 of 8 candidate blocks.*\[16, 32, 32\].*fill"):
        block_statistics(da.from_array(img, chunks=(16, 32, 32)), grid)


def test_nan_only_in_blocks_found():
    # 200**3 voxels -> subsample stride 2; a NaN at odd indices is missed by the subsample
    img = np.random.default_rng(1).normal(100, 5, (200, 200, 200)).astype(np.float32)
    img[101, 101, 101] = np.nan
    grid = candidate_grid(img.shape, (100, 100, 100))
    with pytest.raises(ValueError, match=r"0 in the global subsample, 1 of 8.*\[100, 100, 100\]"):
        block_statistics(img, grid)


def test_distributed_address_without_distributed(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    img = _volume()[0]
    with pytest.raises(ValueError, match="pip install distributed"):
        block_statistics(img, candidate_grid(SHAPE, BLOCK), scheduler="tcp://127.0.0.1:8786")


# ------------------------------------------------------------ scale & progress
def test_zarr_is_read_lazily(tmp_path):
    img = _volume()[0]
    z = zarr.create_array(store=str(tmp_path / "v.zarr"), shape=SHAPE, chunks=(16, 32, 32),
                          dtype=img.dtype)
    z[:] = img

    class Guard:  # refuses whole-array conversion
        shape, dtype, ndim, chunks = z.shape, z.dtype, z.ndim, z.chunks

        def __getitem__(self, key):
            return z[key]

        def __array__(self, *args, **kwargs):
            raise AssertionError("whole input materialised")

    grid = candidate_grid(SHAPE, BLOCK, stride=(8, 16, 16))
    got = block_statistics(Guard(), grid, scheduler="sync")
    np.testing.assert_allclose(got["mean"], _reference(img, grid)["mean"])


def test_progress_reaches_total():
    img = _volume()[0]
    calls = []
    block_statistics(img, candidate_grid(SHAPE, BLOCK), progress=lambda d, t: calls.append((d, t)))
    assert len(calls) >= 2
    assert calls[-1][0] == calls[-1][1] > 0
    assert all(0 <= d <= t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ------------------------------------------------------------------ sampling
def test_sample_step_measures_a_regular_sample_of_each_block():
    img, _, _ = _volume()
    grid = candidate_grid(SHAPE, BLOCK)
    got = block_statistics(img, grid, sample_step=2, threshold=500.0, saturation=65535)
    for i, o in enumerate(grid.origins):
        x = img[tuple(slice(a, a + b, 2) for a, b in zip(o, BLOCK))].astype(float)
        assert got["mean"][i] == pytest.approx(x.mean())
        assert got["p50"][i] == pytest.approx(np.median(x))
        assert got["foreground"][i] == pytest.approx((x > 500).mean())
        assert got["saturated"][i] == pytest.approx((x >= 65535).mean())
    full = block_statistics(img, grid, sample_step=1, threshold=500.0)
    np.testing.assert_allclose(got["foreground"], full["foreground"], atol=0.05)


def test_default_sampling_still_finds_every_nan():
    rng = np.random.default_rng(0)
    img = rng.normal(100, 5, (64, 128, 128)).astype(np.float32)
    img[33, 65, 67] = np.nan  # odd indices: not on the default 4-voxel sample of 64³ blocks
    grid = candidate_grid(img.shape, (64, 64, 64))
    with pytest.raises(ValueError, match=r"NaN.*1 of 4 candidate blocks.*\[0, 64, 64\]"):
        block_statistics(img, grid)


@pytest.mark.parametrize("step", [0, 1.5, -2])
def test_bad_sample_step(step):
    img, _, _ = _volume()
    with pytest.raises(ValueError, match="sample_step must be a whole number"):
        block_statistics(img, candidate_grid(SHAPE, BLOCK), sample_step=step)


def test_unaligned_zarr_chunks_give_the_same_numbers(tmp_path):
    img, labels, _ = _volume()
    grid = candidate_grid(SHAPE, (16, 24, 24), mag=(1, 2, 2))  # 24 does not divide the chunks
    z = zarr.create_array(store=str(tmp_path / "v.zarr"), shape=SHAPE, chunks=(10, 20, 20),
                          dtype=img.dtype)
    z[:] = img
    a = block_statistics(zarr.open_array(str(tmp_path / "v.zarr"), mode="r"), grid,
                         labels=labels, threshold=500.0)
    b = block_statistics(img, grid, labels=labels, threshold=500.0)
    for n in STAT_NAMES:
        np.testing.assert_allclose(a[n], b[n], equal_nan=True, err_msg=n)


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="the optional 'distributed' package is not installed")
def test_runs_on_a_distributed_cluster():
    from distributed import LocalCluster

    img, labels, _ = _volume()
    grid = candidate_grid(SHAPE, BLOCK)
    local = block_statistics(img, grid, labels=labels)
    calls = []
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as cluster:
        remote = block_statistics(img, grid, labels=labels, scheduler=cluster.scheduler_address,
                                  progress=lambda d, t: calls.append((d, t)))
    for n in STAT_NAMES:
        np.testing.assert_allclose(remote[n], local[n], equal_nan=True, err_msg=n)
    assert calls[-1][0] == calls[-1][1]
