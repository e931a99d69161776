"""A compact read-only table for the QC step: short rows, every column inside the dock's width.

The QC tables used Qt's default rows (30 px on most styles) and columns as wide
as their longest cell: in a dock of ~360 px the message column ran off to the
right and a table given a third of a 800 px screen showed three rows. Here
rows are one line of text high, the leading columns fit their contents up to
:data:`MAX_COLUMN_WIDTH`, the last column takes the width that is left, and a
cell too long for its column is elided; its whole text is its tooltip.

:class:`CompactView` is the same look over a Qt model (the touching pairs,
whose rows are read from the model only when they are shown).
"""

from __future__ import annotations

from collections.abc import Sequence

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableView, QTableWidget, QTableWidgetItem

#: Rows a table keeps room for, however small its dock.
MIN_ROWS = 5
#: The widest a leading column gets from its contents (the last column takes the rest).
MAX_COLUMN_WIDTH = 110


def _compact(view, n_columns: int, min_rows: int) -> None:
    """One-line rows, the last column stretched, at least ``min_rows`` rows high."""
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    row = view.fontMetrics().height() + 6
    view.verticalHeader().setMinimumSectionSize(row)
    view.verticalHeader().setDefaultSectionSize(row)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    header = view.horizontalHeader()
    header.setMinimumSectionSize(24)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(n_columns - 1, QHeaderView.ResizeMode.Stretch)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    view.setMinimumHeight(header.sizeHint().height() + min_rows * row + 2 * view.frameWidth())
    view.setMinimumWidth(0)


def _fit_columns(view, n_columns: int) -> None:
    header = view.horizontalHeader()
    for c in range(n_columns - 1):
        view.resizeColumnToContents(c)
        header.resizeSection(c, min(header.sectionSize(c), MAX_COLUMN_WIDTH))


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
        _compact(self, len(headers), min_rows)

    def set_rows(self, rows: Sequence[Sequence[object]]) -> None:
        """Show ``rows`` (one sequence of cell values per row; shown with ``str``).

        Only cells whose text changed are set, and the columns fitted only then: a
        recheck that finds what is shown already redraws nothing.
        """
        changed = self.rowCount() != len(rows)
        self.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                text = str(value)
                item = self.item(r, c)
                if item is not None and item.text() == text:
                    continue
                if item is None:
                    item = QTableWidgetItem(text)
                    self.setItem(r, c, item)
                else:
                    item.setText(text)
                item.setToolTip(text)
                changed = True
        if changed:
            self.fit_columns()

    def fit_columns(self) -> None:
        """Leading columns as wide as their contents up to :data:`MAX_COLUMN_WIDTH`."""
        _fit_columns(self, self.columnCount())

    def selected_rows(self) -> list[int]:
        """Indices of the selected rows, in order."""
        return sorted({i.row() for i in self.selectedIndexes()})


class CompactView(QTableView):
    """:class:`CompactTable`'s look over a model: only the rows shown are ever read from it.

    Parameters
    ----------
    model : QAbstractTableModel
    min_rows : int
        The view never gets smaller than this many rows (plus its header).
    """

    def __init__(self, model, *, min_rows: int = MIN_ROWS):
        super().__init__()
        self.setModel(model)
        _compact(self, model.columnCount(), min_rows)
        # column widths from the rows in view, never from every row of the model
        self.horizontalHeader().setResizeContentsPrecision(0)
        self.verticalHeader().setResizeContentsPrecision(0)

    def rowCount(self) -> int:
        """Rows of the model."""
        return self.model().rowCount()

    def columnCount(self) -> int:
        """Columns of the model."""
        return self.model().columnCount()

    def text(self, row: int, column: int) -> str:
        """The text shown in a cell."""
        return str(self.model().index(row, column).data())

    def fit_columns(self) -> None:
        """Leading columns as wide as the rows in view up to :data:`MAX_COLUMN_WIDTH`."""
        _fit_columns(self, self.model().columnCount())

    def selected_rows(self) -> list[int]:
        """Indices of the selected rows, in order."""
        return sorted({i.row() for i in self.selectionModel().selectedRows()})
