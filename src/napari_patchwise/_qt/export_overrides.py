"""The boxes an export skipped, and overrides: export a box despite its error findings, with a reason.

The engine decides what an override can lift (error findings such as
touching objects) and what it cannot (a box outside the image, a box with
nothing annotated); the reason is recorded in the export's manifest. Here a
person picks skipped boxes, types why they should be exported anyway, and
the next export passes ``overrides={key: reason}``, each box keyed as the
export named it (its id, or ``(image, id)`` in a project of several images:
box ids repeat across images).
"""

from __future__ import annotations

from napari.utils.notifications import show_warning

from ..engine.export.model import box_key_text
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("box", "override reason", "why skipped")


class SkippedBoxes(QWidget):
    """A table of the last export's skipped boxes, a reason field and the override buttons.

    Attributes
    ----------
    overrides : dict of (int or (str, int)) to str
        The boxes to export despite their error findings, each with its reason.
    """

    def __init__(self):
        super().__init__()
        self.overrides: dict = {}
        self.skipped: list[tuple[object, str]] = []
        self._ids: list = []  # the box (its key) of each row
        self.label = QLabel("Skipped boxes: none (export to see which boxes are left out and why).")
        self.label.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why export the selected boxes anyway")
        self.reason.setToolTip("recorded in the export's manifest beside each overridden box")
        self.override_button = QPushButton("Override")
        self.override_button.setToolTip("export the selected boxes despite their error findings, with this reason")
        self.remove_button = QPushButton("Remove override")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.reason, stretch=1)
        row.addWidget(self.override_button)
        row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.table, stretch=1)
        layout.addLayout(row)
        self.override_button.clicked.connect(lambda: self.override())
        self.remove_button.clicked.connect(lambda: self.remove_override())

    def set_skipped(self, skipped) -> None:
        """Show the boxes an export skipped (``[(key, why), ...]``) with the overrides given so far."""
        self.skipped = [(_key(k), str(why)) for k, why in skipped]
        self._fill()

    def clear(self) -> None:
        """Another project: no skipped boxes, no overrides."""
        self.overrides = {}
        self.set_skipped([])

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._ids[r] for r in rows if r < len(self._ids)]

    def select(self, box_ids) -> None:
        """Select the rows of these boxes."""
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for r, box_id in enumerate(self._ids):
            if box_id in box_ids:
                self.table.selectRow(r)
        self.table.setSelectionMode(mode)

    def override(self, box_ids=None, reason: str | None = None) -> list[int]:
        """Export these boxes (the selected ones by default) despite their findings, for ``reason``."""
        ids = self.selected_ids() if box_ids is None else [_key(i) for i in box_ids]
        why = (self.reason.text() if reason is None else reason).strip()
        if not ids:
            show_warning("Select skipped boxes in the table first.")
            return []
        if not why:
            show_warning("Type why the selected boxes should be exported anyway; the reason goes into the manifest.")
            return []
        for box_id in ids:
            self.overrides[box_id] = why
        self.reason.clear()
        self._fill()
        return ids

    def remove_override(self, box_ids=None) -> None:
        for box_id in self.selected_ids() if box_ids is None else box_ids:
            self.overrides.pop(_key(box_id), None)
        self._fill()

    def _fill(self) -> None:
        why = dict(self.skipped)
        self._ids = sorted(set(why) | set(self.overrides), key=lambda k: k if isinstance(k, tuple) else ("", k))
        self.table.setRowCount(len(self._ids))
        for r, box_id in enumerate(self._ids):
            values = (box_key_text(box_id), self.overrides.get(box_id, ""), why.get(box_id, "exported last time"))
            for c, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setToolTip(str(value))
                self.table.setItem(r, c, item)
        self.table.resizeColumnToContents(0)
        n, k = len(self.skipped), len(self.overrides)
        self.label.setText(
            f"Skipped boxes: {n}" + (f" · {k} overridden, exported next time with the reason" if k else "")
            + (" — select one, type why it should be exported anyway, press Override" if n else ""))


def _key(key):
    """A box's key: its id, or ``(image, id)``."""
    return (str(key[0]), int(key[1])) if isinstance(key, (tuple, list)) else int(key)
