"""The settings form of the Box planner: image, voxel size, preset, magnification, box size, classes."""

from __future__ import annotations

import napari.layers
from magicgui.widgets import ComboBox, Container, Label, LineEdit, create_widget

from ..engine.plan.boxfit import fit_box_size
from ..engine.geometry.magnification import _as_int_triple, as_magnification, voxel_size_at
from ..engine.plan.classes import ClassSpec, parse_classes
from ..engine.plan.presets import PRESET_NAMES, Preset, get_preset
from ..engine.geometry.voxelsize import UNITS, UNKNOWN_VOXEL_SIZE, format_voxel_size, parse_voxel_size
from .narrow import wrap


def _fmt(values) -> str:
    return ",".join(f"{v:g}" for v in values)


class PlanSettings(Container):
    """magicgui form; :meth:`values` turns it into engine objects (or raises ``ValueError``)."""

    def __init__(self):
        self.image = create_widget(annotation=napari.layers.Image, label="image")
        self.voxel_size = LineEdit(value="1,1,1", label="voxel size (z,y,x)")
        self.unit = ComboBox(choices=UNITS, value="pixel", label="unit")
        self.voxel_note = Label(value="")
        self.preset = ComboBox(choices=PRESET_NAMES, value="instance", label="preset")
        self.minimum = LineEdit(value="32,64,64", label="custom minimum (z,y,x)")
        self.magnification = LineEdit(value="1,1,1", label="magnification (z,y,x)")
        self.voxel_info = Label(value="", label="voxel at magnification")
        self.box_size = LineEdit(value="", label="box size (z,y,x)")
        self.box_info = Label(value="")
        self._fitted = ""  # the last size filled in from the image (auto while shown)
        self.classes = LineEdit(value="nuclei:instance", label="classes")
        self.preset_info = Label(value="")
        for label in (self.voxel_note, self.preset_info, self.voxel_info, self.box_info):
            wrap(label.native)  # a long line would widen the dock
        # a new image, preset or magnification: fit again (connected before the form's own
        # change signal, so the dock reads the size after it was reset)
        for w in (self.image, self.preset, self.minimum, self.magnification):
            w.changed.connect(self._refit)
        super().__init__(
            widgets=[
                self.image,
                self.voxel_size,
                self.unit,
                self.voxel_note,
                self.preset,
                self.preset_info,
                self.minimum,
                self.magnification,
                self.voxel_info,
                self.box_size,
                self.box_info,
                self.classes,
            ],
            labels=True,
        )
        self.minimum.tooltip = "hard minimum box size (z, y, x) at the magnification, for the custom preset"
        self.magnification.tooltip = (
            "downsampling factors (z, y, x) the annotations are made at, e.g. 1,2,2; "
            "box sizes are read at this magnification"
        )
        self.voxel_size.tooltip = (
            "physical size of one voxel (z, y, x), e.g. 2,0.5,0.5 (a unit may follow: 0.5,0.2,0.2um); "
            "read from the file when it records one. Enter applies it to the image, boxes and labels"
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

    def get_classes(self) -> tuple[ClassSpec, ...]:
        return parse_classes(self.classes.value)

    def get_box_size(self):
        """The box size set by hand, or None while it is the fitted one (or empty)."""
        text = self.box_size.value.strip()
        if not text or text == self._fitted:
            return None
        return _as_int_triple(text.replace("×", ","), "box size", positive=True)

    def _refit(self, *_):
        with self.changed.blocked():
            self.box_size.value = ""  # back to the fitted size, filled in by update_info

    def get_voxel_size(self) -> tuple[tuple[float, float, float], str]:
        """``(voxel_size, unit)`` as typed (a unit after the numbers wins over the unit box)."""
        vs, unit = parse_voxel_size(self.voxel_size.value)
        return vs, unit or self.unit.value

    def show_voxel_size(self, voxel_size, unit: str, known: bool, note: str = "") -> None:
        """Show a voxel size without emitting change events; warn while it is unknown."""
        with self.voxel_size.changed.blocked(), self.unit.changed.blocked(), self.changed.blocked():
            if unit not in self.unit.choices:
                self.unit.choices = (*self.unit.choices, unit)
            self.voxel_size.value = format_voxel_size(voxel_size)
            self.unit.value = unit
        self.voxel_note.value = note if known else f"⚠ {UNKNOWN_VOXEL_SIZE}"
        self.update_info()

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
            f"default box {'×'.join(map(str, preset.default_size))}, minimum "
            f"{'×'.join(map(str, preset.minimum))} (z×y×x)"
        )
        self.preset_info.tooltip = "the preset's box sizes (z×y×x), read at the magnification"
        self._show_fit(preset, mag)
        layer = self.image.value
        if layer is None:
            self.voxel_info.value = "—"
        elif layer.ndim != 3:
            self.voxel_info.value = f"— ({layer.name} is {layer.ndim}D; pick a 3D image)"
        else:
            try:
                vs, unit = self.get_voxel_size()
            except ValueError as e:
                self.voxel_info.value = f"⚠ {e}"
                return
            self.voxel_info.value = f"{_fmt(voxel_size_at(vs, mag))} {unit}"

    def _show_fit(self, preset, mag) -> None:
        """Fill in the fitted box size (unless one was typed) and say why it was chosen."""
        layer = self.image.value
        shape = None if layer is None or layer.ndim != 3 else tuple(layer.data.shape)
        if getattr(layer, "multiscale", False) and shape is not None:
            shape = tuple(layer.data[0].shape)
        self.box_info.tooltip = None
        try:
            fit = fit_box_size(preset, shape, mag, self.get_voxel_size()[0]) if shape else None
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
        elif fit is not None and fit.changed:  # why, in a few words (all of it in the tooltip)
            self.box_info.value = fit.reason
            self.box_info.tooltip = fit.message
        else:
            full = preset.size_at(mag, size)
            self.box_info.value = (f"the {preset.name} preset's default "
                                   f"({'×'.join(map(str, full))} full-resolution voxels)")
