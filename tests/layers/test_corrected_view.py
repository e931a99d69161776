"""The merged view of a corrected class on the project's buffers: slicing and showing a layer
again merge nothing, an undo (also one made while hidden) merges the view again (Qt-free)."""

import numpy as np
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from napari.layers import Labels

from napari_patchwise.engine.corrections.apply import correct_class
from napari_patchwise.engine.plan.stroke_buffer import StrokeBuffer
from napari_patchwise.layers.corrected_data import VIEW_IGNORE, LazyCorrected
from napari_patchwise.layers.correction_layers import CorrectedView

SHAPE = (4, 16, 16)


def _expected(base, masks):
    fixed = correct_class(np.asarray(base), {k: np.asarray(m) for k, m in masks.items()})
    return np.where(fixed.ignore, VIEW_IGNORE, fixed.ids)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["stroke", "slice", "show", "undo", "hidden undo"]),
                          st.sampled_from(["membrane", "add", "remove", "ignore"]),
                          st.integers(0, SHAPE[0] - 1), st.integers(0, 12), st.integers(0, 12)),
                min_size=1, max_size=12))
def test_only_a_write_not_yet_merged_merges_the_whole_view_again(ops):
    def buffer():
        return StrokeBuffer(zarr.zeros(SHAPE, chunks=(2, 8, 8), dtype="uint8"))

    base = Labels(buffer(), name="membrane")
    masks = {k: Labels(buffer(), name=f"membrane {k}") for k in ("add", "remove", "ignore")}
    view_layer = Labels(LazyCorrected(base.data, {k: m.data for k, m in masks.items()}, name="'membrane'"))
    view_key, queue, whole = [0], [], []
    view = CorrectedView("membrane", base, masks, view_layer, defer=queue.append, view_key=lambda: view_key[0])
    view.updated.connect(lambda region: whole.append(region) if region is None else None)
    layers = {"membrane": base, **masks}
    for op, name, z, y, x in ops:
        layer, before = layers[name], len(whole)
        writes = layer.data.writes
        if op == "stroke":
            zz, yy, xx = np.meshgrid([z], np.arange(y, y + 4), np.arange(x, x + 4), indexing="ij")
            layer.data_setitem((zz.ravel(), yy.ravel(), xx.ravel()), 1)
        elif op == "slice":
            view_key[0] += 1
            layer.refresh()  # napari slices the layer anew
        elif op == "show":
            layer.visible = False
            layer.visible = True
        elif op == "undo":
            layer.undo()
        else:  # undone while hidden, shown again on another slice
            layer.visible = False
            layer.undo()
            view_key[0] += 1
            layer.refresh()
            layer.visible = True
        while queue:
            queue.pop(0)()
        if op in ("slice", "show"):
            assert len(whole) == before
        if op in ("undo", "hidden undo"):
            assert (len(whole) > before) == (layer.data.writes > writes)
        got = np.stack([view_layer.data[p] for p in range(SHAPE[0])])
        assert np.array_equal(got, _expected(base.data, {k: m.data for k, m in masks.items()})), op
    view.disconnect()




class _Reads:
    """An array that counts the reads of it."""

    def __init__(self, a):
        self.a, self.reads = a, 0
        self.shape, self.dtype, self.ndim = a.shape, a.dtype, a.ndim

    def __getitem__(self, key):
        self.reads += 1
        return self.a[key]

    def __setitem__(self, key, value):
        self.a[key] = value


def test_a_stroke_on_one_mask_reads_that_mask_alone_and_merges_what_the_others_hold():
    rng = np.random.default_rng(3)
    base = _Reads((rng.random(SHAPE) > 0.5).astype(np.uint8))
    masks = {k: _Reads((rng.random(SHAPE) > 0.8).astype(np.uint8)) for k in ("add", "remove", "ignore")}
    layers = {"base": Labels(base), **{k: Labels(m) for k, m in masks.items()}}
    view_layer = Labels(LazyCorrected(base, masks, name="'membrane'"))
    queue = []  # napari emits the paint event before it writes: the view merges after the edit
    view = CorrectedView("membrane", layers["base"], {k: layers[k] for k in masks}, view_layer, defer=queue.append)
    for p in range(SHAPE[0]):
        view_layer.data[p]  # the planes shown, merged and kept
    for kind, value in (("remove", 1), ("ignore", 0), ("base", 0), ("add", 1)):
        reads = {k: a.reads for k, a in (("base", base), *masks.items())}
        layer = layers[kind]
        zz, yy, xx = np.meshgrid([1], np.arange(3, 9), np.arange(2, 8), indexing="ij")
        layer.data_setitem((zz.ravel(), yy.ravel(), xx.ravel()), value)
        while queue:
            queue.pop(0)()
        read_again = {k for k, a in (("base", base), *masks.items()) if a.reads > reads[k]}
        assert read_again == {kind}, kind
        got = np.stack([view_layer.data[p] for p in range(SHAPE[0])])
        assert np.array_equal(got, _expected(base.a, {k: m.a for k, m in masks.items()})), kind
    view.disconnect()
