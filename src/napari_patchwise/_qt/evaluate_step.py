"""The Evaluate step: a model's prediction compared with the project's annotations, box by box.

The form builds the :class:`~napari_patchwise.engine.evaluate.run.EvaluateRequest`
``patchwise evaluate`` builds; *Evaluate* runs
:func:`~napari_patchwise.engine.evaluate.run.evaluate` in the dock's
:class:`.runner.Runner` (progress, Cancel, nothing delivered once the dock is
gone). The overall scores go above a table of boxes, the worst first
(:mod:`.evaluate_table`); a click on a row shows that box's image (switching
images as the Plan step's image list does), goes to the box as the box table
does and shows the prediction there as the ``prediction`` Labels layer
(:mod:`.prediction_layer`).

A single prediction file is the prediction of the image shown; a folder holds
one file per image, named after it, and every image is evaluated.
"""

from __future__ import annotations

from pathlib import Path

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.evaluate.prediction import KINDS
from ..engine.evaluate.run import EvaluateRequest, evaluate
from ..engine.io.filecheck import _is_zarr
from ..engine.io.hdf5 import split_dataset
from ..engine.plan.plan_file import ProjectError, load_collection
from ..layers.project_link import layer_image
from .evaluate_table import EvaluateTable, cell_text
from .prediction_layer import PREDICTION_KEY, PREDICTION_NAME, show_prediction, shown_key
from .runner import Runner

#: Which boxes are evaluated: (label, key).
BOX_CHOICES = (("all annotated boxes", "all"), ("the last export's test split", "test"),
               ("the boxes selected in the Plan step", "selected"))

#: How often a box of another image is looked for while that image opens, and for how long (ms).
WAIT_MS = 50
WAIT_LIMIT_MS = 60_000


def iou_thresholds(text: str) -> tuple[float, ...]:
    """IoU thresholds typed as ``0.5, 0.75`` (the engine checks their range).

    Examples
    --------
    >>> iou_thresholds("0.5, 0.75")
    (0.5, 0.75)
    >>> iou_thresholds("half")
    Traceback (most recent call last):
    ...
    ValueError: IoU thresholds are numbers separated by commas, like 0.5,0.75; got 'half'.
    """
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values:
        raise ValueError(f"IoU thresholds are numbers separated by commas, like 0.5,0.75; got {text!r}.")
    return values


def is_folder_of_predictions(path) -> bool:
    """Whether ``path`` is a folder of prediction files (not one Zarr store).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     is_folder_of_predictions(tmp), is_folder_of_predictions(f"{tmp}/pred.tif")
    (True, False)
    """
    p, _ = split_dataset(path)
    return p.is_dir() and not _is_zarr(p)


def overall_text(scores: dict, thresholds) -> str:
    """The overall scores in a line or two: Dice, F1 at the first IoU threshold, VI when measured.

    Examples
    --------
    >>> overall_text({"dice": 0.8, "f1": 0.5, "precision": 0.4, "recall": 0.667, "vi_split": None,
    ...               "vi_merge": None, "boxes": 3, "voxels": 1200}, (0.5, 0.75))
    'Dice 0.800 · F1 0.500 at IoU 0.5 (precision 0.400, recall 0.667) · 3 boxes, 1,200 voxels'
    """
    parts = [f"Dice {cell_text(scores.get('dice'))}"]
    if scores.get("f1") is not None:
        parts.append(f"F1 {cell_text(scores['f1'])} at IoU {thresholds[0]:g} (precision "
                     f"{cell_text(scores.get('precision'))}, recall {cell_text(scores.get('recall'))})")
    if scores.get("vi_split") is not None:
        parts.append(f"VI split {cell_text(scores['vi_split'])} / merge {cell_text(scores.get('vi_merge'))} bits")
    parts.append(f"{scores['boxes']} box{'es' if scores['boxes'] != 1 else ''}, {scores['voxels']:,} voxels")
    return " · ".join(parts)


class EvaluateStep(QWidget):
    """The Evaluate step of the Patchwise dock.

    Parameters
    ----------
    planner : PlannerWidget
        The Plan step: its project, shown image, box table, image list and ``jump_to_box``.
    """

    def __init__(self, planner):
        super().__init__()
        self.planner = planner
        self.viewer = planner.viewer
        self.session = planner.session
        self.request: EvaluateRequest | None = None
        self.result = None
        self._pending: tuple[str, int] | None = None  # a box to go to once its image is shown
        self._waited = 0
        self._waiting = QTimer(self)
        self._waiting.setInterval(WAIT_MS)
        self._waiting.timeout.connect(self._try_pending)

        self.prediction = QLineEdit()
        self.prediction.setPlaceholderText("prediction file, or a folder of NAME.tif …")
        self.prediction.setToolTip(
            "A prediction file (TIFF, Zarr, HDF5 as file.h5:dataset, .npy) of the image shown, of the image's "
            "shape or the annotation grid's; or a folder with one file per image named after it (NAME.tif).")
        self.file_button = QPushButton("File…")
        self.folder_button = QPushButton("Folder…")
        self.kind = QComboBox()
        self.kind.addItems(KINDS)
        self.kind.setToolTip("What the prediction holds (auto: floats a probability map, integers instance ids, "
                             "or class values when the plan has several classes).")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.5)
        self.threshold.setToolTip("A voxel of a probability map is foreground from this probability on.")
        self.iou = QLineEdit("0.5,0.75")
        self.iou.setToolTip("IoU thresholds of instance matching; F1, precision and recall are at the first.")
        self.boxes = QComboBox()
        for label, key in BOX_CHOICES:
            self.boxes.addItem(label, key)
        self.evaluate_button = QPushButton("Evaluate")
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.overall = QLabel("Choose a prediction and press Evaluate.")
        self.overall.setWordWrap(True)
        self.table = EvaluateTable()

        pick = QHBoxLayout()
        pick.setContentsMargins(0, 0, 0, 0)
        pick.addWidget(self.prediction, stretch=1)
        pick.addWidget(self.file_button)
        pick.addWidget(self.folder_button)
        form = QFormLayout()
        form.addRow("prediction", pick)
        form.addRow("holds", self.kind)
        form.addRow("probability threshold", self.threshold)
        form.addRow("IoU thresholds", self.iou)
        form.addRow("boxes", self.boxes)
        running = QHBoxLayout()
        running.addWidget(self.progress, stretch=1)
        running.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.evaluate_button)
        layout.addLayout(running)
        layout.addWidget(self.overall)
        layout.addWidget(self.table, stretch=1)
        self.runner = Runner(self, progress=self.progress, cancel_button=self.cancel_button,
                             controls=(self.evaluate_button,), session=self.session)

        self.file_button.clicked.connect(lambda: self.choose_prediction(folder=False))
        self.folder_button.clicked.connect(lambda: self.choose_prediction(folder=True))
        self.evaluate_button.clicked.connect(lambda: self.run())
        self.table.box_clicked.connect(self.go_to)

    # -- the request -------------------------------------------------------------------
    def choose_prediction(self, folder: bool) -> None:
        """Pick the prediction in a file dialog."""
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Folder of predictions (one file per image)")
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Prediction", filter="Volumes (*.tif *.tiff *.h5 *.hdf5 *.hdf *.npy *.zarr *.mrc *.rec *.nrrd "
                                           "*.nii *.nii.gz);;All files (*)")
        if path:
            self.prediction.setText(path)

    def _shown(self, names) -> str:
        return self.session.image_of(self.planner.project) or names[0]

    def build_request(self) -> EvaluateRequest:
        """The request of the form (``ValueError`` / ``ProjectError`` say what to change)."""
        folder = self.planner.project
        if folder is None:
            raise ValueError("open or save a project first: its annotations are what the prediction is compared "
                             "with.")
        text = self.prediction.text().strip()
        if not text:
            raise ValueError("choose a prediction: a file of the image shown, or a folder of files named after "
                             "the images.")
        names = list(load_collection(folder).names)
        shown = self._shown(names)
        images = None if is_folder_of_predictions(text) else [shown]
        boxes, split = None, None
        choice = self.boxes.currentData()
        if choice == "test":
            split = "test"
        elif choice == "selected":
            ids = self.planner.table.selected_ids()
            if not ids:
                raise ValueError("select boxes in the Plan step's table first, or evaluate all annotated boxes.")
            images, boxes = [shown], {shown: ids}
        return EvaluateRequest(Path(folder), Path(text), images=images, boxes=boxes, split=split,
                               iou_thresholds=iou_thresholds(self.iou.text()), threshold=self.threshold.value(),
                               kind=self.kind.currentText())

    def run(self) -> None:
        """Evaluate in the runner; the scores and the table come when it is done."""
        if self.runner.busy:
            show_info("Still evaluating; wait for the progress bar to finish, or cancel.")
            return
        try:
            request = self.build_request()
        except (ValueError, ProjectError) as e:
            show_error(f"Cannot evaluate: {e}")
            return

        def work(progress):
            result = evaluate(request, progress)
            return result, result.to_dict()  # the scores too: computing them is not the GUI thread's work

        self.runner.start(work, what="Evaluation", label="evaluating… %p%",
                          returned=lambda done: self.show_result(request, *done))

    def show_result(self, request: EvaluateRequest, result, data: dict | None = None) -> None:
        """The overall scores and the table of boxes, worst first (``data``: ``result.to_dict()``, when
        computed already)."""
        self.request, self.result = request, result
        if data is None:
            data = result.to_dict()
        self.table.set_boxes(data["boxes"])
        empty = sum(1 for r in data["boxes"] if not r["voxels"])
        text = overall_text(data["overall"], data["iou_thresholds"])
        if empty:
            text += (f"\n{empty} box{'es' if empty != 1 else ''} without annotated voxels "
                     f"{'are' if empty != 1 else 'is'} not listed.")
        self.overall.setText(text)
        show_info(f"Evaluated: {text.splitlines()[0]}")

    # -- going to a box ---------------------------------------------------------------------
    def go_to(self, image: str, box_id: int) -> None:
        """Show ``image`` (switching the shown image if needed), go to the box, show the prediction there."""
        request = self.request
        folder = self.planner.project
        if request is None or folder is None or Path(folder).resolve() != request.project.resolve():
            show_warning("The project evaluated is no longer open; open it and evaluate again.")
            return
        names = list(self.result.predictions)
        shown = self.session.image_of(folder)
        if shown is not None and shown != image:
            self._pending = (image, box_id)
            if not self.planner.images.show_image(image):
                self._pending = None
                return
            self._waited = 0
            self._try_pending()  # else once its layers are in
            return
        if shown is None and len(names) > 1 and image != names[0]:  # a project of one image has one name
            show_warning(f"Image {image} is not shown; select it in the Plan step's image list.")
            return
        self._finish(image, box_id)

    def _try_pending(self) -> None:
        """Go to the pending box once its image is shown whole (its opening over, its boxes taken over)."""
        pending, sync = self._pending, self.planner.sync
        if pending is None:
            self._waiting.stop()
            return
        ready = (sync is not None and sync.rectangles in self.viewer.layers and not self.session.openings
                 and layer_image(sync.rectangles) == pending[0])
        if not ready:
            self._waited += 1
            if self._waited * WAIT_MS > WAIT_LIMIT_MS:
                self._pending = None
                self._waiting.stop()
                show_warning(f"Image {pending[0]} did not open; select it in the Plan step's image list.")
            elif not self._waiting.isActive():
                self._waiting.start()
            return
        self._pending = None
        self._waiting.stop()
        self._finish(*pending)

    def _finish(self, image: str, box_id: int) -> None:
        sync = self.planner.sync
        if sync is None or not any(b.id == box_id for b in sync.plan.boxes):
            show_warning(f"Box {box_id} of {image} is not in the plan shown; open the project again.")
            return
        path = self.result.predictions.get(image)
        layer = self.viewer.layers[PREDICTION_NAME] if PREDICTION_NAME in self.viewer.layers else None
        shows = None if layer is None else (layer.metadata or {}).get(PREDICTION_KEY)
        if path is not None and shows != shown_key(path, self.request.kind, self.request.threshold):
            try:
                show_prediction(self.viewer, path, sync.plan, self.request.kind, self.request.threshold)
            except (ValueError, OSError) as e:
                show_error(f"Cannot show the prediction {path}: {e}")
            self.viewer.layers.selection.active = sync.rectangles
        self.planner.jump_to_box(box_id)
