"""The boxes layer in a real viewer: rectangles of the displayed slice only, 3D wireframes (run under Xvfb)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise.layers.box_shapes import STRATUM_COLORS

pytestmark = pytest.mark.gui

VOXEL = (2.0, 0.5, 0.5)
#: (lo, hi) of the three boxes: 1 and 2 share slices 8-11, 3 lies deeper
BOXES = [((0, 0, 0), (12, 64, 64)), ((8, 96, 96), (16, 160, 160)), ((24, 0, 96), (32, 64, 160))]


@pytest.fixture
def boxes(planner):
    viewer, widget = planner
    widget.sync.set_plan(widget.plan.add_boxes(BOXES))
    return viewer, widget


def _on_screen(layer):
    return layer.features["box_id"].tolist()


def _slice(viewer, z):
    viewer.dims.set_point(0, z * VOXEL[0])


def test_scrolling_shows_each_box_on_its_slices_and_an_edit_reaches_the_plan(boxes, mouse_drag, qtbot):
    viewer, widget = boxes
    layer = widget.sync.rectangles
    for z, want in ((0, [1]), (9, [1, 2]), (12, [2]), (20, []), (27, [3]), (40, [])):
        _slice(viewer, z)
        assert _on_screen(layer) == want, z
        assert all(d[0, 0] == z for d in layer.data)
    # move box 2 on slice 14 by -20 voxels in x: the whole box moves, snapped to the grid
    _slice(viewer, 14)
    layer.mode = "select"
    start = (14 * VOXEL[0], 120 * VOXEL[1], 120 * VOXEL[2])
    mouse_drag(layer, start, (start[0], start[1], start[2] - 20 * VOXEL[2]))
    qtbot.waitUntil(lambda: widget.plan.box(2).lo != (8, 96, 96))
    assert widget.plan.box(2).lo == (8, 96, 76)
    assert widget.plan.box(2).hi == (16, 160, 140) and widget.plan.box(1).lo == (0, 0, 0)
    assert widget.table.box_ids() == [1, 2, 3]
    # the moved box is where the plan says on every slice it covers, still selected
    _slice(viewer, 9)
    (r2,) = [d for d, i in zip(layer.data, _on_screen(layer)) if i == 2]
    assert r2[:, 2].min() == 75.5 and r2[:, 2].max() == 139.5
    assert widget.sync.selected_box_ids() == [2]


def test_a_rectangle_being_dragged_is_not_redrawn_when_the_slice_changes(boxes, mouse_drag, qtbot):
    viewer, widget = boxes
    layer = widget.sync.rectangles
    _slice(viewer, 10)
    layer.mode = "select"
    seen = {}

    def scroll_mid_drag():
        seen["before"] = [np.array(d) for d in layer.data]
        _slice(viewer, 0)  # only box 1 crosses slice 0: the layer must wait for the drop
        seen["after"] = [np.array(d) for d in layer.data]

    start = (10 * VOXEL[0], 32 * VOXEL[1], 32 * VOXEL[2])
    mouse_drag(layer, start, (start[0], start[1] + 16 * VOXEL[1], start[2]), during=scroll_mid_drag)
    assert len(seen["after"]) == len(seen["before"]) == 2
    assert all(np.array_equal(a, b) for a, b in zip(seen["before"], seen["after"]))
    qtbot.waitUntil(lambda: widget.plan.box(1).lo == (0, 16, 0))
    assert widget.plan.box(2).lo == (8, 96, 96)
    assert _on_screen(layer) == [1] and layer.data[0][0, 0] == 0  # the drop shows slice 0


def test_3d_shows_wireframes_and_back_in_2d_the_current_slice(boxes):
    viewer, widget = boxes
    sync = widget.sync
    _slice(viewer, 27)
    sync.set_plan(sync.plan.update_box(3, lo=(24, 0, 64), hi=(32, 64, 128), stratum="dense"))  # edited in 2D
    viewer.dims.ndisplay = 3
    assert sync.wireframes.visible and not sync.rectangles.visible
    assert len(sync.wireframes.data) == 2 * 3 + 1  # every box, whatever the slice, and the image's frame
    ids = sync.wireframes.features["box_id"].to_numpy()
    (path3,) = [d for d, i, t in zip(sync.wireframes.data, ids, sync.wireframes.shape_type) if i == 3 and t == "path"]
    assert path3[:, 2].min() == 63.5 and path3[:, 2].max() == 127.5  # the 3D view shows the edit
    rgb = [int(STRATUM_COLORS["dense"][i : i + 2], 16) / 255 for i in (1, 3, 5)]
    assert np.allclose(sync.wireframes.edge_color[ids == 3][:, :3], rgb, atol=0.01)
    viewer.dims.ndisplay = 2
    assert sync.rectangles.visible and not sync.wireframes.visible
    assert _on_screen(sync.rectangles) == [3]


def _lit(viewer):
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    return shot, shot.sum(axis=-1) > 40


def test_screenshot_draws_rectangles_only_on_covered_slices_and_wireframes_in_3d(make_napari_viewer, messages,
                                                                                 dark_plan):
    viewer = make_napari_viewer(show=True)
    widget = PlannerWidget(viewer)
    dark_plan(viewer, widget, 40, [((4, 20, 20), (12, 100, 100), "dense"), ((24, 110, 110), (32, 190, 190), "typical")])
    sync = widget.sync
    viewer.reset_view()
    half = None
    for z, want in ((8, "dense"), (18, None), (28, "typical"), (2, None)):
        viewer.dims.set_point(0, z)
        shot, lit = _lit(viewer)
        h, w = lit.shape
        if want is None:
            assert lit.sum() == 0, z  # no box crosses this slice: nothing drawn
            continue
        assert lit.sum() > 500, z
        rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
        centre = (rows.mean() / h, cols.mean() / w)
        half = centre[1] < 0.5 if want == "dense" else centre[1] > 0.5  # box 1 upper left, 2 lower right
        assert half and (centre[0] < 0.5) == (want == "dense"), (z, centre)

    viewer.dims.ndisplay = 3
    shot, lit = _lit(viewer)
    assert lit.sum() > 200
    assert not sync.rectangles.visible
    for stratum in ("dense", "typical"):
        rgb = np.array([int(STRATUM_COLORS[stratum][i : i + 2], 16) for i in (1, 3, 5)])
        near = (np.abs(shot - rgb).max(axis=-1) < 40) & lit
        assert near.sum() > 30, stratum  # lines in each box's stratum colour
    # thin lines, no faces: most of the boxes' screen area stays dark
    rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
    box_area = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    assert lit.sum() < 0.25 * box_area
