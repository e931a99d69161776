"""QC dock: live annotation checks, touching pairs, findings per box, Separate, Crop background.

The dock finds the project from its annotation layers (opened by the project
reader or the Box planner), then :class:`~napari_patchwise.layers.live_qc.LiveQC`
checks every stroke. Full rechecks (after undo/redo or a replaced array, and
"Check all boxes") run through the dock's :class:`~.runner.Runner` in worker
threads; the results are applied on the main thread.
"""

from __future__ import annotations

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.project import ProjectError, open_annotations
from ..engine.qc import check_plan_annotations, hidden_arrays
from ..engine.store import hidden_layer
from ..layers.annotation_layers import annotation_transform
from ..layers.box_shapes import METADATA_KEY
from ..layers.contact_overlay import ContactOverlay
from ..layers.live_qc import LiveQC
from ..layers.project_link import annotation_layer_map, annotation_projects
from ..layers.session import session_for
from .narrow import NarrowDock, narrow_combos
from .runner import Runner

RECHECK_DELAY_MS = 400
BOX_CHECK_DELAY_MS = 800
TABLE_DELAY_MS = 150
#: The touching-pairs table lists at most this many pairs.
MAX_PAIR_ROWS = 1000
CONNECTIVITY_CHOICES = (("faces (6)", 1), ("faces + edges (18)", 2), ("faces + edges + corners (26)", 3))


def _table(headers) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _item(value) -> QTableWidgetItem:
    it = QTableWidgetItem(str(value))
    it.setData(Qt.ItemDataRole.UserRole, value)
    return it


class QCWidget(NarrowDock, QWidget):
    """Dock widget: live checks while painting, touching pairs, per-box findings."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.project: str | None = None
        self.live: LiveQC | None = None
        self.overlay: ContactOverlay | None = None
        self._closed = False
        self._pending: set[str] = set()
        self._touched_boxes: set[int] = set()
        self._box_findings: dict[int, list] = {}

        self.project_label = QLabel("No project: open a project folder (or save one in the Box planner).")
        self.project_label.setWordWrap(True)
        self.live_check = QCheckBox("Live checks while painting")
        self.live_check.setChecked(True)
        self.crop_check = QCheckBox("Crop background under objects as I paint")
        self.crop_check.setChecked(True)
        self.connectivity = QComboBox()
        for text, value in CONNECTIVITY_CHOICES:
            self.connectivity.addItem(text, value)
        self.pairs_label = QLabel("Touching pairs: –")
        self.pairs_label.setWordWrap(True)
        self.pairs = _table(["class", "id a", "id b", "contacts"])
        self.separate_sel = QPushButton("Separate selected")
        self.separate_all = QPushButton("Separate all")
        self.crop_button = QPushButton("Crop background now")
        self.check_button = QPushButton("Check all boxes")
        self.done_button = QPushButton("Mark box done")
        self.dense_check = QCheckBox("dense box (annotate every voxel)")
        self.findings = _table(["box", "status", "severity", "code", "message"])
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.debounce, self.box_timer, self.table_timer = (
            self._timer(ms) for ms in (RECHECK_DELAY_MS, BOX_CHECK_DELAY_MS, TABLE_DELAY_MS))

        layout = QVBoxLayout(self)
        layout.addWidget(self.project_label)
        row = QHBoxLayout()
        row.addWidget(QLabel("touching means sharing"))
        row.addWidget(self.connectivity)
        for w in (self.live_check, self.crop_check):
            layout.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(self.pairs_label)
        layout.addWidget(self.pairs, stretch=1)
        for buttons in ((self.separate_sel, self.separate_all, self.crop_button),
                        (self.check_button, self.done_button)):
            row = QHBoxLayout()
            for b in buttons:
                row.addWidget(b)
            layout.addLayout(row)
        layout.addWidget(self.dense_check)
        layout.addWidget(self.findings, stretch=1)
        layout.addWidget(self.progress)
        self.runner = Runner(self, progress=self.progress, session=self.session)
        narrow_combos(self)

        self.live_check.toggled.connect(self._on_live_toggled)
        self.crop_check.toggled.connect(lambda on: setattr(self.live, "crop", on) if self.live else None)
        self.connectivity.currentIndexChanged.connect(lambda *_: self.attach(force=True))
        self.pairs.cellClicked.connect(lambda row, _col: self.jump_to_pair(row))
        self.findings.cellClicked.connect(lambda row, _col: self._on_finding_clicked(row))
        self.separate_sel.clicked.connect(lambda: self.separate(selected_only=True))
        self.separate_all.clicked.connect(lambda: self.separate(selected_only=False))
        self.crop_button.clicked.connect(lambda: self.crop_background())
        self.check_button.clicked.connect(lambda: self.check_boxes())
        self.done_button.clicked.connect(lambda: self.mark_done())
        self.dense_check.clicked.connect(lambda on: self.set_dense(on))
        self.debounce.timeout.connect(self._recheck_pending)
        self.table_timer.timeout.connect(self.refresh_contacts)
        self.box_timer.timeout.connect(lambda: self.check_boxes(sorted(self._touched_boxes), quiet=True))
        self.viewer.layers.events.inserted.connect(self._on_layers_changed)
        self.viewer.layers.events.removed.connect(self._on_layers_changed)
        self.session.annotations_written.connect(self._on_annotations_written)
        self.session.plan_changed.connect(self._on_plan_changed)
        self.destroyed.connect(lambda *_: self._teardown())
        self.attach()

    @property
    def _workers(self) -> list:
        """The checks running in worker threads (rechecks and box checks)."""
        return self.runner.jobs

    def _timer(self, ms: int) -> QTimer:
        timer = QTimer(self, singleShot=True, interval=ms)
        return timer

    # -- project and live checks ---------------------------------------------
    def _on_layers_changed(self, event=None) -> None:
        if event is not None and self.overlay is not None and getattr(event, "value", None) is self.overlay.layer:
            return
        if self.live is not None and any(lay not in self.viewer.layers for lay in self.live.layers.values()):
            self._detach()
        # only a new layer starts checks: while a viewer closes, its layers are removed one
        # by one, and re-attaching to the remaining ones would start workers on a dying viewer
        if self.live is None and getattr(event, "type", "inserted") == "inserted" and not self._closed:
            self.attach()

    def _detach(self) -> None:
        if self.live is not None:
            self.live.disconnect()
            self.live = None
        self.project = None

    def _teardown(self) -> None:
        self._closed = True
        self._detach()
        for emitter in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            emitter.disconnect(self._on_layers_changed)
        self.session.annotations_written.disconnect(self._on_annotations_written)
        self.session.plan_changed.disconnect(self._on_plan_changed)

    def _on_annotations_written(self, project: str) -> None:
        """Seeds or imports were written: recheck everything off the GUI thread."""
        if self.live is None or project != self.project:
            return
        self.live.set_plan(self.session.current_plan(project))
        self._pending.update(self.live.instance_classes)
        self._recheck_pending()
        self.check_boxes(quiet=True)

    def _on_plan_changed(self, plan) -> None:
        """Boxes were moved, resized, added or removed: check those boxes again (statuses alone are not news)."""
        if self.live is None or self._closed:
            return
        old = {b.id: (b.lo, b.hi) for b in self.live.plan.boxes}
        new = {b.id: (b.lo, b.hi) for b in plan.boxes}
        if old == new:
            return
        for box_id in set(old) - set(new):
            self._box_findings.pop(box_id, None)
        self.live.set_plan(plan)
        self._on_boxes_touched([i for i, extent in new.items() if old.get(i) != extent] or list(new))

    def attach(self, force: bool = False) -> bool:
        """Start live checks on the first project found in the viewer's annotation layers."""
        if self.live is not None and not force:
            return True
        self._detach()
        projects = annotation_projects(self.viewer.layers)
        if not projects:
            self.project_label.setText("No project: open a project folder (or save one in the Box planner).")
            return False
        project = projects[0]
        layers = annotation_layer_map(self.viewer.layers, project)
        try:
            plan = self.session.current_plan(project)
            edits = hidden_layer(open_annotations(project, plan), "edits")
        except (ProjectError, OSError) as e:
            show_error(str(e))
            return False
        self.project = project
        self.live = LiveQC(plan, layers, edits=edits, connectivity=self.connectivity.currentData(),
                           crop=self.crop_check.isChecked(), defer=lambda fn: QTimer.singleShot(0, fn))
        self.live.live = self.live_check.isChecked()
        self.live.contacts_changed.connect(self._on_contacts_changed)
        self.live.recheck_needed.connect(self._schedule_recheck)
        self.live.boxes_touched.connect(self._on_boxes_touched)
        self.project_label.setText(f"project: {project}")
        for name in self.live.instance_classes:
            self._pending.add(name)
        self._recheck_pending()
        return True

    def _on_live_toggled(self, on: bool) -> None:
        if self.live is not None:
            self.live.live = on
            if on:  # catch up with strokes painted while live checks were off
                self._pending.update(self.live.instance_classes)
                self._recheck_pending()

    def _schedule_recheck(self, name: str) -> None:
        if not self._closed and self.live is not None and name in self.live.indexes:
            self._pending.add(name)
            self.debounce.start()

    def _recheck_pending(self) -> None:
        live = self.live
        if live is None or self._closed:
            return
        for name in sorted(self._pending):
            since = live.stroke_count(name)
            self.runner.start(lambda progress, n=name: live.compute_index(n), what="QC check", quiet=True,
                              returned=lambda index, n=name, s=since: self._install(live, n, index, s))
        self._pending.clear()

    def _install(self, live, name, index, since) -> None:
        if not self._closed and live is self.live:
            live.install_index(name, index, since)

    # -- contacts --------------------------------------------------------------
    def _on_contacts_changed(self, region=None) -> None:
        """After a stroke: the overlay at once (only around the stroke), the table a moment later."""
        self._draw_overlay(region)
        self.table_timer.start()

    def refresh_contacts(self) -> None:
        """Redraw the touching-pairs table and the overlay layer."""
        live = self.live
        all_rows = live.contacts() if live is not None else []
        rows = all_rows[:MAX_PAIR_ROWS]
        self.pairs.setRowCount(len(rows))
        for r, (name, a, b, n, loc) in enumerate(rows):
            for c, v in enumerate((name, a, b, n)):
                it = _item(v)
                if c == 0:
                    it.setData(Qt.ItemDataRole.UserRole + 1, loc)
                self.pairs.setItem(r, c, it)
        more = f" (first {len(rows)} listed)" if len(all_rows) > len(rows) else ""
        self.pairs_label.setText(
            f"Touching pairs: {len(all_rows)}{more}" + (" — select one to jump there; Separate carves a "
                                              "one-voxel background gap" if rows else " ✓"))

    def _draw_overlay(self, region=None) -> None:
        """Mark contact voxels in the overlay layer (only around ``region`` when given)."""
        live = self.live
        if live is None or self._closed:
            return
        old = self.overlay.layer if self.overlay is not None else None
        if old is not None and old not in self.viewer.layers:
            old = None  # removed by the person: a fresh one when next needed
        if self.overlay is None or self.overlay.live is not live:  # checks (re)started
            self.overlay = ContactOverlay(
                live, metadata={METADATA_KEY: {"role": "contacts", "project": self.project}},
                units=(live.plan.image.unit,) * 3, **annotation_transform(live.plan))
            region = None
        self.overlay.layer = old if old is not None and old.data.shape == self.overlay.shape else None
        if self.overlay.update(None if self.overlay.layer is None else region):
            painting = self.viewer.layers.selection.active
            self.viewer.add_layer(self.overlay.layer)
            if painting is not None and painting in self.viewer.layers:  # the next stroke goes where the
                self.viewer.layers.selection.active = painting  # last one did, not into the markers

    def jump_to_pair(self, row: int) -> None:
        item = self.pairs.item(row, 0)
        if item is None or self.live is None:
            return
        loc = item.data(Qt.ItemDataRole.UserRole + 1)
        tf = annotation_transform(self.live.plan)
        world = [v * s + t for v, s, t in zip(loc, tf["scale"], tf["translate"])]
        axis0 = self.viewer.dims.ndim - 3
        self.viewer.dims.set_point(axis0, world[0])
        self.viewer.scene.camera.center = tuple(world)
        name = item.data(Qt.ItemDataRole.UserRole)
        layer = self.live.layers.get(name)
        if layer is not None:
            layer.selected_label = int(self.pairs.item(row, 1).data(Qt.ItemDataRole.UserRole))

    def separate(self, selected_only: bool = False) -> int:
        """Carve a background gap between the selected (or all) touching pairs."""
        if self.live is None:
            show_warning("No project to separate in.")
            return 0
        by_class: dict[str, list] = {}
        if selected_only:
            for r in sorted({i.row() for i in self.pairs.selectedIndexes()}):
                name = self.pairs.item(r, 0).data(Qt.ItemDataRole.UserRole)
                a = self.pairs.item(r, 1).data(Qt.ItemDataRole.UserRole)
                b = self.pairs.item(r, 2).data(Qt.ItemDataRole.UserRole)
                by_class.setdefault(name, []).append((a, b))
        else:
            for name, a, b, _, _ in self.live.contacts():
                by_class.setdefault(name, []).append((a, b))
        if not by_class:
            show_warning("Select touching pairs in the list first." if selected_only else "No touching pairs.")
            return 0
        carved, skipped = 0, []
        for name, pairs in by_class.items():
            sep = self.live.separate(name, pairs)
            carved += sep.n_voxels
            skipped.extend(sep.skipped)
        msg = f"Separated {sum(len(p) for p in by_class.values()) - len(skipped)} pairs ({carved} voxels became background)."
        if skipped:
            msg += " Left touching: " + "; ".join(f"{a}–{b}: {why}" for a, b, why in skipped)
            show_warning(msg)
        else:
            show_info(msg)
        self.session.annotations_written.emit(self.project)  # contacts, findings and summaries follow
        return carved

    def crop_background(self) -> int:
        if self.live is None:
            show_warning("No project to crop.")
            return 0
        n = self.live.crop_background()
        show_info(f"Cropped {n} background voxels that lay under objects.")
        if n:
            self.session.annotations_written.emit(self.project)
        return n

    # -- per-box findings ------------------------------------------------------
    def _on_boxes_touched(self, ids) -> None:
        self._touched_boxes.update(ids)
        self.box_timer.start()

    def check_boxes(self, box_ids=None, quiet: bool = False) -> None:
        """Check boxes (all by default) in a worker; findings fill the table and colour the boxes."""
        if self.live is None or self._closed:
            if not quiet and not self._closed:
                show_warning("No project to check.")
            return
        self._touched_boxes.clear()
        plan = self.session.current_plan(self.project)
        self.live.set_plan(plan)
        layers = {n: lay.data for n, lay in self.live.layers.items()}
        group = open_annotations(self.project, plan, mode="r")
        hidden, connectivity = hidden_arrays(group), self.connectivity.currentData()

        def work(progress):
            return check_plan_annotations(plan, layers, hidden=hidden, box_ids=box_ids,
                                          connectivity=connectivity, progress=progress)

        self.runner.start(work, what="QC check", quiet=quiet, label="checking boxes: %p%",
                          returned=lambda report, full=box_ids is None: self._show_report(report, full))

    def _show_report(self, report, full: bool) -> None:
        if self._closed or self.project is None:
            return
        if full:
            self._box_findings = {}
        for box_id, q in report.boxes.items():
            self._box_findings[box_id] = (q.status, q.findings)
        plan = report.apply_statuses(self.session.current_plan(self.project))
        self.session.commit_plan(self.project, plan)
        findings = [f for _, fs in self._box_findings.values() for f in fs]
        plan_level = [f for f in report.findings if f.box_id is None] if full else []
        self.session.show_findings(self.project, findings)
        self.findings.setRowCount(0)
        statuses = {b.id: b.status for b in plan.boxes}
        rows = [("plan", "", f.severity, f.code, f.message) for f in plan_level]
        for box_id in sorted(self._box_findings):
            fs = self._box_findings[box_id][1]
            rows += [(box_id, statuses.get(box_id, ""), f.severity, f.code, f.message) for f in fs]
            if not fs:
                rows.append((box_id, statuses.get(box_id, ""), "ok", "", "no findings"))
        self.findings.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, v in enumerate(values):
                self.findings.setItem(r, c, _item(v))

    def _selected_box(self) -> int | None:
        rows = sorted({i.row() for i in self.findings.selectedIndexes()})
        if rows:
            v = self.findings.item(rows[0], 0).data(Qt.ItemDataRole.UserRole)
            return v if isinstance(v, int) else None
        return None

    def _on_finding_clicked(self, row: int) -> None:
        v = self.findings.item(row, 0).data(Qt.ItemDataRole.UserRole)
        if isinstance(v, int) and self.project is not None:
            box = next((b for b in self.session.current_plan(self.project).boxes if b.id == v), None)
            if box is not None:
                self.dense_check.setChecked(box.dense)

    def _edit_box(self, box_id, **changes) -> None:
        plan = self.session.current_plan(self.project)
        self.session.commit_plan(self.project, plan.update_box(box_id, **changes))

    def mark_done(self, box_id: int | None = None) -> None:
        box_id = self._selected_box() if box_id is None else box_id
        if box_id is None or self.project is None:
            show_warning("Select a box's row in the findings table first.")
            return
        self._edit_box(box_id, status="done")
        self.check_boxes([box_id], quiet=True)

    def set_dense(self, on: bool, box_id: int | None = None) -> None:
        box_id = self._selected_box() if box_id is None else box_id
        if box_id is None or self.project is None:
            show_warning("Select a box's row in the findings table first.")
            return
        self._edit_box(box_id, dense=bool(on))
        self.check_boxes([box_id], quiet=True)
