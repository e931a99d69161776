"""The settings form of the Box planner: image, preset, magnification, box size, classes."""

from __future__ import annotations

import napari.layers
from magicgui.widgets import ComboBox, Container, Label, LineEdit, create_widget

from ..engine.boxfit import fit_box_size
from ..engine.magnification import _as_int_triple, as_magnification, voxel_size_at
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
        self.box_size = LineEdit(value="", label="box size (z,y,x)")
        self.box_info = Label(value="")
        self.box_info.native.setWordWrap(True)
        self._fitted = ""  # the last size filled in from the image (auto while shown)
        self.voxel_info = Label(value="", label="voxel at magnification")
        self.classes = LineEdit(value="nuclei:instance", label="classes")
        self.preset_info = Label(value="")
        # a new image, preset or magnification: fit again (connected before the form's own
        # change signal, so the dock reads the size after it was reset)
        for w in (self.image, self.preset, self.minimum, self.magnification):
            w.changed.connect(self._refit)
        super().__init__(
            widgets=[
                self.image,
                self.preset,
                self.preset_info,
                self.minimum,
                self.magnification,
                self.box_size,
                self.box_info,
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
        self.box_size.tooltip = (
            "size (z, y, x) at the magnification of boxes drawn, clicked and proposed; filled in "
            "with the preset's box fitted to the image (its depth and voxel size), edit to "
            "choose another"
        )
        self.changed.connect(self.update_info)
        self.update_info()

    def get_preset(self) -> Preset:
        if self.preset.value == "custom":
            return get_preset("custom", minimum=as_magnification(self.minimum.value))
        return get_preset(self.preset.value)

    def get_magnification(self):
        return as_magnification(self.magnification.value)

    def get_box_size(self):
        """The box size set by hand, or None while it is the fitted one (or empty)."""
        text = self.box_size.value.strip()
        if not text or text == self._fitted:
            return None
        return _as_int_triple(text.replace("×", ","), "box size", positive=True)

    def _refit(self, *_):
        with self.changed.blocked():
            self.box_size.value = ""  # back to the fitted size, filled in by update_info

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
            self.box_size.value = "" if plan.box_size is None else _fmt(plan.box_size)
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
        self.preset_info.value = (
            f"default box {'×'.join(map(str, preset.default_size))}; minimum "
            f"{'×'.join(map(str, preset.minimum))} (z×y×x at the magnification)"
        )
        self._show_fit(preset, mag)
        layer = self.image.value
        if layer is None:
            self.voxel_info.value = "—"
        elif layer.ndim != 3:
            self.voxel_info.value = f"— ({layer.name} is {layer.ndim}D; pick a 3D image)"
        else:
            self.voxel_info.value = _fmt(voxel_size_at(self.image_voxel_size(), mag))

    def _show_fit(self, preset, mag) -> None:
        """Fill in the fitted box size (unless one was typed) and say why it was chosen."""
        layer = self.image.value
        shape = None if layer is None or layer.ndim != 3 else tuple(layer.data.shape)
        if getattr(layer, "multiscale", False) and shape is not None:
            shape = tuple(layer.data[0].shape)
        try:
            fit = fit_box_size(preset, shape, mag, self.image_voxel_size()) if shape else None
            auto = self.get_box_size() is None
        except ValueError as e:
            self.box_info.value = f"⚠ {e}"
            return
        size = preset.default_size if fit is None else fit.size
        if auto:
            self._fitted = _fmt(size)
            with self.changed.blocked():
                self.box_size.value = self._fitted
        if not auto:
            full = preset.size_at(mag, self.get_box_size())
            self.box_info.value = f"set by hand ({'×'.join(map(str, full))} full-resolution voxels)"
        elif fit is not None and fit.changed:
            self.box_info.value = fit.message
        else:
            full = preset.size_at(mag, size)
            self.box_info.value = (f"the {preset.name} preset's default "
                                   f"({'×'.join(map(str, full))} full-resolution voxels)")
