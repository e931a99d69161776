"""QC dock: live annotation checks, touching pairs, findings per box, Separate, Crop background.

The dock finds the project from its annotation layers (opened by the project
reader or the Box planner), then :class:`~napari_patchwise.layers.live_qc.LiveQC`
checks every stroke. It is the composite of two panels in tabs:
:class:`~.qc_pairs.PairsPanel` (touching pairs, Separate, Crop background) and
:class:`~.qc_findings.FindingsPanel` (box checks, findings, Mark done, dense).
Full rechecks (after undo/redo or a replaced array, and "Check all boxes") run
through the dock's :class:`~.runner.Runner` in worker threads (:mod:`.qc_rechecks`); the
results are applied on the main thread. After Separate and Crop background the pairs are
listed again at once and every box is rechecked.
"""

from __future__ import annotations

from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QTabWidget, QVBoxLayout, QWidget

from ..engine.plan.plan_file import ProjectError
from ..engine.plan.annotation_store import open_annotations
from ..engine.plan.annotation_store import hidden_layer
from ..layers.contact_overlay import ContactOverlay
from ..layers.live_qc import LiveQC
from ..layers.project_link import annotation_layer_map, annotation_projects
from ..layers.session import session_for
from .narrow import NarrowDock, narrow_combos
from .qc_corrections import CorrectionsPanel
from .qc_findings import FindingsPanel
from .qc_pairs import PairsPanel
from .qc_rechecks import QCRechecks
from .in_turns import TURN_MS
from .runner import Runner

RECHECK_DELAY_MS = 400
BOX_CHECK_DELAY_MS = 800
TABLE_DELAY_MS = 150
CONNECTIVITY_CHOICES = (("faces (6)", 1), ("faces + edges (18)", 2), ("faces + edges + corners (26)", 3))
NO_PROJECT = "No project: open a project folder (or save one in the Plan step)."


class QCWidget(QCRechecks, NarrowDock, QWidget):
    """Dock widget: live checks while painting, touching pairs, per-box findings."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.project: str | None = None
        self.live: LiveQC | None = None
        self.overlay: ContactOverlay | None = None
        self.closed = False
        self._pending: set[str] = set()
        self._touched_boxes: set[int] = set()

        self.project_label = QLabel(NO_PROJECT)
        self.project_label.setWordWrap(True)
        self.live_check = QCheckBox("Live checks")
        self.live_check.setToolTip("Check touching instances after every stroke")
        self.crop_check = QCheckBox("Crop as I paint")
        self.crop_check.setToolTip("Crop background under objects after every stroke")
        for check in (self.live_check, self.crop_check):
            check.setChecked(True)
        self.connectivity = QComboBox()
        self.connectivity.setToolTip("Touching means sharing faces, faces and edges, or also corners")
        for text, value in CONNECTIVITY_CHOICES:
            self.connectivity.addItem(text, value)
        self.pairs_panel = PairsPanel(napari_viewer, lambda: self.live)
        self.corrections = CorrectionsPanel(napari_viewer, self.session)
        self.findings_panel = FindingsPanel(self)
        # the panels' tables and buttons under the names the dock always had
        p, f = self.pairs_panel, self.findings_panel
        self.pairs, self.pairs_label, self.findings = p.table, p.label, f.table
        self.separate_sel, self.separate_all, self.crop_button = p.separate_sel, p.separate_all, p.crop_button
        self.check_button, self.done_button, self.dense_check = f.check_button, f.done_button, f.dense_check
        self.tabs = QTabWidget()
        self.tabs.addTab(self.pairs_panel, "Touching pairs")
        self.tabs.addTab(self.findings_panel, "Findings")
        self.progress = QProgressBar()
        self.debounce, self.box_timer, self.table_timer = (
            QTimer(self, singleShot=True, interval=ms) for ms in (RECHECK_DELAY_MS, BOX_CHECK_DELAY_MS, TABLE_DELAY_MS))
        # the contact overlay made a turn after the checks are installed, shown a turn after that (timers of
        # the dock: gone with it)
        self.overlay_timer, self.add_timer, self.show_timer = (QTimer(self, singleShot=True, interval=TURN_MS)
                                                               for _ in range(3))
        self._overlay_for, self._to_add, self._to_show = None, None, None

        layout = QVBoxLayout(self)
        layout.addWidget(self.project_label)
        for widgets in ((self.live_check, QLabel("touching:"), self.connectivity), (self.crop_check, self.crop_button)):
            row = QHBoxLayout()
            for w in widgets:
                row.addWidget(w)
            layout.addLayout(row)
        layout.addWidget(self.corrections)
        layout.addWidget(self.tabs, stretch=1)
        layout.addWidget(self.progress)
        self.runner = Runner(self, progress=self.progress, session=self.session)
        self.pairs_panel.runner = self.runner
        narrow_combos(self, chars=10)

        self.live_check.toggled.connect(self._on_live_toggled)
        self.crop_check.toggled.connect(lambda on: setattr(self.live, "crop", on) if self.live else None)
        self.connectivity.currentIndexChanged.connect(lambda *_: self.attach(force=True))
        self.pairs_panel.labels_changed.connect(self._on_labels_changed)
        self.pairs_panel.shown.connect(lambda n: self._tab_text(0, f"Touching pairs ({n})"))
        self.findings_panel.shown.connect(lambda n: self._tab_text(1, f"Findings ({n})"))
        self.debounce.timeout.connect(self._recheck_pending)
        self.table_timer.timeout.connect(self.refresh_contacts)
        self.box_timer.timeout.connect(lambda: self.check_boxes(sorted(self._touched_boxes), quiet=True))
        self.overlay_timer.timeout.connect(self._make_overlay)
        self.add_timer.timeout.connect(self._add_overlay)
        self.show_timer.timeout.connect(self._show_overlay)
        self.viewer.layers.events.inserted.connect(self._on_layers_changed)
        self.viewer.layers.events.removed.connect(self._on_layers_changed)
        for emitter in (self.viewer.dims.events.current_step, self.viewer.dims.events.ndisplay):
            emitter.connect(self._on_view_changed)
        self.session.annotations_written.connect(self._on_annotations_written)
        self.session.plan_changed.connect(self._on_plan_changed)
        self.destroyed.connect(lambda *_: self._teardown())
        self.attach()

    def _tab_text(self, index: int, text: str) -> None:
        """Name a tab; the same name again changes nothing (Qt lays out and repaints the tab bar anyway)."""
        if self.tabs.tabText(index) != text:
            self.tabs.setTabText(index, text)

    # -- the panels' widgets and actions, under the names the dock always had ------------
    @property
    def busy(self) -> bool:
        """Whether checks are running (rechecks and box checks)."""
        return bool(self.runner.jobs)

    @property
    def settled(self) -> bool:
        """Nothing left to do: no check running, no stroke waiting to be handled, no timer about to fire
        (a debounced check, the pairs table, the overlay's turns, the findings table)."""
        live = self.live
        timers = (self.table_timer, self.box_timer, self.debounce, self.overlay_timer, self.add_timer,
                  self.show_timer, self.findings_panel.rows_timer)
        return (not self.runner.jobs and not (live is not None and live.strokes_pending)
                and not any(t.isActive() for t in timers))

    def jump_to_pair(self, row: int) -> None:
        self.pairs_panel.jump_to_pair(row)

    def separate(self, selected_only: bool = False) -> int:
        """Carve a background gap between the selected (or all) touching pairs."""
        return self.pairs_panel.separate(selected_only)

    def crop_background(self) -> int:
        return self.pairs_panel.crop_background()

    def check_boxes(self, box_ids=None, quiet: bool = False) -> None:
        """Check boxes (all by default) in a worker; findings fill the table and colour the boxes."""
        self._touched_boxes.difference_update(self._touched_boxes if box_ids is None else box_ids)
        self.findings_panel.check_boxes(box_ids, quiet)

    def mark_done(self, box_id: int | None = None) -> None:
        self.findings_panel.mark_done(box_id)

    def set_dense(self, on: bool, box_id: int | None = None) -> None:
        self.findings_panel.set_dense(on, box_id)

    # -- project and live checks ---------------------------------------------------------
    def _on_layers_changed(self, event=None) -> None:
        if event is not None and self.overlay is not None and getattr(event, "value", None) is self.overlay.layer:
            return
        if self.live is not None and any(lay not in self.viewer.layers for lay in self.live.layers.values()):
            self._detach()
        elif self.live is not None and len(annotation_layer_map(self.viewer.layers, self.project)) > len(self.live.layers):
            self._detach()  # the project's layers arrive one by one (Save project…): check them all
        elif self.live is not None and self.corrections.stale() and not self.closed:
            self.corrections.attach(self.project, self.live)  # correction layers came or went
        # only a new layer starts checks: while a viewer closes, its layers are removed one
        # by one, and re-attaching to the remaining ones would start workers on a dying viewer
        if self.live is None and getattr(event, "type", "inserted") == "inserted" and not self.closed:
            self.attach()

    def _detach(self) -> None:
        self.corrections.detach()
        if self.live is not None:
            self.live.disconnect()
            self.live = None
        self.project = None

    def _teardown(self) -> None:
        self.closed = True
        self._detach()
        for emitter in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            emitter.disconnect(self._on_layers_changed)
        for emitter in (self.viewer.dims.events.current_step, self.viewer.dims.events.ndisplay):
            emitter.disconnect(self._on_view_changed)
        self.session.annotations_written.disconnect(self._on_annotations_written)
        self.session.plan_changed.disconnect(self._on_plan_changed)

    def _on_annotations_written(self, project: str) -> None:
        """Seeds or imports were written: recheck everything off the GUI thread."""
        if self.live is None or project != self.project:
            return
        self.live.set_plan(self.session.current_plan(project))
        self.corrections.merge_all()
        self._pending.update(self.live.instance_classes)
        self._recheck_pending()
        self.check_boxes(quiet=True)

    def _on_plan_changed(self, plan) -> None:
        """Boxes were moved, resized, added or removed: check those boxes again (statuses alone are not news)."""
        if self.live is None or self.closed:
            return
        old = {b.id: (b.lo, b.hi) for b in self.live.plan.boxes}
        new = {b.id: (b.lo, b.hi) for b in plan.boxes}
        if old == new:
            return
        self.findings_panel.forget(set(old) - set(new))
        self.live.set_plan(plan)
        self._on_boxes_touched([i for i, extent in new.items() if old.get(i) != extent] or list(new))

    def attach(self, force: bool = False) -> bool:
        """Start live checks on the first project found in the viewer's annotation layers."""
        if self.live is not None and not force:
            return True
        self._detach()
        projects = annotation_projects(self.viewer.layers)
        if not projects:
            self.project_label.setText(NO_PROJECT)
            self.corrections.attach(None, None)
            return False
        project = projects[0]
        layers = annotation_layer_map(self.viewer.layers, project)
        try:
            plan = self.session.current_plan(project)
            # only the edits array is written through this group: the layers keep the planes they read
            edits = hidden_layer(open_annotations(project, plan, image=self.session.image_of(project),
                                                  keep_planes=True), "edits")
        except (ProjectError, OSError) as e:
            show_error(str(e))
            return False
        self.project = project
        dims = self.viewer.dims
        # the contact indexes are built in a worker (_recheck_pending below): painting goes on meanwhile
        self.live = LiveQC(plan, layers, edits=edits, connectivity=self.connectivity.currentData(),
                           crop=self.crop_check.isChecked(), defer=lambda fn: QTimer.singleShot(0, fn),
                           view_key=lambda: (tuple(dims.current_step), dims.ndisplay, tuple(dims.order)),
                           build_index=False)
        self.live.live = self.live_check.isChecked()
        self.live.contacts_changed.connect(self._on_contacts_changed)
        self.live.recheck_needed.connect(self._schedule_recheck)
        self.live.boxes_touched.connect(self._on_boxes_touched)
        self.project_label.setText(f"project: {project}")
        self.corrections.attach(project, self.live)
        self._pending.update(self.live.instance_classes)
        self._recheck_pending()
        return True

    def _on_labels_changed(self, _what: str) -> None:
        """Separate or Crop background wrote the labels: pairs and findings now, not at the next stroke."""
        self.table_timer.stop()
        self.refresh_contacts(now=True)
        self.box_timer.stop()
        # every step follows (summaries, the plan step's findings); this dock rechecks from there
        self.session.annotations_written.emit(self.project)
