"""The Evaluate step's table: a row per box, worst first; a click asks the dock to go to that box.

The scores are the engine's (:meth:`~napari_patchwise.engine.evaluate.run.EvaluateResult.to_dict`);
this module only orders and formats them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

#: Columns: (heading, key of a box's scores).
COLUMNS = (("image", "image"), ("box", "id"), ("Dice", "dice"), ("F1", "f1"), ("precision", "precision"),
           ("recall", "recall"), ("splits", "splits"), ("merges", "merges"), ("VI split", "vi_split"),
           ("VI merge", "vi_merge"), ("voxels", "voxels"), ("stratum", "stratum"))


def _known(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def worst_first(boxes: Sequence[dict]) -> list[dict]:
    """Boxes with annotated voxels, the worst first: lowest Dice, then lowest F1 (a box with
    no Dice is ordered by its F1); boxes without a score after those with one.

    Examples
    --------
    >>> rows = [{"id": 1, "dice": 0.9, "f1": 0.5, "voxels": 10}, {"id": 2, "dice": 0.4, "f1": 1.0, "voxels": 5},
    ...         {"id": 3, "dice": 0.9, "f1": 0.2, "voxels": 8}, {"id": 4, "dice": None, "f1": None, "voxels": 0},
    ...         {"id": 5, "dice": None, "f1": None, "voxels": 3}]
    >>> [r["id"] for r in worst_first(rows)]
    [2, 3, 1, 5]
    """
    def key(row):
        first = row.get("dice") if _known(row.get("dice")) else row.get("f1")
        second = row.get("f1")
        return (not _known(first), first if _known(first) else 0.0, second if _known(second) else math.inf)

    return sorted((r for r in boxes if r.get("voxels")), key=key)


def cell_text(value) -> str:
    """A score as the table shows it.

    Examples
    --------
    >>> cell_text(0.81234), cell_text(None), cell_text(7), cell_text("dense")
    ('0.812', '—', '7', 'dense')
    """
    if not _known(value):
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


class EvaluateTable(QTableWidget):
    """Rows of evaluated boxes, worst first; emits :attr:`box_clicked` with ``(image, box id)``."""

    box_clicked = Signal(str, int)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([h for h, _ in COLUMNS])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setToolTip("The boxes evaluated, the worst first (lowest Dice, then F1); click a row to go to "
                        "the box and see the prediction there.")
        self.cellClicked.connect(self._on_click)
        self.rows: list[tuple[str, int]] = []

    def set_boxes(self, boxes: Sequence[dict]) -> None:
        """Show the boxes' scores (``to_dict()["boxes"]``), the worst first."""
        ordered = worst_first(boxes)
        self.rows = [(str(r["image"]), int(r["id"])) for r in ordered]
        self.setRowCount(len(ordered))
        for row, scores in enumerate(ordered):
            for col, (_, key) in enumerate(COLUMNS):
                item = QTableWidgetItem(cell_text(scores.get(key)))
                if col > 1 and key != "stratum":
                    item.setTextAlignment(int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter))
                self.setItem(row, col, item)

    def _on_click(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.rows):
            self.box_clicked.emit(*self.rows[row])
