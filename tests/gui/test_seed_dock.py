"""The Seed dock in a real napari viewer (run under Xvfb): thresholds, imports, preview, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise._qt.seed_dock import SeedWidget
from napari_patchwise._qt.seed_preview import PREVIEW_NAME
from napari_patchwise.engine.io import write_tiff
from napari_patchwise.engine.plan import ImageRef, Plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.plan.annotation_store import hidden_layer
from napari_patchwise.engine.qc.separation import separate
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui

VOXEL = (2.0, 0.5, 0.5)
SHAPE = (24, 96, 96)
MAG = (1, 2, 2)
# full-resolution extents: box 1 in the dense region, box 2 in the sparse one
BOXES = [((0, 8, 8), (16, 40, 40)), ((8, 8, 56), (24, 40, 88))]
# the same boxes in the annotation arrays (at the magnification)
REGIONS = {
    1: (slice(0, 16), slice(4, 20), slice(4, 20)),
    2: (slice(8, 24), slice(4, 20), slice(28, 44)),
}


@pytest.fixture(scope="module")
def sample():
    return make_sample(SHAPE, seed=1)


@pytest.fixture
def project(tmp_path, sample):
    folder = tmp_path / "proj"
    image = ImageRef(SHAPE, voxel_size=VOXEL, path="image.tif", name="nuclei")
    create_project(folder, Plan(image, magnification=MAG).add_boxes(BOXES))
    write_tiff(folder / "image.tif", sample.image, VOXEL)
    return folder


@pytest.fixture
def viewer(make_napari_viewer, project, messages):
    """A viewer with the project opened by the reader (image, boxes, annotation layers)."""
    viewer = make_napari_viewer()
    viewer.open(str(project), plugin="napari-patchwise")
    return viewer


@pytest.fixture
def emitted(viewer):
    seen = []
    session_for(viewer).annotations_written.connect(seen.append)
    yield seen
    session_for(viewer).annotations_written.disconnect(seen.append)


def _seed_dock(viewer):
    widget = SeedWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Seed weak labels")
    return widget


def _planner(viewer):
    widget = PlannerWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Box planner")
    assert widget.sync is not None and widget.project is not None  # adopted the reader's boxes
    return widget


def _set(widget, **form):
    for name, value in form.items():
        getattr(widget.form, name).value = value


def _apply(qtbot, widget, **form):
    _set(widget, **form)
    widget.apply_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)


def _arrays(project):
    return open_annotations(project, mode="r")


def _outside_boxes(a):
    mask = np.ones(a.shape, bool)
    for sl in REGIONS.values():
        mask[sl] = False
    return a[mask]


def _statuses(plan):
    return {b.id: b.status for b in plan.boxes}


def _touching(a) -> bool:
    """Whether two different instance ids share a face anywhere."""
    a = np.asarray(a)
    for axis in range(3):
        x = np.moveaxis(a, axis, 0)
        p, q = x[:-1], x[1:]
        if ((p != q) & (p > 0) & (q > 0)).any():
            return True
    return False


def _at_mag(labels):
    """Ground truth sampled onto the annotation grid as the import does (block centres)."""
    return labels[:, 1::2, 1::2]


# -- the dock and its form ---------------------------------------------------------
def test_dock_is_contributed_by_the_manifest_and_finds_the_project(viewer, project):
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Seed weak labels")
    widget = dock.seed
    assert dock.step == "seed" and isinstance(widget, SeedWidget)
    assert Path(widget.project).resolve() == project.resolve()
    assert str(project.resolve()) in widget.project_label.text()
    assert list(widget.form.class_name.choices) == ["nuclei"]
    assert not widget.progress.isVisibleTo(widget)


def test_switching_method_shows_only_its_fields(make_napari_viewer):
    widget = SeedWidget(make_napari_viewer())
    form = widget.form
    fields = ("threshold", "smooth", "fill_holes", "min_size", "split", "min_distance", "margin", "per_box",
              "file", "channel", "layer", "diameter", "estimate", "derive")
    thresholding = {"diameter", "estimate", "derive", "smooth", "fill_holes", "min_size", "split", "min_distance",
                    "margin", "per_box"}
    wanted = {
        "otsu": thresholding,
        "manual": thresholding | {"threshold"},
        "file": {"file"},
        "probability": {"file", "channel", "threshold", "min_size"},
        "layer": {"layer"},
        "cellpose": {"diameter"},
    }
    for method, shown in wanted.items():
        form.method.value = method
        visible = {f for f in fields if getattr(form, f).native.isVisibleTo(form.native)}
        assert visible == shown, method
        # always there: what, which boxes, and whether edits may be replaced
        assert all(w.native.isVisibleTo(form.native) for w in (form.method, form.class_name, form.boxes,
                                                                 form.overwrite))


# -- thresholding ------------------------------------------------------------------
def test_apply_otsu_on_all_boxes_writes_seeds_in_a_worker(viewer, project, qtbot, messages, emitted):
    widget = _seed_dock(viewer)
    layer = viewer.layers["nuclei labels"]
    arr = _arrays(project)["nuclei"]
    assert layer.data is not None and tuple(layer.data.shape) == arr.shape
    viewer.dims.set_point(0, 8 * VOXEL[0])  # slice z = 8 (inside both boxes) is on screen
    seen = []
    widget.progress.valueChanged.connect(seen.append)

    _set(widget, method="otsu", boxes="all")
    widget.apply_button.click()
    assert widget.busy and widget.progress.isVisibleTo(widget)  # the GUI thread goes on
    assert not widget.apply_button.isEnabled() and not widget.preview_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert widget.apply_button.isEnabled() and not widget.progress.isVisibleTo(widget)
    assert seen and max(seen) == widget.progress.maximum() > 1

    data = np.asarray(arr)
    for sl in REGIONS.values():
        assert len(np.unique(data[sl])) > 2  # several objects in every box
    assert not _outside_boxes(data).any()
    assert not _touching(data)
    background = np.asarray(_arrays(project)["background"])
    assert background[REGIONS[1]].any() and not (background.astype(bool) & (data > 0)).any()

    # the Labels layer shows the project's array, refreshed on screen (a turn or two after the job)
    np.testing.assert_array_equal(np.asarray(layer.data), data)
    z, (y, x) = 8, np.argwhere(data[8])[0]
    world = layer.data_to_world((z, y, x))
    assert data[z, y, x] > 0
    qtbot.waitUntil(lambda: layer.get_value(world, world=True) == data[z, y, x], timeout=5000)

    assert _statuses(load_plan(project)) == {1: "seeded", 2: "seeded"}
    report = widget.last_report
    assert sorted(report.boxes) == [1, 2] and report.threshold is not None
    assert messages["info"][-1] == report.summary() == widget.result.text()
    assert "seeded 2 boxes with otsu" in messages["info"][-1]
    assert messages["error"] == []
    assert [Path(p).resolve() for p in emitted] == [project.resolve()]


def test_with_the_planner_the_statuses_go_through_it_and_are_autosaved(viewer, project, qtbot, messages):
    planner = _planner(viewer)
    widget = _seed_dock(viewer)
    extents = {b.id: (b.lo, b.hi) for b in planner.plan.boxes}
    widget.form.boxes.value = "all"
    widget.apply_button.click()
    # the plan changes in the planner while seeding runs: that change is kept
    planner.sync.set_plan(planner.plan.update_box(2, locked=True))
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)

    plan = planner.plan
    assert _statuses(plan) == {1: "seeded", 2: "seeded"}
    assert plan.box(2).locked and {b.id: (b.lo, b.hi) for b in plan.boxes} == extents
    saved = load_plan(project)
    assert _statuses(saved) == {1: "seeded", 2: "seeded"} and saved.box(2).locked
    assert messages["error"] == [] and "seeded 2 boxes" in messages["info"][-1]


def test_selected_boxes_seeds_only_the_selected_rectangle(viewer, project, qtbot, messages):
    planner = _planner(viewer)
    widget = _seed_dock(viewer)
    rects = planner.sync.rectangles
    ids = rects.features["box_id"].to_numpy()
    rects.selected_data = {int(np.flatnonzero(ids == 2)[0])}
    _apply(qtbot, widget, method="otsu", boxes="selected")

    data = np.asarray(_arrays(project)["nuclei"])
    assert data[REGIONS[2]].any() and not data[REGIONS[1]].any()
    assert _statuses(planner.plan) == _statuses(load_plan(project)) == {1: "todo", 2: "seeded"}

    # nothing selected: a clear message, no worker
    planner.sync.rectangles.selected_data = set()
    n_info = len(messages["info"])
    widget.apply_button.click()
    assert not widget.busy and widget.apply_button.isEnabled()
    assert "no box is selected" in messages["error"][-1]
    assert len(messages["info"]) == n_info


def test_selected_boxes_without_the_planner_uses_the_readers_boxes_layer(viewer, project, qtbot):
    widget = _seed_dock(viewer)
    (rects,) = [lay for lay in viewer.layers if lay.name == "patchwise boxes"]
    ids = rects.features["box_id"].to_numpy()
    rects.selected_data = {int(np.flatnonzero(ids == 1)[0])}
    _apply(qtbot, widget, method="otsu", boxes="selected")
    data = np.asarray(_arrays(project)["nuclei"])
    assert data[REGIONS[1]].any() and not data[REGIONS[2]].any()
    assert _statuses(load_plan(project)) == {1: "seeded", 2: "todo"}


def test_boxes_still_to_do_skips_seeded_boxes(viewer, project, qtbot, messages):
    widget = _seed_dock(viewer)
    _apply(qtbot, widget, method="otsu", boxes="all")
    _set(widget, boxes="todo")  # every box is seeded now
    widget.apply_button.click()
    assert not widget.busy and "no box is still to do" in messages["error"][-1]


def test_the_lengths_follow_the_diameter_unless_unticked(make_napari_viewer):
    form = SeedWidget(make_napari_viewer()).form
    assert all(not getattr(form, n).enabled for n in ("smooth", "min_size", "min_distance"))
    p = form.params()
    assert p.object_diameter is None and p.smooth is p.min_size is p.min_distance is None  # all derived
    form.diameter.value = 7.5
    form.derive.value = False
    assert all(getattr(form, n).enabled for n in ("smooth", "min_size", "min_distance"))
    form.smooth.value, form.min_size.value, form.min_distance.value = 0.5, 12, 3.0
    p = form.params()
    assert (p.object_diameter, p.smooth, p.min_size, p.min_distance) == (7.5, 0.5, 12, 3.0)


def test_estimate_fills_the_diameter_off_the_gui_thread(viewer, project, qtbot, messages):
    widget = _seed_dock(viewer)
    _set(widget, method="otsu", boxes="all")
    assert widget.form.diameter.value == 0
    widget.form.estimate.clicked.emit()
    assert widget.busy and not widget.form.estimate.enabled
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert messages["error"] == []
    diameter = widget.form.diameter.value
    assert 4 < diameter < 20  # the sample's nuclei: about 9 micrometres
    assert "estimated object diameter" in widget.result.text() and "2 boxes" in widget.result.text()
    from napari_patchwise.engine.seed.objectsize import MARKER_FRACTION

    assert widget.form.min_distance.value == pytest.approx(MARKER_FRACTION * diameter, abs=1e-3)
    assert widget.form.smooth.value > 0 and widget.form.min_size.value > 0
    assert not np.asarray(_arrays(project)["nuclei"]).any()  # nothing written


def test_preview_equals_apply_moves_the_view_and_goes_away_after_apply(viewer, project, qtbot, messages):
    widget = _seed_dock(viewer)
    viewer.dims.set_point(0, 0.0)
    _set(widget, method="otsu", boxes="all")
    widget.preview_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert messages["error"] == []
    preview = viewer.layers[PREVIEW_NAME]
    shown = np.asarray(preview.data).copy()
    assert "Apply writes exactly these seeds" in widget.result.text()
    # the view moved to box 1: its middle plane is current and the camera is centred on it
    lo, hi = (np.array(c) for c in BOXES[0])
    centre = (lo + hi - 1) / 2 * np.array(VOXEL)
    assert viewer.dims.point[0] == pytest.approx(centre[0], abs=VOXEL[0])
    np.testing.assert_allclose(viewer.scene.camera.center[-2:], centre[1:], atol=VOXEL[1] * MAG[1])
    assert widget.form.diameter.value > 0  # the estimate is shown, editable

    widget.apply_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert PREVIEW_NAME not in viewer.layers
    # the selected preview went away: the seeded labels are selected for painting
    assert viewer.layers.selection.active is viewer.layers["nuclei labels"]
    written = np.asarray(_arrays(project)["nuclei"])[REGIONS[1]]
    np.testing.assert_array_equal(written > 0, shown > 0)
    pairs = np.unique(np.stack([shown[shown > 0], written[written > 0]]), axis=1)
    assert len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


def test_preview_is_placed_on_the_box_and_writes_nothing(viewer, project, qtbot, messages, emitted):
    widget = _seed_dock(viewer)
    plan_text = (project / "plan.json").read_text()
    _set(widget, method="otsu", boxes="all")
    widget.preview_button.click()
    assert widget.busy and not widget.apply_button.isEnabled()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert messages["error"] == []

    preview = viewer.layers[PREVIEW_NAME]
    lo, hi = (np.array(c) for c in BOXES[0])
    mag, vs = np.array(MAG), np.array(VOXEL)
    assert preview.data.shape == tuple((hi - lo) // mag)
    np.testing.assert_allclose(preview.scale, vs * mag)
    np.testing.assert_allclose(preview.translate, vs * (lo + (mag - 1) / 2))
    # its voxel corners are the box's corners in the image, and it lines up with the annotation layers
    image = viewer.layers["nuclei"]
    np.testing.assert_allclose(preview.data_to_world(np.full(3, -0.5)), image.data_to_world(lo - 0.5))
    np.testing.assert_allclose(preview.data_to_world(np.array(preview.data.shape) - 0.5),
                               image.data_to_world(hi - 0.5))
    annotation = viewer.layers["nuclei labels"]
    origin = [s.start for s in REGIONS[1]]
    np.testing.assert_allclose(annotation.world_to_data(preview.data_to_world((0, 0, 0))), origin)
    assert preview.data.max() > 1 and "preview of box 1" in widget.result.text()

    # nothing written: arrays empty, plan unchanged, no change announced
    arrays = _arrays(project)
    for name in ("nuclei", "background"):
        assert not np.asarray(arrays[name]).any()
    assert (project / "plan.json").read_text() == plan_text and emitted == []

    # previewing again replaces the layer; the preview is no import source
    widget.preview_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert [lay.name for lay in viewer.layers].count(PREVIEW_NAME) == 1
    assert all(lay.name != PREVIEW_NAME for lay in widget.form.layer.choices)


# -- imports -----------------------------------------------------------------------
def test_import_from_a_labels_layer_separates_touching_instances(viewer, project, qtbot, sample, messages):
    widget = _seed_dock(viewer)
    viewer.add_labels(sample.labels, name="ground truth", scale=VOXEL, units=("micrometer",) * 3)
    choices = widget.form.layer.choices
    assert viewer.layers["ground truth"] in choices and viewer.layers["nuclei labels"] not in choices
    gt = _at_mag(sample.labels)
    assert _touching(gt[REGIONS[1]]) and _touching(gt[REGIONS[2]])  # the import has work to do

    _apply(qtbot, widget, method="layer", layer=viewer.layers["ground truth"], boxes="all")
    assert messages["error"] == [], messages["error"]
    data = np.asarray(_arrays(project)["nuclei"])
    assert not _outside_boxes(data).any()
    for sl in REGIONS.values():
        got, want = data[sl], gt[sl]
        assert not _touching(got)
        gap = separate(want).voxels  # a one-voxel gap between touching instances, nothing else lost
        kept = want.astype(bool)
        kept[tuple(gap.T)] = False
        np.testing.assert_array_equal(got > 0, kept)
        pairs = np.unique(np.stack([got[kept], want[kept]]), axis=1)
        assert len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]  # one id per instance
    assert _statuses(load_plan(project)) == {1: "seeded", 2: "seeded"}
    assert "layer import" in messages["info"][-1]


def test_import_from_a_cellpose_seg_npy_file(viewer, project, qtbot, sample, tmp_path, messages):
    widget = _seed_dock(viewer)
    seg = tmp_path / "nuclei_seg.npy"
    np.save(seg, {"masks": sample.labels.astype(np.uint16), "outlines": None})
    _apply(qtbot, widget, method="file", file=seg, boxes="all")
    assert messages["error"] == [], messages["error"]
    data = np.asarray(_arrays(project)["nuclei"])
    gt = _at_mag(sample.labels)
    for sl in REGIONS.values():
        assert data[sl].any() and not _touching(data[sl])
        assert not (data[sl].astype(bool) & ~gt[sl].astype(bool)).any()
    assert not _outside_boxes(data).any()
    assert "file import" in messages["info"][-1]


def test_import_from_a_probability_map_writes_objects_and_background(viewer, project, qtbot, sample, tmp_path,
                                                                     messages):
    widget = _seed_dock(viewer)
    prob = tmp_path / "nuclei_probabilities.npy"
    np.save(prob, np.stack([sample.labels == 0, sample.labels > 0], axis=-1).astype(np.float32) * 0.9)
    _apply(qtbot, widget, method="probability", file=prob, channel=1, threshold=0.5, boxes="all")
    assert messages["error"] == [], messages["error"]
    arrays = _arrays(project)
    data, background = np.asarray(arrays["nuclei"]), np.asarray(arrays["background"])
    gt = _at_mag(sample.labels)
    for sl in REGIONS.values():
        assert len(np.unique(data[sl])) > 2 and not _touching(data[sl])
        assert not (data[sl].astype(bool) & ~gt[sl].astype(bool)).any()
        assert background[sl].any() and not (background[sl].astype(bool) & (data[sl] > 0)).any()
    assert not _outside_boxes(data).any() and not _outside_boxes(background).any()
    assert "probability import" in messages["info"][-1]

    _apply(qtbot, widget, threshold=0.0)  # probabilities need a threshold in (0, 1]
    assert "(0, 1]" in messages["error"][-1]


# -- edits -------------------------------------------------------------------------
def test_edited_voxels_are_kept_unless_overwrite_is_ticked(viewer, project, qtbot, messages):
    widget = _seed_dock(viewer)
    group = open_annotations(project)
    edited = (slice(2, 6), slice(6, 12), slice(6, 12))  # inside box 1
    group["nuclei"][edited] = 999
    hidden_layer(group, "edits")[edited] = 1

    _apply(qtbot, widget, method="otsu", boxes="all", overwrite=False)
    data = np.asarray(_arrays(project)["nuclei"])
    assert (data[edited] == 999).all() and (data[REGIONS[1]] != 999).any()
    assert widget.last_report.boxes[1]["kept"] == 4 * 6 * 6
    assert "edited voxels kept" in messages["info"][-1]

    _apply(qtbot, widget, overwrite=True)
    arrays = _arrays(project)
    assert not (np.asarray(arrays["nuclei"])[edited] == 999).any()
    assert not np.asarray(hidden_layer(arrays, "edits")).any()
    assert widget.last_report.boxes[1]["kept"] == 0


# -- errors ------------------------------------------------------------------------
def test_without_a_project_apply_and_preview_say_so(make_napari_viewer, messages):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((8, 16, 16), np.uint16), name="nuclei")
    widget = _seed_dock(viewer)
    assert "No project" in widget.project_label.text()
    widget.apply_button.click()
    widget.preview_button.click()
    assert len(messages["error"]) == 2 and all("no project" in m for m in messages["error"])
    assert not widget.busy and widget.apply_button.isEnabled()


def test_a_manual_threshold_outside_the_intensities_is_refused(viewer, project, qtbot, messages):
    widget = _seed_dock(viewer)
    _apply(qtbot, widget, method="manual", threshold=0.5, boxes="all")  # 0.5 on a 16-bit image
    assert "manual threshold 0.5 is below every intensity" in messages["error"][-1]
    _apply(qtbot, widget, threshold=1e6)
    assert "nothing would be seeded" in messages["error"][-1]
    assert widget.apply_button.isEnabled() and not widget.progress.isVisibleTo(widget)
    assert not np.asarray(_arrays(project)["nuclei"]).any()
    assert _statuses(load_plan(project)) == {1: "todo", 2: "todo"}

    # the preview refuses it the same way; a threshold between the intensities seeds
    widget.preview_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert "Preview failed" in messages["error"][-1] and PREVIEW_NAME not in viewer.layers
    _apply(qtbot, widget, threshold=600.0)
    assert "seeded 2 boxes with manual (threshold 600)" in messages["info"][-1]
    assert np.asarray(_arrays(project)["nuclei"]).any()


def test_a_file_that_does_not_exist_is_refused_before_any_work(viewer, project, tmp_path, messages):
    widget = _seed_dock(viewer)
    _set(widget, method="file", boxes="all")
    widget.apply_button.click()
    assert "choose a file" in messages["error"][-1]
    missing = tmp_path / "nowhere_seg.npy"
    _set(widget, file=missing)
    widget.apply_button.click()
    assert str(missing) in messages["error"][-1] and "does not exist" in messages["error"][-1]
    assert not widget.busy and widget.apply_button.isEnabled()
    _set(widget, method="layer")
    widget.apply_button.click()
    assert "choose a Labels layer" in messages["error"][-1]


def test_a_layer_of_the_wrong_shape_fails_in_the_worker_and_the_dock_stays_usable(viewer, project, qtbot,
                                                                                   messages):
    widget = _seed_dock(viewer)
    viewer.add_labels(np.ones((5, 7, 9), np.uint32), name="odd")
    _apply(qtbot, widget, method="layer", layer=viewer.layers["odd"], boxes="all")
    assert messages["error"][-1].startswith("Seeding failed: labels have shape (5, 7, 9)")
    assert widget.apply_button.isEnabled() and widget.preview_button.isEnabled()
    assert not widget.progress.isVisibleTo(widget)
    assert _statuses(load_plan(project)) == {1: "todo", 2: "todo"}


def test_cellpose_missing_is_a_clear_message(viewer, project, qtbot, monkeypatch, messages):
    monkeypatch.setitem(sys.modules, "cellpose", None)
    widget = _seed_dock(viewer)
    _apply(qtbot, widget, method="cellpose", boxes="all")
    assert "Cellpose is not installed" in messages["error"][-1]
    assert "pip install" in messages["error"][-1]
    assert widget.apply_button.isEnabled() and not widget.busy
    # the dock is usable again
    _apply(qtbot, widget, method="otsu")
    assert "seeded 2 boxes" in messages["info"][-1]
