"""The Propose section of the Box planner and the actions on proposed boxes.

Everything that decides *which* boxes is in :mod:`napari_patchwise.engine.propose.run`;
this module gathers the input from napari layers, has the image measured
(:class:`.propose_measure.CandidateMeasure`: a worker thread with a progress bar
and a Cancel button, and a cache), and hands the new plan to the dock's
:class:`~napari_patchwise.layers.box_sync.BoxLayerSync` on the main thread, so
validation, colouring and autosave work as for boxes drawn by hand.

Proposing again, with another seed or count, and re-proposing single boxes do
not read the image again.
"""

from __future__ import annotations

from collections.abc import Sequence

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..engine.jobs.propose import ProposeRequest, run_propose
from ..engine.plan.plan_file import ProjectError, load_collection
from ..engine.plan.rounds import next_round, record_new_boxes
from ..engine.propose.run import Candidates
from .box_actions import BoxActions
from .box_table import describe_box
from .in_turns import text_a_turn_later
from .propose_measure import CandidateMeasure
from .propose_form import (
    CandidateCache,
    Extent,
    MeasureRequest,
    ProposeForm,
    layer_array,
    points_to_voxels,
)
from .runner import Runner


class ProposePanel(CandidateMeasure, BoxActions, QWidget):
    """Propose form, button and progress; per-box actions in :attr:`actions`.

    Parameters
    ----------
    host : PlannerWidget
        The dock: gives the viewer, the plan's sync, its image layer and the table.
    """

    def __init__(self, host):
        super().__init__()
        self.host = host
        self.cache = CandidateCache()
        #: Extents of rejected (and re-proposed) boxes: never proposed again this session.
        self.rejected: list[Extent] = []
        self.last_report = None
        self.last_worker = None
        self._watched: set[int] = set()

        self.form = ProposeForm(self._layers_of)
        self.new_points_button = QPushButton("New points layer on the image")
        self.new_points_button.setToolTip("add a Points layer with the image's voxel size and units, in add "
                                          "mode: click where boxes should be centred, then Propose")
        self.propose_button = QPushButton("Propose")
        self.propose_button.setToolTip("add boxes from the chosen source (measures the image once)")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop measuring the image")
        self.cancel_button.setVisible(False)
        self.report = QLabel("")
        self.report.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.form.native)
        layout.addWidget(self.new_points_button)
        layout.addWidget(self.propose_button)
        running = QHBoxLayout()
        running.addWidget(self.progress, stretch=1)
        running.addWidget(self.cancel_button)
        layout.addLayout(running)
        layout.addWidget(self.report)
        layout.addStretch(1)

        self.actions = QWidget()
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("lock the selected boxes: they are kept when proposing again")
        self.reject_button = QPushButton("Reject")
        self.reject_button.setToolTip("remove the selected boxes; their places are not proposed "
                                      "again in this session")
        self.repropose_button = QPushButton("Re-propose")
        self.repropose_button.setToolTip("swap each selected box for another of its stratum")
        self.lock_button = QPushButton("Lock / unlock")
        self.lock_button.setToolTip("lock the selected boxes, or unlock them if all are locked")
        row = QHBoxLayout(self.actions)
        row.setContentsMargins(0, 0, 0, 0)
        for b in (self.accept_button, self.reject_button, self.repropose_button, self.lock_button):
            row.addWidget(b)
        self.details = QLabel("Select a box in the table to see why it was proposed.")
        self.details.setWordWrap(True)
        self.runner = Runner(self, progress=self.progress, cancel_button=self.cancel_button,
                             controls=(self.propose_button, self.repropose_button), session=host.session)

        self.propose_button.clicked.connect(lambda: self.propose())
        self.new_points_button.clicked.connect(lambda: self.new_points_layer())
        self.form.source.changed.connect(self._show_points_button)
        self._show_points_button()
        self.accept_button.clicked.connect(lambda: self.accept())
        self.reject_button.clicked.connect(lambda: self.reject())
        self.repropose_button.clicked.connect(lambda: self.repropose())
        self.lock_button.clicked.connect(lambda: self.toggle_lock())
        host.viewer.layers.events.removed.connect(self._on_layer_removed)
        self.reset_choices()

    # -- state -------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A measurement is running."""
        return self.runner.busy

    @property
    def sync(self):
        return self.host.sync

    def reset_choices(self, *_):
        self.form.reset_choices()

    def new_session(self) -> None:
        """A plan was attached: forget rejected places (the cache is keyed by layer)."""
        self.rejected = []
        self.report.setText("")

    def _layers_of(self, kind) -> list:
        return [layer for layer in self.host.viewer.layers if isinstance(layer, kind)]

    def selected_ids(self) -> list[int]:
        """Boxes selected in the table, else those whose rectangles are selected."""
        ids = self.host.table.selected_ids()
        if not ids and self.sync is not None:
            ids = self.sync.selected_box_ids()
        return ids

    def show_details(self, ids: Sequence[int]) -> None:
        """Describe the selected boxes below the table."""
        if self.sync is None or not ids:
            self.details.setText("Select a box in the table to see why it was proposed.")
            return
        plan = self.sync.plan
        known = [i for i in ids if any(b.id == i for b in plan.boxes)]
        text = "\n\n".join(describe_box(plan.box(i)) for i in known[:3])
        if len(known) > 3:
            text += f"\n\n… and {len(known) - 3} more selected"
        self.details.setText(text)

    # -- propose -----------------------------------------------------------------
    def propose(self) -> None:
        """Propose boxes from the chosen source (image content, points or uncertainty)."""
        if self.busy:
            show_info("Still measuring the image; wait for the progress bar to finish.")
            return
        if self.sync is None and self.host.new_plan() is None:
            return  # new_plan said why
        image = self._plan_image()
        if image is None:
            return
        source = self.form.source.value
        if source == "points":
            self._propose_from_points(image)
            return
        request = self._request(image, source)
        if request is not None:
            self._with_candidates(request, self._apply_proposal)

    def _plan_image(self):
        plan = self.sync.plan
        layer = self.host.image_layer()
        if layer is None:
            show_error(f"The plan's image '{plan.image.name}' is not open in the viewer; open it "
                       "(or the project) to propose boxes.")
            return None
        shape = tuple(layer_array(layer).shape)
        if shape != tuple(plan.image.shape):
            show_error(f"The image layer '{layer.name}' has shape {shape} but the plan was made "
                       f"for {tuple(plan.image.shape)}; start a new plan on it.")
            return None
        return layer

    def _apply_proposal(self, cands: Candidates, request: MeasureRequest) -> None:
        plan = self._current_plan_for(request)
        if plan is None:
            return
        n, budget = self.form.limits()
        source = self.form.source.value
        try:
            number = self._next_round()
            result = run_propose(ProposeRequest(
                plan, by="uncertainty" if source == "uncertainty" else "content", candidates=cands, n=n,
                budget=budget, seed=self.form.seed.value, include_empty=self.form.include_empty.value,
                replace=self.form.replace.value, exclude=tuple(self.rejected), round=number))
        except ValueError as e:
            show_error(f"Cannot propose: {e}")
            return
        new, report = result.plan, result.report
        self.last_report = report
        with text_a_turn_later(self.sync.rectangles):  # the new boxes' ids are drawn a repaint later
            self.sync.set_plan(new)
        self._record_round(number, new, result.added, f"Propose step: {source}",
                           {"n": n, "budget": budget, "seed": self.form.seed.value})
        self._report(report.summary(), report.messages)

    def _next_round(self) -> int | None:
        """The project's next round (over every image and record); ``None`` for a plan not saved as a
        project yet (the plan's own next round, unrecorded)."""
        folder = self.host.project
        if folder is None:
            return None
        try:
            return next_round(load_collection(folder), folder)
        except (ProjectError, OSError):
            return None

    def _record_round(self, number: int | None, plan, added, what: str, request: dict) -> None:
        """Record the round in ``PROJECT/rounds/loop_NNN.json``, as ``patchwise propose`` does."""
        folder = self.host.project
        if folder is None or number is None or not added:
            return
        try:
            name = self.host.images.shown() or load_collection(folder).names[0]
            record_new_boxes(folder, number, f"napari-patchwise dock, {what}", [(name, plan, added)],
                             request=request)
        except (ProjectError, OSError) as e:
            show_warning(f"The boxes are proposed, but the record of round {number} was not written: {e}")

    def _report(self, summary: str, messages: Sequence[str]) -> None:
        self.report.setText("\n".join([summary, *messages]))
        show_info(summary[:1].upper() + summary[1:])
        if messages:
            show_warning("\n".join(messages))

    def _show_points_button(self, *_) -> None:
        self.new_points_button.setVisible(self.form.source.value == "points")

    def new_points_layer(self):
        """A new, empty 3D Points layer on the plan's image (its scale, translation and units), chosen
        as the points layer and in add mode; ``None`` (and a message) without an image."""
        layer = self.host.image_layer()
        if layer is None:
            layer = self.host.settings.image.value
        if layer is None or layer.ndim < 3:
            show_error("Open a 3D image (and choose it in the Plan step) before adding points on it.")
            return None
        points = self.host.viewer.add_points(
            ndim=3, name="box centres", scale=tuple(layer.scale[-3:]), translate=tuple(layer.translate[-3:]),
            units=tuple(str(u) for u in layer.units[-3:]), size=10, face_color="yellow")
        self.form.reset_choices()
        self.form.points.value = points
        points.mode = "add"
        return points

    def _propose_from_points(self, image) -> None:
        layer = self.form.points.value
        if layer is None:
            show_error("Choose a Points layer (add one with the 'new points layer' button and "
                       "click where boxes should go) to propose boxes on points.")
            return
        plan = self.sync.plan
        try:
            voxels = points_to_voxels(layer, image)
            if len(voxels) == 0:
                show_warning(f"The points layer '{layer.name}' has no points; add some first.")
                return
            number = self._next_round()
            result = run_propose(ProposeRequest(plan, by="points", points=voxels, border=self.form.border.value,
                                                replace=self.form.replace.value, exclude=tuple(self.rejected),
                                                round=number))
        except ValueError as e:
            show_error(f"Cannot place boxes on the points of '{layer.name}': {e}")
            return
        self.sync.set_plan(result.plan)
        self._record_round(number, result.plan, result.added, f"Propose step: points of '{layer.name}'",
                           {"points": len(voxels)})
        added = len(result.added)
        self._report(f"added {added} box{'es' if added != 1 else ''} centred on the points "
                     f"of '{layer.name}'", result.messages)
