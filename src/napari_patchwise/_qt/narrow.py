"""Docks narrow enough for a laptop screen (1280 px wide) with room left for the canvas.

A Qt dock is never narrower than its widest row: one long choice in a combo
box (a method named with its file types, a long layer name) or one line of
text that does not wrap made a single dock take more than half of a
1280×800 screen, and pushed the window past its edge.
"""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QLabel, QSizePolicy, QWidget

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


def wrap(label: QLabel) -> None:
    """Let a line of text wrap, and its row shrink to the dock's width.

    magicgui's ``Label`` has a fixed size policy: wrapped or not, its row
    would stay as wide as the whole text.
    """
    policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)  # as many lines as the width needs
    label.setSizePolicy(policy)
    label.setWordWrap(True)


class NarrowDock:
    """Mixin for a dock's widget: it opens at most :data:`MAX_DOCK_WIDTH` wide.

    Qt opens a dock at its widget's preferred width, and a wrapped line of
    text prefers to be long (the Box planner asked for 632 px with the box-size
    note of a sample image); the minimum width stays what the content needs,
    and the dock can still be dragged wider.
    """

    def sizeHint(self):  # noqa: N802 (Qt's name)
        hint = super().sizeHint()
        hint.setWidth(max(min(hint.width(), MAX_DOCK_WIDTH), self.minimumSizeHint().width()))
        return hint
