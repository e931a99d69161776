"""The Box planner's project side: adopt a project's boxes layer, save, open, keep annotation layers.

A mixin of :class:`.planner_widget.PlannerWidget` (it uses the planner's
viewer, session, sync, runner and labels); the files are the engine's
(:mod:`napari_patchwise.engine.plan.project`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from napari.layers import Labels, Shapes
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import QFileDialog

from ..engine.io import write_tiff
from ..engine.plan import Plan
from ..engine.plan.plan_file import is_project
from ..engine.plan.project import ProjectError, create_project, load_plan, open_annotations, save_plan
from ..layers.annotation_layers import annotation_layer_data
from ..layers.box_sync import METADATA_KEY
from ..layers.project_link import tag_image

IMAGE_FILE = "image.tif"


class PlanProject:
    """Project folders for the Box planner: the boxes layer the reader opened, Save and Open."""

    def _adopt_if_boxes(self, layer) -> None:
        """Take over a boxes layer opened by the project reader."""
        meta = (layer.metadata or {}).get(METADATA_KEY, {})
        if not isinstance(layer, Shapes) or meta.get("role") != "boxes" or not meta.get("project"):
            return
        if self.sync is not None and self.sync.rectangles is layer:
            return
        if isinstance(meta.get("image"), str):  # one image of several: the one the docks follow now
            self.session.show_image(meta["project"], meta["image"])
        try:
            self.session.hold(meta["project"])  # held already when the reader opened it
            plan = load_plan(meta["project"], self.session.image_of(meta["project"]))
        except ProjectError as e:
            show_error(str(e))
            return
        # the sync that kept it on the displayed slice (validated and drawn already) edits it from now on
        sync = self.session.take_follower(layer)
        if sync is not None and sync.plan != plan:
            sync.set_plan(plan)
        self.project = Path(meta["project"])
        self.project_label.setText(f"project: {self.project} (saved on every change)")
        self._image_layer = None  # found by the plan's image name (see _image_for)
        self._attach(plan, rectangles=layer, sync=sync)
        self.images.refresh()

    # -- projects --------------------------------------------------------------
    def save_project(self, folder: str | os.PathLike | None = None) -> None:
        """Save the plan into a project folder; later changes are saved automatically.

        An in-memory image (e.g. sample data) is written into the folder as
        ``image.tif`` so the project can be reopened anywhere.
        """
        if self.sync is None:
            show_error("Nothing to save: start a plan first.")
            return
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Choose an empty folder for the project")
            if not folder:
                return
        folder = Path(folder)
        plan = self.sync.plan
        if self.project is not None and folder.resolve() == self.project.resolve():
            save_plan(folder, plan, self.session.image_of(folder))
            show_info(f"Saved {folder}")
            return
        image_layer = self._image_for(plan)
        write_image = plan.image.path is None and image_layer is not None
        if write_image:
            plan = plan.replace(image=dataclasses.replace(plan.image, path=IMAGE_FILE))
        try:
            create_project(folder, plan)
            self.session.hold(folder)  # while its layers are open: no command changes it
        except (ProjectError, OSError) as e:
            show_error(str(e))
            return
        self.project = folder
        self.sync.plan = plan
        self.sync.project = str(folder)
        rects = self.sync.rectangles  # a boxes layer of the project: its lock lasts while it is open
        rects.metadata = {**rects.metadata, METADATA_KEY: {**rects.metadata.get(METADATA_KEY, {}),
                                                           "project": os.path.abspath(folder)}}
        self.project_label.setText(f"project: {folder} (saved on every change)")
        self._sync_annotation_layers(plan)
        self.images.refresh()
        if write_image:
            self._write_image(folder / IMAGE_FILE, image_layer.data, plan.image)
        else:
            show_info(f"Saved project {folder}")

    def _write_image(self, path: Path, data, image) -> None:
        """Write the image of a new project in the dock's runner (the plan is saved already)."""

        def work(progress):
            write_tiff(path, data, image.voxel_size if image.voxel_size_known else None, image.unit)
            return path

        self.runner.start(work, what="Writing the image", label="writing the image…",
                          returned=lambda p: show_info(f"Saved project with its image {p}"))

    def open_project(self, folder: str | os.PathLike | None = None) -> None:
        """Open a project folder: image, boxes and annotation layers."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Open a patchwise project folder")
            if not folder:
                return
        if not is_project(folder):
            try:
                load_plan(folder)  # raises with the precise reason
            except ProjectError as e:
                show_error(str(e))
            return
        self.viewer.open(os.fspath(folder), plugin="napari-patchwise")

    def _sync_annotation_layers(self, plan: Plan) -> None:
        """Add (or replace when reshaped) the Labels layers of the project's annotation arrays."""
        image = self.session.image_of(self.project)
        group = open_annotations(self.project, plan, image=image)
        active = self.viewer.layers.selection.active  # stays selected (e.g. boxes, in add-rectangle mode)
        for data, kwargs, _ in (tag_image(d, image) for d in annotation_layer_data(plan, group, project=str(self.project))):
            name = kwargs["name"]
            old = self.viewer.layers[name] if name in self.viewer.layers else None
            if isinstance(old, Labels) and tuple(old.data.shape) == tuple(data.shape):
                continue
            if old is not None:
                self.viewer.layers.remove(old)
            self.viewer.add_labels(data, **kwargs)
        if active is not None and active in self.viewer.layers:
            self.viewer.layers.selection.active = active
