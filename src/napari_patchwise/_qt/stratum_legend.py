"""Legend of the stratum colours: a swatch, the name, its meaning and how many boxes have it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from qtpy.QtWidgets import QGridLayout, QLabel, QWidget

from ..engine.geometry.box import Box
from ..layers.box_shapes import (
    FACE_ALPHA,
    FAILURE_COLOR,
    FAILURE_PREFIX,
    LOCKED_EDGE_FACTOR,
    SEVERITY_COLORS,
    stratum_legend,
)

#: The legend's row of every failure stratum (``failure:<kind>``, shades of red).
FAILURE_ROW = (FAILURE_PREFIX, FAILURE_COLOR,
               "where a prediction fails (next round; shades of red by kind, the box's notes say why)")


def _swatch(color: str, border: str | None = None) -> QLabel:
    label = QLabel()
    label.setFixedSize(16, 12)
    edge = border or color
    label.setStyleSheet(f"background-color: {color}; border: 2px solid {edge};")
    return label


class StratumLegend(QWidget):
    """One row per stratum (and one for boxes without a stratum)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self._names: dict[str | None, QLabel] = {}
        self.swatches: dict[str | None, QLabel] = {}
        rows = stratum_legend()
        rows = [*rows[:-1], FAILURE_ROW, rows[-1]]
        for row, (stratum, color, description) in enumerate(rows):
            swatch = _swatch(color)
            name = QLabel(self._label(stratum))
            text = QLabel(description)
            text.setWordWrap(True)
            for w in (swatch, name, text):
                w.setToolTip(f"{stratum or 'no stratum'}: {description}")
            grid.addWidget(swatch, row, 0)
            grid.addWidget(name, row, 1)
            grid.addWidget(text, row, 2)
            self.swatches[stratum] = swatch
            self._names[stratum] = name
        note = QLabel(
            f"Fill (at {FACE_ALPHA:.0%} opacity): the box's stratum. Edge: its worst finding "
            f"(red error, orange warning, blue info, green clean). Locked boxes have "
            f"{LOCKED_EDGE_FACTOR:g}× thicker edges."
        )
        note.setWordWrap(True)
        sev = QWidget()
        sev_grid = QGridLayout(sev)
        sev_grid.setContentsMargins(0, 0, 0, 0)
        for col, (severity, color) in enumerate(SEVERITY_COLORS.items()):
            sev_grid.addWidget(_swatch("transparent", color), 0, 2 * col)
            sev_grid.addWidget(QLabel(severity or "clean"), 0, 2 * col + 1)
        grid.addWidget(note, len(rows), 0, 1, 3)
        grid.addWidget(sev, len(rows) + 1, 0, 1, 3)
        grid.setColumnStretch(2, 1)

    def set_boxes(self, boxes: Iterable[Box]) -> None:
        """Show how many boxes of the plan are in each stratum."""
        counts = Counter(self._row(b.stratum) for b in boxes)
        for stratum, label in self._names.items():
            n = counts.get(stratum, 0)
            base = self._label(stratum)
            label.setText(f"{base} ({n})" if n else base)

    def count_text(self, stratum: str | None) -> str:
        """The name label of a stratum, e.g. ``'dense (3)'``."""
        return self._names[self._row(stratum)].text()

    def _row(self, stratum: str | None) -> str | None:
        if isinstance(stratum, str) and stratum.startswith(FAILURE_PREFIX):
            return FAILURE_PREFIX
        return stratum if stratum in self._names else None

    @staticmethod
    def _label(stratum: str | None) -> str:
        return "failure" if stratum == FAILURE_PREFIX else (stratum or "none")
