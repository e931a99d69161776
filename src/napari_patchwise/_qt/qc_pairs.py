"""The QC step's touching pairs: their table, jump to a pair, Separate and Crop background.

The rows are :class:`~napari_patchwise.engine.qc.touching.TouchingPair` objects
kept in :attr:`PairsPanel.rows` beside the table (row ``r`` of the table shows
``rows[r]``), so nothing is read back from the table's cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from napari.utils.notifications import show_info, show_warning
from psygnal import Signal
from qtpy.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..engine.qc.touching import TouchingPair
from ..layers.annotation_layers import annotation_transform
from .qc_table import CompactTable

if TYPE_CHECKING:
    from ..layers.live_qc import LiveQC

#: The touching-pairs table lists at most this many pairs.
MAX_PAIR_ROWS = 1000


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

    def __init__(self, viewer, get_live):
        super().__init__()
        self.viewer = viewer
        self._get_live = get_live
        self.rows: list[TouchingPair] = []
        self.label = QLabel("Touching pairs: –")
        self.label.setWordWrap(True)
        self.table = CompactTable(["class", "id a", "id b", "contacts"])
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
        self.table.cellClicked.connect(lambda r, _c: self.jump_to_pair(r))
        self.separate_sel.clicked.connect(lambda: self.separate(selected_only=True))
        self.separate_all.clicked.connect(lambda: self.separate(selected_only=False))
        self.crop_button.clicked.connect(lambda: self.crop_background())

    @property
    def live(self) -> LiveQC | None:
        return self._get_live()

    def refresh(self) -> None:
        """Show the current touching pairs."""
        live = self.live
        pairs = live.contacts() if live is not None else []
        self.rows = pairs[:MAX_PAIR_ROWS]
        self.table.set_rows([(p.name, p.a, p.b, p.n_contacts) for p in self.rows])
        more = f" (first {len(self.rows)} listed)" if len(pairs) > len(self.rows) else ""
        self.label.setText(
            f"Touching pairs: {len(pairs)}{more}" + (" — select one to jump there; Separate carves a "
                                                  "one-voxel background gap" if self.rows else " ✓"))

    def selected_pairs(self) -> list[TouchingPair]:
        """The pairs whose rows are selected."""
        return [self.rows[r] for r in self.table.selected_rows() if r < len(self.rows)]

    def jump_to_pair(self, row: int) -> None:
        """Move the view to where the pair of row ``row`` touches and pick its first id to paint."""
        live = self.live
        if live is None or not 0 <= row < len(self.rows):
            return
        pair = self.rows[row]
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
        chosen = self.selected_pairs() if selected_only else live.contacts()
        if not chosen:
            show_warning("Select touching pairs in the list first." if selected_only else "No touching pairs.")
            return 0
        by_class: dict[str, list[tuple[int, int]]] = {}
        for p in chosen:
            by_class.setdefault(p.name, []).append((p.a, p.b))
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
