"""Run the examples in the docstrings of the dock modules (not collected by default)."""

import doctest

import pytest

from napari_patchwise._qt import box_table, propose_form


@pytest.mark.parametrize("module", [box_table, propose_form], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
