"""Proposing boxes from the Box planner dock in a real napari viewer (run under Xvfb)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from napari.layers import Image, Points

from napari_patchwise._qt import propose_measure as pm_module
from napari_patchwise._qt.box_table import COL
from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise._qt.propose_form import points_to_voxels
from napari_patchwise._qt.runner import JobCancelled
from napari_patchwise.engine.plan.lock import lock_holder
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.propose.strata import STRATA
from napari_patchwise.layers.box_shapes import FACE_ALPHA, STRATUM_COLORS, face_colors

pytestmark = pytest.mark.gui

VOXEL = (2.0, 0.5, 0.5)
SHAPE = (32, 128, 128)
BOX = (8, 32, 32)  # the custom preset's box, at magnification 1 (64 candidate blocks)


@pytest.fixture(scope="module")
def sample():
    return make_sample(SHAPE)


def _dock(viewer):
    widget = PlannerWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Box planner")
    return widget


@pytest.fixture
def proposer(make_napari_viewer, sample, messages):
    viewer = make_napari_viewer()
    viewer.add_image(sample.image, name="nuclei", scale=VOXEL)
    widget = _dock(viewer)
    widget.settings.image.value = viewer.layers["nuclei"]
    widget.settings.preset.value = "custom"
    widget.settings.minimum.value = "8,32,32"
    assert widget.new_plan() is not None, messages
    return viewer, widget, widget.proposer


def _propose(qtbot, panel, **form):
    """Press Propose with some form values and wait for the measurement, if any."""
    for name, value in form.items():
        getattr(panel.form, name).value = value
    panel.propose_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)


def _rgba(hex_color, alpha=1.0):
    return np.array([int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5)] + [alpha])


def _extent(box):
    return (box.lo, box.hi)


def test_propose_measures_in_a_worker_and_adds_coloured_stratified_boxes(
        proposer, qtbot, monkeypatch, messages):
    viewer, widget, panel = proposer
    threads = []
    real = pm_module.measure_candidates

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(pm_module, "measure_candidates", spy)
    seen = []
    panel.progress.valueChanged.connect(seen.append)
    panel.form.n_boxes.value = 8
    panel.propose_button.click()
    assert panel.busy and not panel.propose_button.isEnabled()  # the GUI thread goes on
    assert panel.progress.isVisibleTo(panel)
    with qtbot.waitSignal(panel.last_worker.finished, timeout=30000):
        pass
    qtbot.waitUntil(lambda: not panel.busy, timeout=5000)

    assert threads and threads[0] != threading.get_ident()
    assert panel.progress.maximum() > 0 and max(seen) == panel.progress.maximum()
    assert panel.propose_button.isEnabled() and not panel.progress.isVisibleTo(panel)

    plan = widget.plan
    assert len(plan.boxes) == 8
    assert {b.source for b in plan.boxes} == {"proposal"}
    assert all(b.stratum in STRATA and b.stats["strata"] for b in plan.boxes)
    assert len({b.stratum for b in plan.boxes}) >= 4
    assert [f for f in plan.validate() if f.box_id is not None and f.severity == "error"] == []
    assert "proposed 8 boxes" in messages["info"][-1].lower()
    assert "proposed 8 boxes" in panel.report.text()
    # the boxes' ids are written a repaint after their rectangles are drawn
    qtbot.waitUntil(lambda: widget.sync.rectangles.text.visible, timeout=5000)

    # fill by stratum, edge by severity: each box's rectangle on its centre slice
    layer = widget.sync.rectangles
    for b in plan.boxes:
        widget.jump_to_box(b.id)
        ids = layer.features["box_id"].to_numpy()
        want = _rgba(STRATUM_COLORS[b.stratum], FACE_ALPHA)
        assert np.allclose(layer.face_color[ids == b.id], want, atol=0.01), b.stratum
        assert (ids == b.id).sum() == 1
        assert np.allclose(layer.face_color, face_colors(ids, {b.id: b.stratum for b in plan.boxes}))

    # the table shows stratum and source; selecting a row explains the box
    table = widget.table
    b = plan.boxes[0]
    row = table.box_ids().index(b.id)
    assert table.item(row, COL["stratum"]).text() == b.stratum
    assert table.item(row, COL["source"]).text() == "proposal"
    assert "SNR" in table.item(row, COL["id"]).toolTip()
    table.select_ids([b.id])
    assert f"box {b.id}" in panel.details.text() and f"stratum {b.stratum}" in panel.details.text()
    assert "foreground" in panel.details.text()
    assert f"{b.stratum} (" in widget.legend.count_text(b.stratum)

    # proposing again with another seed reuses the measurement: no new worker
    panel.form.seed.value = 3
    panel.propose_button.click()
    assert not panel.busy and len(threads) == 1
    assert len(widget.plan.boxes) == 16


def test_accept_locks_and_a_second_propose_with_replace_keeps_the_locked_box(proposer, qtbot):
    viewer, widget, panel = proposer
    _propose(qtbot, panel, n_boxes=6)
    first_round = {b.id for b in widget.plan.boxes}
    keep = widget.plan.boxes[2]
    widget.table.select_ids([keep.id])
    panel.accept_button.click()
    assert widget.plan.box(keep.id).locked
    assert widget.table.item(widget.table.box_ids().index(keep.id), COL["locked"]).text() == "locked"
    layer = widget.sync.rectangles

    def width_of(box_id):
        widget.jump_to_box(box_id)  # its centre slice
        ids = layer.features["box_id"].to_numpy()
        return np.asarray(layer.edge_width)[ids == box_id].min()

    others = [width_of(b.id) for b in widget.plan.boxes if b.id != keep.id]
    assert width_of(keep.id) > max(others)  # locked looks different

    _propose(qtbot, panel, replace=True, seed=11)
    plan = widget.plan
    kept = plan.box(keep.id)
    assert _extent(kept) == _extent(keep) and kept.locked
    assert {b.id for b in plan.boxes} & first_round == {keep.id}  # the unlocked ones were replaced
    assert len(plan.boxes) == 7

    # lock / unlock toggles
    panel.toggle_lock([keep.id])
    assert not widget.plan.box(keep.id).locked
    panel.toggle_lock([keep.id])
    assert widget.plan.box(keep.id).locked


def test_a_rejected_box_never_comes_back_in_this_session(proposer, qtbot, messages):
    viewer, widget, panel = proposer
    _propose(qtbot, panel, n_boxes=10)
    victim = widget.plan.boxes[0]
    widget.table.select_ids([victim.id])
    panel.reject_button.click()
    assert victim.id not in widget.table.box_ids()
    assert _extent(victim) in panel.rejected
    assert "rejected" in messages["info"][-1].lower()

    # fill the whole image, with every seed: the rejected place stays free
    for seed in (0, 1, 2):
        _propose(qtbot, panel, n_boxes=0, include_empty=True, replace=True, seed=seed)
        boxes = widget.plan.boxes
        assert len(boxes) > 20
        assert all(_extent(b) != _extent(victim) for b in boxes)

    # a locked box is not rejected
    locked = widget.plan.boxes[0]
    panel.accept([locked.id])
    panel.reject([locked.id])
    assert locked.id in {b.id for b in widget.plan.boxes}
    assert "unlock" in messages["warning"][-1]


def test_repropose_moves_a_box_within_its_stratum(proposer, qtbot, messages):
    viewer, widget, panel = proposer
    _propose(qtbot, panel, n_boxes=4)
    available = panel.last_report.strata_available
    old = max(widget.plan.boxes, key=lambda b: available.get(b.stratum, 0))
    before = {b.id for b in widget.plan.boxes}
    widget.table.select_ids([old.id])
    panel.repropose_button.click()
    assert not panel.busy  # measured before: no worker
    plan = widget.plan
    (new,) = [b for b in plan.boxes if b.id not in before]
    assert old.id not in {b.id for b in plan.boxes}
    assert new.stratum == old.stratum and _extent(new) != _extent(old)
    assert widget.table.selected_ids() == [new.id]

    # a locked box is refused with a message, not an exception
    panel.accept([new.id])
    panel.repropose([new.id])
    assert "locked" in messages["error"][-1]
    assert new.id in {b.id for b in widget.plan.boxes}


def test_repropose_after_the_image_changed_measures_again(proposer, qtbot):
    viewer, widget, panel = proposer
    _propose(qtbot, panel, n_boxes=3)
    assert len(panel.cache) == 1
    viewer.layers["nuclei"].data = viewer.layers["nuclei"].data.copy()
    assert len(panel.cache) == 0
    box = widget.plan.boxes[0]
    panel.repropose([box.id])
    assert panel.busy
    qtbot.waitUntil(lambda: not panel.busy, timeout=30000)
    assert box.id not in {b.id for b in widget.plan.boxes}
    assert len(widget.plan.boxes) == 3


def test_points_layer_gives_boxes_centred_on_the_points(proposer, qtbot, messages):
    viewer, widget, panel = proposer
    centres = np.array([[16, 64, 64], [2, 100, 30]], float)  # the second is near the z border
    # a points layer in physical units (scale 1): voxel * voxel size
    viewer.add_points(centres * VOXEL, name="centres", ndim=3)
    panel.form.source.value = "points"
    panel.form.points.value = viewer.layers["centres"]
    panel.propose_button.click()
    assert not panel.busy  # no image read is needed
    boxes = sorted(widget.plan.boxes, key=lambda b: b.id)
    assert len(boxes) == 2 and {b.source for b in boxes} == {"points"}
    assert all(b.size == BOX for b in boxes)
    assert np.allclose(np.add(boxes[0].lo, boxes[0].hi) / 2, centres[0], atol=1)
    assert boxes[1].lo[0] == 0  # shifted inside
    assert "point 1" in messages["warning"][-1] and "z border" in messages["warning"][-1]
    assert "2 boxes" in messages["info"][-1]

    # reject the border box: with border=reject only the first one comes back
    panel.form.border.value = "reject"
    panel.form.replace.value = True
    panel.propose_button.click()
    assert len(widget.plan.boxes) == 1
    assert "rejected" in messages["warning"][-1]


def test_points_are_converted_from_world_to_image_voxels(make_napari_viewer):
    image = Image(np.zeros((10, 20, 20)), scale=(2.0, 0.5, 0.5), translate=(10.0, 0.0, 5.0))
    points = Points(np.array([[3.0, 4.0, 5.0]]), scale=(4.0, 1.0, 1.0), translate=(-2.0, 0.0, 0.0))
    # world = (3*4-2, 4, 5) = (10, 4, 5); image voxel = ((10-10)/2, 4/0.5, (5-5)/0.5)
    assert np.allclose(points_to_voxels(points, image), [[0.0, 8.0, 0.0]])
    flat = Points(np.array([[1.0, 2.0]]), name="flat")
    with pytest.raises(ValueError, match="2D"):
        points_to_voxels(flat, image)


def test_probability_layer_gives_uncertainty_boxes(proposer, qtbot, messages):
    viewer, widget, panel = proposer
    prob = np.full(SHAPE, 0.99, np.float32)
    prob[:, 64:, 64:] = 0.5  # the model is unsure in one quarter
    viewer.add_image(prob, name="probability", scale=VOXEL)
    _propose(qtbot, panel, source="uncertainty", probability=viewer.layers["probability"],
             n_boxes=3)
    boxes = widget.plan.boxes
    assert len(boxes) == 3, messages
    assert {b.source for b in boxes} == {"uncertainty"} and {b.stratum for b in boxes} == {"uncertain"}
    assert all(b.lo[1] >= 64 and b.lo[2] >= 64 for b in boxes)
    assert all(b.stats["uncertainty"] == pytest.approx(1.0) for b in boxes)
    layer = widget.sync.rectangles
    assert np.allclose(layer.face_color[:, :3], _rgba(STRATUM_COLORS["uncertain"])[:3], atol=0.01)

    # re-proposing an uncertainty box reuses the measurement with the probability map
    old = boxes[0]
    panel.form.source.value = "image"  # the box's own source decides, not the form
    panel.repropose([old.id])
    assert not panel.busy
    (new,) = [b for b in widget.plan.boxes if b.id not in {b.id for b in boxes}]
    assert new.source == "uncertainty" and new.stratum == "uncertain"
    assert new.lo[1] >= 64 and new.lo[2] >= 64 and _extent(new) != _extent(old)


def test_proposing_without_an_image_layer_says_so(make_napari_viewer, messages):
    viewer = make_napari_viewer()
    widget = _dock(viewer)
    widget.proposer.propose()
    assert widget.plan is None
    assert "3D image layer" in messages["error"][-1]


def test_proposing_on_a_2d_image_says_so(make_napari_viewer, messages):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="flat")
    widget = _dock(viewer)
    widget.settings.image.value = viewer.layers["flat"]
    widget.proposer.propose()
    assert widget.plan is None and not widget.proposer.busy
    assert "3D" in messages["error"][-1] and "z-stack" in messages["error"][-1]


def test_a_probability_of_another_shape_is_reported(proposer, qtbot, messages):
    viewer, widget, panel = proposer
    viewer.add_image(np.full((16, 64, 64), 0.5, np.float32), name="small probability")
    _propose(qtbot, panel, source="uncertainty", probability=viewer.layers["small probability"])
    error = messages["error"][-1]
    assert "small probability" in error and "shape (16, 64, 64)" in error and str(SHAPE) in error
    assert widget.plan.boxes == ()
    assert len(panel.cache) == 0


def test_missing_layers_are_reported(proposer, messages):
    viewer, widget, panel = proposer
    panel.form.source.value = "uncertainty"
    panel.propose()
    assert "probability layer" in messages["error"][-1]
    panel.form.source.value = "points"
    panel.propose()
    assert "Points layer" in messages["error"][-1]
    viewer.add_points(np.empty((0, 3)), name="none yet", ndim=3)
    panel.form.points.value = viewer.layers["none yet"]
    panel.propose()
    assert "no points" in messages["warning"][-1]
    viewer.add_points(np.array([[16.0, 500.0, 10.0]]) * VOXEL, name="far", ndim=3)
    panel.form.points.value = viewer.layers["far"]
    panel.propose()
    assert "outside the image" in messages["error"][-1]
    panel.accept([])
    assert "Select one or more boxes" in messages["warning"][-1]
    assert widget.plan.boxes == ()


def test_proposals_are_saved_to_the_project_and_proposing_goes_on_after_reopening(
        proposer, qtbot, tmp_path, make_napari_viewer):
    viewer, widget, panel = proposer
    folder = tmp_path / "proj"
    widget.save_project(folder)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=20000)
    _propose(qtbot, panel, n_boxes=3)
    locked = widget.plan.boxes[0]
    panel.accept([locked.id])

    saved = json.loads((folder / "plan.json").read_text())["images"][0]
    assert [b["source"] for b in saved["boxes"]] == ["proposal"] * 3
    assert saved["boxes"][0]["locked"] is True and saved["boxes"][0]["stratum"] in STRATA
    assert "strata" in saved["boxes"][0]["stats"]
    assert [b["round"] for b in saved["boxes"]] == [1] * 3  # a round of the project, recorded as the CLI does
    record = json.loads((folder / "rounds" / "loop_001.json").read_text())
    assert sorted(p["box"] for p in record["patches"]) == sorted(f"{saved['name']}:{b['id']}" for b in saved["boxes"])

    plan = widget.plan
    viewer.close()  # one writer per project: reopened once the first viewer has let go of it
    qtbot.waitUntil(lambda: lock_holder(folder) is None, timeout=10000)
    viewer2 = make_napari_viewer()
    widget2 = _dock(viewer2)
    widget2.open_project(folder)
    assert widget2.plan == plan
    assert widget2.image_layer() is viewer2.layers["nuclei"]
    layer = widget2.sync.rectangles  # the reader's layer, now coloured by stratum
    widget2.jump_to_box(locked.id)
    ids = layer.features["box_id"].to_numpy()
    assert locked.id in ids
    want = _rgba(STRATUM_COLORS[locked.stratum], FACE_ALPHA)
    assert np.allclose(layer.face_color[ids == locked.id], want, atol=0.01)
    _propose(qtbot, widget2.proposer, n_boxes=2, replace=True)
    assert len(widget2.plan.boxes) == 3 and widget2.plan.box(locked.id).locked
    boxes = json.loads((folder / "plan.json").read_text())["images"][0]["boxes"]
    assert len(boxes) == 3 and sorted(b["round"] for b in boxes) == [1, 2, 2]
    assert sorted(p.name for p in (folder / "rounds").iterdir()) == ["loop_001.json", "loop_002.json"]


def test_screenshot_shows_the_stratum_fill_inside_each_box(make_napari_viewer, messages, dark_plan):
    viewer = make_napari_viewer(show=True)
    dark_plan(viewer, _dock(viewer), 16, [((0, 40, 0), (16, 160, 90), "dense"),
                                          ((0, 40, 110), (16, 160, 200), "typical")])
    viewer.dims.set_point(0, 8)
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(float)

    lit = shot.sum(axis=-1) > 20
    cols = np.flatnonzero(lit.any(axis=0))
    assert cols.size
    mid = (cols.min() + cols.max()) / 2
    h, w = lit.shape
    for stratum, side in (("dense", np.arange(w) < mid), ("typical", np.arange(w) >= mid)):
        region = lit & side[None, :]
        assert region.sum() > 2000, stratum
        colour = np.median(shot[region], axis=0)
        want = FACE_ALPHA * _rgba(STRATUM_COLORS[stratum])[:3] * 255
        assert np.allclose(colour, want, atol=10), (stratum, colour, want)


def _slow_measure(monkeypatch, steps=2000):
    """Make measuring take a while (the real one runs after the progress reports)."""
    import time

    real = pm_module.measure_candidates

    def slow(image, plan, *, progress, **kwargs):
        for i in range(steps):
            progress(i, steps)
            time.sleep(0.005)
        return real(image, plan, progress=progress, **kwargs)

    monkeypatch.setattr(pm_module, "measure_candidates", slow)


def test_a_measurement_can_be_cancelled(proposer, qtbot, monkeypatch, messages):
    viewer, widget, panel = proposer
    _slow_measure(monkeypatch)
    panel.propose_button.click()
    assert panel.cancel_button.isVisibleTo(panel)
    qtbot.waitUntil(lambda: panel.progress.value() > 10, timeout=10000)
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.busy, timeout=10000)
    assert "cancelled" in messages["info"][-1]
    assert widget.plan.boxes == () and len(panel.cache) == 0
    assert not panel.cancel_button.isVisibleTo(panel) and panel.propose_button.isEnabled()


def test_the_progress_callback_stops_the_engine(sample):
    from napari_patchwise.engine.plan.plan import ImageRef, Plan
    from napari_patchwise.engine.plan.presets import get_preset

    plan = Plan(ImageRef(SHAPE), get_preset("custom", minimum=(8, 32, 32)))

    def stop(done, total):
        if done:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        pm_module.measure_candidates(sample.image, plan, progress=stop)


def test_closing_the_viewer_while_measuring_is_safe(make_napari_viewer, sample, qtbot,
                                                      monkeypatch, messages):
    from qtpy.QtCore import QThreadPool

    viewer = make_napari_viewer()
    viewer.add_image(sample.image, name="nuclei", scale=VOXEL)
    widget = _dock(viewer)
    widget.settings.image.value = viewer.layers["nuclei"]
    _slow_measure(monkeypatch)
    widget.proposer.propose()
    qtbot.waitUntil(lambda: widget.proposer.progress.value() > 10, timeout=10000)
    viewer.close()
    qtbot.wait(50)
    assert QThreadPool.globalInstance().waitForDone(5000)  # stopped early: not 10 s of sleep
    qtbot.wait(50)
    assert messages["error"] == []
