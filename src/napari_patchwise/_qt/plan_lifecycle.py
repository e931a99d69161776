"""The plan's life in the Box planner: a new plan on an image, attached to its layers, settings applied.

A plan lives in a :class:`~napari_patchwise.layers.box_sync.BoxLayerSync`
(its rectangles and 3D wireframes) registered with the viewer's session; a
change of preset, magnification, classes or box size makes a new plan (refits
the boxes to a new magnification and saves it when in a project).
"""

from __future__ import annotations

from napari.layers import Shapes
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QMessageBox

from ..engine.plan import Plan
from ..engine.plan.plan_file import ProjectError
from ..engine.plan.project import save_plan
from ..engine.propose.candidates import box_size_for
from ..layers.box_sync import BoxLayerSync
from .in_turns import add_in_turns, event_loop_running
from ..layers.image_scale import (image_ref_from_layer, place_project_layers, plan_image_layer,
                                  set_layer_voxel_size, view_kept)


class PlanLifecycle:
    """New plan, attach and detach, settings of :class:`.planner_widget.PlannerWidget`.

    Works on the dock's ``viewer``, ``session``, ``sync``, ``project``,
    ``settings``, ``voxel`` control and ``proposer``.
    """

    @property
    def plan(self) -> Plan | None:
        return self.sync.plan if self.sync else None

    def image_layer(self):
        """The image layer of the current plan (None without a plan or when it is not open)."""
        return self._image_for(self.plan) if self.plan is not None else None

    def new_plan(self) -> Plan | None:
        """Start an empty plan on the selected image layer."""
        layer = self.settings.image.value
        if layer is None:
            show_error("Pick a 3D image layer first (open an image or File > Open Sample).")
            return None
        if self.plan is not None and self.plan.boxes and self.project is None:
            if not self._confirm(f"Discard the current unsaved plan with {len(self.plan.boxes)} boxes?"):
                return None
        try:
            image = image_ref_from_layer(layer)
            plan = Plan(
                image,
                preset=self.settings.get_preset(),
                magnification=self.settings.get_magnification(),
                classes=self.settings.get_classes(),
                box_size=self.settings.get_box_size(),
            )
            fit = plan.box_fit()  # refuses an image too thin for the preset's minimum
        except ValueError as e:
            show_error(f"Cannot start a plan on '{layer.name}': {e}")
            return None
        with view_kept(self.viewer, layer):  # the same slice and voxels on screen
            set_layer_voxel_size(layer, image.voxel_size, image.unit, image.voxel_size_known)  # e.g. from its file
        if fit.changed and plan.box_size is None:
            show_info(fit.message[:1].upper() + fit.message[1:])
        self._image_layer = layer
        self.project = None
        self._attach(plan)
        self.images.refresh()
        self.sync.rectangles.mode = "add_rectangle"
        self.viewer.layers.selection.active = self.sync.rectangles
        return plan

    def _attach(self, plan: Plan, rectangles: Shapes | None = None, sync: BoxLayerSync | None = None) -> None:
        """Edit ``plan`` in a new sync (of ``rectangles`` when given), or in ``sync``, made already."""
        self._detach()
        self.sync = sync or BoxLayerSync(plan, rectangles=rectangles)
        self.sync.project = None if self.project is None else str(self.project)
        if rectangles is None:
            self.session.add_layer(self.sync.rectangles)
        if event_loop_running():  # hidden in 2D: the window need not wait for it
            sync = self.sync
            add_in_turns(self.viewer, [sync.wireframes], wanted=lambda viewer: self.sync is sync,
                         add=lambda viewer, layer: self.session.add_layer(layer))
        else:
            self.session.add_layer(self.sync.wireframes)
        self.sync.plan_changed.connect(self._on_plan_changed)
        self.session.attach(self.sync)
        self.sync.follow_dims(self.viewer.dims)  # the displayed slice's rectangles; wireframes in 3D
        self.proposer.new_session()
        self._on_plan_changed(plan)
        self.settings.set_from_plan(plan)
        self.voxel.follow(self._image_for(plan))

    def apply_plan(self, plan: Plan) -> None:
        """Make ``plan`` the plan (saved when in a project) and put the project's layers on its voxel size."""
        if self.sync is None:
            return
        self.sync.set_plan(plan)
        place_project_layers(self.viewer.layers, plan, self.project)
        self.voxel.refresh()

    def _show_border(self) -> None:
        """The ignore-border layer is in the viewer while the plan's preset has a border, else not."""
        sync = self.sync
        if sync is None:
            return
        shown = sync.border in self.viewer.layers
        if sync.has_border and not shown:
            active = self.viewer.layers.selection.active
            self.session.add_layer(sync.border)
            self.viewer.layers.selection.active = active if active is not None else sync.rectangles
        elif not sync.has_border and shown:
            self.viewer.layers.remove(sync.border)

    def _detach(self) -> None:
        self.voxel.stop()
        if self.sync is None:
            return
        sync, self.sync = self.sync, None
        sync.plan_changed.disconnect(self._on_plan_changed)
        sync.disconnect()
        self.session.detach(sync)
        for layer in (sync.rectangles, sync.wireframes, sync.border):
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)

    def _on_settings_changed(self, *_):
        if self.sync is None:
            return
        plan = self.sync.plan
        try:
            new = plan.replace(
                preset=self.settings.get_preset(),
                magnification=self.settings.get_magnification(),
                classes=self.settings.get_classes(),
                box_size=self.settings.get_box_size(),
            )
            if new.box_size is not None:
                box_size_for(new)  # below the preset's minimum: say so now
        except ValueError as e:
            show_warning(str(e))
            return
        if new.magnification != plan.magnification:
            for b in new.boxes:
                lo, hi = new.fit(b.lo, b.hi)
                new = new.update_box(b.id, lo=lo, hi=hi)
        if new == plan:
            return
        if self.project is not None:
            try:
                save_plan(self.project, new, self.session.image_of(self.project))
            except ProjectError as e:
                show_error(str(e))
                self.settings.set_from_plan(plan)
                return
            self._sync_annotation_layers(new)
        self.sync.set_plan(new)

    def _image_for(self, plan: Plan):
        layer = self._image_layer
        if layer is not None and layer in self.viewer.layers:
            return layer
        return plan_image_layer(self.viewer.layers, plan, self.project)

    def _confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, "napari-patchwise", question)
        return answer == QMessageBox.StandardButton.Yes
