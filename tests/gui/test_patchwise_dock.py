"""The one Patchwise dock in a real viewer on a 1280×800 screen: steps, fit, refresh, overrides."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qtpy.QtCore import QPoint, QRect
from qtpy.QtWidgets import QApplication, QDockWidget, QTabWidget

from napari_patchwise._qt.patchwise_dock import MIN_TABLE_ROWS, STEPS, PatchwiseDock
from napari_patchwise.engine.export.model import MANIFEST_NAME
from napari_patchwise.layers.session import session_for

pytestmark = pytest.mark.gui

SCREEN = (1280, 800)


def _idle(qtbot, viewer, timeout=30000):
    """Wait until no dock of the viewer has a job running (the session's busy/idle state)."""
    session = session_for(viewer)
    qtbot.waitUntil(lambda: not session.working, timeout=timeout)


def _settled(qtbot, viewer, dock, timeout=30000):
    """`_idle`, then the Annotate/QC step settled: its findings table fills a turn after the boxes' colours."""
    _idle(qtbot, viewer, timeout)
    qtbot.waitUntil(lambda: dock.qc.settled, timeout=timeout)


@pytest.fixture
def opened(make_napari_viewer, annotated_project, messages, qtbot):
    """A shown viewer at 1280×800 with the annotated project and the Patchwise dock."""
    viewer = make_napari_viewer(show=True)
    viewer.open(str(annotated_project), plugin="napari-patchwise")
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    viewer.window.set_geometry(0, 0, *SCREEN)
    _idle(qtbot, viewer)
    return viewer, dock, annotated_project


def test_the_manifest_widgets_open_one_dock_at_their_step(make_napari_viewer, messages):
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    assert isinstance(dock, PatchwiseDock)
    assert [dock.tabs.tabText(i) for i in range(dock.tabs.count())] == ["Plan", "Propose", "Seed",
                                                                        "Annotate/QC", "Export", "Evaluate"]
    assert dock.step == "plan"
    for name, step in (("Seed weak labels", "seed"), ("Annotation QC", "qc"), ("Export training data", "export"),
                       ("Box planner", "plan")):
        _, widget = viewer.window.add_plugin_dock_widget("napari-patchwise", name)
        assert widget is dock and dock.step == step
        docked = [w for w in viewer.window.dock_widgets.values() if isinstance(w, PatchwiseDock)]
        assert docked == [dock]  # moved under the new name, never a second one
    assert dock.show_step("qc") is dock.qc
    with pytest.raises(ValueError, match="no step 'paint'"):
        dock.show_step("paint")


def _visible_height(widget, dock) -> int:
    """How many pixels of ``widget`` are on screen inside the dock (scrolled away parts do not count)."""
    rect = QRect(widget.mapTo(dock, QPoint(0, 0)), widget.size())
    shown = rect.intersected(dock.rect())
    for parent in _ancestors(widget, dock):  # each scroll area clips to its viewport
        if hasattr(parent, "viewport") and parent is not widget:
            view = parent.viewport()
            shown = shown.intersected(QRect(view.mapTo(dock, QPoint(0, 0)), view.size()))
    return max(0, shown.height())


def _ancestors(widget, stop):
    w = widget.parentWidget()
    while w is not None and w is not stop:
        yield w
        w = w.parentWidget()


def test_the_dock_and_the_layer_list_fit_a_1280x800_screen(opened, qtbot):
    viewer, dock, _ = opened
    window = dock.window()
    screen = QApplication.primaryScreen().availableGeometry()
    assert (screen.width(), screen.height()) == SCREEN
    tables = dock.key_tables()
    step_tables = {"plan": ["boxes"], "propose": ["boxes"], "qc": ["touching pairs", "findings"],
                   "export": ["skipped boxes"], "seed": [], "evaluate": ["evaluated boxes"]}
    for step, _ in STEPS:
        page = dock.show_step(step)
        qtbot.waitUntil(lambda p=page: p.isVisible() and p.width() > 0)
        QApplication.processEvents()
        frame = window.frameGeometry()
        assert frame.width() <= SCREEN[0] and frame.height() <= SCREEN[1], (step, frame)
        assert window.minimumSizeHint().height() <= SCREEN[1] and window.minimumSizeHint().width() <= SCREEN[0]
        dock_rect = QRect(dock.mapTo(window, QPoint(0, 0)), dock.size())
        assert window.rect().contains(dock_rect), (step, dock_rect)
        # nothing cut off sideways: the step is as wide as it needs, no sideways scrolling
        area = dock.tabs.currentWidget()
        assert not area.horizontalScrollBar().isVisible(), step
        assert page.width() >= page.minimumSizeHint().width(), step
        if step == "plan":  # its actions stay in sight however long the settings form is
            for button in (dock.planner.new_button, dock.planner.save_button, dock.planner.open_button):
                assert _visible_height(button, dock) == button.height() > 0, button.text()
        for name in step_tables[step]:
            table = tables[name]
            _bring_forward(table)
            qtbot.waitUntil(table.isVisible)
            QApplication.processEvents()
            rows = table.verticalHeader().defaultSectionSize()
            header = table.horizontalHeader().height()
            assert table.isVisible() and table.viewport().height() >= MIN_TABLE_ROWS * rows, (step, name)
            assert _visible_height(table, dock) >= header + MIN_TABLE_ROWS * rows, (step, name)
    # napari's layer list and layer controls are there beside the dock, whole, on screen
    napari_docks = {d.objectName(): d for d in window.findChildren(QDockWidget)}
    for name in ("layer list", "layer controls"):
        side = napari_docks[name]
        rect = QRect(side.mapTo(window, QPoint(0, 0)), side.size())
        assert side.isVisible() and window.rect().contains(rect) and not rect.intersects(dock_rect), name


def _bring_forward(widget) -> None:
    """Show the tab holding ``widget`` in every tab widget above it (a step may have its own tabs)."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QTabWidget):
            for i in range(parent.count()):
                page = parent.widget(i)
                if page is widget or page.isAncestorOf(widget):
                    parent.setCurrentIndex(i)
        parent = parent.parentWidget()


def _shot(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB32)
    ptr = image.constBits()
    ptr.setsize(image.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)[:, :image.width(), :3]


def _rows_drawn(table) -> int:
    """Rows of the table whose cells are drawn with text (not the empty viewport colour)."""
    pixels = _shot(table.viewport())
    empty = np.median(pixels.reshape(-1, 3), axis=0)
    height = table.verticalHeader().defaultSectionSize()
    drawn = 0
    for row in range(table.rowCount()):
        band = pixels[row * height:(row + 1) * height]
        if band.size and np.abs(band.astype(int) - empty).sum(axis=2).max() > 60:
            drawn += 1
    return drawn


def test_screenshots_of_each_step_show_its_content(opened, qtbot, tmp_path):
    viewer, dock, project = opened
    # Plan: one row per box, each drawn
    dock.show_step("plan")
    qtbot.waitUntil(lambda: dock.planner.table.isVisible())
    assert dock.planner.table.rowCount() == 4
    qtbot.waitUntil(lambda: _rows_drawn(dock.planner.table) == 4)
    # Propose: the box table came along, under the propose form
    dock.show_step("propose")
    qtbot.waitUntil(lambda: dock.planner.table.isVisible())
    assert dock.boxes_area.parentWidget() is not dock.planner
    assert _rows_drawn(dock.planner.table) == 4 and dock.proposer.propose_button.isVisible()
    # Seed: the form and its buttons, drawn (not blank)
    dock.show_step("seed")
    qtbot.waitUntil(lambda: dock.seed.apply_button.isVisible())
    seed = _shot(dock.seed)
    assert seed.reshape(-1, 3).std(axis=0).max() > 10
    # Annotate/QC: the touching pair of box 3, and the findings after a check
    dock.show_step("qc")
    qtbot.waitUntil(lambda: dock.qc.pairs.rowCount() == 1, timeout=10000)
    dock.qc.check_boxes()
    _settled(qtbot, viewer, dock)
    qtbot.waitUntil(lambda: _rows_drawn(dock.qc.pairs) == 1)
    assert dock.qc.findings.rowCount() >= 4  # a row or more per box
    qtbot.waitUntil(lambda: _rows_drawn(dock.qc.findings) >= min(dock.qc.findings.rowCount(), MIN_TABLE_ROWS))
    # Export: the skipped box listed after an export
    dock.show_step("export")
    dock.export.form.out.value = tmp_path / "out"
    dock.export.export_button.click()
    _idle(qtbot, viewer, 60000)
    assert dock.export.skipped.table.rowCount() == 1
    qtbot.waitUntil(lambda: _rows_drawn(dock.export.skipped.table) == 1)


def test_each_viewer_has_its_own_session(make_napari_viewer, annotated_project, messages, qtbot):
    first = make_napari_viewer()
    first.open(str(annotated_project), plugin="napari-patchwise")  # (the reader locks for the current viewer)
    second = make_napari_viewer()
    _, dock = first.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    _, other = second.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    a, b = session_for(first), session_for(second)
    assert a is not b and a is dock.session and b is other.session and other is not dock
    assert a.holds(annotated_project) and not b.holds(annotated_project)
    assert a.sync_for(annotated_project) is dock.planner.sync
    assert b.sync_for(annotated_project) is None and other.planner.sync is None
    seen_a, seen_b = [], []
    a.plan_changed.connect(seen_a.append)
    b.plan_changed.connect(seen_b.append)
    box = dock.planner.plan.boxes[0]
    dock.planner.apply_plan(dock.planner.plan.update_box(box.id, status="done"))
    assert len(seen_a) == 1 and seen_b == []
    assert a.current_plan(annotated_project).box(box.id).status == "done"
    _idle(qtbot, first)
    _idle(qtbot, second)


def _errors(dock) -> int:
    return sum(f.severity == "error" for f in dock.planner.sync.findings)


def _finding_codes(dock) -> set:
    qc = dock.qc.findings
    return {qc.item(r, 3).text() for r in range(qc.rowCount())}


def _box_rows(dock, box_id) -> list:
    qc = dock.qc.findings
    return [tuple(qc.item(r, c).text() for c in range(qc.columnCount())) for r in range(qc.rowCount())
            if qc.item(r, 0).text() == str(box_id)]


def test_findings_and_summary_refresh_after_separate_and_box_edits(opened, qtbot):
    viewer, dock, project = opened
    dock.show_step("qc")
    qtbot.waitUntil(lambda: dock.qc.pairs.rowCount() == 1, timeout=10000)
    dock.qc.check_boxes()
    _settled(qtbot, viewer, dock)
    assert "touching" in _finding_codes(dock) and _errors(dock) == 1
    assert "1 errors" in dock.planner.summary.text()
    dock.qc.separate(selected_only=False)
    # no stroke: the findings, the box colours and the plan summary follow the separation
    qtbot.waitUntil(lambda: "touching" not in _finding_codes(dock), timeout=20000)
    _settled(qtbot, viewer, dock)
    assert _errors(dock) == 0 and "0 errors" in dock.planner.summary.text()
    assert dock.qc.pairs.rowCount() == 0
    # a box edit (dense box 2 moved half onto unpainted voxels) is checked again on its own
    dock.qc.set_dense(True, box_id=2)
    _settled(qtbot, viewer, dock)
    assert "2048 voxels of this dense box are unannotated" in str(_box_rows(dock, 2))
    plan = dock.planner.plan
    dock.planner.apply_plan(plan.update_box(2, lo=(0, 0, 32), hi=(16, 32, 64)))
    qtbot.waitUntil(lambda: "9216 voxels of this dense box are unannotated" in str(_box_rows(dock, 2)),
                    timeout=20000)  # no stroke, no "Check all boxes"
    _settled(qtbot, viewer, dock)


def test_export_overrides_a_skipped_box_with_a_reason(opened, qtbot, tmp_path, messages):
    viewer, dock, project = opened
    export = dock.show_step("export")
    out = tmp_path / "out"
    export.form.out.value = out
    export.export_button.click()
    _idle(qtbot, viewer, 60000)
    skipped = export.skipped
    assert [i for i, _ in skipped.skipped] == [3] and "touching" in skipped.skipped[0][1]
    assert skipped.override() == [] and "Select skipped boxes" in messages["warning"][-1]
    skipped.select([3])
    assert skipped.override() == [] and "Type why" in messages["warning"][-1]  # a reason is needed
    skipped.reason.setText("the two nuclei touch in the sample too")
    skipped.override_button.click()
    assert skipped.overrides == {3: "the two nuclei touch in the sample too"}
    assert skipped.table.item(0, 1).text() == "the two nuclei touch in the sample too"
    export.export_button.click()
    _idle(qtbot, viewer, 60000)
    manifest = json.loads((out / "Dataset501_Patchwise" / MANIFEST_NAME).read_text())
    cases = {c["box_id"]: c for c in manifest["cases"]}
    assert sorted(cases) == [1, 2, 3, 4]
    assert cases[3]["override"] == "the two nuclei touch in the sample too"
    assert cases[1]["override"] is None
    assert export.last_report.skipped == []
    assert "exported despite its errors: the two nuclei touch in the sample too" in export.summary.toPlainText()


def test_the_qc_step_checks_every_layer_of_a_project_saved_with_the_dock_open(
        make_napari_viewer, small_volume, messages, qtbot, tmp_path):
    """Save project… adds the project's layers one by one while the Annotate/QC step listens: its live
    checks must hold all of them (with the first alone, a seeded box had 'no background')."""
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-patchwise", "Patchwise")
    layer = viewer.add_image(small_volume, name="blobs")
    dock.planner.settings.image.value = layer
    plan = dock.planner.new_plan()
    dock.planner.apply_plan(plan.add_boxes([((0, 0, 0), (32, 64, 64))]))
    dock.planner.save_project(tmp_path / "project")
    _idle(qtbot, viewer)
    qtbot.waitUntil(lambda: dock.qc.live is not None)
    names = {lay.name for lay in viewer.layers}
    assert {"nuclei labels", "background", "ignore"} <= names
    assert set(dock.qc.live.layers) == {"nuclei", "background", "ignore"}
    assert all(lay in viewer.layers for lay in dock.qc.live.layers.values())
