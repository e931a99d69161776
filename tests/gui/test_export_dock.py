"""The Export dock in a real napari viewer (run under Xvfb): worker, summary, errors, test boxes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise._qt import export_dock as ed_module
from napari_patchwise._qt.export_dock import ExportWidget
from napari_patchwise._qt.planner_widget import PlannerWidget
from napari_patchwise.engine.export.model import MANIFEST_NAME

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(make_napari_viewer, annotated_project, messages):
    """A viewer with the project opened by the reader (image, boxes, annotation layers)."""
    viewer = make_napari_viewer()
    viewer.open(str(annotated_project), plugin="napari-patchwise")
    return viewer


def _dock(viewer):
    widget = ExportWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Export training data")
    return widget


def _export(qtbot, widget, **form):
    for name, value in form.items():
        getattr(widget.form, name).value = value
    widget.export_button.click()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)


def _select(rects, box_ids):
    ids = rects.features["box_id"].to_numpy()
    rects.selected_data = {int(i) for i in np.flatnonzero(np.isin(ids, box_ids))}


def test_dock_is_contributed_by_the_manifest_and_finds_the_project(viewer, annotated_project):
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Export training data")
    widget = dock.export
    assert dock.step == "export" and isinstance(widget, ExportWidget)
    assert Path(widget.project).resolve() == annotated_project.resolve()
    assert str(annotated_project) in widget.project_label.text()
    assert widget.form.chosen_formats() == ("nnunet",)
    assert Path(widget.form.out.value) == Path(widget.project) / "export"
    assert list(widget.form.instance_class.choices) == ["nuclei"]
    form = widget.form

    def shown(w):
        return w.native.isVisibleTo(form.native)

    assert not shown(form.instance_class) and shown(form.dataset_id)  # only for StarDist and Cellpose
    form.formats["stardist"].value = True
    assert shown(form.instance_class) and shown(form.dataset_name)
    form.formats["nnunet"].value = False
    assert shown(form.instance_class) and not shown(form.dataset_id) and not shown(form.dataset_name)


def test_export_runs_in_a_worker_and_reports_what_was_skipped(viewer, tmp_path, qtbot, messages, monkeypatch):
    widget = _dock(viewer)
    threads, steps = [], []
    real = ed_module.run_export

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(ed_module, "run_export", spy)
    widget.progress.valueChanged.connect(lambda done: steps.append((done, widget.progress.maximum())))
    out = tmp_path / "out"
    widget.form.formats["stardist"].value = True
    _export(qtbot, widget, out=out, dataset_name="Blobs", dataset_id=12)

    assert threads and threads[0] is not threading.main_thread()
    assert steps[-1] == (3, 3)
    assert sorted(p.name for p in out.iterdir()) == ["Dataset012_Blobs", "stardist"]
    manifest = json.loads((out / "Dataset012_Blobs" / MANIFEST_NAME).read_text())
    assert [c["box_id"] for c in manifest["cases"]] == [1, 2, 4]
    summary = widget.summary.toPlainText()
    assert f"nnunet: 3 new cases in {out / 'Dataset012_Blobs'}" in summary
    assert "skipped box 3: error findings (touching)" in summary
    assert messages["error"] == []
    assert messages["warning"] == [
        f"Exported 3 boxes as nnunet, stardist into {out}; 1 boxes skipped (the Export step lists them: override one there with a reason)."]
    assert widget.export_button.isEnabled() and not widget.progress.isVisibleTo(widget)
    assert widget.last_report.written["stardist"] == ["box_0001", "box_0002", "box_0004"]

    # again: the cases are there already and stay untouched
    _export(qtbot, widget)
    assert f"nnunet: 0 new cases in {out / 'Dataset012_Blobs'} (3 already there, untouched)" in (
        widget.summary.toPlainText())
    assert messages["warning"][-1].startswith(f"Nothing new to export: the export in {out} holds its 3 boxes")


def test_a_format_added_later_joins_the_same_output_folder(viewer, tmp_path, qtbot, messages):
    widget = _dock(viewer)
    out = tmp_path / "out"
    _export(qtbot, widget, out=out)
    widget.form.formats["stardist"].value = True  # its settings do not change the nnU-Net export's
    _export(qtbot, widget)
    assert messages["error"] == []
    summary = widget.summary.toPlainText()
    assert f"nnunet: 0 new cases in {out / 'Dataset501_Patchwise'} (3 already there, untouched)" in summary
    assert f"stardist: 3 new cases in {out / 'stardist'}" in summary


def test_an_existing_foreign_folder_is_an_error_and_left_alone(viewer, tmp_path, qtbot, messages):
    widget = _dock(viewer)
    foreign = tmp_path / "out" / "Dataset501_Patchwise"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    _export(qtbot, widget, out=tmp_path / "out")
    assert len(messages["error"]) == 1
    assert "holds no napari-patchwise export" in messages["error"][0]
    assert "holds no napari-patchwise export" in widget.summary.toPlainText()
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["Dataset501_Patchwise"]
    assert widget.export_button.isEnabled()

    # asked to overwrite, it replaces the folder
    _export(qtbot, widget, overwrite=True)
    assert (foreign / MANIFEST_NAME).is_file() and not (foreign / "notes.txt").exists()


def test_bad_input_is_refused_before_any_work(viewer, tmp_path, qtbot, messages):
    widget = _dock(viewer)
    for name in ("nnunet", "stardist", "cellpose", "omezarr"):
        widget.form.formats[name].value = False
    widget.export_button.click()
    assert not widget.busy and "tick at least one format" in messages["error"][-1]
    widget.form.formats["nnunet"].value = True
    widget.form.test_boxes.value = "2,x"
    widget.export_button.click()
    assert not widget.busy and "box ids like 3,7" in messages["error"][-1]
    widget.form.test_boxes.value = ""
    widget.form.train.value = 0
    widget.export_button.click()
    assert not widget.busy and "train fraction is 0" in messages["error"][-1]
    assert not (Path(widget.project) / "export").exists()


def test_selected_planner_boxes_become_test_boxes(viewer, tmp_path, qtbot, messages):
    planner = PlannerWidget(viewer)
    viewer.window.add_dock_widget(planner, name="Box planner")
    widget = _dock(viewer)
    assert widget.use_selected_boxes() == []
    assert "No box is selected" in messages["warning"][-1]

    _select(planner.sync.rectangles, [2, 4])
    widget.form.use_selected.native.click()
    assert widget.form.test_boxes.value == "2,4"
    _export(qtbot, widget, out=tmp_path / "out")
    assert messages["error"] == []
    cases = json.loads((tmp_path / "out" / "Dataset501_Patchwise" / MANIFEST_NAME).read_text())["cases"]
    assert {c["box_id"]: c["split"] for c in cases}[2] == "test"
    assert {c["box_id"]: c["split"] for c in cases}[4] == "test"


def test_without_the_planner_the_readers_boxes_layer_gives_the_selection(viewer, messages):
    widget = _dock(viewer)
    (rects,) = [lay for lay in viewer.layers if lay.name == "patchwise boxes"]
    _select(rects, [1])
    assert widget.use_selected_boxes() == [1]
    assert widget.form.test_boxes.value == "1"


def test_without_a_project_export_says_so(make_napari_viewer, messages):
    widget = _dock(make_napari_viewer())
    assert widget.project is None and "No project" in widget.project_label.text()
    widget.export_button.click()
    assert not widget.busy and "no project" in messages["error"][-1]


def test_closing_the_viewer_during_an_export_is_quiet(make_napari_viewer, annotated_project, tmp_path, qtbot,
                                                      messages):
    viewer = make_napari_viewer()
    viewer.open(str(annotated_project), plugin="napari-patchwise")
    widget = _dock(viewer)
    widget.form.out.value = tmp_path / "out"
    widget.export_button.click()
    assert widget.busy
    viewer.close()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert messages["error"] == []
