"""The QC step's per-box findings: Check all boxes, the findings table, Mark box done, dense box.

Box checks run through the dock's :class:`~.runner.Runner`; the report fills
the table, sets the boxes' statuses in the plan and colours the Box planner's
boxes. The rows are :class:`FindingRow` objects kept in
:attr:`FindingsPanel.rows` beside the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari.utils.notifications import show_warning
from psygnal import Signal
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ..engine.plan.annotation_store import open_annotations
from ..engine.qc.checks import BoxQC, QCReport, check_plan_annotations, hidden_arrays
from ..engine.findings import Finding
from .in_turns import TURN_MS, event_loop_running
from .qc_table import CompactTable


@dataclass(frozen=True)
class FindingRow:
    """One row of the findings table.

    Attributes
    ----------
    box_id : int or None
        The box, ``None`` for a finding about the whole plan.
    status : str
        The box's status (``""`` for the plan).
    finding : Finding or None
        ``None`` for a box checked without findings.
    """

    box_id: int | None
    status: str
    finding: Finding | None = None

    def cells(self) -> tuple[str, str, str, str, str]:
        """The row's texts: box, status, severity, code, message."""
        f = self.finding
        box = "plan" if self.box_id is None else str(self.box_id)
        if f is None:
            return box, self.status, "ok", "", "no findings"
        return box, self.status, f.severity, f.code, f.message


def finding_rows(plan_findings, boxes: dict[int, BoxQC], statuses: dict[int, str]) -> list[FindingRow]:
    """The table's rows: plan findings first, then every checked box's findings by box id."""
    rows = [FindingRow(None, "", f) for f in plan_findings]
    for box_id in sorted(boxes):
        status = statuses.get(box_id, "")
        rows += [FindingRow(box_id, status, f) for f in boxes[box_id].findings] or [FindingRow(box_id, status)]
    return rows


class FindingsPanel(QWidget):
    """Per-box findings of the annotation checks, with box status actions.

    Parameters
    ----------
    host : QCWidget
        The dock: its ``runner``, ``live``, ``project``, ``connectivity`` and
        ``closed`` are used.
    """

    #: Emitted with the number of rows after the table was refilled.
    shown = Signal(int)

    def __init__(self, host):
        super().__init__()
        self.host = host
        self.rows: list[FindingRow] = []
        self._rows: list[FindingRow] | None = None  # a report's rows waiting for the table
        self._boxes: dict[int, BoxQC] = {}
        #: Fills the table a turn after a report recoloured the boxes.
        self.rows_timer = QTimer(self, singleShot=True, interval=TURN_MS)
        self.rows_timer.timeout.connect(self._show_rows)
        self.check_button = QPushButton("Check all boxes")
        self.done_button = QPushButton("Mark done")
        self.done_button.setToolTip("Mark the selected row's box done")
        self.dense_check = QCheckBox("dense")
        self.dense_check.setToolTip("The selected box is annotated in every voxel (unannotated voxels are errors)")
        self.table = CompactTable(["box", "status", "severity", "code", "message"])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        for w in (self.check_button, self.done_button, self.dense_check):
            row.addWidget(w)
        layout.addLayout(row)
        layout.addWidget(self.table, stretch=1)
        self.table.cellClicked.connect(lambda r, _c: self._on_row_clicked(r))
        self.check_button.clicked.connect(lambda: self.check_boxes())
        self.done_button.clicked.connect(lambda: self.mark_done())
        self.dense_check.clicked.connect(lambda on: self.set_dense(on))

    def forget(self, box_ids) -> None:
        """Drop what is known of boxes that are gone from the plan."""
        for box_id in box_ids:
            self._boxes.pop(box_id, None)

    def check_boxes(self, box_ids=None, quiet: bool = False) -> None:
        """Check boxes (all by default) in a worker; findings fill the table and colour the boxes."""
        host = self.host
        live, project = host.live, host.project
        if live is None or project is None or host.closed:
            if not quiet and not host.closed:
                show_warning("No project to check.")
            return
        plan = self.host.session.current_plan(project)
        live.set_plan(plan)
        layers = {n: lay.data for n, lay in live.layers.items()}
        image = self.host.session.image_of(project)
        connectivity = host.connectivity.currentData()

        def work(progress):  # the store opened here too: a few milliseconds less on the GUI thread
            hidden = hidden_arrays(open_annotations(project, plan, mode="r", image=image))
            return check_plan_annotations(plan, layers, hidden=hidden, box_ids=box_ids,
                                          connectivity=connectivity, progress=progress)

        host.runner.start(work, what="QC check", quiet=quiet, label="checking boxes: %p%",
                          returned=lambda report, full=box_ids is None: self.show_report(report, full))

    def show_report(self, report: QCReport, full: bool) -> None:
        """Statuses into the plan, findings onto the planner's boxes and into the table.

        The boxes are redrawn once, statuses and colours together.
        """
        project = self.host.project
        if self.host.closed or project is None:
            return
        if full:
            self._boxes = {}
        self._boxes.update(report.boxes)
        session = self.host.session
        findings = [f for q in self._boxes.values() for f in q.findings]
        plan_level = [f for f in report.findings if f.box_id is None] if full else []
        current = session.current_plan(project)
        plan = report.apply_statuses(current)
        sync = session.sync_for(project)
        news = sync is not None and sync.extra_findings != findings  # the boxes' colours follow the findings
        if plan is not current:  # a status changed: save and redraw the boxes (with the findings) once
            session.commit_plan(project, plan, findings if news else None)
        elif news:
            session.show_findings(project, findings)
        self._rows = finding_rows(plan_level, self._boxes, {b.id: b.status for b in plan.boxes})
        if (news or plan is not current) and event_loop_running():
            self.rows_timer.start()  # the boxes' new colours and the table: two short repaints, not one long
        else:
            self._show_rows()

    def _show_rows(self) -> None:
        """The rows of the last report into the table."""
        self.rows_timer.stop()
        if self._rows is None or self.host.closed:
            return
        self.rows, self._rows = self._rows, None
        self.table.set_rows([r.cells() for r in self.rows])
        self.shown.emit(len(self.rows))

    def selected_box(self) -> int | None:
        """The box of the first selected row (``None`` for none or a plan finding)."""
        rows = [self.rows[r] for r in self.table.selected_rows() if r < len(self.rows)]
        return rows[0].box_id if rows else None

    def _on_row_clicked(self, r: int) -> None:
        project = self.host.project
        if not 0 <= r < len(self.rows) or self.rows[r].box_id is None or project is None:
            return
        box = next((b for b in self.host.session.current_plan(project).boxes if b.id == self.rows[r].box_id), None)
        if box is not None:
            self.dense_check.setChecked(box.dense)

    def _edit_box(self, box_id: int | None, **changes) -> None:
        project = self.host.project
        if box_id is None or project is None:
            show_warning("Select a box's row in the findings table first.")
            return
        self.host.session.commit_plan(project, self.host.session.current_plan(project).update_box(box_id, **changes))
        self.check_boxes([box_id], quiet=True)

    def mark_done(self, box_id: int | None = None) -> None:
        """Set a box's status to done (the selected row's box by default) and recheck it."""
        self._edit_box(self.selected_box() if box_id is None else box_id, status="done")

    def set_dense(self, on: bool, box_id: int | None = None) -> None:
        """Mark a box dense or not (the selected row's box by default) and recheck it."""
        self._edit_box(self.selected_box() if box_id is None else box_id, dense=bool(on))
