"""A compact read-only table for the QC step: short rows, every column inside the dock's width.

The QC tables used Qt's default rows (30 px on most styles) and columns as wide
as their longest cell: in a dock of ~360 px the message column ran off to the
right and a table given a third of a 800 px screen showed three rows. Here
rows are one line of text high, the leading columns fit their contents up to
:data:`MAX_COLUMN_WIDTH`, the last column takes the width that is left, and a
cell too long for its column is elided; its whole text is its tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableWidget, QTableWidgetItem

#: Rows a table keeps room for, however small its dock.
MIN_ROWS = 5
#: The widest a leading column gets from its contents (the last column takes the rest).
MAX_COLUMN_WIDTH = 110


class CompactTable(QTableWidget):
    """A read-only table of one-line rows whose columns fit the widget's width.

    Parameters
    ----------
    headers : sequence of str
        Column titles.
    min_rows : int
        The table never gets smaller than this many rows (plus its header).
    """

    def __init__(self, headers: Sequence[str], *, min_rows: int = MIN_ROWS):
        super().__init__(0, len(headers))
        self.setHorizontalHeaderLabels(list(headers))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        row = self.fontMetrics().height() + 6
        self.verticalHeader().setMinimumSectionSize(row)
        self.verticalHeader().setDefaultSectionSize(row)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(header.sizeHint().height() + min_rows * row + 2 * self.frameWidth())
        self.setMinimumWidth(0)

    def set_rows(self, rows: Sequence[Sequence[object]]) -> None:
        """Show ``rows`` (one sequence of cell values per row; shown with ``str``)."""
        self.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                text = str(value)
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.setItem(r, c, item)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Leading columns as wide as their contents up to :data:`MAX_COLUMN_WIDTH`."""
        header = self.horizontalHeader()
        for c in range(self.columnCount() - 1):
            self.resizeColumnToContents(c)
            header.resizeSection(c, min(header.sectionSize(c), MAX_COLUMN_WIDTH))

    def selected_rows(self) -> list[int]:
        """Indices of the selected rows, in order."""
        return sorted({i.row() for i in self.selectedIndexes()})
