"""The Annotate/QC step's Correct row: Add / Remove / Ignore layers for a class, and their merged views.

"Correct" makes the chosen class's masks in the project (empty) and adds
their layers and the merged view (:mod:`~napari_patchwise.layers.correction_layers`).
The panel keeps one :class:`~napari_patchwise.layers.correction_layers.CorrectedView`
per corrected class of the checked project and has live checks run on the
merged result of those classes.
"""

from __future__ import annotations

from napari.layers import Labels
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from ..engine.plan.annotation_store import open_annotations
from ..engine.plan.plan_file import ProjectError
from ..layers.correction_layers import correction_layer_data, correction_views
from ..layers.project_link import correction_layer_map, tag_image


class CorrectionsPanel(QWidget):
    """A class chooser and a Correct button; the merged views of the dock's project."""

    def __init__(self, viewer, session):
        super().__init__()
        self.viewer = viewer
        self.session = session
        self.project: str | None = None
        self.live = None
        self.views: dict = {}
        self._sig: frozenset = frozenset()
        self.class_combo = QComboBox()
        self.class_combo.setToolTip("The class whose previous segmentation you correct")
        self.correct_button = QPushButton("Correct")
        self.correct_button.setToolTip("Add / Remove / Ignore layers for the class, and its merged view")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("correct:"), self.class_combo, self.correct_button):
            row.addWidget(w)
        self.correct_button.clicked.connect(lambda: self.correct(self.class_combo.currentText()))
        self.setEnabled(False)

    # -- the dock's project --------------------------------------------------
    def attach(self, project: str | None, live) -> None:
        """Follow ``project`` (``None``: none) with live checks ``live``; rebuilds the merged views."""
        self.detach()
        self.project, self.live = project, live
        self.setEnabled(project is not None)
        self.class_combo.clear()
        if project is None:
            return
        plan = self.session.current_plan(project)
        self.class_combo.addItems([c.name for c in plan.classes])
        dims = self.viewer.dims
        self.views = correction_views(self.viewer.layers, project, plan, defer=lambda fn: QTimer.singleShot(0, fn),
                                      view_key=lambda: (tuple(dims.current_step), dims.ndisplay, tuple(dims.order)))
        self._sig = self._signature()
        for name, view in self.views.items():
            view.view.editable = False
            view.updated.connect(lambda region, n=name: self._on_view_updated(n, region))
            if live is not None:
                live.use_corrected(name, view.view)

    def detach(self) -> None:
        """Stop following the views (live checks read the class layers again)."""
        for name, view in self.views.items():
            view.disconnect()
            if self.live is not None and self.live.layers.get(name) in self.viewer.layers:
                self.live.use_corrected(name, None)
        self.views = {}
        self._sig = frozenset()

    def _signature(self) -> frozenset:
        found = correction_layer_map(self.viewer.layers, self.project) if self.project is not None else {}
        return frozenset((n, k, id(lay)) for n, parts in found.items() for k, lay in parts.items())

    def stale(self) -> bool:
        """Whether the viewer's correction layers differ from the ones followed (layers came or went)."""
        return self.project is not None and self._signature() != self._sig

    def merge_all(self) -> None:
        """Merge every view again (the labels were written from outside the viewer: seeds, imports)."""
        for view in self.views.values():
            view.update(None)

    def _on_view_updated(self, name: str, region) -> None:
        if self.live is not None:
            self.live.region_corrected(name, region)

    # -- Correct -------------------------------------------------------------
    def correct(self, class_name: str) -> bool:
        """Make the class's masks (when missing) and show their layers and merged view."""
        if self.project is None or not class_name:
            show_error("No project: open a project folder first.")
            return False
        plan = self.session.current_plan(self.project)
        image = self.session.image_of(self.project)
        try:
            group = open_annotations(self.project, plan, image=image)
            data = correction_layer_data(plan, group, class_name, str(self.project), create=True)
        except (ProjectError, OSError, ValueError) as e:
            show_error(str(e))
            return False
        added = 0
        for layer_data in (tag_image(d, image) for d in data):
            arr, kwargs, _ = layer_data
            if kwargs["name"] in self.viewer.layers and isinstance(self.viewer.layers[kwargs["name"]], Labels):
                continue
            self.viewer.add_labels(arr, **kwargs)
            added += 1
        if added:
            show_info(f"Paint on '{class_name} add', '{class_name} remove' and '{class_name} ignore'; "
                      f"'{class_name} corrected' shows the result.")
        return True
