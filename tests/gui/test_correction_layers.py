"""Add / Remove / Ignore correction layers in a real napari viewer: painting, the merged view, reopening."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise._qt import qc_corrections, qc_dock, qc_findings, qc_pairs
from napari_patchwise._qt.qc_dock import QCWidget
from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui

SHAPE = (8, 64, 64)


@pytest.fixture
def told(monkeypatch):
    seen = {"error": [], "info": []}
    for kind in seen:
        for module in (qc_dock, qc_findings, qc_pairs, qc_corrections):
            if hasattr(module, f"show_{kind}"):
                monkeypatch.setattr(module, f"show_{kind}", seen[kind].append)
    return seen


def _project(tmp_path):
    plan = Plan(ImageRef(SHAPE, voxel_size=(1.0, 1.0, 1.0), path="image.tif", name="raw"),
                classes=(ClassSpec("membrane", kind="semantic"), ClassSpec("cells")))
    plan = plan.add_boxes([((0, 0, 0), (8, 64, 64))])
    folder = create_project(tmp_path / "proj", plan)
    write_tiff(folder / "image.tif", np.zeros(SHAPE, np.uint16), (1.0, 1.0, 1.0))
    base = np.zeros(SHAPE, np.uint8)
    base[:, 10:40, 10:40] = 1  # the previous segmentation
    open_annotations(folder, plan)["membrane"][:] = base
    return folder


def _open(make_napari_viewer, folder, qtbot, **kw):
    viewer = make_napari_viewer(**kw)
    viewer.open(str(folder), plugin="napari-patchwise")
    widget = QCWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Annotation QC")
    qtbot.waitUntil(lambda: not session_for(viewer).working, timeout=10000)
    assert widget.live is not None
    return viewer, widget


def _box(z, y0, y1, x0, x1):
    zz, yy, xx = np.meshgrid([z], np.arange(y0, y1), np.arange(x0, x1), indexing="ij")
    return zz.ravel(), yy.ravel(), xx.ravel()


def _paint_corrections(viewer, qtbot):
    """Remove a band of the segmentation, add a patch beside it, ignore a corner: on plane 4."""
    view = viewer.layers["membrane corrected"]
    viewer.layers["membrane remove"].data_setitem(_box(4, 10, 20, 10, 40), 1)
    viewer.layers["membrane add"].data_setitem(_box(4, 45, 55, 45, 55), 1)
    viewer.layers["membrane ignore"].data_setitem(_box(4, 30, 40, 30, 40), 1)
    qtbot.waitUntil(lambda: view.data[4, 35, 35] == 2 and view.data[4, 50, 50] == 1 and view.data[4, 15, 15] == 0,
                    timeout=5000)


def _expected_plane():
    want = np.zeros(SHAPE[1:], np.uint8)
    want[10:40, 10:40] = 1
    want[10:20, 10:40] = 0
    want[45:55, 45:55] = 1
    want[30:40, 30:40] = 2
    return want


def test_correct_paint_merge_store_and_reopen(make_napari_viewer, tmp_path, qtbot, told):
    folder = _project(tmp_path)
    viewer, widget = _open(make_napari_viewer, folder, qtbot)
    assert widget.corrections.isEnabled()
    assert [widget.corrections.class_combo.itemText(i) for i in range(widget.corrections.class_combo.count())] \
        == ["membrane", "cells"]
    assert widget.corrections.correct("membrane"), told
    for name in ("membrane add", "membrane remove", "membrane ignore", "membrane corrected"):
        assert name in viewer.layers
    qtbot.waitUntil(lambda: "membrane" in widget.corrections.views, timeout=5000)
    view = viewer.layers["membrane corrected"]
    assert not view.editable
    assert np.array_equal(view.data[4], open_annotations(folder, mode="r")["membrane"][4])  # nothing corrected yet

    _paint_corrections(viewer, qtbot)
    assert np.array_equal(view.data[4], _expected_plane())
    assert np.array_equal(view.data[3], open_annotations(folder, mode="r")["membrane"][3])  # other planes as they were
    group = open_annotations(folder, mode="r")  # every stroke is in the project already
    assert int(np.asarray(group["corrections/membrane/remove"][:]).sum()) == 10 * 30
    assert int(np.asarray(group["corrections/membrane/add"][:]).sum()) == 100
    assert int(np.asarray(group["corrections/membrane/ignore"][4, 30:40, 30:40]).sum()) == 100

    # painting the class itself updates the view too
    viewer.layers["membrane labels"].data_setitem(_box(4, 60, 62, 0, 5), 1)
    qtbot.waitUntil(lambda: view.data[4, 61, 2] == 1, timeout=5000)
    # undo emits no paint event: the view follows the refresh
    add = viewer.layers["membrane add"]
    add.undo()
    qtbot.waitUntil(lambda: view.data[4, 50, 50] == 0, timeout=5000)
    add.redo()
    qtbot.waitUntil(lambda: view.data[4, 50, 50] == 1, timeout=5000)
    assert "cells add" not in viewer.layers and not told["error"]

    # live checks read the merged class
    assert widget.live.sources.get("membrane") is view
    viewer.close()

    viewer2, widget2 = _open(make_napari_viewer, folder, qtbot)
    for name in ("membrane add", "membrane remove", "membrane ignore", "membrane corrected"):
        assert name in viewer2.layers
    assert "cells remove" not in viewer2.layers
    expected = _expected_plane()
    expected[60:62, 0:5] = 1
    assert np.array_equal(viewer2.layers["membrane corrected"].data[4], expected)
    qtbot.waitUntil(lambda: "membrane" in widget2.corrections.views, timeout=5000)


def test_a_brush_drag_on_a_mask_is_held_and_written_once_when_it_ends(make_napari_viewer, tmp_path, qtbot, told,
                                                                      mouse_drag):
    """A drag on the Remove mask keeps its chunks in memory while the button is down, writes them when it
    comes up, and the merged view follows the whole stroke."""
    import zarr

    from napari_patchwise.engine.plan.stroke_buffer import StrokeBuffer

    folder = _project(tmp_path)
    viewer, widget = _open(make_napari_viewer, folder, qtbot)
    assert widget.corrections.correct("membrane"), told
    qtbot.waitUntil(lambda: "membrane" in widget.corrections.views, timeout=5000)
    remove, view = viewer.layers["membrane remove"], viewer.layers["membrane corrected"]
    data = remove.data
    assert isinstance(data, StrokeBuffer)
    on_disk = lambda: np.asarray(  # noqa: E731
        zarr.open_group(folder / "annotations.zarr" / "image", mode="r")["corrections/membrane/remove"][4])
    writes = []
    real_setitem = type(data.array).__setitem__
    seen = {}

    def during():  # the button is still down after the last move
        seen.update(held=data.holding, disk=int(on_disk().sum()), layer=int(np.asarray(data[4, :, :]).sum()),
                    writes=len(writes))

    viewer.dims.set_point(0, 4)
    remove.mode, remove.brush_size, remove.selected_label = "paint", 5, 1
    try:
        type(data.array).__setitem__ = lambda arr, key, value: (
            arr is data.array and writes.append(key), real_setitem(arr, key, value))
        mouse_drag(remove, (4, 25, 12), (4, 25, 36), steps=8, during=during)
    finally:
        type(data.array).__setitem__ = real_setitem
    assert seen["held"] and seen["writes"] == 0 and seen["disk"] == 0 and seen["layer"] > 50
    assert not data.holding and data.pending == 0
    np.testing.assert_array_equal(on_disk(), np.asarray(data[4, :, :]))  # written at the release
    assert 0 < len(writes) <= data.array.nchunks  # each touched chunk once, not once per mouse move
    base = np.zeros(SHAPE[1:], bool)
    base[10:40, 10:40] = True  # the class (see _project)
    kept = base & ~(np.asarray(data[4, :, :]) > 0)
    qtbot.waitUntil(lambda: np.array_equal(np.asarray(view.data[4]) == 1, kept), timeout=5000)
    assert not told["error"]


def test_instance_class_gets_remove_and_ignore_only(make_napari_viewer, tmp_path, qtbot, told):
    folder = _project(tmp_path)
    open_annotations(folder)["cells"][2, 5:9, 5:9] = 7
    viewer, widget = _open(make_napari_viewer, folder, qtbot)
    assert widget.corrections.correct("cells"), told
    assert "cells remove" in viewer.layers and "cells ignore" in viewer.layers and "cells add" not in viewer.layers
    view = viewer.layers["cells corrected"]
    assert int(view.data[2, 6, 6]) == 7
    viewer.layers["cells remove"].data_setitem(_box(2, 5, 7, 5, 9), 1)
    qtbot.waitUntil(lambda: view.data[2, 6, 6] == 0, timeout=5000)
    assert int(view.data[2, 8, 8]) == 7


def test_screenshot_shows_the_merged_view(make_napari_viewer, tmp_path, qtbot, told):
    folder = _project(tmp_path)
    viewer, widget = _open(make_napari_viewer, folder, qtbot, show=True)
    widget.corrections.correct("membrane")
    qtbot.waitUntil(lambda: "membrane" in widget.corrections.views, timeout=5000)
    _paint_corrections(viewer, qtbot)
    for layer in viewer.layers:
        layer.visible = layer.name in ("raw", "membrane corrected")
    view = viewer.layers["membrane corrected"]
    view.opacity = 1.0
    viewer.dims.set_point(0, 4)
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    r, g, b = shot[..., 0], shot[..., 1], shot[..., 2]
    blue = (b > 150) & (b > r + 60)  # the class (#4363d8)
    yellow = (r > 180) & (g > 150) & (b < 120)  # ignored (#e8c33a)
    assert blue.sum() > 100 and yellow.sum() > 20
    # 600 voxels of the class (900 painted - 300 removed - 100 ignored + 100 added) for 100 ignored
    assert 4.5 < blue.sum() / yellow.sum() < 7.5
    ys, xs = np.nonzero(blue)
    yy, yx = np.nonzero(yellow)
    # the ignored square sits right of and below the class's first rows (the removed band is not drawn)
    assert yx.mean() > xs.min() and yy.mean() > ys.min()


def test_scrolling_is_no_undo_for_the_merged_view(make_napari_viewer, tmp_path, qtbot, told, slice_to):
    """napari refreshes the layers when it slices anew: the merged view must not take it for undo/redo."""
    folder = _project(tmp_path)
    viewer, widget = _open(make_napari_viewer, folder, qtbot)
    assert widget.corrections.correct("membrane"), told
    qtbot.waitUntil(lambda: "membrane" in widget.corrections.views, timeout=5000)
    viewer.dims.set_point(0, 4)
    _paint_corrections(viewer, qtbot)
    corrected = []
    widget.corrections.views["membrane"].updated.connect(corrected.append)
    view = widget.corrections.views["membrane"]
    for z in (0, 7, 2, 4):  # napari slices the followed layers anew: each refreshes
        slice_to(viewer, [layer for layer in view.layers() if layer is not view.view], z)
    viewer.layers["membrane add"].undo()  # undo emits no paint event: the view is merged again
    qtbot.waitUntil(lambda: viewer.layers["membrane corrected"].data[4, 50, 50] == 0, timeout=5000)
    assert corrected == [None]
    qtbot.waitUntil(lambda: not widget.busy, timeout=10000)
