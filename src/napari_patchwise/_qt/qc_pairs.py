"""The QC step's touching pairs: their table, jump to a pair, Separate and Crop background.

The table is a Qt model over a :class:`~napari_patchwise.engine.qc.touching.PairTable`
(columns of numpy arrays): Qt asks only for the rows it shows, sorting is one
``np.lexsort``, and a pair's location is looked up when a person jumps to it,
so 157k pairs cost no Python loop on the GUI thread. After a stroke the table
is computed in a worker from a snapshot of the contact index
(:meth:`PairsPanel.refresh`) and swapped in; the rows still selected stay selected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from napari.utils.notifications import show_info, show_warning
from psygnal import Signal
from qtpy.QtCore import QAbstractTableModel, QItemSelection, QItemSelectionModel, QModelIndex, Qt
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..engine.qc.touching import PairTable, TouchingPair
from ..layers.annotation_layers import annotation_transform
from .qc_table import CompactView

if TYPE_CHECKING:
    from ..layers.live_qc import LiveQC

_EMPTY = PairTable.from_contacts({})


class PairsModel(QAbstractTableModel):
    """The rows of a :class:`PairTable`, in the order a person sorted them."""

    def __init__(self):
        super().__init__()
        self.table = _EMPTY
        self.order = np.zeros(0, np.int64)
        self.sorted_by: tuple[int, bool] | None = None

    def rowCount(self, parent=QModelIndex()):  # noqa: B008
        return 0 if parent.isValid() else len(self.order)

    def columnCount(self, parent=QModelIndex()):  # noqa: B008
        return 0 if parent.isValid() else len(PairTable.COLUMNS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return None
        return str(self.table.row(int(self.order[index.row()]))[index.column()])

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return PairTable.COLUMNS[section]
        return None

    def _ordered(self, table: PairTable) -> np.ndarray:
        if self.sorted_by is None:
            return np.arange(len(table), dtype=np.int64)
        return table.order(*self.sorted_by)

    def sort(self, column, order=Qt.SortOrder.AscendingOrder):
        self.layoutAboutToBeChanged.emit()
        self.sorted_by = (int(column), order == Qt.SortOrder.DescendingOrder)
        self.order = self._ordered(self.table)
        self.layoutChanged.emit()

    def set_table(self, table: PairTable) -> None:
        """Show ``table``: the same number of rows is a change of their contents, otherwise a reset."""
        order = self._ordered(table)
        if len(order) == len(self.order) and len(order):
            self.table, self.order = table, order
            self.dataChanged.emit(self.index(0, 0), self.index(len(order) - 1, self.columnCount() - 1))
            return
        self.beginResetModel()
        self.table, self.order = table, order
        self.endResetModel()

    def pair_at(self, row: int) -> tuple[str, int, int, int]:
        """(class, id a, id b, contacts) of a shown row."""
        return self.table.row(int(self.order[row]))

    def row_of(self, name: str, a: int, b: int) -> int:
        """The shown row of a pair, or -1."""
        i = self.table.find(name, a, b)
        if i < 0:
            return -1
        return int(np.flatnonzero(self.order == i)[0])


class PairsPanel(QWidget):
    """Touching pairs of the live checks, with the actions that fix them.

    Parameters
    ----------
    viewer : napari.Viewer
    get_live : callable
        Returns the dock's current :class:`~napari_patchwise.layers.live_qc.LiveQC`
        (``None`` without a project).
    """

    #: Emitted with what changed the labels (``"separate"`` or ``"crop"``) after an action wrote them.
    labels_changed = Signal(str)
    #: Emitted with the number of pairs after the table changed.
    shown = Signal(int)

    def __init__(self, viewer, get_live):
        super().__init__()
        self.viewer = viewer
        self._get_live = get_live
        #: The dock's runner: tables after strokes are computed in its workers (at once without it).
        self.runner = None
        self._asked = 0
        self.model = PairsModel()
        self.label = QLabel("Touching pairs: –")
        self.label.setWordWrap(True)
        self.table = CompactView(self.model)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)  # a click on a column's title sorts by it
        self.separate_sel = QPushButton("Separate selected")
        self.separate_all = QPushButton("Separate all")
        # placed by the dock beside its "crop as I paint" option
        self.crop_button = QPushButton("Crop background now")
        self.crop_button.setToolTip("Crop background under objects in the whole volume")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.table, stretch=1)
        row = QHBoxLayout()
        for b in (self.separate_sel, self.separate_all):
            row.addWidget(b)
        layout.addLayout(row)
        self.table.clicked.connect(lambda index: self.jump_to_pair(index.row()))
        self.separate_sel.clicked.connect(lambda: self.separate(selected_only=True))
        self.separate_all.clicked.connect(lambda: self.separate(selected_only=False))
        self.crop_button.clicked.connect(lambda: self.crop_background())

    @property
    def live(self) -> LiveQC | None:
        return self._get_live()

    @property
    def n_rows(self) -> int:
        return self.model.rowCount()

    def pair(self, row: int) -> TouchingPair:
        """The pair of a shown row, with its location (looked up now)."""
        name, a, b, n = self.model.pair_at(row)
        return TouchingPair(a, b, n, self.live.location(name, a, b), name)

    def refresh(self, now: bool = False) -> None:
        """Show the current touching pairs: computed in a worker from a snapshot of the
        contacts (at once with ``now`` or without a runner); an older answer is dropped."""
        live = self.live
        if live is None:
            self._show(_EMPTY, None)
            return
        self._asked += 1
        asked = self._asked
        if now or self.runner is None:
            self._show(live.pair_table(), live)
            return
        build = live.pair_table_later()
        self.runner.start(lambda progress: build(), what="Touching pairs", quiet=True,
                          returned=lambda table: self._show(table, live) if asked == self._asked else None)

    def _show(self, table: PairTable, live) -> None:
        if live is not self.live:
            return
        keep = [self.model.pair_at(r)[:3] for r in self.table.selected_rows()]
        self.model.set_table(table)
        if keep:
            sel = QItemSelection()
            for key in keep:
                r = self.model.row_of(*key)
                if r >= 0:
                    sel.select(self.model.index(r, 0), self.model.index(r, self.model.columnCount() - 1))
            self.table.selectionModel().select(sel, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        if self.model.rowCount() <= 1000:
            self.table.fit_columns()
        n = len(table)
        self.label.setText(
            f"Touching pairs: {n}" + (" — select one to jump there; Separate carves a "
                                      "one-voxel background gap" if n else " ✓"))
        self.shown.emit(n)

    def selected_pairs(self) -> list[tuple[str, int, int]]:
        """The pairs (class, id a, id b) whose rows are selected."""
        return [self.model.pair_at(r)[:3] for r in self.table.selected_rows() if r < self.n_rows]

    def jump_to_pair(self, row: int) -> None:
        """Move the view to where the pair of row ``row`` touches and pick its first id to paint."""
        live = self.live
        if live is None or not 0 <= row < self.n_rows:
            return
        pair = self.pair(row)
        tf = annotation_transform(live.plan)
        world = [v * s + t for v, s, t in zip(pair.location, tf["scale"], tf["translate"])]
        self.viewer.dims.set_point(self.viewer.dims.ndim - 3, world[0])
        self.viewer.scene.camera.center = tuple(world)
        layer = live.layers.get(pair.name)
        if layer is not None:
            layer.selected_label = pair.a

    def separate(self, selected_only: bool = False) -> int:
        """Carve a background gap between the selected (or all) touching pairs; returns the voxels carved."""
        live = self.live
        if live is None:
            show_warning("No project to separate in.")
            return 0
        if selected_only:
            chosen = self.selected_pairs()
            by_class: dict = {}
            for name, a, b in chosen:
                by_class.setdefault(name, []).append((a, b))
        else:
            t = live.pair_table()
            chosen = range(len(t))
            by_class = {name: np.stack([t.a[t.cls == i], t.b[t.cls == i]], axis=1)
                        for i, name in enumerate(t.names) if (t.cls == i).any()}
        if not len(chosen):
            show_warning("Select touching pairs in the list first." if selected_only else "No touching pairs.")
            return 0
        carved, skipped = 0, []
        for name, pairs in by_class.items():
            sep = live.separate(name, pairs)
            carved += sep.n_voxels
            skipped.extend(sep.skipped)
        msg = f"Separated {len(chosen) - len(skipped)} pairs ({carved} voxels became background)."
        if skipped:
            show_warning(msg + " Left touching: " + "; ".join(map(str, skipped)))
        else:
            show_info(msg)
        self.labels_changed.emit("separate")
        return carved

    def crop_background(self) -> int:
        """Crop background under objects in the whole volume; returns the voxels cropped."""
        live = self.live
        if live is None:
            show_warning("No project to crop.")
            return 0
        n = live.crop_background()
        show_info(f"Cropped {n} background voxels that lay under objects.")
        self.labels_changed.emit("crop")
        return n
