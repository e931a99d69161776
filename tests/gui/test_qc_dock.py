"""The QC dock in a real napari viewer: live touching checks, cropping, Separate, findings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_patchwise._qt import qc_dock, qc_findings, qc_pairs
from napari.utils.notifications import notification_manager
from qtpy.QtCore import Qt, QTimer

from napari_patchwise._qt.narrow import MAX_DOCK_WIDTH
from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise._qt.qc_dock import QCWidget
from napari_patchwise.layers.contact_overlay import OVERLAY_NAME
from napari_patchwise.layers.session import session_for
from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.qc.touching import TouchingPair, find_contacts

pytestmark = pytest.mark.gui

VOXEL = (2.0, 0.5, 0.5)
SHAPE = (8, 64, 64)


@pytest.fixture
def qc_messages(monkeypatch):
    seen = {"error": [], "warning": [], "info": []}
    for kind in seen:
        for module in (qc_dock, qc_findings, qc_pairs):
            if hasattr(module, f"show_{kind}"):
                monkeypatch.setattr(module, f"show_{kind}", seen[kind].append)
    return seen


def _project(tmp_path):
    image = np.full(SHAPE, 10, np.uint16)
    plan = Plan(ImageRef(SHAPE, voxel_size=VOXEL, path="image.tif", name="raw"),
                classes=(ClassSpec("nuclei"),))
    plan = plan.add_boxes([((0, 0, 0), (8, 32, 32)), ((0, 32, 32), (8, 64, 64))])
    folder = create_project(tmp_path / "proj", plan)
    write_tiff(folder / "image.tif", image, VOXEL)
    return folder


@pytest.fixture
def opened(make_napari_viewer, tmp_path, qtbot, qc_messages):
    viewer = make_napari_viewer()
    folder = _project(tmp_path)
    viewer.open(str(folder), plugin="napari-patchwise")
    widget = QCWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Annotation QC")
    assert widget.live is not None, qc_messages
    qtbot.waitUntil(lambda: not session_for(widget.viewer).working, timeout=10000)
    nuc = viewer.layers["nuclei labels"]
    nuc.mode = "paint"
    nuc.brush_size = 5
    viewer.dims.set_point(0, 3 * VOXEL[0])
    return viewer, widget, folder, nuc


def _stroke(drag, layer, label, start, end):
    """A person's stroke (press, drag, release) at voxel (z, y, x) positions."""
    layer.selected_label = label
    to_world = lambda p: tuple(v * s for v, s in zip(p, layer.scale))  # noqa: E731
    drag(layer, to_world(start), to_world(end))


def _paint_touching_pair(viewer, mouse_drag):
    """Paint nuclei 1 and 2 touching on slice 3 of the project's 'nuclei labels'; returns that layer."""
    nuc = viewer.layers["nuclei labels"]
    nuc.mode, nuc.brush_size = "paint", 5
    viewer.dims.set_point(0, 3 * VOXEL[0])
    _stroke(mouse_drag, nuc, 1, (3, 10, 6), (3, 10, 12))
    _stroke(mouse_drag, nuc, 2, (3, 10, 14), (3, 10, 20))
    return nuc


def _idle(widget) -> bool:
    """No stroke waiting to be handled, no timer about to fire, no job running."""
    return not session_for(widget.viewer).working and widget.settled


def _settle(qtbot, widget):
    qtbot.waitUntil(lambda: _idle(widget), timeout=10000)


def test_a_stroke_that_touches_another_object_is_flagged_at_once(opened, mouse_drag, qtbot):
    viewer, widget, folder, nuc = opened
    _stroke(mouse_drag, nuc, 1, (3, 10, 6), (3, 10, 12))
    _settle(qtbot, widget)
    assert widget.pairs.rowCount() == 0
    _stroke(mouse_drag, nuc, 2, (3, 10, 14), (3, 10, 20))  # the brushes overlap: 1 and 2 touch
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=3000)
    assert [widget.pairs.text(0, c) for c in range(3)] == ["nuclei", "1", "2"]
    assert OVERLAY_NAME in viewer.layers
    # the contact is marked where the strokes met
    pts = np.argwhere(viewer.layers[OVERLAY_NAME].data == 1)  # markers (2 is their rim)
    assert len(pts) and set(pts[:, 0]) == {3} and 10 <= pts[:, 2].min() <= pts[:, 2].max() <= 17
    # every edited voxel is recorded, so seeding will not overwrite it
    import zarr
    edits = zarr.open_group(folder / "annotations.zarr" / "image", mode="r")["edits"][:]
    assert np.array_equal(edits > 0, np.asarray(nuc.data[:]) > 0)


def test_a_brush_drag_is_held_in_memory_and_on_disk_when_the_button_comes_up(opened, mouse_drag, qtbot):
    import zarr

    from napari_patchwise.engine.plan.stroke_buffer import StrokeBuffer

    viewer, widget, folder, nuc = opened
    data = nuc.data
    assert isinstance(data, StrokeBuffer)
    on_disk = lambda: zarr.open_group(folder / "annotations.zarr" / "image", mode="r")["nuclei"][3]  # noqa: E731
    seen = {}

    def during():  # the button is still down after the last move
        seen.update(held=data.holding, pending=data.pending, disk=int(np.count_nonzero(on_disk())),
                    layer=int(np.count_nonzero(np.asarray(nuc.data[3, :, :]))))

    nuc.selected_label = 4
    to_world = lambda p: tuple(v * s for v, s in zip(p, nuc.scale))  # noqa: E731
    mouse_drag(nuc, to_world((3, 8, 4)), to_world((3, 14, 22)), steps=8, during=during)
    assert seen["held"] and seen["pending"] > 0
    assert seen["disk"] == 0 and seen["layer"] > 30  # painted, in memory only
    assert not data.holding and data.pending == 0
    np.testing.assert_array_equal(on_disk(), np.asarray(nuc.data[3, :, :]))  # written at the release
    _settle(qtbot, widget)
    edits = zarr.open_group(folder / "annotations.zarr" / "image", mode="r")["edits"][:]
    assert np.array_equal(edits > 0, np.asarray(nuc.data[:]) > 0)  # the live checks saw the whole stroke


def test_the_contact_markers_leave_the_painted_layer_active_and_share_its_units(opened, mouse_drag, qtbot):
    """The markers' layer appears with the first contact: the next stroke must still go into the
    layer being painted, and its units must match (or napari stops using units for rendering)."""
    viewer, widget, folder, nuc = opened
    viewer.layers.selection.active = nuc
    _stroke(mouse_drag, nuc, 1, (3, 10, 6), (3, 10, 12))
    _stroke(mouse_drag, nuc, 2, (3, 10, 14), (3, 10, 20))
    qtbot.waitUntil(lambda: OVERLAY_NAME in viewer.layers, timeout=3000)
    assert viewer.layers.selection.active is nuc and nuc.mode == "paint"
    overlay = viewer.layers[OVERLAY_NAME]
    assert tuple(map(str, overlay.units)) == tuple(map(str, nuc.units)) == ("micrometer",) * 3
    np.testing.assert_allclose(overlay.scale, nuc.scale)
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=3000)
    assert widget.minimumSizeHint().width() <= MAX_DOCK_WIDTH  # the pairs line wraps


def test_separate_fixes_the_contact_without_deleting_either(opened, mouse_drag, qtbot, qc_messages):
    viewer, widget, folder, nuc = opened
    _stroke(mouse_drag, nuc, 1, (3, 10, 6), (3, 10, 12))
    _stroke(mouse_drag, nuc, 2, (3, 10, 14), (3, 10, 20))
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=3000)
    widget.pairs.selectRow(0)
    carved = widget.separate(selected_only=True)
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 0, timeout=3000)
    data = np.asarray(nuc.data[:])
    assert carved > 0
    assert set(np.unique(data)) == {0, 1, 2}
    assert len(find_contacts(data).pairs()) == 0
    bg = np.asarray(viewer.layers["background"].data[:])
    assert bg.sum() == carved and not np.any((bg > 0) & (data > 0))
    assert "Separated 1 pairs" in qc_messages["info"][-1]
    assert not viewer.layers[OVERLAY_NAME].data.any()
    _settle(qtbot, widget)  # the boxes are rechecked after Separate


def test_background_painted_over_objects_is_cropped(opened, mouse_drag, qtbot):
    viewer, widget, folder, nuc = opened
    _stroke(mouse_drag, nuc, 3, (3, 20, 20), (3, 20, 24))
    bg = viewer.layers["background"]
    bg.mode = "paint"
    bg.brush_size = 15
    _stroke(mouse_drag, bg, 1, (3, 20, 14), (3, 20, 30))
    _settle(qtbot, widget)
    b, n = np.asarray(bg.data[:]), np.asarray(nuc.data[:])
    assert b.sum() > 100 and n.sum() > 0
    assert not np.any((b > 0) & (n > 0))


def test_undo_is_rechecked_off_the_gui_thread(opened, mouse_drag, qtbot):
    viewer, widget, folder, nuc = opened
    _stroke(mouse_drag, nuc, 1, (3, 10, 6), (3, 10, 12))
    _stroke(mouse_drag, nuc, 2, (3, 10, 14), (3, 10, 20))
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=3000)
    nuc.undo()  # napari emits no paint event for undo
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 0, timeout=5000)
    nuc.redo()
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=5000)
    _settle(qtbot, widget)


def test_a_slice_change_is_no_edit_but_undo_is(opened, mouse_drag, qtbot, slice_to):
    """napari refreshes a layer when it slices it anew, as after undo: only undo rechecks."""
    viewer, widget, folder, nuc = opened
    _stroke(mouse_drag, nuc, 1, (3, 10, 6), (3, 10, 12))
    _stroke(mouse_drag, nuc, 2, (3, 10, 14), (3, 10, 20))
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=3000)
    _settle(qtbot, widget)
    asked = []
    widget.live.recheck_needed.connect(asked.append)
    pairs = widget.live.indexes["nuclei"].pairs().tolist()
    for z in (0, 5, 7, 3, 2, 3):
        slice_to(viewer, [nuc], z * VOXEL[0])
    viewer.dims.ndisplay = 3
    viewer.dims.ndisplay = 2
    assert asked == []
    assert widget.live.indexes["nuclei"].pairs().tolist() == pairs == [[1, 2]]
    nuc.undo()
    qtbot.waitUntil(lambda: asked == ["nuclei"], timeout=3000)
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 0, timeout=5000)
    _settle(qtbot, widget)


def test_a_full_redraw_draws_each_plane_when_it_is_shown_and_the_rest_while_idle(opened, qtbot):
    viewer, widget, folder, nuc = opened
    data = np.zeros(nuc.data.shape, np.uint32)
    for z in (1, 3, 6):
        data[z, 5:9, 5:9], data[z, 9:12, 5:9] = 4 + z, 20 + z
    nuc.data = data
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 3, timeout=5000)
    _settle(qtbot, widget)
    overlay = viewer.layers[OVERLAY_NAME]
    full = widget.overlay.marks()
    assert np.array_equal(overlay.data[3], full[3]) and overlay.data[3].any()
    for z in (6, 1):  # a plane is drawn as soon as it is shown
        viewer.dims.set_point(0, z * VOXEL[0])
        assert np.array_equal(overlay.data[z], full[z]) and overlay.data[z].any()
    qtbot.waitUntil(lambda: widget.overlay.n_stale == 0, timeout=5000)  # the others while nothing happens
    assert np.array_equal(overlay.data, full)
    viewer.dims.ndisplay = 3
    assert np.array_equal(overlay.data, full)
    viewer.dims.ndisplay = 2


def test_replaced_array_is_rechecked(opened, qtbot):
    viewer, widget, folder, nuc = opened
    data = np.zeros(nuc.data.shape, np.uint32)
    data[2, 5:9, 5:9] = 4
    data[2, 9:12, 5:9] = 5
    nuc.data = data
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=5000)
    _settle(qtbot, widget)


@pytest.fixture
def with_planner(make_napari_viewer, tmp_path, qtbot, qc_messages, mouse_drag):
    """``(folder, planner, widget)``: the project open with the Box planner and the QC dock, a touching
    pair painted in box 1 and its strokes handled."""
    viewer = make_napari_viewer()
    folder = _project(tmp_path)
    viewer.open(str(folder), plugin="napari-patchwise")
    planner = PlannerWidget(viewer)
    viewer.window.add_dock_widget(planner, name="Box planner")
    widget = QCWidget(viewer)
    _settle(qtbot, widget)
    _paint_touching_pair(viewer, mouse_drag)
    _settle(qtbot, widget)  # strokes are handled once napari's edit returns
    return folder, planner, widget


def test_check_all_boxes_fills_findings_and_colours_the_planner(with_planner, qtbot):
    folder, planner, widget = with_planner
    widget.check_boxes()
    _settle(qtbot, widget)
    codes = {widget.findings.item(r, 3).text() for r in range(widget.findings.rowCount())}
    assert {"touching", "no-background", "few-objects"} <= codes
    assert planner.sync.severity_by_box()[1] == "error"  # the touching box is drawn as an error
    saved = json.loads((folder / "plan.json").read_text())["images"][0]
    assert [b["status"] for b in saved["boxes"]] == ["in_progress", "todo"]
    # mark box 1 dense, then done
    widget.findings.selectRow(0 if widget.findings.item(0, 0).text() == "1" else 1)
    widget.set_dense(True, box_id=1)
    widget.mark_done(box_id=1)
    _settle(qtbot, widget)
    saved = json.loads((folder / "plan.json").read_text())["images"][0]
    assert saved["boxes"][0]["status"] == "done" and saved["boxes"][0]["dense"] is True
    rows = [(widget.findings.item(r, 0).text(), widget.findings.item(r, 2).text(),
             widget.findings.item(r, 3).text()) for r in range(widget.findings.rowCount())]
    assert ("1", "error", "unannotated") in rows


def test_a_report_recolours_the_boxes_a_turn_before_it_fills_the_table(with_planner, qtbot):
    _, planner, widget = with_planner
    order = []

    def boxes_drawn(_plan):  # the planner's boxes recoloured: mark the next turn of the event loop
        order.append(("boxes", widget.findings.rowCount()))
        QTimer.singleShot(0, lambda: order.append(("turn", widget.findings.rowCount())))

    planner.sync.plan_changed.connect(boxes_drawn)
    widget.findings_panel.shown.connect(lambda n: order.append(("table", n)))
    before = widget.findings.rowCount()  # the rows of the painted boxes' own check
    widget.check_boxes()
    _settle(qtbot, widget)
    assert [what for what, _ in order] == ["boxes", "turn", "table"]
    assert order[0][1] == order[1][1] == before < order[2][1] == widget.findings.rowCount()
    assert planner.sync.severity_by_box()[1] == "error"


def test_jump_to_pair_moves_the_view(opened, mouse_drag, qtbot):
    viewer, widget, folder, nuc = opened
    _stroke(mouse_drag, nuc, 1, (5, 40, 40), (5, 40, 46))
    viewer.dims.set_point(0, 5 * VOXEL[0])
    _stroke(mouse_drag, nuc, 2, (5, 40, 48), (5, 40, 54))
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=3000)
    # the row's pair is kept as an object beside the table, nothing in the cells' item roles
    pair = widget.pairs_panel.pair(0)
    assert pair == TouchingPair(1, 2, pair.n_contacts, pair.location, "nuclei") and pair.n_contacts > 0
    assert all(widget.pairs.model().index(0, c).data(Qt.ItemDataRole.UserRole) is None for c in range(4))
    viewer.dims.set_point(0, 0)
    widget.jump_to_pair(0)
    assert viewer.dims.point[0] == pytest.approx(5 * VOXEL[0])
    assert nuc.selected_label == 1


def test_no_project_says_so(make_napari_viewer, qc_messages):
    viewer = make_napari_viewer()
    widget = QCWidget(viewer)
    assert widget.live is None and "No project" in widget.project_label.text()
    widget.separate()
    widget.check_boxes()
    assert len(qc_messages["warning"]) == 2


def test_screenshot_shows_the_contact_until_separated(make_napari_viewer, tmp_path, qtbot, mouse_drag):
    viewer = make_napari_viewer(show=True)
    folder = _project(tmp_path)
    viewer.open(str(folder), plugin="napari-patchwise")
    widget = QCWidget(viewer)
    _settle(qtbot, widget)
    for layer in list(viewer.layers):
        if layer.name not in ("raw", "nuclei labels"):
            layer.visible = False
    nuc = viewer.layers["nuclei labels"]
    nuc.mode, nuc.brush_size = "paint", 5
    viewer.dims.set_point(0, 3 * VOXEL[0])
    _stroke(mouse_drag, nuc, 1, (3, 30, 20), (3, 30, 28))
    _stroke(mouse_drag, nuc, 2, (3, 30, 30), (3, 30, 38))
    qtbot.waitUntil(lambda: OVERLAY_NAME in viewer.layers, timeout=3000)
    nuc.visible = False  # only the image and the contact overlay are drawn
    viewer.reset_view()

    def red_pixels():
        shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
        r, g, b = shot[..., 0], shot[..., 1], shot[..., 2]
        return (r > 150) & (g < 120) & (b < 160) & (r > g + 80)

    red = red_pixels()
    assert red.sum() > 20
    ys, xs = np.nonzero(red)
    h, w = red.shape
    # one compact spot, left of centre in x (the contact is at x ≈ 29 of 64), at y ≈ 30 of 64
    assert np.ptp(xs) < w / 4 and np.ptp(ys) < h / 4
    assert abs(ys.mean() / h - 30 / 64) < 0.15
    widget.separate()
    qtbot.waitUntil(lambda: red_pixels().sum() == 0, timeout=5000)


def _codes(widget, box: str) -> set[str]:
    """The finding codes the table lists for one box."""
    return {r.finding.code for r in widget.findings_panel.rows
            if str(r.box_id) == box and r.finding is not None}


def test_separate_refreshes_pairs_and_findings_at_once(opened, mouse_drag, qtbot):
    """After Separate the pairs list is redrawn at once and the boxes are rechecked,
    without waiting for the next stroke."""
    viewer, widget, folder, nuc = opened
    _stroke(mouse_drag, nuc, 1, (3, 10, 6), (3, 10, 12))
    _stroke(mouse_drag, nuc, 2, (3, 10, 14), (3, 10, 20))
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 1, timeout=3000)
    widget.check_boxes()
    _settle(qtbot, widget)
    assert "touching" in _codes(widget, "1")
    assert widget.separate() > 0
    assert widget.pairs.rowCount() == 0 and widget.pairs_panel.n_rows == 0  # no timer, no stroke
    assert "✓" in widget.pairs_label.text()
    qtbot.waitUntil(lambda: "touching" not in _codes(widget, "1"), timeout=5000)
    assert {"1", "2"} <= {str(r.box_id) for r in widget.findings_panel.rows}
    _settle(qtbot, widget)


def test_crop_background_rechecks_every_box_at_once(opened, mouse_drag, qtbot):
    """Crop background changes the whole volume: every box is rechecked at once (strokes
    recheck only the boxes they touch), and the pairs are listed again."""
    viewer, widget, folder, nuc = opened
    widget.crop_check.setChecked(False)
    _stroke(mouse_drag, nuc, 3, (3, 20, 20), (3, 20, 24))
    bg = viewer.layers["background"]
    bg.mode, bg.brush_size = "paint", 15
    _stroke(mouse_drag, bg, 1, (3, 20, 14), (3, 20, 30))
    qtbot.waitUntil(lambda: widget.findings.rowCount() > 0, timeout=5000)  # the painted box only
    _settle(qtbot, widget)
    assert {r.box_id for r in widget.findings_panel.rows} == {1}
    b, n = np.asarray(bg.data[:]), np.asarray(nuc.data[:])
    assert np.any((b > 0) & (n > 0))
    assert widget.crop_background() > 0
    b = np.asarray(bg.data[:])
    assert not np.any((b > 0) & (n > 0))
    assert widget.tabs.tabText(0) == "Touching pairs (0)"
    qtbot.waitUntil(lambda: {r.box_id for r in widget.findings_panel.rows} >= {1, 2}, timeout=5000)
    _settle(qtbot, widget)


def test_contact_markers_follow_the_units_of_a_micrometre_image(make_napari_viewer, tmp_path, qtbot,
                                                                  mouse_drag):
    """An image in µm beside the project's layers: the markers' layer shares their units and
    scale (napari warns "Inconsistent units across layers" otherwise), also after they change."""
    seen = []
    notification_manager.notification_ready.connect(seen.append)
    try:
        viewer = make_napari_viewer(show=True)
        viewer.add_image(np.zeros(SHAPE, np.uint16), scale=VOXEL, units=("µm",) * 3, name="mine")
        viewer.open(str(_project(tmp_path)), plugin="napari-patchwise")
        widget = QCWidget(viewer)
        _settle(qtbot, widget)
        nuc = _paint_touching_pair(viewer, mouse_drag)
        qtbot.waitUntil(lambda: OVERLAY_NAME in viewer.layers, timeout=3000)
        overlay = viewer.layers[OVERLAY_NAME]
        assert tuple(map(str, overlay.units)) == ("micrometer",) * 3
        np.testing.assert_allclose(overlay.scale, nuc.scale)
        np.testing.assert_allclose(overlay.translate, nuc.translate)
        viewer.screenshot(canvas_only=True, flash=False)  # a draw: napari checks the units here
        # every layer in nanometres (a voxel size set in another unit): the markers follow
        for layer in viewer.layers:
            if layer is not overlay:
                layer.units = ("nm",) * 3
                layer.scale = tuple(v * 1000 for v in layer.scale)
        _stroke(mouse_drag, nuc, 4, (3, 40, 6), (3, 40, 12))
        qtbot.waitUntil(lambda: tuple(map(str, overlay.units)) == ("nanometer",) * 3, timeout=3000)
        np.testing.assert_allclose(overlay.scale, nuc.scale)
        viewer.screenshot(canvas_only=True, flash=False)
        _settle(qtbot, widget)
    finally:
        notification_manager.notification_ready.disconnect(seen.append)
    assert not [n for n in seen if "units" in str(n.message)], [str(n.message) for n in seen]


def test_tables_show_five_rows_and_every_column_in_a_small_dock(make_napari_viewer, tmp_path, qtbot):
    """At 360×350 px (a dock on a 1280×800 screen) each table shows at least five rows and
    all of its columns side by side (long cells are elided, whole in their tooltip)."""
    viewer = make_napari_viewer()
    viewer.open(str(_project(tmp_path)), plugin="napari-patchwise")
    widget = QCWidget(viewer)
    _settle(qtbot, widget)
    nuc = viewer.layers["nuclei labels"]
    data = np.zeros(nuc.data.shape, np.uint32)
    for i in range(7):  # seven touching pairs in box 1
        data[2, 2 + 4 * i:4 + 4 * i, 2:4], data[2, 2 + 4 * i:4 + 4 * i, 4:6] = 2 * i + 1, 2 * i + 2
    nuc.data = data
    qtbot.waitUntil(lambda: widget.pairs.rowCount() == 7, timeout=5000)
    widget.check_boxes()
    _settle(qtbot, widget)
    assert widget.findings.rowCount() >= 5
    qtbot.addWidget(widget)
    widget.resize(360, 350)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.minimumSizeHint().height() <= 350 and widget.minimumSizeHint().width() <= 360
    assert widget.width() == 360
    for tab, table in enumerate((widget.pairs, widget.findings)):
        widget.tabs.setCurrentIndex(tab)
        qtbot.waitUntil(table.isVisible)
        header = table.horizontalHeader()
        assert table.viewport().height() >= 5 * table.rowHeight(0), (tab, table.viewport().height())
        assert header.length() <= table.viewport().width() + 1, (tab, header.length())
        assert table.horizontalScrollBar().maximum() == 0
        assert min(header.sectionSize(c) for c in range(table.columnCount())) >= 24
    message = widget.findings.item(0, 4)
    assert message.toolTip() == message.text() and len(message.text()) > 40


def test_the_plugin_dock_draws_contacts_through_its_viewer_proxy(make_napari_viewer, tmp_path, qtbot):
    """napari hands a plugin's dock a proxy of the viewer: the overlay is added through it."""
    from napari_patchwise._qt.patchwise_dock import PatchwiseDock

    viewer = make_napari_viewer()
    folder = _project(tmp_path)
    viewer.open(str(folder), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    assert isinstance(dock, PatchwiseDock) and dock.qc.viewer is not viewer  # the proxy
    dock.show_step("qc")
    qtbot.waitUntil(lambda: dock.qc.live is not None and not dock.qc.live.pending
                    and not session_for(viewer).working, timeout=20000)
    nuc = viewer.layers["nuclei labels"]
    viewer.dims.set_point(0, 3 * VOXEL[0])
    nuc.paint((3, 10, 8), 1)
    nuc.paint((3, 10, 8 + nuc.brush_size), 2)  # the discs meet: 1 and 2 touch
    qtbot.waitUntil(lambda: OVERLAY_NAME in viewer.layers and viewer.layers[OVERLAY_NAME].visible, timeout=5000)
    qtbot.waitUntil(lambda: dock.qc.pairs.rowCount() == 1, timeout=5000)
    assert viewer.layers[OVERLAY_NAME].data[3].any()
    qtbot.waitUntil(lambda: _idle(dock.qc), timeout=10000)
