"""Box planner (the Plan step): plan boxes by hand or by proposal, with live validation.

The widget only gathers input and shows results; boxes live in a
:class:`~napari_patchwise.layers.box_sync.BoxLayerSync`, rules, proposals and
files in the engine. The *Propose* tab is :class:`.propose_panel.ProposePanel`;
a plan's life (new, attached, settings) is :class:`.plan_lifecycle.PlanLifecycle`;
saving and opening projects is :class:`.plan_project.PlanProject`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from napari.utils.notifications import show_error
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..engine.plan import Plan
from ..engine.plan.plan_file import ProjectError
from ..engine.plan.project import save_plan
from ..engine.plan.rules import voxel_target_text
from ..layers.box_sync import BoxLayerSync
from ..layers.session import session_for
from .advice_panel import AdvicePanel
from .box_table import QtBoxTable
from .image_list import ImageList
from .narrow import NarrowDock, narrow_combos
from .plan_lifecycle import PlanLifecycle
from .plan_project import PlanProject
from .plan_settings import PlanSettings
from .propose_panel import ProposePanel
from .runner import Runner
from .stratum_legend import StratumLegend
from .voxel_size import VoxelSizeControl


class PlannerWidget(PlanLifecycle, PlanProject, NarrowDock, QWidget):
    """Dock widget: settings, proposals, boxes table, summary, project buttons."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.sync: BoxLayerSync | None = None
        self.project: Path | None = None
        self._autosaved, self._autosaved_plan = None, None  # where and which plan autosave wrote last
        self._image_layer = None

        self.settings = PlanSettings()
        self.voxel = VoxelSizeControl(self)
        self.new_button = QPushButton("New plan on image")
        self.save_button = QPushButton("Save project…")
        self.open_button = QPushButton("Open project…")
        self.table = QtBoxTable()
        self.summary = QLabel("No plan yet: pick a 3D image and press 'New plan on image'.")
        self.summary.setWordWrap(True)
        self.plan_findings = QLabel("")
        self.plan_findings.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.project_label = QLabel("project: not saved")
        self.project_label.setWordWrap(True)

        self.proposer = ProposePanel(self)
        self.images = ImageList(self)
        self.advice = AdvicePanel(self)
        self.legend = StratumLegend()

        buttons = QHBoxLayout()
        for b in (self.new_button, self.save_button, self.open_button):
            buttons.addWidget(b)
        help_text = QLabel("Draw a rectangle (or click) on 'patchwise boxes' to add a box; move or resize "
                           "it on any slice. Click a row to jump to a box.")
        help_text.setToolTip(
            "Draw a rectangle on the 'patchwise boxes' layer to add a box (depth from the box "
            "size, centred on the slice; a click gives a box of the box size). Move or resize it "
            "on any slice; delete it with the layer's delete button. Click a row to jump to a box.")
        help_text.setWordWrap(True)
        plan_tab = QWidget()
        plan_layout = QVBoxLayout(plan_tab)
        plan_layout.addWidget(self.images)  # a project of several images: which one is shown, first in sight
        plan_layout.addWidget(self.settings.native)
        plan_layout.addWidget(self.project_label)
        plan_layout.addWidget(help_text)
        plan_layout.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.addTab(plan_tab, "Plan")
        self.tabs.addTab(self.proposer, "Propose")
        self.tabs.addTab(self.legend, "Colours")
        self.tabs.addTab(self.advice, "Advice")  # a tab: the image list and settings keep their room

        #: The plan's summary, findings and box table with the actions on boxes (the Plan and
        #: Propose steps of the Patchwise dock both show them).
        self.boxes_widgets = (self.summary, self.plan_findings, self.table, self.proposer.actions,
                              self.proposer.details)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addLayout(buttons)  # below the settings' scroll area: always in sight
        layout.addWidget(self.progress)
        for w in self.boxes_widgets:
            layout.addWidget(w, stretch=int(w is self.table))
        self.runner = Runner(self, progress=self.progress, session=self.session)
        narrow_combos(self)

        self.new_button.clicked.connect(lambda: self.new_plan())
        self.save_button.clicked.connect(lambda: self.save_project())
        self.open_button.clicked.connect(lambda: self.open_project())
        self.settings.changed.connect(self._on_settings_changed)
        self.table.box_clicked.connect(self.jump_to_box)
        self.table.selection_changed_ids.connect(self.proposer.show_details)
        self.viewer.layers.events.inserted.connect(self._on_layer_inserted)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        self.reset_choices()
        for layer in list(self.viewer.layers):
            self._adopt_if_boxes(layer)
        self.destroyed.connect(lambda *_: self._teardown())

    def _teardown(self) -> None:
        """The dock was deleted: hand the boxes layer (it stays) to the session, let go of the viewer's events."""
        if self.sync is not None:
            sync, self.sync = self.sync, None
            sync.plan_changed.disconnect(self._on_plan_changed)
            self.session.detach(sync)
            self.session.keep_following(sync)
        self.viewer.layers.events.inserted.disconnect(self._on_layer_inserted)
        self.viewer.layers.events.removed.disconnect(self._on_layer_removed)

    def take_proposer(self) -> ProposePanel:
        """Take the Propose tab out (the Patchwise dock shows it as a step of its own)."""
        self.tabs.removeTab(self.tabs.indexOf(self.proposer))
        return self.proposer

    # -- napari hooks ----------------------------------------------------------
    def reset_choices(self, *_):
        """Called by napari when layers change: refresh the layer choices."""
        self.settings.reset_choices()
        self.voxel.refresh()
        self.proposer.reset_choices()
        if self.advice.isVisible():
            self.advice.reset_choices()

    # -- the plan's table, summary and autosave ----------------------------------
    def _on_plan_changed(self, plan: Plan) -> None:
        self._show_border()  # the ignore-border layer is shown while the preset has a border
        findings = self.sync.findings if self.sync else []
        m = plan.magnification
        self.table.set_boxes(plan.boxes, findings, m)
        self.legend.set_boxes(plan.boxes)
        n_err = sum(f.severity == "error" for f in findings)
        n_warn = sum(f.severity == "warning" for f in findings)
        self.summary.setText(
            f"{len(plan.boxes)} boxes · {voxel_target_text(plan.boxes, plan.image.shape, m)} · "
            f"{n_err} errors · {n_warn} warnings"
        )
        self.plan_findings.setText(
            "\n".join(f"{f.severity}: {f.message}" for f in findings if f.box_id is None)
        )
        if self.project is not None:
            where = (self.project, self.session.image_of(self.project))
            if self._autosaved == where and self._autosaved_plan is plan:
                return  # the same plan again (e.g. only annotation findings changed): saved already
            try:
                save_plan(self.project, plan, where[1])
            except (OSError, ProjectError) as e:
                show_error(f"Autosave to {self.project} failed: {e}")
                return
            self._autosaved, self._autosaved_plan = where, plan

    # -- viewer interaction ----------------------------------------------------
    def jump_to_box(self, box_id: int) -> None:
        """Move the viewer to the centre slice of a box and select its rectangle there.

        Setting the slice redraws the rectangles (the sync follows the viewer's dims),
        so the box's rectangle on that slice exists when it is looked up.
        """
        if self.sync is None:
            return
        box = self.sync.plan.box(box_id)
        vs = self.sync.plan.image.voxel_size
        z = (box.lo[0] + box.hi[0] - 1) // 2
        axis0 = self.viewer.dims.ndim - 3
        self.viewer.dims.set_point(axis0, z * vs[0])
        centre = [((lo + hi - 1) / 2) * v for lo, hi, v in zip(box.lo, box.hi, vs)]
        self.viewer.scene.camera.center = tuple(centre)
        layer = self.sync.rectangles
        feats = layer.features
        hits = np.flatnonzero((feats["box_id"].to_numpy() == box_id) & (feats["z"].to_numpy() == z))
        if hits.size and self.viewer.dims.ndisplay == 2:
            layer.selected_data = {int(hits[0])}

    def _on_layer_inserted(self, event) -> None:
        self._adopt_if_boxes(event.value)
        self.proposer.reset_choices()

    def _on_layer_removed(self, event) -> None:
        if self.sync is not None and event.value is self.sync.rectangles:
            sync, self.sync = self.sync, None
            sync.disconnect()
            self.session.detach(sync)
            for layer in (sync.wireframes, sync.border):
                if layer in self.viewer.layers:
                    self.viewer.layers.remove(layer)
            self.summary.setText("The boxes layer was removed; open the project again to edit it.")

