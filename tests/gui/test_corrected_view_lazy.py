"""The merged view of a corrected class stays lazy on a huge volume and true after strokes, undo and redo."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.engine.corrections.apply import correct_class
from napari_patchwise.layers import corrected_data, correction_layers
from napari_patchwise.layers.corrected_data import VIEW_IGNORE, LazyCorrected
from napari_patchwise.layers.correction_layers import CorrectedView

pytestmark = pytest.mark.gui

zarr = pytest.importorskip("zarr")


def _layers(viewer, base, masks):
    base_layer = viewer.add_labels(base, name="membrane")
    mask_layers = {k: viewer.add_labels(m, name=f"membrane {k}") for k, m in masks.items()}
    view_layer = viewer.add_labels(LazyCorrected(base, masks, name="'membrane'"), name="membrane corrected")
    view_layer.editable = False
    return base_layer, mask_layers, view_layer


def _expected(base, masks):
    fixed = correct_class(np.asarray(base), {k: np.asarray(m) for k, m in masks.items()})
    return np.where(fixed.ignore, VIEW_IGNORE, fixed.ids)


def test_view_of_a_huge_volume_merges_only_what_is_read(make_napari_viewer, monkeypatch):
    shape = (20000, 1024, 1024)  # 20 GB per array: materialising any of them would fail
    def make():
        return zarr.zeros(shape, chunks=(1, 256, 256), dtype=np.uint8)
    base = make()
    base[5000, 100:300, 100:300] = 1
    masks = {k: make() for k in ("add", "remove", "ignore")}
    merged = []
    real = corrected_data.view_values

    def counting(base, masks, region=None, **kw):
        # a merge of arrays already read (region None) counts their size: the whole volume would fail below
        extent = base.shape if region is None else [s.stop - s.start for s in region]
        merged.append(int(np.prod(extent)))
        return real(base, masks, region, **kw)

    for module in (corrected_data, correction_layers):  # the lazy view's merges and the view's own
        monkeypatch.setattr(module, "view_values", counting)
    viewer = make_napari_viewer()
    base_layer, mask_layers, view_layer = _layers(viewer, base, masks)
    view = CorrectedView("membrane", base_layer, mask_layers, view_layer)
    viewer.dims.set_current_step(0, 5000)
    assert view_layer.data[5000, 200, 200] == 1
    mask_layers["remove"].data_setitem((np.full(50, 5000), np.arange(150, 200), np.full(50, 200)), 1)
    mask_layers["ignore"].data_setitem((np.array([5000]), np.array([250]), np.array([250])), 1)
    assert view_layer.data[5000, 175, 200] == 0 and view_layer.data[5000, 175, 201] == 1
    assert view_layer.data[5000, 250, 250] == VIEW_IGNORE
    # strokes far apart: whatever was painted in the session, an undo merges no more than is read
    for z in (10, 19990):
        mask_layers["add"].data_setitem((np.array([z]), np.array([5]), np.array([5])), 1)
    mask_layers["add"].undo()
    mask_layers["add"].undo()
    plane = shape[1] * shape[2]
    assert merged and max(merged) <= plane and sum(merged) <= 50 * plane  # never more than a plane at once
    mask_layers["remove"].undo()  # no paint event: the layer's refresh drops the cache
    del merged[:]
    assert view_layer.data[5000, 175, 200] == 1 and view_layer.data[10, 5, 5] == 0
    assert 0 < sum(merged) <= 3 * plane
    with pytest.raises(ValueError, match="read-only"):
        view_layer.data[5000, 0, 0] = 1
    view.disconnect()


@pytest.mark.parametrize("seed", [0, 1])
def test_view_equals_correct_class_after_random_strokes_and_undo(make_napari_viewer, seed):
    rng = np.random.default_rng(seed)
    shape = (6, 40, 50)
    base = (rng.random(shape) < 0.3).astype(np.uint8)
    masks = {k: np.zeros(shape, np.uint8) for k in ("add", "remove", "ignore")}
    viewer = make_napari_viewer()
    base_layer, mask_layers, view_layer = _layers(viewer, base, masks)
    view = CorrectedView("membrane", base_layer, mask_layers, view_layer)
    painted = [base_layer, *mask_layers.values()]
    for step in range(40):
        layer = painted[rng.integers(len(painted))]
        action = rng.random()
        if action < 0.6:
            z = int(rng.integers(shape[0]))
            y0, x0 = int(rng.integers(shape[1] - 8)), int(rng.integers(shape[2] - 8))
            zz, yy, xx = np.meshgrid([z], np.arange(y0, y0 + 8), np.arange(x0, x0 + 8), indexing="ij")
            value = int(rng.integers(0, 2)) if layer is base_layer else 1
            layer.data_setitem((zz.ravel(), yy.ravel(), xx.ravel()), value)
        elif action < 0.85:
            layer.undo()
        else:
            layer.redo()
        want = _expected(base_layer.data, {k: m.data for k, m in mask_layers.items()})
        # plane by plane, as napari reads it (through the view's cache)
        got = np.stack([view_layer.data[z] for z in range(shape[0])])
        assert np.array_equal(got, want), f"step {step}"
    # a replaced class array is followed
    base_layer.data = np.ones(shape, np.uint8)
    assert np.array_equal(np.stack([view_layer.data[z] for z in range(shape[0])]),
                          _expected(base_layer.data, {k: m.data for k, m in mask_layers.items()}))
    view.disconnect()
