"""The Box planner dock in a real napari viewer (run under Xvfb)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from napari_patchwise._qt.box_table import COL
from napari_patchwise._qt import planner_widget as pw_module
from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise.engine.findings import Finding
from napari_patchwise.engine.plan.lock import lock_holder
from napari_patchwise.layers.box_shapes import SEVERITY_COLORS

pytestmark = pytest.mark.gui

VOXEL = (2.0, 0.5, 0.5)


def _rects_of(layer, box_id):
    ids = layer.features["box_id"].to_numpy()
    return [layer.data[i] for i in np.flatnonzero(ids == box_id)]


def test_dock_is_contributed_by_the_manifest(make_napari_viewer):
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Box planner")
    assert dock.step == "plan" and isinstance(dock.planner, PlannerWidget)


def test_a_2d_image_is_refused_with_a_clear_message(make_napari_viewer, messages):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="flat")
    widget = PlannerWidget(viewer)
    widget.settings.image.value = viewer.layers["flat"]
    assert widget.new_plan() is None
    assert widget.plan is None
    assert "3D" in messages["error"][0] and "z-stack" in messages["error"][0]


def test_drawing_a_rectangle_creates_a_box_on_every_slice(planner, mouse_drag):
    viewer, widget = planner
    layer = widget.sync.rectangles
    assert layer.mode == "add_rectangle"
    viewer.dims.set_point(0, 20 * VOXEL[0])  # slice z = 20
    # drag from the centre of voxel (y, x) = (40, 60) to that of (99, 129): world = voxel * 0.5
    mouse_drag(layer, (40.0, 20.0, 30.0), (40.0, 49.5, 64.5))

    (box,) = widget.plan.boxes
    assert box.lo[1:] == (40, 60) and box.hi[1:] == (100, 130)
    assert box.size[0] == 8  # custom preset default depth at mag 1 in z
    assert box.lo[0] <= 20 < box.hi[0]
    # one rectangle on each slice the box covers, none on the others
    for z in range(max(0, box.lo[0] - 2), box.hi[0] + 2):
        viewer.dims.set_point(0, z * VOXEL[0])
        rects = _rects_of(layer, box.id)
        assert [int(r[0, 0]) for r in rects] == ([z] if box.lo[0] <= z < box.hi[0] else [])
    viewer.dims.ndisplay = 3
    assert len(widget.sync.wireframes.data) == 3  # a path along its twelve edges, its id, the image's frame
    viewer.dims.ndisplay = 2
    assert widget.table.box_ids() == [box.id]


def test_a_click_makes_a_default_box_and_moving_a_rectangle_moves_the_box(planner, mouse_drag):
    viewer, widget = planner
    layer = widget.sync.rectangles
    viewer.dims.set_point(0, 10 * VOXEL[0])
    mouse_drag(layer, (20.0, 40.0, 40.0), (20.0, 40.0, 40.0), steps=1)  # a click
    (box,) = widget.plan.boxes
    assert box.size == (8, 64, 64)  # custom default 8×32×32 at magnification 1×2×2
    layer.mode = "select"
    # drag from inside the box by +21 voxels in y and +10 in x
    cy, cx = (box.lo[1] + 20) * VOXEL[1], (box.lo[2] + 20) * VOXEL[2]
    mouse_drag(layer, (20.0, cy, cx), (20.0, cy + 21 * VOXEL[1], cx + 10 * VOXEL[2]))
    (moved,) = widget.plan.boxes
    assert moved.id == box.id and moved.size == box.size and moved.lo[0] == box.lo[0]
    assert moved.lo[1] - box.lo[1] in (20, 22) and moved.lo[2] - box.lo[2] == 10
    assert all(v % m == 0 for v, m in zip(moved.lo, (1, 2, 2)))
    # every slice of the box follows the move
    for rect in _rects_of(layer, moved.id):
        assert rect[:, 1].min() == moved.lo[1] - 0.5 and rect[:, 2].max() == moved.hi[2] - 0.5


def test_deleting_a_rectangle_removes_its_box(planner):
    viewer, widget = planner
    sync = widget.sync
    plan = sync.plan.add_boxes([((0, 0, 0), (8, 64, 64)), ((10, 64, 64), (18, 128, 128))])
    sync.set_plan(plan)
    viewer.dims.set_point(0, 12 * VOXEL[0])
    layer = sync.rectangles
    ids = layer.features["box_id"].to_numpy()
    zs = layer.features["z"].to_numpy()
    layer.selected_data = {int(np.flatnonzero((ids == 2) & (zs == 12))[0])}
    layer.remove_selected()
    assert [b.id for b in widget.plan.boxes] == [1]
    assert set(layer.features["box_id"]) == set()  # slice 12 crosses no box now
    viewer.dims.set_point(0, 4 * VOXEL[0])
    assert set(layer.features["box_id"]) == {1}
    assert widget.table.box_ids() == [1]


def test_live_validation_colours_boxes_and_fills_the_table(planner):
    viewer, widget = planner
    sync = widget.sync
    plan = sync.plan.add_boxes([((0, 0, 0), (8, 64, 64)), ((0, 100, 100), (4, 120, 120))])
    sync.set_plan(plan)
    viewer.dims.set_point(0, 2 * VOXEL[0])  # a slice both boxes cross
    colors = sync.rectangles.edge_color
    ids = sync.rectangles.features["box_id"].to_numpy()
    red = np.array([int(SEVERITY_COLORS["error"][i : i + 2], 16) / 255 for i in (1, 3, 5)])
    assert np.allclose(colors[ids == 2][:, :3], red, atol=0.01)
    assert not np.allclose(colors[ids == 1][0, :3], red, atol=0.01)
    findings = widget.table.item(1, COL["findings"]).text()
    assert "below-minimum" in findings
    assert "2 boxes" in widget.summary.text() and "errors" in widget.summary.text()


def test_clicking_a_row_jumps_to_the_box(planner):
    viewer, widget = planner
    sync = widget.sync
    sync.set_plan(sync.plan.add_boxes([((0, 0, 0), (8, 64, 64)), ((30, 90, 90), (38, 154, 154))]))
    widget.table.cellClicked.emit(1, 0)
    z = (30 + 38 - 1) // 2
    assert viewer.dims.point[0] == pytest.approx(z * VOXEL[0])
    assert viewer.scene.camera.center[-1] == pytest.approx((90 + 154 - 1) / 2 * VOXEL[2])
    (sel,) = sync.rectangles.selected_data
    assert sync.rectangles.features["box_id"][sel] == 2


def test_3d_view_shows_wireframes_instead_of_rectangles(planner):
    viewer, widget = planner
    widget.sync.set_plan(widget.sync.plan.add_boxes([((0, 0, 0), (8, 64, 64))]))
    viewer.dims.ndisplay = 3
    assert widget.sync.wireframes.visible and not widget.sync.rectangles.visible
    viewer.dims.ndisplay = 2
    assert widget.sync.rectangles.visible and not widget.sync.wireframes.visible


def test_magnification_change_resnaps_boxes(planner):
    _, widget = planner
    widget.sync.set_plan(widget.sync.plan.add_boxes([((0, 2, 2), (8, 66, 66))]))
    widget.settings.magnification.value = "1,4,4"
    (box,) = widget.plan.boxes
    assert widget.plan.magnification == (1, 4, 4)
    assert all(v % 4 == 0 for v in box.lo[1:] + box.hi[1:])


def test_save_then_reopen_restores_boxes_and_layers(planner, make_napari_viewer, tmp_path, qtbot, monkeypatch):
    viewer, widget = planner
    sync = widget.sync
    sync.set_plan(sync.plan.add_boxes([((0, 0, 0), (8, 64, 64)), ((16, 64, 64), (24, 128, 128))]))
    folder = tmp_path / "proj"
    widget.save_project(folder)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=20000)
    assert (folder / "image.tif").exists()
    assert {"nuclei labels", "background", "ignore"} <= {lay.name for lay in viewer.layers}
    # the boxes layer stays selected, still drawing boxes (not the 'ignore' layer added last)
    assert viewer.layers.selection.active is sync.rectangles and sync.rectangles.mode == "add_rectangle"

    # a later edit is saved at once
    sync.set_plan(sync.plan.update_box(2, status="done"))
    saved = json.loads((folder / "plan.json").read_text())["images"][0]
    assert [b["status"] for b in saved["boxes"]] == ["todo", "done"]
    # findings of other checks change no plan: it is not saved again
    saves = []
    real_save = pw_module.save_plan
    monkeypatch.setattr(pw_module, "save_plan", lambda *a, **k: saves.append(a[1]) or real_save(*a, **k))
    sync.set_extra_findings([Finding("error", "touching", 2, "objects 3 and 4 touch")])
    assert sync.severity_by_box()[2] == "error" and saves == []
    sync.set_plan(sync.plan.update_box(1, status="done"))
    assert len(saves) == 1 and saves[0].box(1).status == "done"

    # the project is this viewer's until it closes (one writer per project)
    assert lock_holder(folder).pid == os.getpid()
    saved_plan = widget.plan
    viewer.close()
    qtbot.waitUntil(lambda: lock_holder(folder) is None, timeout=10000)

    viewer2 = make_napari_viewer()
    widget2 = PlannerWidget(viewer2)
    widget2.open_project(folder)
    assert widget2.plan == saved_plan
    assert widget2.project == folder
    names = [lay.name for lay in viewer2.layers]
    assert names[0] == "vol" and "patchwise boxes" in names and "nuclei labels" in names
    assert viewer2.layers["vol"].data.shape == saved_plan.image.shape
    assert widget2.settings.magnification.value == "1,2,2"


def test_opening_a_folder_that_is_not_a_project_says_so(make_napari_viewer, tmp_path, messages):
    viewer = make_napari_viewer()
    widget = PlannerWidget(viewer)
    (tmp_path / "notes.txt").write_text("hello")
    widget.open_project(tmp_path)
    assert "no plan.json" in messages["error"][0]
    assert len(viewer.layers) == 0
    assert (tmp_path / "notes.txt").read_text() == "hello"


def test_saving_into_a_foreign_folder_is_refused(planner, tmp_path, messages):
    _, widget = planner
    (tmp_path / "keep.txt").write_text("precious")
    widget.save_project(tmp_path)
    assert messages["error"] and widget.project is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_screenshot_shows_valid_boxes_green_and_invalid_ones_red(make_napari_viewer, messages):
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((16, 200, 200), np.uint8), name="dark", contrast_limits=(0, 255))
    widget = PlannerWidget(viewer)
    widget.settings.image.value = viewer.layers["dark"]
    widget.settings.preset.value = "custom"
    widget.settings.minimum.value = "4,40,40"
    assert widget.new_plan() is not None
    sync = widget.sync
    # box 1 (left) passes every box rule; box 2 (right) is below the minimum
    sync.set_plan(sync.plan.add_boxes([((0, 20, 0), (16, 180, 120)), ((0, 80, 140), (2, 120, 180))]))
    viewer.layers["dark"].visible = True
    viewer.dims.set_point(0, 1)
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)

    r, g, b = shot[..., 0], shot[..., 1], shot[..., 2]
    green = (g > 100) & (g > r + 60) & (g > b + 30)  # SEVERITY_COLORS[None]
    red = (r > 120) & (r > g + 80) & (r > b + 60)  # SEVERITY_COLORS["error"]
    assert green.sum() > 100 and red.sum() > 50
    gx = np.flatnonzero(green.any(axis=0))
    rx = np.flatnonzero(red.any(axis=0))
    assert gx.mean() < rx.mean()  # the valid box is drawn left of the invalid one
    h, w = shot.shape[:2]
    assert red[: h // 4].sum() == 0  # nothing red near the top edge: the red box sits mid-height


# --------------------------------------------------------------------------- box size
EMBRYO_VOXEL = (2.18, 1.0, 1.0)


@pytest.fixture
def embryo_like(make_napari_viewer, messages):
    """A 51-plane stack whose z is 2.18× coarser: the instance default 64³ does not fit."""
    rng = np.random.default_rng(0)
    viewer = make_napari_viewer()
    viewer.add_image(rng.normal(100, 10, (51, 120, 122)).astype(np.float32), name="embryo",
                     scale=EMBRYO_VOXEL)
    widget = PlannerWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Box planner")
    widget.settings.image.value = viewer.layers["embryo"]
    return viewer, widget


def test_the_box_size_is_fitted_to_the_image_and_explained(embryo_like, messages, qtbot):
    viewer, widget = embryo_like
    s = widget.settings
    assert s.box_size.value == "32,96,96"
    assert s.box_info.value == "not the default 64×64×64: only 51 voxels along z; z voxels 2.18× coarser"
    assert "instead of the instance preset's 64×64×64" in s.box_info.tooltip  # the full reason
    # the note is not cut off at a laptop's dock width (it overlapped the next row)
    viewer.window.show()
    widget.window().resize(1280, 800)
    label = s.box_info.native
    qtbot.waitUntil(lambda: label.isVisible() and label.width() > 0)
    assert label.height() >= label.heightForWidth(label.width())
    assert widget.new_plan() is not None
    assert widget.plan.box_size is None and widget.plan.default_box_size == (32, 96, 96)
    assert any("2.18× coarser" in m for m in messages["info"])
    # the image is smaller than the voxel target: the summary gives its share instead
    assert "% of the image" in widget.summary.text() and "✗" not in widget.summary.text()


def test_a_click_and_a_proposal_use_the_box_size(embryo_like, mouse_drag, qtbot, messages):
    viewer, widget = embryo_like
    widget.settings.box_size.value = "32,64,64"
    assert widget.new_plan() is not None
    assert widget.plan.box_size == (32, 64, 64)
    assert "set by hand" in widget.settings.box_info.value
    layer = widget.sync.rectangles
    viewer.dims.set_point(0, 25 * EMBRYO_VOXEL[0])
    mouse_drag(layer, (25 * 2.18, 30.0, 30.0), (25 * 2.18, 30.0, 30.0), steps=1)  # a click
    (box,) = widget.plan.boxes
    assert box.size == (32, 64, 64)
    widget.sync.set_plan(widget.plan.remove_box(box.id))
    widget.proposer.form.n_boxes.value = 1
    widget.proposer.propose_button.click()
    qtbot.waitUntil(lambda: not widget.proposer.busy and bool(widget.plan.boxes), timeout=30000)
    assert {b.size for b in widget.plan.boxes} == {(32, 64, 64)}


def test_editing_the_box_size_updates_the_plan_or_says_what_is_wrong(embryo_like, messages):
    _, widget = embryo_like
    assert widget.new_plan() is not None
    widget.settings.box_size.value = "32,48,48"
    assert widget.plan.box_size == (32, 48, 48) and widget.plan.default_box_size == (32, 48, 48)
    widget.settings.box_size.value = "16,48,48"  # below the instance minimum
    assert widget.plan.box_size == (32, 48, 48)
    assert any("below the instance preset's minimum" in m for m in messages["warning"])
    widget.settings.preset.value = "neuron"  # another preset: fitted again
    assert widget.plan.box_size is None and widget.settings.box_size.value == "32,85,85"
    assert widget.plan.preset.name == "neuron"


def test_an_image_too_thin_for_the_preset_is_refused_naming_the_axis(make_napari_viewer,
                                                                     messages):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((20, 64, 64), np.uint16), name="thin")
    widget = PlannerWidget(viewer)
    widget.settings.image.value = viewer.layers["thin"]
    assert "only 20 voxels along z" in widget.settings.box_info.value
    assert widget.new_plan() is None
    assert "only 20 voxels along z" in messages["error"][0]
