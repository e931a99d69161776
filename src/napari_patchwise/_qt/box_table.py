"""A table of boxes with their stratum, lock and findings; a click asks the viewer to jump there."""

from __future__ import annotations

import math
from collections.abc import Sequence

from qtpy.QtCore import QItemSelectionModel, Qt, Signal
from qtpy.QtGui import QColor
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ..engine.geometry.box import Box
from ..engine.propose.strata import STRATUM_DESCRIPTIONS
from ..engine.findings import Finding, worst_severity
from ..layers.box_shapes import SEVERITY_COLORS, stratum_color

#: The findings come right after the id: in a narrow dock the later columns scroll, the findings stay in view.
COLUMNS = ("id", "findings", "stratum", "status", "size at mag", "position (z, y, x)", "source", "locked")
#: Width of the findings column (its full text is the cell's tooltip).
FINDINGS_WIDTH = 130
#: Column index by name.
COL = {name: i for i, name in enumerate(COLUMNS)}

# statistic -> (label, format); shown in this order, the rest after them
_STAT_FORMATS = {
    "snr": ("SNR", "{:.1f}"),
    "foreground": ("foreground", "{:.1%}"),
    "density": ("objects per 1000 voxels", "{:.2f}"),
    "uncertainty": ("uncertainty", "{:.2f}"),
    "p01": ("intensity p01", "{:g}"),
    "p50": ("p50", "{:g}"),
    "p99": ("p99", "{:g}"),
    "mean": ("mean", "{:g}"),
    "std": ("std", "{:g}"),
    "edge_energy": ("edge energy", "{:.3f}"),
    "blank": ("blank", "{:.1%}"),
    "saturated": ("saturated", "{:.1%}"),
    "border_distance": ("distance to the border", "{:g} voxels"),
}


def _fmt(t) -> str:
    return ", ".join(str(v) for v in t)


def _stat_text(key: str, value) -> str:
    label, fmt = _STAT_FORMATS.get(key, (key, "{}"))
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f"{label} —"
    try:
        return f"{label} {fmt.format(value)}"
    except (TypeError, ValueError):
        return f"{label} {value}"


def describe_box(box: Box) -> str:
    """Several lines for a person: what the box is, where it came from, its statistics.

    Examples
    --------
    >>> b = Box(3, (0, 0, 0), (8, 8, 8), source="proposal", stratum="dense", locked=True,
    ...         stats={"snr": 12.345, "foreground": 0.2, "uncertainty": None,
    ...                "strata": ["dense", "edge"]})
    >>> print(describe_box(b))
    box 3 · stratum dense: many objects per volume · also edge
    source proposal · status todo · locked (kept when proposing again)
    SNR 12.3 · foreground 20.0% · uncertainty —
    """
    head = f"box {box.id}"
    if box.stratum:
        desc = STRATUM_DESCRIPTIONS.get(box.stratum)
        head += f" · stratum {box.stratum}" + (f": {desc}" if desc else "")
        others = [s for s in box.stats.get("strata", ()) if s != box.stratum]
        if others:
            head += " · also " + ", ".join(others)
    else:
        head += " · no stratum"
    lines = [head, f"source {box.source} · status {box.status}"
             + (" · locked (kept when proposing again)" if box.locked else "")]
    stats = {k: v for k, v in box.stats.items() if k != "strata"}
    if stats:
        keys = [k for k in _STAT_FORMATS if k in stats] + [k for k in stats if k not in _STAT_FORMATS]
        lines.append(" · ".join(_stat_text(k, stats[k]) for k in keys))
    if box.notes:
        lines.append(f"notes: {box.notes}")
    return "\n".join(lines)


class QtBoxTable(QTableWidget):
    """Rows of boxes; emits :attr:`box_clicked` with a box id and
    :attr:`selection_changed_ids` with the ids of the selected rows."""

    box_clicked = Signal(int)
    selection_changed_ids = Signal(list)

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(COL["findings"], QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(COL["findings"], FINDINGS_WIDTH)
        self.cellClicked.connect(self._on_click)
        self.itemSelectionChanged.connect(self._on_selection)
        self._ids: list[int] = []

    def set_boxes(self, boxes: Sequence[Box], findings: Sequence[Finding], mag) -> None:
        """Fill the table (one row per box, sorted by id); the selection is kept."""
        keep = set(self.selected_ids())
        by_box: dict[int, list[Finding]] = {}
        for f in findings:
            if f.box_id is not None:
                by_box.setdefault(f.box_id, []).append(f)
        boxes = sorted(boxes, key=lambda b: b.id)
        self._ids = [b.id for b in boxes]
        with _blocked(self):
            self.clearSelection()
            self.setRowCount(len(boxes))
            for row, b in enumerate(boxes):
                self._fill_row(row, b, by_box.get(b.id, []), mag)
            for row, bid in enumerate(self._ids):
                if bid in keep:
                    self._add_row_to_selection(row)
        self._on_selection()

    def _fill_row(self, row: int, b: Box, fs: list[Finding], mag) -> None:
        size = tuple(s // m for s, m in zip(b.size, mag))
        texts = {
            "id": str(b.id),
            "position (z, y, x)": f"{_fmt(b.lo)} → {_fmt(b.hi)}",
            "size at mag": "×".join(map(str, size)),
            "source": b.source,
            "stratum": b.stratum or "—",
            "locked": "locked" if b.locked else "",
            "status": b.status,
            "findings": "; ".join(f"{f.severity}: {f.code}" for f in fs) or "ok",
        }
        tip = describe_box(b)
        for col, name in enumerate(COLUMNS):
            item = QTableWidgetItem(texts[name])
            item.setData(Qt.ItemDataRole.UserRole, b.id)
            item.setToolTip(tip)
            if name == "findings":
                item.setForeground(QColor(SEVERITY_COLORS[worst_severity(fs)]))
                item.setToolTip("\n".join(f.message for f in fs) or "passes every rule")
            elif name == "stratum":
                color = QColor(stratum_color(b.stratum))
                color.setAlphaF(0.55)
                item.setBackground(color)
            elif name == "locked" and b.locked:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.setItem(row, col, item)

    def _add_row_to_selection(self, row: int) -> None:
        index = self.model().index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        self.selectionModel().select(index, flags)

    def box_ids(self) -> list[int]:
        return list(self._ids)

    def selected_ids(self) -> list[int]:
        """Ids of the selected rows, sorted."""
        rows = {i.row() for i in self.selectionModel().selectedRows()} if self.selectionModel() else set()
        return sorted(self._ids[r] for r in rows if 0 <= r < len(self._ids))

    def select_ids(self, ids) -> None:
        """Select the rows of these box ids (and no other)."""
        ids = set(ids)
        with _blocked(self):
            self.clearSelection()
            for row, bid in enumerate(self._ids):
                if bid in ids:
                    self._add_row_to_selection(row)
        self._on_selection()

    def _on_click(self, row: int, _col: int) -> None:
        if 0 <= row < len(self._ids):
            self.box_clicked.emit(self._ids[row])

    def _on_selection(self) -> None:
        self.selection_changed_ids.emit(self.selected_ids())


class _blocked:
    """Silence a widget's signals for a block (selection rebuilt row by row)."""

    def __init__(self, widget):
        self.widget = widget

    def __enter__(self):
        self._was = self.widget.blockSignals(True)

    def __exit__(self, *exc):
        self.widget.blockSignals(self._was)
