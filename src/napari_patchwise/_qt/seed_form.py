"""The Seed dock's form: method, boxes, object diameter and the lengths derived from it."""

from __future__ import annotations

import math

from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, FloatSpinBox, PushButton, SpinBox

from ..engine.seed.thresholds import THRESHOLD_METHODS
from ..engine.seed.weaklabels import SeedParams

METHODS = (
    *[(m if m != "local" else "local (adaptive)", m) for m in THRESHOLD_METHODS],
    ("label image file (Cellpose, TIFF, Zarr, HDF5, MRC, NRRD, NIfTI)", "file"),
    ("probability map file (ilastik, a model)", "probability"),
    ("Labels layer in the viewer", "layer"),
    ("run Cellpose in each box (needs cellpose)", "cellpose"),
)
BOX_CHOICES = (("selected boxes", "selected"), ("boxes still to do", "todo"), ("all boxes", "all"))
#: The lengths derived from the object diameter unless "derive" is unticked.
DERIVED = ("smooth", "min_size", "min_distance")


class SeedForm(Container):
    """The seeding inputs.

    ``diameter`` is the typical object diameter in the image's physical units
    (0 = estimate it from the chosen boxes); with ``derive`` ticked the
    smoothing, smallest object and centre distance follow from it and their
    fields show the values last used (read-only).
    """

    def __init__(self):
        self.method = ComboBox(label="method", choices=METHODS, value="otsu")
        self.class_name = ComboBox(label="class", choices=[])
        self.boxes = ComboBox(label="boxes", choices=BOX_CHOICES, value="all")
        self.threshold = FloatSpinBox(label="threshold", value=0.5, min=-1e9, max=1e9, step=0.05)
        self.diameter = FloatSpinBox(label="object diameter (0 = estimate)", value=0.0, min=0, max=1e6,
                                     step=0.5)
        self.diameter.native.setDecimals(3)
        self.estimate = PushButton(text="Estimate diameter from the boxes")
        self.derive = CheckBox(text="the three lengths below from the diameter", value=True,
                               tooltip="smoothing, min object voxels and min centre distance follow from the "
                                       "object diameter; untick to set them yourself")
        self.smooth = FloatSpinBox(label="smooth σ (physical)", value=0.0, min=0, max=1e4, step=0.25)
        self.smooth.native.setDecimals(3)
        self.fill_holes = CheckBox(text="fill holes", value=True)
        self.min_size = SpinBox(label="min object voxels", value=20, min=0, max=10**8)
        self.split = CheckBox(text="split touching objects (watershed)", value=True)
        self.min_distance = FloatSpinBox(label="min centre distance (physical)", value=0.0, min=0, max=1e4)
        self.min_distance.native.setDecimals(3)
        self.margin = FloatSpinBox(label="background margin", value=0.2, min=0, max=1, step=0.05)
        self.per_box = CheckBox(text="threshold per box", value=False)
        self.overwrite = CheckBox(text="overwrite my edits", value=False)
        self.file = FileEdit(label="file", mode="r")
        self.channel = SpinBox(label="channel (-1 = only one)", value=-1, min=-1, max=255)
        self.layer = ComboBox(label="labels layer", choices=[])
        super().__init__(widgets=[
            self.method, self.class_name, self.boxes, self.threshold, self.diameter, self.estimate,
            self.derive, self.smooth, self.fill_holes, self.min_size, self.split, self.min_distance,
            self.margin, self.per_box, self.overwrite, self.file, self.channel, self.layer,
        ])
        self.method.changed.connect(self._show_relevant)
        self.derive.changed.connect(self._enable_lengths)
        self._show_relevant()
        self._enable_lengths()

    def _show_relevant(self, *_):
        m = self.method.value
        thresholding = m in THRESHOLD_METHODS
        for w in (self.smooth, self.fill_holes, self.min_distance, self.margin, self.per_box, self.split,
                  self.derive, self.estimate):
            w.visible = thresholding
        self.threshold.visible = m in ("manual", "probability")
        self.file.visible = m in ("file", "probability")
        self.channel.visible = m == "probability"
        self.layer.visible = m == "layer"
        self.diameter.visible = thresholding or m == "cellpose"
        self.diameter.label = ("object diameter (0 = estimate)" if thresholding
                               else "object diameter (0 = Cellpose's own)")
        self.min_size.visible = thresholding or m == "probability"
        self._enable_lengths()

    def _enable_lengths(self, *_):
        derived = self.derive.value and self.method.value in THRESHOLD_METHODS
        for name in DERIVED:
            getattr(self, name).enabled = not derived

    def show_used(self, params: SeedParams) -> None:
        """Show the diameter and the lengths a preview or a seeding run used."""
        if params.object_diameter:
            # enough decimals for the estimate's three significant digits, so Apply gets it exactly
            digits = 2 - math.floor(math.log10(params.object_diameter))
            self.diameter.native.setDecimals(max(3, digits))
            self.diameter.value = params.object_diameter
        if self.derive.value:
            self.smooth.value = params.smooth
            self.min_size.value = params.min_size
            self.min_distance.value = params.min_distance

    def params(self) -> SeedParams:
        derive = self.derive.value
        return SeedParams(
            method=self.method.value, threshold=self.threshold.value if self.method.value == "manual" else None,
            smooth=None if derive else self.smooth.value, fill_holes=self.fill_holes.value,
            min_size=None if derive else self.min_size.value, split=self.split.value,
            min_distance=None if derive else self.min_distance.value,
            background_margin=self.margin.value, object_diameter=self.diameter.value or None,
        )
