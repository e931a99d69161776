"""Run the examples in the docstrings of every dock module (pytest collects only engine and layers)."""

import doctest
import importlib
import pkgutil

import pytest

import napari_patchwise._qt as qt

MODULES = [m.name for m in pkgutil.iter_modules(qt.__path__, qt.__name__ + ".")]


def test_the_dock_modules_are_found():
    assert len(MODULES) > 5


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
