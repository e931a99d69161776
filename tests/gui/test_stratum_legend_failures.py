"""The stratum legend has a row for failure strata, counting every ``failure:<kind>`` box there."""

from __future__ import annotations

from napari_patchwise._qt.stratum_legend import StratumLegend
from napari_patchwise.engine.geometry.box import Box
from napari_patchwise.layers.box_shapes import FAILURE_COLOR


def test_failure_boxes_are_counted_in_their_own_red_row(qtbot):
    legend = StratumLegend()
    qtbot.addWidget(legend)
    assert FAILURE_COLOR in legend.swatches["failure:"].styleSheet()
    boxes = [Box(1, (0, 0, 0), (4, 4, 4), source="uncertainty", stratum="failure:merge", round=2),
             Box(2, (4, 0, 0), (8, 4, 4), source="uncertainty", stratum="failure:fragment", round=2),
             Box(3, (0, 4, 0), (4, 8, 4), source="proposal", stratum="dense")]
    legend.set_boxes(boxes)
    assert legend.count_text("failure:merge") == "failure (2)"
    assert legend.count_text("dense") == "dense (1)"
    assert legend.count_text(None) == "none"
