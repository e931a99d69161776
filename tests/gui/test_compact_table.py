"""The findings table sets only the cells that changed (a recheck that finds the same draws nothing)."""

from __future__ import annotations

from napari_patchwise._qt.qc_table import CompactTable


def test_set_rows_keeps_unchanged_cells_and_their_selection(qtbot):
    table = CompactTable(["box", "finding"])
    qtbot.addWidget(table)
    table.set_rows([(1, "touching"), (2, "empty")])
    items = [table.item(r, c) for r in range(2) for c in range(2)]
    table.selectRow(1)
    changes = []
    table.itemChanged.connect(lambda item: changes.append((item.row(), item.column(), item.text())))

    table.set_rows([(1, "touching"), (2, "empty")])  # the same rows: nothing set
    assert changes == []
    assert [table.item(r, c) for r in range(2) for c in range(2)] == items
    assert table.selected_rows() == [1]

    table.set_rows([(1, "touching"), (2, "too small"), (3, "empty")])  # one cell changed, one row more
    assert {(r, c) for r, c, _ in changes} <= {(1, 1), (2, 0), (2, 1)} and (1, 1, "too small") in changes
    assert table.item(1, 1).toolTip() == "too small" and table.item(2, 1).text() == "empty"
    assert table.item(0, 0) is items[0]

    table.set_rows([(4, "touching")])
    assert table.rowCount() == 1 and table.item(0, 0).text() == "4" and table.item(0, 1) is items[1]
