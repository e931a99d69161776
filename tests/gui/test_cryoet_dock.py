"""Cryo-ET in the dock: a tomogram (MRC, voxel size in ångström), boxes on clicked points, a
segmentation imported into the class, and the export formats the engine offers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

mrcfile = pytest.importorskip("mrcfile")

from napari_patchwise._qt.export_dock import ExportWidget  # noqa: E402
from napari_patchwise._qt.planner_widget import PlannerWidget  # noqa: E402
from napari_patchwise._qt.seed_dock import SeedWidget  # noqa: E402
from napari_patchwise.engine.export.model import FORMAT_NAMES  # noqa: E402
from napari_patchwise.engine.plan.annotation_store import open_annotations  # noqa: E402

pytestmark = pytest.mark.gui

SHAPE = (176, 224, 224)
ANGSTROM = 25.0
MEMBRANE_Y = 100  # the segmentation: one membrane plane, y = 100


def _write_mrc(path, data):
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(data)
        m.voxel_size = ANGSTROM
    return path


@pytest.fixture
def tomogram(tmp_path):
    rng = np.random.default_rng(0)
    vol = rng.integers(-20, 20, SHAPE).astype(np.int8)
    vol[:, MEMBRANE_Y - 1:MEMBRANE_Y + 2, :] = 60  # a bright membrane
    seg = np.zeros(SHAPE, np.int8)
    seg[:, MEMBRANE_Y, :] = 1
    return _write_mrc(tmp_path / "tomo.mrc", vol), _write_mrc(tmp_path / "tomo_seg.mrc", seg)


@pytest.fixture
def planner(make_napari_viewer, tomogram, messages):
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(tomogram[0]), plugin=None)  # File > Open: the MRC reader, no dialog
    widget = PlannerWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Box planner")
    widget.settings.image.value = layer
    return viewer, widget, layer


def test_the_tomogram_voxel_size_in_angstrom_is_shown_kept_in_the_plan_and_set_in_nm(planner, messages):
    viewer, widget, layer = planner
    assert tuple(layer.scale) == (ANGSTROM,) * 3
    assert widget.settings.voxel_size.value == "25,25,25" and widget.settings.unit.value == "angstrom"
    assert "⚠" not in widget.settings.voxel_note.value
    widget.settings.preset.value = "membrane"
    widget.settings.classes.value = "membrane:semantic"
    plan = widget.new_plan()
    assert plan is not None, messages
    assert plan.image.voxel_size == (ANGSTROM,) * 3 and plan.image.unit == "angstrom"
    assert plan.image.voxel_size_known

    # a header in the wrong unit: typed in nanometres, the plan and the layer follow
    widget.settings.voxel_size.value = "2.5,2.5,2.5"
    widget.settings.unit.value = "nanometer"
    widget.settings.voxel_size.native.editingFinished.emit()
    assert widget.plan.image.voxel_size == (2.5, 2.5, 2.5) and widget.plan.image.unit == "nanometer"
    assert tuple(layer.scale) == (2.5, 2.5, 2.5) and str(layer.units[0]) == "nanometer"
    assert any("2.5" in m and "nanometer" in m for m in messages["info"]), messages


def test_points_clicked_on_the_tomogram_give_160_boxes_and_the_segmentation_seeds_them(
        planner, qtbot, tmp_path, tomogram, messages):
    viewer, widget, layer = planner
    widget.settings.preset.value = "membrane"
    widget.settings.classes.value = "membrane:semantic"
    assert widget.new_plan() is not None, messages
    panel = widget.proposer
    panel.form.source.value = "points"
    assert panel.new_points_button.isVisibleTo(panel)
    points = panel.new_points_layer()
    assert tuple(points.scale) == (ANGSTROM,) * 3 and str(points.units[0]) == "angstrom"
    assert panel.form.points.value is points and points.mode == "add"
    centres = np.array([[88, 90, 100], [90, 150, 120]], float)  # voxels; the second is 6 from the y border
    points.add(centres)  # what clicks add: data coordinates of the layer (its scale is the image's)
    panel.propose_button.click()
    boxes = sorted(widget.plan.boxes, key=lambda b: b.id)
    assert [b.size for b in boxes] == [(160, 160, 160)] * 2 and {b.source for b in boxes} == {"points"}
    assert np.allclose(np.add(boxes[0].lo, boxes[0].hi) / 2, centres[0], atol=1)
    assert boxes[1].hi[1] == SHAPE[1]  # shifted inside
    assert "y border" in messages["warning"][-1]

    folder = tmp_path / "proj"
    widget.save_project(folder)
    qtbot.waitUntil(lambda: not widget.runner.busy, timeout=20000)
    seed = SeedWidget(viewer)
    viewer.window.add_dock_widget(seed, name="Seed weak labels")
    assert Path(seed.project) == folder and seed.form.class_name.value == "membrane"
    seed.form.method.value = "file"
    seed.form.file.value = tomogram[1]
    seed.form.boxes.value = "all"
    seed.apply_button.click()
    qtbot.waitUntil(lambda: not seed.busy, timeout=60000)
    assert messages["error"] == [], messages["error"]
    labels = np.asarray(open_annotations(folder, mode="r")["membrane"])
    inside = np.zeros(SHAPE, bool)
    for b in boxes:
        inside[b.slices((1, 1, 1))] = True
    want = np.zeros(SHAPE, bool)
    want[:, MEMBRANE_Y, :] = True
    np.testing.assert_array_equal(labels > 0, want & inside)


def test_export_offers_every_format_of_the_engine(make_napari_viewer):
    widget = ExportWidget(make_napari_viewer())
    assert tuple(widget.form.formats) == FORMAT_NAMES
