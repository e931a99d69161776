"""The preset's ignore border is shaded inside each box on the displayed slice (a pixel check)."""

from __future__ import annotations

import numpy as np

from napari_patchwise._qt.planner_widget import PlannerWidget

DEPTH, SIDE = 168, 200
#: one 160³ box (the membrane preset's), 20 voxels from the image's y and x faces, at z 0
LO, HI = (0, 20, 20), (160, 180, 180)


def _membrane_plan(viewer, widget):
    viewer.add_image(np.zeros((DEPTH, SIDE, SIDE), np.uint8), name="dark", contrast_limits=(0, 255))
    widget.reset_choices()
    widget.settings.image.value = viewer.layers["dark"]
    widget.settings.preset.value = "membrane"
    assert widget.new_plan() is not None
    plan, _ = widget.sync.plan.add_box(LO, HI, source="points")
    widget.sync.set_plan(plan)


def _brightness(viewer):
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    return shot.sum(axis=-1)


def _box_on_screen(bright):
    """Rows and columns of the screenshot the box covers (everything lit is the box)."""
    rows, cols = np.flatnonzero((bright > 40).any(axis=1)), np.flatnonzero((bright > 40).any(axis=0))
    return rows.min(), rows.max(), cols.min(), cols.max()


def _at(bright, frame, fy, fx):
    """Mean brightness of a 3×3 patch at fractions (fy, fx) of the box on screen."""
    r0, r1, c0, c1 = frame
    r, c = int(round(r0 + fy * (r1 - r0))), int(round(c0 + fx * (c1 - c0)))
    return bright[r - 1:r + 2, c - 1:c + 2].mean()


def test_border_is_shaded_inside_the_box_and_only_where_training_ignores(make_napari_viewer, messages):
    viewer = make_napari_viewer(show=True)
    widget = PlannerWidget(viewer)
    _membrane_plan(viewer, widget)
    sync = widget.sync
    assert sync.border in viewer.layers and sync.has_border
    viewer.reset_view()

    viewer.dims.set_point(0, 80)  # inside the z border: bands along the four sides
    assert len(sync.border.data) == 4
    bright = _brightness(viewer)
    frame = _box_on_screen(bright)
    band, inside = (16 / 2) / 160, 0.5  # the middle of the 16-voxel band, the box's centre
    for fy, fx in ((band, 0.5), (1 - band, 0.5), (0.5, band), (0.5, 1 - band)):
        assert _at(bright, frame, fy, fx) > _at(bright, frame, inside, inside) + 60, (fy, fx)
    # just inside the border the box is as dark as its centre
    assert abs(_at(bright, frame, 0.5, 24 / 160) - _at(bright, frame, inside, inside)) < 15

    sync.border.visible = False  # without the layer the bands are gone
    plain = _brightness(viewer)
    assert abs(_at(plain, frame, band, 0.5) - _at(plain, frame, inside, inside)) < 15
    sync.border.visible = True

    viewer.dims.set_point(0, 5)  # within the z border: the whole slice of the box is border
    assert len(sync.border.data) == 1
    bright = _brightness(viewer)
    assert _at(bright, frame, inside, inside) > _at(plain, frame, inside, inside) + 60

    viewer.dims.set_point(0, 165)  # below the box: nothing
    assert len(sync.border.data) == 0

    widget.settings.preset.value = "instance"  # a preset without a border: the layer goes
    widget._on_settings_changed()
    assert sync.border not in viewer.layers and not sync.has_border
