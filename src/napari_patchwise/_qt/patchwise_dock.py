"""The Patchwise dock: the whole workflow as steps Plan · Propose · Seed · Annotate/QC · Export · Evaluate.

Each step is one of the step widgets (the Box planner, its Propose panel,
the Seed, QC and Export widgets) in a tab of its own, scrolled when the
screen is short, so the dock fits a 1280×800 screen beside napari's layer
list and controls. The Plan and Propose steps share the box table (it moves
to the step shown). All steps reach the viewer's state through its
:class:`~napari_patchwise.layers.session.Session`.

A viewer has one Patchwise dock. The manifest's widgets ("Patchwise", "Box
planner", "Seed weak labels", "Annotation QC", "Export training data") all
open that dock, at their step (:func:`open_patchwise`).
"""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QAbstractScrollArea, QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from ..layers.session import session_for
from .evaluate_step import EvaluateStep
from .export_dock import ExportWidget
from .narrow import MAX_DOCK_WIDTH, NarrowDock
from .planner_widget import PlannerWidget
from .qc_dock import QCWidget
from .seed_dock import SeedWidget

#: The steps, in workflow order: key and tab title.
STEPS = (("plan", "Plan"), ("propose", "Propose"), ("seed", "Seed"), ("qc", "Annotate/QC"),
         ("export", "Export"), ("evaluate", "Evaluate"))
#: Rows a step's key table shows at least.
MIN_TABLE_ROWS = 5
#: The widest the dock asks to be (1280 - napari's layer list and controls - a usable canvas).
DOCK_WIDTH = MAX_DOCK_WIDTH
#: A step's margins (left, top, right, bottom): the dock's own frame is margin enough at the sides.
STEP_MARGINS = (2, 4, 2, 4)
#: Key under which a viewer's session keeps its Patchwise dock.
DOCK_KEY = "patchwise dock"


def show_rows(table: QAbstractScrollArea, rows: int = MIN_TABLE_ROWS) -> None:
    """Never let ``table`` be shorter than its header and ``rows`` rows."""
    header = table.horizontalHeader().sizeHint().height() if hasattr(table, "horizontalHeader") else 0
    row = table.verticalHeader().defaultSectionSize() if hasattr(table, "verticalHeader") else 24
    table.setMinimumHeight(header + rows * row + 2 * table.frameWidth() + 2)


def scrolled(widget: QWidget, layout=None, stretch: int = 1, whole: bool = False) -> QScrollArea:
    """``widget`` in a frameless scroll area: a short screen scrolls it instead of growing the window.

    With ``layout`` (the one holding ``widget``), the area takes the widget's place there. With
    ``whole``, the widget (a form) keeps the height its rows need and scrolls rather than squeezing them.
    """
    area = _Scroll()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    if layout is not None:  # before setWidget: a widget taken out of its parent leaves its layout
        layout.replaceWidget(widget, area)
        layout.setStretchFactor(area, stretch)
    area.setWidget(_Page(widget, whole))
    widget.show()
    return area


class _Page(QWidget):
    """Holds a step in its scroll area at the area's height (or the step's minimum).

    A scroll area gives a widget whose height depends on its width (wrapped
    text) the height it *prefers* at that width; the steps would always
    scroll and their tables leave the screen.
    """

    def __init__(self, widget: QWidget, whole: bool = False):
        super().__init__()
        self._whole = whole
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(widget)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        return -1

    def minimumSizeHint(self):  # noqa: N802 (Qt's name)
        """Never squeezed below the height its rows need at its width: a form scrolls instead."""
        hint, inner = super().minimumSizeHint(), self.layout()
        need = inner.heightForWidth(self.width()) if inner.hasHeightForWidth() else inner.sizeHint().height()
        hint.setHeight(max(hint.height(), need if self._whole else 0))
        return hint


class _Scroll(QScrollArea):
    """A scroll area as wide as its content needs (so it only scrolls vertically when there is room)."""

    def minimumSizeHint(self):  # noqa: N802 (Qt's name)
        hint = super().minimumSizeHint()
        inner = self.widget()
        if inner is not None:
            bar = self.verticalScrollBar().sizeHint().width()
            hint.setWidth(max(hint.width(), inner.minimumSizeHint().width() + bar))
        return hint


def _alive(widget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:  # its C++ side was deleted (the dock was closed)
        return False
    return True


class PatchwiseDock(NarrowDock, QWidget):
    """The workflow's steps in tabs; :meth:`show_step` picks one.

    Attributes
    ----------
    planner, proposer, seed, qc, export, evaluate
        The step widgets (:class:`.planner_widget.PlannerWidget`, its
        :class:`.propose_panel.ProposePanel`, :class:`.seed_dock.SeedWidget`,
        :class:`.qc_dock.QCWidget`, :class:`.export_dock.ExportWidget`,
        :class:`.evaluate_step.EvaluateStep`).
    """

    def __init__(self, napari_viewer, step: str = "plan"):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.planner = PlannerWidget(napari_viewer)
        self.proposer = self.planner.take_proposer()
        self.seed = SeedWidget(napari_viewer)
        self.qc = QCWidget(napari_viewer)
        self.export = ExportWidget(napari_viewer)
        self.evaluate = EvaluateStep(self.planner)

        self.boxes_area = QWidget()  # the box table and what goes with it: in the Plan or Propose step
        boxes = QVBoxLayout(self.boxes_area)
        boxes.setContentsMargins(0, 0, 0, 0)
        for w in self.planner.boxes_widgets:
            boxes.addWidget(w, stretch=int(w is self.planner.table))
        self.planner.layout().addWidget(self.boxes_area, stretch=1)
        self._propose_page = QWidget()
        propose = QVBoxLayout(self._propose_page)
        propose.setContentsMargins(0, 0, 0, 0)
        propose.addWidget(scrolled(self.proposer, whole=True))
        self.steps = {"plan": self.planner, "propose": self._propose_page, "seed": self.seed, "qc": self.qc,
                      "export": self.export, "evaluate": self.evaluate}
        # the tall forms scroll on their own, so the key tables below them keep their rows in view
        for widget in (self.planner, self.seed, self.qc, self.export, self.evaluate):
            widget.layout().setContentsMargins(*STEP_MARGINS)
        self.export.form.native.layout().setContentsMargins(0, 0, 0, 0)
        scrolled(self.planner.tabs, self.planner.layout(), whole=True)
        scrolled(self.export.form.native, self.export.layout(), stretch=3, whole=True)
        self.export.reset_choices()  # magicgui resets a form's choices when the form changes parent
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for key, title in STEPS:
            self.tabs.addTab(scrolled(self.steps[key]), title)
        for table in self.key_tables().values():
            show_rows(table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_step_changed)
        self.session.docks[DOCK_KEY] = self
        self.show_step(step)

    def sizeHint(self):  # noqa: N802 (Qt's name)
        """As wide as the widest step needs (so no step scrolls sideways), at most MAX_DOCK_WIDTH."""
        hint = super().sizeHint()
        scrollbar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        need = max(page.minimumSizeHint().width() for page in self.steps.values()) + scrollbar + 4
        hint.setWidth(max(hint.width(), min(need, DOCK_WIDTH)))
        return hint

    def key_tables(self) -> dict:
        """Each step's key table, by a short name."""
        return {"boxes": self.planner.table, "touching pairs": self.qc.pairs, "findings": self.qc.findings,
                "skipped boxes": self.export.skipped.table, "evaluated boxes": self.evaluate.table}

    @property
    def step(self) -> str:
        """The key of the step shown."""
        return STEPS[self.tabs.currentIndex()][0]

    def show_step(self, step: str) -> QWidget:
        """Show a step (``"plan"``, ``"propose"``, ``"seed"``, ``"qc"``, ``"export"`` or ``"evaluate"``); returns
        its widget."""
        keys = [key for key, _ in STEPS]
        if step not in keys:
            raise ValueError(f"no step {step!r}: the steps are {', '.join(keys)}.")
        self.tabs.setCurrentIndex(keys.index(step))
        self._on_step_changed()
        return self.steps[step]

    def _on_step_changed(self, *_) -> None:
        """The box table goes with the step that edits boxes (Plan or Propose)."""
        area = self.boxes_area
        if self.step == "propose":
            self._propose_page.layout().addWidget(area, stretch=1)
        elif area.parentWidget() is not self.planner:
            self.planner.layout().addWidget(area, stretch=1)

    def reset_choices(self, *_):
        """Called by napari when layers change."""
        self.planner.reset_choices()


def open_patchwise(napari_viewer, step: str = "plan") -> PatchwiseDock:
    """The viewer's Patchwise dock at ``step``: the one it has, else a new one.

    napari docks what a manifest widget returns under that widget's name; the
    dock the viewer has is taken out of its old place first (nothing in it
    stops, its jobs go on).
    """
    session = session_for(napari_viewer)
    dock = session.docks.get(DOCK_KEY)
    if dock is None or not _alive(dock):
        return PatchwiseDock(napari_viewer, step)
    window = getattr(napari_viewer, "window", None)
    if window is not None and dock.parentWidget() is not None:
        try:
            window.remove_dock_widget(dock)
        except LookupError:  # not docked in this window
            pass
    dock.show_step(step)
    return dock


class _StepOpener:
    """A manifest widget: opens the viewer's Patchwise dock at :attr:`step`."""

    step = "plan"

    def __new__(cls, napari_viewer):
        return open_patchwise(napari_viewer, cls.step)

    def __init__(self, napari_viewer):  # napari passes the viewer by this parameter's name
        pass


class Patchwise(_StepOpener):
    step = "plan"


class BoxPlanner(_StepOpener):
    step = "plan"


class SeedStep(_StepOpener):
    step = "seed"


class QCStep(_StepOpener):
    step = "qc"


class ExportStep(_StepOpener):
    step = "export"
