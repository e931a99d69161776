"""The settings form of the Box planner: image, preset, magnification, classes."""

from __future__ import annotations

import napari.layers
from magicgui.widgets import ComboBox, Container, Label, LineEdit, create_widget

from ..engine.magnification import as_magnification, voxel_size_at
from ..engine.plan import ClassSpec, parse_classes
from ..engine.presets import PRESET_NAMES, Preset, get_preset


def _fmt(values) -> str:
    return ",".join(f"{v:g}" for v in values)


class PlanSettings(Container):
    """magicgui form; :meth:`values` turns it into engine objects (or raises ``ValueError``)."""

    def __init__(self):
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.preset = ComboBox(choices=PRESET_NAMES, value="instance", label="preset")
        self.minimum = LineEdit(value="32,64,64", label="custom minimum (z,y,x)")
        self.magnification = LineEdit(value="1,1,1", label="magnification (z,y,x)")
        self.voxel_info = Label(value="", label="voxel at magnification")
        self.classes = LineEdit(value="nuclei:instance", label="classes")
        self.preset_info = Label(value="")
        super().__init__(
            widgets=[
                self.image,
                self.preset,
                self.preset_info,
                self.minimum,
                self.magnification,
                self.voxel_info,
                self.classes,
            ],
            labels=True,
        )
        self.minimum.tooltip = "hard minimum box size (z, y, x) at the magnification, for the custom preset"
        self.magnification.tooltip = (
            "downsampling factors (z, y, x) the annotations are made at, e.g. 1,2,2; "
            "box sizes are read at this magnification"
        )
        self.classes.tooltip = "comma-separated name:kind, kind is instance or semantic (e.g. 'nuclei:instance, membrane:semantic')"
        self.changed.connect(self.update_info)
        self.update_info()

    def get_preset(self) -> Preset:
        if self.preset.value == "custom":
            return get_preset("custom", minimum=as_magnification(self.minimum.value))
        return get_preset(self.preset.value)

    def get_magnification(self):
        return as_magnification(self.magnification.value)

    def get_classes(self) -> tuple[ClassSpec, ...]:
        return parse_classes(self.classes.value)

    def image_voxel_size(self):
        layer = self.image.value
        return tuple(float(s) for s in layer.scale[-3:]) if layer is not None else None

    def set_from_plan(self, plan) -> None:
        """Show a plan's settings without emitting change events."""
        with self.changed.blocked():
            self.preset.value = plan.preset.name
            if plan.preset.name == "custom":
                self.minimum.value = _fmt(plan.preset.minimum)
            self.magnification.value = _fmt(plan.magnification)
            self.classes.value = ", ".join(f"{c.name}:{c.kind}" for c in plan.classes)
        self.update_info()

    def update_info(self, *_):
        self.minimum.visible = self.preset.value == "custom"
        try:
            preset = self.get_preset()
            mag = self.get_magnification()
        except ValueError as e:
            self.preset_info.value = f"⚠ {e}"
            self.voxel_info.value = ""
            return
        full = preset.size_at(mag)
        self.preset_info.value = (
            f"new box {'×'.join(map(str, preset.default_size))} at mag "
            f"({'×'.join(map(str, full))} voxels); minimum {'×'.join(map(str, preset.minimum))}"
        )
        layer = self.image.value
        if layer is None:
            self.voxel_info.value = "—"
        elif layer.ndim != 3:
            self.voxel_info.value = f"— ({layer.name} is {layer.ndim}D; pick a 3D image)"
        else:
            self.voxel_info.value = _fmt(voxel_size_at(self.image_voxel_size(), mag))
