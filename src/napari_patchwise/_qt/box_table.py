"""A table of boxes with their findings; a click asks the viewer to jump there."""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..engine.box import Box
from ..engine.validation import Finding, worst_severity
from ..layers.box_shapes import SEVERITY_COLORS

COLUMNS = ("id", "position (z, y, x)", "size at mag", "source", "status", "findings")


def _fmt(t) -> str:
    return ", ".join(str(v) for v in t)


class QtBoxTable(QTableWidget):
    """Rows of boxes; emits :attr:`box_clicked` with a box id."""

    box_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.cellClicked.connect(self._on_click)
        self._ids: list[int] = []

    def set_boxes(self, boxes: Sequence[Box], findings: Sequence[Finding], mag) -> None:
        """Fill the table (one row per box, sorted by id)."""
        by_box: dict[int, list[Finding]] = {}
        for f in findings:
            if f.box_id is not None:
                by_box.setdefault(f.box_id, []).append(f)
        boxes = sorted(boxes, key=lambda b: b.id)
        self._ids = [b.id for b in boxes]
        self.setRowCount(len(boxes))
        for row, b in enumerate(boxes):
            fs = by_box.get(b.id, [])
            size = tuple(s // m for s, m in zip(b.size, mag))
            texts = (
                str(b.id),
                f"{_fmt(b.lo)} → {_fmt(b.hi)}",
                "×".join(map(str, size)),
                b.source + (f" / {b.stratum}" if b.stratum else ""),
                b.status,
                "; ".join(f"{f.severity}: {f.code}" for f in fs) or "ok",
            )
            color = QColor(SEVERITY_COLORS[worst_severity(fs)])
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col == len(texts) - 1:
                    item.setForeground(color)
                    item.setToolTip("\n".join(f.message for f in fs) or "passes every rule")
                item.setData(Qt.ItemDataRole.UserRole, b.id)
                self.setItem(row, col, item)

    def box_ids(self) -> list[int]:
        return list(self._ids)

    def _on_click(self, row: int, _col: int) -> None:
        if 0 <= row < len(self._ids):
            self.box_clicked.emit(self._ids[row])
