"""Docks narrow enough for a laptop screen (1280 px wide) with room left for the canvas.

A Qt dock is never narrower than its widest row: one long choice in a combo
box (a method named with its file types, a long layer name) or one line of
text that does not wrap made a single dock take more than half of a
1280×800 screen, and pushed the window past its edge.
"""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QWidget

#: The widest a dock may ask to be, in pixels (1280 - napari's layer list - a usable canvas).
MAX_DOCK_WIDTH = 440
#: Characters a combo box keeps room for; longer choices are elided in the box, shown whole in its list.
COMBO_CHARS = 14


def narrow_combos(widget: QWidget, chars: int = COMBO_CHARS) -> None:
    """Size every combo box inside ``widget`` to ``chars`` characters instead of its longest choice.

    The drop-down list still opens as wide as its longest choice.
    """
    for combo in widget.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(chars)
