"""BoxLayerSync colours and selection without a viewer."""

import numpy as np

from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.layers.box_shapes import (
    FACE_ALPHA,
    LOCKED_EDGE_FACTOR,
    SEVERITY_COLORS,
    STRATUM_COLORS,
    NO_BOX,
    extent_from_vertices,
)
from napari_patchwise.layers.box_sync import BoxLayerSync


def _rgb(hex_color):
    return np.array([int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def _plan():
    plan = Plan(ImageRef((16, 128, 128)), get_preset("custom", minimum=(4, 32, 32)))
    plan, _ = plan.add_box((0, 0, 0), (4, 32, 32), source="proposal", stratum="sparse")
    plan, _ = plan.add_box((8, 64, 64), (12, 96, 96), source="proposal", stratum="edge",
                           locked=True)
    plan, _ = plan.add_box((0, 64, 0), (2, 80, 16))  # drawn by hand, below the minimum
    return plan


def _style_on(sync, z, box_id):
    """Fill, edge colour and edge width of a box's rectangle on slice ``z``."""
    sync.set_slice(z)
    layer = sync.rectangles
    (i,) = np.flatnonzero(layer.features["box_id"].to_numpy() == box_id)
    return layer.face_color[i], layer.edge_color[i], float(np.asarray(layer.edge_width)[i])


def test_rectangles_are_filled_by_stratum_edged_by_severity_and_locked_boxes_are_thicker():
    sync = BoxLayerSync(_plan())
    style = {box_id: _style_on(sync, z, box_id) for box_id, z in ((1, 1), (2, 9), (3, 1))}
    for box_id, stratum in ((1, "sparse"), (2, "edge"), (3, None)):
        fill = style[box_id][0]
        assert np.allclose(fill[:3], _rgb(STRATUM_COLORS[stratum]), atol=0.01)
        assert np.isclose(fill[3], FACE_ALPHA)
    assert np.allclose(style[3][1][:3], _rgb(SEVERITY_COLORS["error"]), atol=0.01)
    assert not np.allclose(style[1][1][:3], _rgb(SEVERITY_COLORS["error"]), atol=0.01)
    assert np.isclose(style[2][2], style[1][2] * LOCKED_EDGE_FACTOR)
    # the 3D wireframes: unfilled lines in the stratum colour, thinner than the rectangles
    wires = sync.wireframes
    wire_ids = wires.features["box_id"].to_numpy()
    assert wire_ids.tolist() == [1, 1, 2, 2, 3, 3, NO_BOX]  # a path and the tick holding its id; the frame
    for row, stratum in zip(wires.edge_color, ("sparse", "sparse", "edge", "edge", None, None, None)):
        assert np.allclose(row, [*_rgb(STRATUM_COLORS[stratum]), 1.0], atol=0.01)
    assert np.allclose(wires.face_color[:, 3], 0)
    widths = np.asarray(wires.edge_width)
    assert widths[0] < style[1][2] and np.isclose(widths[2], widths[0] * LOCKED_EDGE_FACTOR)


def test_unlocking_redraws_and_selection_gives_box_ids():
    sync = BoxLayerSync(_plan())
    sync.set_plan(sync.plan.update_box(2, locked=False))
    layer = sync.rectangles
    assert np.isclose(_style_on(sync, 9, 2)[2], _style_on(sync, 1, 1)[2])
    ids = layer.features["box_id"].to_numpy()  # slice 1: boxes 1 and 3
    layer.selected_data = {int(np.flatnonzero(ids == 3)[0])}
    assert sync.selected_box_ids() == [3]


def _shown(sync, z):
    sync.set_slice(z)
    layer = sync.rectangles
    return layer.features["box_id"].tolist(), [float(np.unique(d[:, 0])[0]) for d in layer.data]


def test_each_slice_shows_one_rectangle_for_each_box_that_crosses_it_and_no_other():
    plan = _plan()
    sync = BoxLayerSync(plan)
    assert sync.current_slice == (16 - 1) // 2  # napari opens on the middle slice
    for z in [*range(16), 3, 0]:  # down, and back up again
        ids, zs = _shown(sync, z)
        assert ids == [b.id for b in plan.boxes if b.lo[0] <= z < b.hi[0]], z
        assert zs == [z] * len(ids) and sync.rectangles.features["z"].tolist() == [z] * len(ids)
    assert _shown(sync, 99)[0] == [] and sync.current_slice == 15  # clipped to the image
    assert _shown(sync, -5)[0] == [1, 3] and sync.current_slice == 0
    assert len(sync.wireframes.data) == 2 * len(plan.boxes) + 1  # the 3D view holds every box and the frame


def _move(layer, index, dy=0, dx=0, grow_x=0):
    data = [np.array(d, copy=True) for d in layer.data]
    data[index][:, 1] += dy
    data[index][:, 2] += dx
    data[index][data[index][:, 2] == data[index][:, 2].max(), 2] += grow_x
    layer.data = data  # what a finished drag does: one data event for the edited shapes


def test_edits_after_slice_changes_map_back_to_the_right_box():
    sync = BoxLayerSync(_plan())
    before = {b.id: b for b in sync.plan.boxes}
    sync.set_slice(1)
    sync.set_slice(10)  # only box 2 crosses slice 10
    _move(sync.rectangles, 0, dy=16, dx=-32)
    box2 = sync.plan.box(2)
    assert box2.lo == (8, 80, 32) and box2.hi == (12, 112, 64)  # z extent kept
    assert sync.plan.box(1) == before[1] and sync.plan.box(3) == before[3]
    sync.set_slice(1)  # boxes 1 and 3; resize box 3
    index = sync.rectangles.features["box_id"].tolist().index(3)
    _move(sync.rectangles, index, grow_x=16)
    assert sync.plan.box(3).hi == (2, 80, 32) and sync.plan.box(3).lo == before[3].lo
    assert sync.plan.box(1) == before[1] and sync.plan.box(2) == box2
    # the layer shows the snapped boxes of the slice
    assert _shown(sync, 1)[0] == [1, 3]
    (r3,) = [d for d, i in zip(sync.rectangles.data, sync.rectangles.features["box_id"]) if i == 3]
    assert r3[:, 2].max() == 31.5


def test_a_box_selected_on_one_slice_stays_selected_while_scrolling():
    sync = BoxLayerSync(_plan())
    sync.set_slice(1)
    ids = sync.rectangles.features["box_id"].tolist()
    sync.rectangles.selected_data = {ids.index(3)}
    assert _shown(sync, 9)[0] == [2]  # box 3 is not on this slice ...
    assert sync.selected_box_ids() == [3]  # ... and still selected
    assert _shown(sync, 0)[0] == [1, 3]
    assert {sync.rectangles.features["box_id"][i] for i in sync.rectangles.selected_data} == {3}
    sync.rectangles.selected_data = set()  # the user picks nothing: nothing is selected
    sync.set_slice(9)
    assert sync.selected_box_ids() == []


def test_wireframes_are_thin_unfilled_stratum_coloured_and_carry_the_ids():
    sync = BoxLayerSync(_plan())
    wires = sync.wireframes
    assert wires.shape_type == ["path", "line"] * 3 + ["path"]
    assert wires.features["label"].tolist() == ["", "1", "", "2", "", "3", ""]
    assert wires.text.string.format == "{label}"
    for i in range(0, 6, 2):  # each path goes along the twelve edges of its box
        box = sync.plan.box(int(wires.features["box_id"][i]))
        pts = wires.data[i]
        edges = {frozenset((tuple(a), tuple(b))) for a, b in zip(pts[:-1], pts[1:])}
        assert len(edges) == 12
        corner = (box.lo[0], box.lo[1] - 0.5, box.lo[2] - 0.5)
        assert tuple(wires.data[i + 1][0]) == corner  # the id is written at the first corner
    widths = np.asarray(wires.edge_width)
    assert widths.max() < np.asarray(_style_on(sync, 1, 1)[2]) * LOCKED_EDGE_FACTOR
    sync.set_plan(sync.plan.update_box(1, stratum="dense"))
    assert np.allclose(wires.edge_color[0, :3], _rgb(STRATUM_COLORS["dense"]), atol=0.01)


def test_a_drop_on_the_box_voxels_is_kept_one_the_image_moved_is_redrawn_and_colours_follow():
    sync = BoxLayerSync(_plan())
    sync.set_slice(1)  # boxes 1 and 3
    layer = sync.rectangles
    before_colors = layer.edge_color.copy(), layer.face_color.copy(), list(layer.edge_width)
    index = layer.features["box_id"].tolist().index(1)
    resets = []
    for name in ("edge_color", "face_color", "edge_width"):
        getattr(layer.events, name).connect(lambda e, name=name: resets.append(name))
    # dropped 24.3 voxels further in y and x (a mouse drop lands between voxel edges)
    data = [np.array(d, copy=True) for d in layer.data]
    data[index][:, 1:] += 24.3
    layer.data = data
    assert sync.plan.box(1).lo == (0, 24, 24) and sync.plan.box(1).hi == (4, 56, 56)
    # the rectangle covers the box's voxels: it stays as dropped, and maps back to the box
    assert np.allclose(layer.data[index], data[index])
    assert extent_from_vertices(layer.data[index]) == ((24, 24), (56, 56))
    assert layer.features["box_id"].tolist() == [1, 3] and layer.features["z"].tolist() == [1, 1]
    # no finding changed: colours and widths are kept, not set again (each set repaints)
    assert resets == []
    assert np.array_equal(layer.edge_color, before_colors[0]) and np.array_equal(layer.face_color, before_colors[1])
    assert list(layer.edge_width) == before_colors[2]
    # dropped half out of the image: the box is shifted back inside, its rectangle redrawn on it
    data = [np.array(d, copy=True) for d in layer.data]
    data[index][:, 2] += 100 - 0.3
    layer.data = data
    assert sync.plan.box(1).lo == (0, 24, 96) and sync.plan.box(1).hi == (4, 56, 128)
    assert layer.data[index][:, 1:].min(axis=0).tolist() == [23.5, 95.5]
    assert layer.data[index][:, 1:].max(axis=0).tolist() == [55.5, 127.5]
    assert resets == []
    # a drop that changes a finding recolours: box 1 made narrower than the minimum
    data = [np.array(d, copy=True) for d in layer.data]
    data[index][data[index][:, 2] == data[index][:, 2].min(), 2] += 16.2
    layer.data = data
    assert sync.plan.box(1).lo == (0, 24, 112) and sync.severity_by_box()[1] == "error"
    assert set(resets) == {"edge_color"}  # the fill (stratum) and widths stay
    assert np.allclose(layer.edge_color[index, :3], _rgb(SEVERITY_COLORS["error"]), atol=0.01)


def test_a_new_plan_and_its_findings_are_drawn_in_one_redraw():
    from napari_patchwise.engine.findings import Finding

    sync = BoxLayerSync(_plan())
    emitted = []
    sync.plan_changed.connect(emitted.append)
    plan = sync.plan.update_box(1, status="in_progress")
    sync.set_plan(plan, [Finding("error", "touching", 1, "objects 3 and 4 touch")])
    assert len(emitted) == 1 and emitted[0].box(1).status == "in_progress"
    assert np.allclose(_style_on(sync, 1, 1)[1][:3], _rgb(SEVERITY_COLORS["error"]), atol=0.01)
    sync.set_plan(plan)  # without findings: the shown ones are kept
    assert [f.code for f in sync.extra_findings] == ["touching"]


def test_boxes_on_the_image_edge_coming_and_going_never_change_the_viewers_range():
    """A box on the image's edge puts its rectangle half a voxel outside the image's range; the frame in
    the wireframes layer holds the range there from the start, so napari never slices every layer again
    (a Propose on an empty plan, slices with and without such boxes, the boxes removed)."""
    from napari.components import ViewerModel
    from napari.layers import Image

    viewer = ViewerModel()
    viewer.add_layer(Image(np.zeros((16, 128, 128), dtype=np.uint8)))
    empty = Plan(ImageRef((16, 128, 128)), get_preset("custom", minimum=(4, 32, 32)))
    sync = BoxLayerSync(empty)
    for layer in (sync.rectangles, sync.wireframes):
        viewer.add_layer(layer)
    sync.follow_dims(viewer.dims)
    viewer.dims.set_current_step(0, 2)
    before, point = viewer.dims.range, viewer.dims.point
    changes = []
    viewer.dims.events.range.connect(lambda e: changes.append(e.value))
    sync.set_plan(_plan())  # boxes on the image's first rows and columns
    assert sync.rectangles.features["box_id"].tolist() == [1]  # on slice 2
    for z in (2, 10, 5, 0):
        viewer.dims.set_current_step(0, z)
    plan, _ = sync.plan.add_box((8, 96, 96), (12, 128, 128))  # on the last rows and columns
    sync.set_plan(plan)
    viewer.dims.set_current_step(0, 9)
    assert np.asarray(sync.rectangles.data[-1])[:, 1:].max() == 127.5  # on the image's outer edge
    sync.set_plan(empty)
    assert changes == [] and viewer.dims.range == before
    assert viewer.dims.point[1:] == point[1:]
