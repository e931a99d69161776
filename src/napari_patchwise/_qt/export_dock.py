"""Export dock: the project's validated boxes as training data.

The dock finds the project from its annotation layers (like the QC dock),
gathers the options into an
:class:`~napari_patchwise.engine.jobs.export.ExportRequest` (which checks them)
and runs :func:`~napari_patchwise.engine.jobs.export.run_export` through its
:class:`~.runner.Runner` (a worker thread, with a progress bar). The report
(what was written where, which boxes were skipped and why) is shown in a
read-only text box. Its *More* section (:mod:`.export_collection`) holds what a
collection of images needs: how splits are drawn, images held out as test,
and other projects exported into the same dataset (the request's ``more``).
In a project of several images, test boxes are written ``IMAGE:ID``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    LineEdit,
    PushButton,
    SpinBox,
)
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.export.model import FORMAT_NAMES, ExportOptions, ExportReport
from ..engine.export.project_choice import export_image_names
from ..engine.jobs.export import ExportRequest, parse_test_boxes, run_export
from ..engine.plan.plan_file import ProjectError, load_collection
from ..layers.project_link import annotation_projects, selected_project_box_ids
from ..layers.session import session_for
from .export_collection import CollectionFields
from .export_overrides import SkippedBoxes
from .narrow import NarrowDock, narrow_combos
from .runner import Runner

#: How the dock names the engine's formats; a format the engine offers without one here shows its own name.
FORMAT_TEXT = {"nnunet": "nnU-Net v2", "stardist": "StarDist", "cellpose": "Cellpose", "omezarr": "OME-Zarr",
               "membrain": "MemBrain-seg"}
#: ``(format, text)`` of every format the engine writes, in its order.
FORMAT_LABELS = tuple((name, FORMAT_TEXT.get(name, name)) for name in FORMAT_NAMES)
#: The output folder proposed for a project (inside it, as the demo does).
DEFAULT_OUT = "export"
NO_PROJECT = "No project: open a project folder (or save one in the Plan step)."


def _row(*widgets, label: str) -> Container:
    return Container(widgets=list(widgets), layout="horizontal", labels=False, label=label)


def _format_rows(boxes: dict) -> list[Container]:
    """The format check boxes two to a row (four in one row would widen the dock)."""
    ticks = list(boxes.values())
    return [_row(*ticks[i:i + 2], label="formats" if i == 0 else "") for i in range(0, len(ticks), 2)]


class ExportForm(Container):
    """The export inputs."""

    def __init__(self):
        self.formats = {name: CheckBox(text=text, value=name == "nnunet") for name, text in FORMAT_LABELS}
        self.out = FileEdit(label="output folder", mode="d")
        self.train = FloatSpinBox(value=0.8, min=0, max=1, step=0.05, tooltip="train fraction")
        self.val = FloatSpinBox(value=0.2, min=0, max=1, step=0.05, tooltip="validation fraction")
        self.test = FloatSpinBox(value=0.0, min=0, max=1, step=0.05, tooltip="test fraction")
        self.seed = SpinBox(label="split seed", value=0, min=0, max=2**31 - 1)
        self.test_boxes = LineEdit(label="test boxes", tooltip="box ids pinned to the test split, e.g. 3,7; "
                                   "IMAGE:ID (fib:3,embryo:1) in a project of several images")
        self.use_selected = PushButton(text="use the boxes selected on the boxes layer")
        self.overwrite = CheckBox(text="overwrite an existing export", value=False,
                                  tooltip="replace an earlier export in the output folder; unticked, new "
                                          "cases are added to it and the cases already there are kept")
        self.only_done = CheckBox(text="only boxes marked done", value=False)
        self.dataset_id = SpinBox(label="nnU-Net dataset id", value=501, min=1, max=999)
        self.dataset_name = LineEdit(label="nnU-Net dataset name", value="Patchwise")
        self.instance_class = ComboBox(label="instance class (StarDist, Cellpose)", choices=[])
        self.membrain_token = LineEdit(label="MemBrain-seg dataset token",
                                       tooltip="the start of every file name: letters, digits and '-'; "
                                               "empty: the project folder's name without other characters")
        self.membrain_class = ComboBox(label="membrane class (MemBrain-seg)", choices=[],
                                       tooltip="the class written as membrane (1); the others as no membrane (0)")
        super().__init__(widgets=[
            *_format_rows(self.formats), self.out,
            _row(self.train, self.val, self.test, label="train/val/test"), self.seed,
            self.test_boxes, self.use_selected, self.only_done, self.overwrite, self.dataset_id, self.dataset_name,
            self.instance_class, self.membrain_token, self.membrain_class,
        ])
        self.more = CollectionFields()  # split by, test images, other projects: Qt widgets, last in the form
        self.native.layout().addWidget(self.more)
        for box in self.formats.values():
            box.changed.connect(self._show_relevant)
        self._show_relevant()

    def chosen_formats(self) -> tuple[str, ...]:
        return tuple(name for name, box in self.formats.items() if box.value)

    def _show_relevant(self, *_):
        chosen = self.chosen_formats()
        self.dataset_id.visible = self.dataset_name.visible = "nnunet" in chosen
        self.instance_class.visible = bool({"stardist", "cellpose"} & set(chosen))
        self.membrain_token.visible = self.membrain_class.visible = "membrain" in chosen

    def set_classes(self, names: list[str]) -> None:
        """The plan's classes as membrane choices (``membrane`` first chosen when there is one)."""
        self.membrain_class.choices = names
        if names:
            self.membrain_class.value = "membrane" if "membrane" in names else names[0]

    def out_folder(self) -> Path:
        value = self.out.value
        if value is None or str(value).strip() in ("", "."):
            raise ValueError("choose an output folder (one folder per format is written inside it).")
        return Path(value)

    def options(self) -> ExportOptions:
        """The options (checked by :class:`ExportRequest`; a ValueError names what to fix)."""
        formats = self.chosen_formats()
        fractions = (self.train.value, self.val.value, self.test.value)
        context: dict = {"dataset_id": self.dataset_id.value, "dataset_name": self.dataset_name.value.strip()}
        if self.instance_class.value:
            context["instance_class"] = self.instance_class.value
        if "membrain" in formats:
            if self.membrain_token.value.strip():
                context["membrain_token"] = self.membrain_token.value.strip()
            if self.membrain_class.value:
                context["membrain_class"] = self.membrain_class.value
        return ExportOptions(formats=formats, fractions=fractions, seed=self.seed.value,
                             test_boxes=parse_test_boxes(self.test_boxes.value, "test boxes"),
                             overwrite=self.overwrite.value,
                             only_done=self.only_done.value, context=context,
                             split_by=self.more.chosen_split_by(), test_images=self.more.chosen_test_images())


class ExportWidget(NarrowDock, QWidget):
    """Dock widget: write the project's validated boxes as training data."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.form = ExportForm()
        self.project: str | None = None
        self.last_report: ExportReport | None = None
        self._closed = False
        self.project_label = QLabel(NO_PROJECT)
        self.project_label.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("What the export wrote and skipped appears here.")
        self.skipped = SkippedBoxes()
        layout = QVBoxLayout(self)
        layout.addWidget(self.project_label)
        layout.addWidget(self.form.native)
        layout.addWidget(self.export_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.skipped, stretch=1)
        layout.addWidget(self.summary, stretch=1)
        self.runner = Runner(self, progress=self.progress, controls=(self.export_button,), session=self.session)
        self.export_button.clicked.connect(lambda: self.export())
        self.form.use_selected.changed.connect(lambda *_: self.use_selected_boxes())
        self.form.more.toggle.toggled.connect(lambda shown: shown and self.show_test_images())
        self.form.more.projects_changed.connect(self.show_test_images)
        self.viewer.layers.events.inserted.connect(self.reset_choices)
        self.viewer.layers.events.removed.connect(self.reset_choices)
        self.destroyed.connect(lambda *_: self._teardown())
        self.reset_choices()
        narrow_combos(self)

    @property
    def busy(self) -> bool:
        """An export is running."""
        return self.runner.busy

    def _teardown(self) -> None:
        self._closed = True
        for emitter in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            emitter.disconnect(self.reset_choices)

    # -- inputs (read in the GUI thread) -------------------------------------------
    def reset_choices(self, *_):
        if self._closed:
            return
        projects = annotation_projects(self.viewer.layers)
        project = projects[0] if projects else None
        if project != self.project:
            self.skipped.clear()
        self.project = project
        if self.project is None:
            self.project_label.setText(NO_PROJECT)
            self.form.instance_class.choices = []
            self.form.set_classes([])
            self.form.more.set_images([])
            return
        self.project_label.setText(f"project: {self.project}")
        try:
            plan = self.session.current_plan(self.project)
        except ProjectError as e:
            show_error(str(e))
            return
        self.form.instance_class.choices = [c.name for c in plan.classes if c.kind == "instance"]
        self.form.set_classes([c.name for c in plan.classes])
        self.show_test_images()
        if str(self.form.out.value).strip() in ("", "."):
            self.form.out.value = Path(self.project) / DEFAULT_OUT

    def image_names(self) -> list[str]:
        """The names of the project's images, as saved (empty without a readable project)."""
        try:
            return list(load_collection(self.project).names) if self.project is not None else []
        except ProjectError:
            return []

    def show_test_images(self, *_) -> None:
        """List the images the export can hold out as test: the project's, and with other projects
        added every project's as ``PROJECT:IMAGE`` (the names the export takes)."""
        if self._closed:
            return
        folders = [self.project, *self.form.more.other_projects()] if self.project is not None else []
        self.form.more.set_images(export_image_names(folders))

    def selected_ids(self) -> list[int]:
        """Boxes whose rectangles are selected: through the planner, else in the reader's boxes layer."""
        return selected_project_box_ids(self.session, self.viewer.layers, self.project)

    def use_selected_boxes(self) -> list[int]:
        """Pin the selected boxes to the test split (their ids go into 'test boxes').

        In a project of several images the ids are written ``IMAGE:ID`` (box ids
        repeat across images): the shown image's entries are replaced, other
        images' kept, so boxes of several images are pinned one image at a time.
        """
        ids = self.selected_ids() if self.project is not None else []
        if not ids:
            show_warning("No box is selected: select box rectangles on the boxes layer first.")
            return []
        names = self.image_names()
        if len(names) < 2:
            self.form.test_boxes.value = ",".join(map(str, ids))
            return ids
        shown = self.session.image_of(self.project) or names[0]
        try:
            pinned = [p for p in parse_test_boxes(self.form.test_boxes.value) if isinstance(p, tuple)]
        except ValueError:
            pinned = []  # unreadable text is replaced
        kept = [f"{name}:{i}" for name, i in pinned if name != shown]
        self.form.test_boxes.value = ",".join([*kept, *(f"{shown}:{i}" for i in ids)])
        return ids

    # -- the export ----------------------------------------------------------------
    def export(self) -> None:
        """Export in a worker; the summary appears when it is done."""
        if self.busy:
            show_warning("An export is already running; wait for it to finish.")
            return
        try:
            if self.project is None:
                raise ValueError("no project: open a project folder first (its annotation layers are needed).")
            options = replace(self.form.options(), overrides=dict(self.skipped.overrides))
            request = ExportRequest(self.project, self.form.out_folder(), options, self.form.more.other_projects())
        except ValueError as e:
            show_error(str(e))
            return
        self.runner.start(lambda progress: run_export(request, progress=progress), what="Export",
                          returned=self._finish, failed=self.summary.setPlainText, label="exporting: %p%")

    def _finish(self, report: ExportReport) -> None:
        self.last_report = report
        self.summary.setPlainText(report.summary())
        self.skipped.set_skipped(report.skipped)
        new = len({case for cases in report.written.values() for case in cases})
        where = ", ".join(sorted({str(Path(folder).parent) for folder in report.folders.values()}))
        message = f"Exported {new} boxes as {', '.join(report.folders)} into {where}"
        if not new:
            kept = len({case for cases in report.kept.values() for case in cases})
            message = f"Nothing new to export: the export in {where} holds its {kept} boxes already"
        if report.skipped:
            message += f"; {len(report.skipped)} boxes skipped (the Export step lists them: override one there with a reason)"
        (show_info if new and not report.skipped else show_warning)(message + ".")
