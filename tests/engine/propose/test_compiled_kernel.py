"""The compiled sample loop gives the numpy kernel's numbers: counts and histograms
exactly, float sums to rounding; and the proposal measures the same candidates with it."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_patchwise.engine.propose import _cellkernel, _fastkernel, cellstats
from napari_patchwise.engine.propose.blockstats import STAT_NAMES
from napari_patchwise.engine.propose.cellstats import candidate_layout, cell_statistics

compiled = pytest.mark.skipif(_fastkernel._ckernel is None,
                              reason="the compiled sample loop is not built (no C compiler at install)")

#: float sums: same values added in another order
RTOL = 1e-12
_FLOAT_SUMS = [_cellkernel._S[n] for n in ("x", "x2", "x_fg", "grad", "h", "d", "d2")]
_EXACT_SUMS = [i for i in range(len(_cellkernel.SUMS)) if i not in _FLOAT_SUMS]


def test_the_compiled_loop_is_built_where_it_is_required():
    """CI builds the package with a compiler (``.ci/run`` sets PATCHWISE_REQUIRE_COMPILED)."""
    if os.environ.get("PATCHWISE_REQUIRE_COMPILED") != "1":
        pytest.skip("PATCHWISE_REQUIRE_COMPILED is not set")
    assert _fastkernel._ckernel is not None
    assert _fastkernel.available()


def test_the_environment_switches_the_compiled_loop_off(monkeypatch):
    monkeypatch.setenv("PATCHWISE_NO_COMPILED", "1")
    assert not _fastkernel.available()


def _blobs(shape, rng, dtype=np.uint16, lo=100, hi=900, noise=10.0):
    field = ndi.gaussian_filter(rng.standard_normal(shape), (1.5, 2, 2))
    img = lo + (hi - lo) * (field > 0.3 * field.std()) + rng.normal(0, noise, shape)
    if np.dtype(dtype).kind == "f":
        return img.astype(dtype)
    info = np.iinfo(dtype)
    return np.clip(img, info.min, info.max).astype(dtype)


def _cases():
    rng = np.random.default_rng(3)
    u16 = _blobs((24, 70, 66), rng)
    u8 = _blobs((20, 48, 50), rng, np.uint8, 10, 200, 6.0)
    u8[:, :, :6] = 255  # saturated
    u8[:4] = 0  # blank
    f32 = _blobs((18, 40, 44), rng, np.float32, 0.1, 0.7, 0.05)
    lab = ndi.label(u16 > 500)[0].astype(np.int32)
    p2 = np.clip(ndi.gaussian_filter(rng.random(u16.shape), 2) * 2 - 0.5, 0, 1)
    p3 = rng.dirichlet((1, 2, 3), u8.shape).transpose(3, 0, 1, 2)
    yield "uint16", u16, {"block": (8, 16, 16)}, {}
    yield "uint8 saturated and blank", u8, {"block": (8, 16, 16)}, {}
    yield "float32", f32, {"block": (6, 12, 12)}, {}
    yield "magnification 2", u16, {"block": (8, 16, 16), "mag": 2}, {}
    yield "float32 at magnification (1, 2, 2)", f32, {"block": (6, 12, 12), "mag": (1, 2, 2)}, {}
    yield "labels", u16, {"block": (8, 16, 16)}, {"labels": lab}
    yield "foreground probability", u16, {"block": (8, 16, 16)}, {"probability": p2}
    yield "class probabilities", u8, {"block": (8, 16, 16)}, {"probability": p3}
    yield "a sample step of 1", u8, {"block": (4, 8, 8)}, {"sample_step": 1}


@compiled
@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: c[0])
def test_every_chunk_measured_by_the_compiled_loop_equals_numpy(case, monkeypatch):
    name, img, lay_args, extra = case
    seen = []
    plain = _cellkernel.cells_piece

    def both(samples, gp, fixed, origin, cell0, ncell):
        a = plain(samples, gp, fixed, origin, cell0, ncell, use_compiled=False)
        b = plain(samples, gp, fixed, origin, cell0, ncell, use_compiled=True)
        seen.append((a, b))
        return b

    monkeypatch.setattr(cellstats, "cells_piece", both)
    lay = candidate_layout(img.shape, lay_args["block"], lay_args.get("mag", 1))
    cell_statistics(img, lay, scheduler="sync", **extra)
    assert len(seen) > 1
    for a, b in seen:
        for key in ("hx", "hd", "faces", "nan"):
            assert a[key].shape == b[key].shape and np.array_equal(a[key], b[key]), key
        assert np.array_equal(a["sums"][..., _EXACT_SUMS], b["sums"][..., _EXACT_SUMS])
        np.testing.assert_allclose(b["sums"][..., _FLOAT_SUMS], a["sums"][..., _FLOAT_SUMS],
                                   rtol=RTOL, atol=1e-9)
        assert (a["min"], a["max"]) == (b["min"], b["max"])
        for key in ("lo", "hi", "size"):
            assert np.array_equal(a["objects"][key], b["objects"][key]), key
        pa, pb = a["objects"]["planes"], b["objects"]["planes"]
        assert (pa is None) == (pb is None)
        if pa is not None:
            assert all(np.array_equal(u, v) for u, v in zip(pa, pb))


@compiled
@pytest.mark.parametrize("case", list(_cases())[:6], ids=lambda c: c[0])
def test_the_candidates_statistics_agree_with_and_without_the_compiled_loop(case, monkeypatch):
    name, img, lay_args, extra = case
    lay = candidate_layout(img.shape, lay_args["block"], lay_args.get("mag", 1))
    fast = cell_statistics(img, lay, scheduler="sync", **extra)
    monkeypatch.setenv("PATCHWISE_NO_COMPILED", "1")
    slow = cell_statistics(img, lay, scheduler="sync", **extra)
    for key in STAT_NAMES:
        np.testing.assert_allclose(fast[key], slow[key], rtol=1e-9, atol=1e-12, err_msg=key)


@compiled
def test_a_nan_is_measured_as_numpy_measures_it(monkeypatch):
    """NaNs stop the proposal with a clear error either way."""
    img = _blobs((16, 32, 32), np.random.default_rng(0), np.float32)
    img[5, 7, 9] = np.nan
    lay = candidate_layout(img.shape, (8, 16, 16))
    with pytest.raises(ValueError, match="NaN"):
        cell_statistics(img, lay, scheduler="sync")
    monkeypatch.setenv("PATCHWISE_NO_COMPILED", "1")
    with pytest.raises(ValueError, match="NaN"):
        cell_statistics(img, lay, scheduler="sync")
