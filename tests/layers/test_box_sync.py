"""BoxLayerSync colours and selection without a viewer."""

import numpy as np

from napari_patchwise.engine.plan import ImageRef, Plan
from napari_patchwise.engine.presets import get_preset
from napari_patchwise.layers.box_shapes import (
    FACE_ALPHA,
    LOCKED_EDGE_FACTOR,
    SEVERITY_COLORS,
    STRATUM_COLORS,
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
    assert wire_ids.tolist() == [1, 2, 3]
    for row, stratum in zip(wires.edge_color, ("sparse", "edge", None)):
        assert np.allclose(row, [*_rgb(STRATUM_COLORS[stratum]), 1.0], atol=0.01)
    assert np.allclose(wires.face_color[:, 3], 0)
    widths = np.asarray(wires.edge_width)
    assert widths[0] < style[1][2] and np.isclose(widths[1], widths[0] * LOCKED_EDGE_FACTOR)


def test_unlocking_redraws_and_selection_gives_box_ids():
    sync = BoxLayerSync(_plan())
    sync.set_plan(sync.plan.update_box(2, locked=False))
    layer = sync.rectangles
    assert np.isclose(_style_on(sync, 9, 2)[2], _style_on(sync, 1, 1)[2])
    ids = layer.features["box_id"].to_numpy()  # slice 1: boxes 1 and 3
    layer.selected_data = {int(np.flatnonzero(ids == 3)[0])}
    assert sync.selected_box_ids() == [3]
