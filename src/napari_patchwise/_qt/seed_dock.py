"""Seed dock: weak labels in chosen boxes, previewed, then written into the project.

Methods: thresholding (Otsu, Li, Yen, triangle, local, manual), an import (a
label image, Cellpose ``_seg.npy`` / ``_masks.tif``, a probability map such
as ilastik's, or a Labels layer already in the viewer), or Cellpose run in
each box when it is installed. The work runs in a worker thread with a
progress bar; voxels a person edited are kept unless "overwrite my edits" is
ticked. The preview is :mod:`.seed_preview`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from ..engine.io.channels import read_measured
from ..engine.jobs.seed import SeedRequest, run_seed
from ..engine.plan.plan_file import ProjectError
from ..engine.plan.project import resolve_image_path
from ..engine.plan.box_arrays import choose_boxes
from ..engine.seed.thresholds import THRESHOLD_METHODS
from ..layers.project_link import annotation_layer_map, annotation_projects, selected_project_box_ids
from ..layers.session import session_for
from ..layers.stroke_hold import planes_to_read_ahead
from .propose_form import layer_array
from .in_turns import call_in_turns
from .narrow import NarrowDock, narrow_combos
from .runner import Runner
from .seed_form import SeedForm
from .seed_preview import PREVIEW_NAME, SeedPreview


class SeedWidget(SeedPreview, NarrowDock, QWidget):
    """Dock widget: seed weak labels into the project's boxes."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.form = SeedForm()
        self.project: str | None = None
        self.last_report = None
        self.project_label = QLabel("")
        self.project_label.setWordWrap(True)
        self.preview_button = QPushButton("Preview (first chosen box)")
        self.apply_button = QPushButton("Apply")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.project_label)
        layout.addWidget(self.form.native)
        row = QHBoxLayout()
        row.addWidget(self.preview_button)
        row.addWidget(self.apply_button)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)
        layout.addStretch(1)
        self.runner = Runner(self, progress=self.progress, controls=(self.apply_button, self.preview_button,
                                                                            self.form.estimate.native),
                             session=self.session)
        self.preview_button.clicked.connect(lambda: self.preview())
        self.form.estimate.changed.connect(lambda *_: self.preview(diameter_only=True))
        self.apply_button.clicked.connect(lambda: self.apply())
        self.viewer.layers.events.inserted.connect(self.reset_choices)
        self.viewer.layers.events.removed.connect(self.reset_choices)
        self.reset_choices()
        narrow_combos(self)

    @property
    def busy(self) -> bool:
        """Seeding or a preview is running."""
        return self.runner.busy

    # -- inputs (read in the GUI thread) -------------------------------------------
    def reset_choices(self, *_):
        projects = annotation_projects(self.viewer.layers)
        self.project = projects[0] if projects else None
        if self.project is None:
            self.project_label.setText("No project: open a project folder (or save one in the Plan step).")
            self.form.class_name.choices = []
        else:
            self.project_label.setText(f"project: {self.project}")
            try:
                plan = self.session.current_plan(self.project)
                self.form.class_name.choices = [c.name for c in plan.classes]
            except ProjectError as e:
                show_error(str(e))
        own = set(annotation_layer_map(self.viewer.layers, self.project).values()) if self.project else set()
        self.form.layer.choices = [(lay.name, lay) for lay in self.viewer.layers
                                   if isinstance(lay, Labels) and lay not in own and lay.name != PREVIEW_NAME]

    def _selected_ids(self) -> list[int]:
        """Boxes whose rectangles are selected: through the planner, else in the reader's boxes layer."""
        return selected_project_box_ids(self.session, self.viewer.layers, self.project)

    def _plan_and_boxes(self):
        if self.project is None:
            raise ValueError("no project: open a project folder first (its annotation layers are needed).")
        plan = self.session.current_plan(self.project)
        if self.form.class_name.value not in [c.name for c in plan.classes]:
            raise ValueError("choose the class to seed (the plan's classes are listed under 'class').")
        choice = self.form.boxes.value
        if choice == "selected":
            ids = self._selected_ids()
            if not ids:
                raise ValueError("no box is selected: select box rectangles (or choose 'all boxes').")
        elif choice == "todo":
            ids = [b.id for b in plan.boxes if b.status == "todo"]
            if not ids:
                raise ValueError("no box is still to do; choose 'all boxes' to seed again.")
        else:
            ids = None
        return plan, [b.id for b in choose_boxes(plan, ids)]

    def _image(self, plan):
        layer = next((lay for lay in self.viewer.layers if isinstance(lay, Image) and lay.name == plan.image.name), None)
        if layer is not None and tuple(layer_array(layer).shape) == plan.image.shape:
            return layer_array(layer)
        path = resolve_image_path(self.project, plan)
        if path is None or not path.exists():
            raise ValueError(f"the project's image is neither open (a layer named {plan.image.name!r}) nor at {path}.")
        return read_measured(path, plan.image)

    def _import_request(self, common: dict) -> SeedRequest:
        """The import's request; its inputs are checked now."""
        m = self.form.method.value
        if m == "layer":
            layer = self.form.layer.value
            if layer is None:
                raise ValueError("choose a Labels layer to import (e.g. the output of another plugin).")
            return SeedRequest(method="labels", labels=layer_array(layer), label="layer import", **common)
        path = self.form.file.value
        if path is None or str(path) in ("", "."):
            raise ValueError("choose a file to import in 'file'.")
        path = Path(path)
        if not path.exists():
            raise ValueError(f"the file {path} does not exist; choose an existing file to import.")
        if m == "file":
            return SeedRequest(method="labels", source=path, label="file import", **common)
        channel = None if self.form.channel.value < 0 else self.form.channel.value
        return SeedRequest(method="probability", source=path, channel=channel, threshold=self.form.threshold.value,
                           min_size=self.form.min_size.value, **common)

    def _work(self, plan, ids):
        """The seeding job for the worker thread, with every input read from the form now."""
        m = self.form.method.value
        common = {"project": self.project, "plan": plan, "image_name": self.session.image_of(self.project),
                  "class_name": self.form.class_name.value,
                  "box_ids": ids, "overwrite_edits": self.form.overwrite.value}
        if m in THRESHOLD_METHODS:
            request = SeedRequest(method=m, image=self._image(plan), params=self.form.params(),
                                  per_box_threshold=self.form.per_box.value, **common)
        elif m == "cellpose":
            request = SeedRequest(method="cellpose", diameter=self.form.diameter.value or None, **common)
            request = replace(request, image=self._image(plan))
        else:
            request = self._import_request(common)
        ahead = []
        if self.viewer.dims.ndisplay == 2 and self.viewer.dims.not_displayed == (0,):
            layers = annotation_layer_map(self.viewer.layers, self.project).values()
            ahead = planes_to_read_ahead(layers, self.viewer.dims.point)

        def work(progress):
            result = run_seed(request, progress=progress)
            for buffer, z in ahead:  # the planes the layers' refresh reads next: decoded here, not in the window
                buffer.read_ahead(z)
            return result

        return work

    # -- actions -------------------------------------------------------------------
    def apply(self) -> None:
        """Seed the chosen boxes in a worker; the layers refresh when it is done."""
        if self.busy:
            show_warning("Seeding or a preview is already running; wait for it to finish.")
            return
        try:
            plan, ids = self._plan_and_boxes()
            work = self._work(plan, ids)
        except (ValueError, ProjectError) as e:
            show_error(str(e))
            return
        self._run(work, self.project)

    def _run(self, work, project) -> None:
        """Seeding in the dock's runner; statuses and layers follow on the main thread."""
        self.runner.start(work, what="Seeding", returned=lambda result: self._finish(project, *result),
                          label="seeding: %p%")

    def _finish(self, project, seeded_plan, report) -> None:
        """Statuses into the project's current plan (the planner may have changed it), layers refreshed."""
        self.last_report = report
        status = {b.id: b.status for b in seeded_plan.boxes if b.id in report.boxes}
        try:
            plan = self.session.current_plan(project)
            for b in plan.boxes:
                if b.id in status and b.status != status[b.id]:
                    plan = plan.update_box(b.id, status=status[b.id])
            self.session.commit_plan(project, plan)
        except (OSError, ProjectError) as e:
            show_error(f"The labels were written, but the box statuses were not saved: {e}")
        layers = annotation_layer_map(self.viewer.layers, project)
        # each layer reads its slice again in a turn of its own, the first after the window has
        # redrawn the boxes the statuses restyled: the window answers in between
        viewer = self.viewer
        call_in_turns([lambda: None] + [lambda layer=layer: layer.refresh() if layer in viewer.layers else None
                                        for layer in layers.values()])
        if PREVIEW_NAME in self.viewer.layers:  # the preview is written now, or outdated
            self.viewer.layers.remove(self.viewer.layers[PREVIEW_NAME])
            if self.viewer.layers.selection.active is None and report.class_name in layers:
                # the preview was selected: the seeded labels are what one paints next
                self.viewer.layers.selection.active = layers[report.class_name]
        if report.params is not None:
            self.form.show_used(report.params)
        self.session.annotations_written.emit(project)
        self.result.setText(report.summary())
        (show_info if report.boxes else show_warning)(report.summary())
