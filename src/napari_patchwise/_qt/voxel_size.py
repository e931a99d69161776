"""The Box planner's voxel size: shown from the image (or the plan), edited, followed.

Without a plan the fields show what is known of the chosen image layer (its
scale, else its file, else unknown with a warning); an edit sets the layer's
scale. With a plan they show the plan's voxel size; an edit, or any later
change of the image layer's scale or units, goes into the plan (saved) and
moves the boxes and annotation layers with it
(:class:`~napari_patchwise.layers.image_scale.ImageScaleLink`).
"""

from __future__ import annotations

from napari.utils.notifications import show_info, show_warning

from ..engine.geometry.voxelsize import format_voxel_size
from ..layers.image_scale import (
    ImageScaleLink,
    layer_voxel_size,
    set_layer_voxel_size,
    view_kept,
    with_voxel_size,
)

_NOTES = {"file": "read from the image file", "layer": "from the image layer's scale"}


class VoxelSizeControl:
    """Connects the planner's voxel-size fields, its image layer and its plan.

    Parameters
    ----------
    planner : PlannerWidget
        Gives ``settings``, ``plan`` and :meth:`apply_plan`.
    """

    def __init__(self, planner):
        self.planner = planner
        self.settings = planner.settings
        self.link: ImageScaleLink | None = None
        self.settings.voxel_size.native.editingFinished.connect(self.on_edited)
        self.settings.unit.changed.connect(self.on_edited)
        self.settings.image.changed.connect(self.refresh)
        planner.viewer.layers.events.removed.connect(self._on_layer_removed)

    def refresh(self, *_) -> None:
        """Show the plan's voxel size, else what is known of the chosen image layer."""
        plan = self.planner.plan
        if plan is not None:
            img = plan.image
            self.settings.show_voxel_size(img.voxel_size, img.unit, img.voxel_size_known,
                                          "in the plan (saved with it)")
            return
        layer = self.settings.image.value
        if layer is None or layer.ndim < 3:
            self.settings.show_voxel_size((1.0, 1.0, 1.0), "pixel", True, "")
            return
        vs, unit, known, source = layer_voxel_size(layer)
        self.settings.show_voxel_size(vs, unit, known, _NOTES.get(source, ""))

    def on_edited(self, *_) -> None:
        """Apply the typed voxel size to the plan (and its layers), or to the chosen image layer."""
        try:
            vs, unit = self.settings.get_voxel_size()
        except ValueError as e:
            show_warning(str(e))
            self.refresh()
            return
        plan = self.planner.plan
        if plan is not None:
            if (vs, unit) == (plan.image.voxel_size, plan.image.unit) and plan.image.voxel_size_known:
                return
            if self.link is not None:
                with view_kept(self.planner.viewer, self.link.layer):
                    self.link.set_voxel_size(vs, unit)
            else:  # the plan's image is not open: the plan and its layers only
                self.planner.apply_plan(with_voxel_size(plan, vs, unit))
            show_info(f"Voxel size set to {format_voxel_size(vs, unit)}; boxes and labels follow it.")
        else:
            layer = self.settings.image.value
            if layer is not None and layer.ndim >= 3:
                with view_kept(self.planner.viewer, layer):  # the same slice and voxels on screen
                    set_layer_voxel_size(layer, vs, unit)
        self.refresh()

    def follow(self, image_layer) -> None:
        """Show the plan's voxel size and follow this image layer's scale into it (``None``: none)."""
        self.stop()
        if image_layer is not None:
            self.link = ImageScaleLink(image_layer, lambda: self.planner.plan, self.planner.apply_plan)
            self.link.followed.connect(lambda message: show_info(message))
            self.link.refused.connect(lambda message: show_warning(message))
        self.refresh()

    def _on_layer_removed(self, event) -> None:
        if self.link is not None and event.value is self.link.layer:
            self.stop()

    def stop(self) -> None:
        if self.link is not None:
            self.link.disconnect()
            self.link = None
