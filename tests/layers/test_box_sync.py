"""BoxLayerSync colours and selection without a viewer."""

import numpy as np

from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import get_preset
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


def test_rectangles_are_filled_by_stratum_edged_by_severity_and_locked_boxes_are_thicker():
    sync = BoxLayerSync(_plan())
    layer = sync.rectangles
    ids = layer.features["box_id"].to_numpy()
    fill, edge = layer.face_color, layer.edge_color
    for box_id, stratum in ((1, "sparse"), (2, "edge"), (3, None)):
        assert np.allclose(fill[ids == box_id][:, :3], _rgb(STRATUM_COLORS[stratum]), atol=0.01)
        assert np.allclose(fill[ids == box_id][:, 3], FACE_ALPHA)
    assert np.allclose(edge[ids == 3][:, :3], _rgb(SEVERITY_COLORS["error"]), atol=0.01)
    assert not np.allclose(edge[ids == 1][0, :3], _rgb(SEVERITY_COLORS["error"]), atol=0.01)
    widths = np.asarray(layer.edge_width)
    assert np.allclose(widths[ids == 2], widths[ids == 1][0] * LOCKED_EDGE_FACTOR)
    # the 3D wireframes keep the severity edge and stay unfilled
    wire_ids = sync.wireframes.features["box_id"].to_numpy()
    assert np.allclose(sync.wireframes.edge_color[wire_ids == 3][:, :3],
                       _rgb(SEVERITY_COLORS["error"]), atol=0.01)
    assert np.asarray(sync.wireframes.edge_width)[wire_ids == 2].min() > widths[ids == 1][0]


def test_unlocking_redraws_and_selection_gives_box_ids():
    sync = BoxLayerSync(_plan())
    sync.set_plan(sync.plan.update_box(2, locked=False))
    layer = sync.rectangles
    assert len(set(np.round(layer.edge_width, 6))) == 1
    ids = layer.features["box_id"].to_numpy()
    layer.selected_data = {int(np.flatnonzero(ids == 2)[0]), int(np.flatnonzero(ids == 3)[1])}
    assert sync.selected_box_ids() == [2, 3]
