"""The Plan step's *Advice* panel: before the first box, what the advisor makes of the image.

*Advise* runs :func:`~napari_patchwise.engine.advise.job.run_advise` (the job
``patchwise advise`` runs) on the plan's image, or the image chosen in the
settings, with its voxel size and, when one is chosen, a labels layer of the
image's shape, in a :class:`.runner.Runner`. The panel shows the problem
types, the trainer recommended, the magnification, box size and box count and
why; *Use these* puts the preset, magnification and box size into the
settings and the box count into the Propose step's form, without proposing.

The panel is a tab of the Plan step beside *Plan* and *Colours*: it takes no room from the
image list and the settings, which stay first in sight, and has the step's whole height for its
answer when shown.
"""

from __future__ import annotations

from napari.layers import Labels
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.advise import Advice, AdviseRequest, run_advise
from ..engine.plan.presets import PRESET_NAMES
from ..layers.image_scale import layer_voxel_size
from .propose_form import layer_array
from .runner import Runner

#: The labels choice meaning "find the objects by thresholding".
NO_LABELS = "none (threshold the image)"


def _x(values) -> str:
    return "×".join(str(v) for v in values)


def advice_text(advice: Advice) -> str:
    """The answer in a few lines: problems and trainer, the plan's numbers, then why."""
    head = (f"problems: {', '.join(advice.problems)} · recommended: {advice.recommend}\n"
            f"magnification {_x(advice.magnification)} · box {_x(advice.box_size)} (z×y×x at it, "
            f"{advice.preset} preset) · {advice.boxes} boxes ({advice.difficulty})")
    return head + "\nwhy:\n" + "\n".join(f"• {r}" for r in advice.reasons)


class AdvicePanel(QWidget):
    """The Plan step's Advice tab.

    Parameters
    ----------
    planner : PlannerWidget
        Gives the viewer, the session, the settings form, the plan's image layer and the Propose form.
    """

    def __init__(self, planner):
        super().__init__()
        self.planner = planner
        self.advice: Advice | None = None
        intro = QLabel("Before the first box: measure the image (and its labels) for the problem types, a "
                       "trainer, the magnification, box size and box count.")
        intro.setWordWrap(True)
        self.labels = QComboBox()
        self.labels.setToolTip("Instance labels or a mask of the image's shape; without them the objects are "
                               "found by thresholding.")
        self.advise_button = QPushButton("Advise")
        self.use_button = QPushButton("Use these")
        self.use_button.setToolTip("Put the preset, magnification and box size into the settings and the box "
                                   "count into the Propose step (nothing is proposed).")
        self.use_button.setEnabled(False)
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("labels", self.labels)
        buttons = QHBoxLayout()
        buttons.addWidget(self.advise_button)
        buttons.addWidget(self.use_button)
        running = QHBoxLayout()
        running.addWidget(self.progress, stretch=1)
        running.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(running)
        layout.addWidget(self.result, stretch=1)
        self.runner = Runner(self, progress=self.progress, cancel_button=self.cancel_button,
                             controls=(self.advise_button, self.use_button), session=planner.session)
        self.advise_button.clicked.connect(lambda: self.advise())
        self.use_button.clicked.connect(lambda: self.use())

    # -- inputs -----------------------------------------------------------------------
    def image_layer(self):
        """The plan's image layer, else the image chosen in the settings."""
        return self.planner.image_layer() or self.planner.settings.image.value

    def showEvent(self, event):  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.reset_choices()

    def reset_choices(self, *_) -> None:
        """The labels layers of the image's shape (the first chosen unless another was)."""
        layer = self.image_layer()
        shape = None if layer is None else tuple(layer_array(layer).shape)
        names = [lay.name for lay in self.planner.viewer.layers
                 if isinstance(lay, Labels) and shape is not None and tuple(layer_array(lay).shape) == shape]
        current = self.labels.currentText()
        self.labels.blockSignals(True)
        self.labels.clear()
        self.labels.addItems([*names, NO_LABELS])
        keep = names.index(current) if current in names else len(names) if current == NO_LABELS else 0
        self.labels.setCurrentIndex(keep)
        self.labels.blockSignals(False)

    def request(self) -> AdviseRequest:
        """The advisor's request (``ValueError`` says what is missing)."""
        layer = self.image_layer()
        if layer is None:
            raise ValueError("pick a 3D image layer first (open an image or a project).")
        plan = self.planner.plan
        if plan is not None:
            vs, unit, known = plan.image.voxel_size, plan.image.unit, plan.image.voxel_size_known
        else:
            vs, unit = self.planner.settings.get_voxel_size()
            known = layer_voxel_size(layer)[2]
        if not known:
            raise ValueError(f"the voxel size of '{layer.name}' is unknown; type it in 'voxel size (z,y,x)' "
                             "first: object sizes and the magnification depend on it.")
        name = self.labels.currentText()
        labels = None
        if name and name != NO_LABELS and name in self.planner.viewer.layers:
            labels = layer_array(self.planner.viewer.layers[name])
        return AdviseRequest(layer_array(layer), vs, unit, labels=labels)

    # -- advising -----------------------------------------------------------------------
    def advise(self) -> None:
        """Run the advisor in the runner; the answer is shown when it is done."""
        if self.runner.busy:
            show_info("Still measuring the image; wait for the progress bar to finish.")
            return
        self.reset_choices()
        try:
            request = self.request()
        except ValueError as e:
            show_error(f"Cannot advise: {e}")
            return
        self.runner.start(lambda progress: run_advise(request), what="Advice", label="measuring the image…",
                          returned=self.show_advice)

    def show_advice(self, advice: Advice) -> None:
        self.advice = advice
        self.result.setText(advice_text(advice))
        self.use_button.setEnabled(True)

    def use(self) -> None:
        """Fill the settings (preset, magnification, box size) and the Propose form's box count."""
        advice = self.advice
        if advice is None:
            show_warning("Press Advise first.")
            return
        settings, form = self.planner.settings, self.planner.proposer.form
        with settings.changed.blocked():  # one change of the plan, not one per field
            if advice.preset in PRESET_NAMES:
                settings.preset.value = advice.preset
            settings.magnification.value = ",".join(map(str, advice.magnification))
            settings.box_size.value = ",".join(map(str, advice.box_size))
        settings.changed.emit(settings)
        form.limit.value = "box count"
        form.n_boxes.value = int(advice.boxes)
        show_info(f"Settings filled in: magnification {_x(advice.magnification)}, box {_x(advice.box_size)}, "
                  f"{advice.boxes} boxes; propose them in the Propose step.")
