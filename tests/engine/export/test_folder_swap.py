"""Swapping folders in one step; locks that tell a running writer from a stopped one."""

from __future__ import annotations

import os

import pytest

from napari_patchwise.engine.export import folder_swap
from napari_patchwise.engine.export.folder_swap import exchange, held, hold, release, remove_path


def test_exchange_swaps_two_folders_or_changes_nothing(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("A")
    (b / "f").write_text("B")
    swapped = exchange(a, b)
    assert ((a / "f").read_text(), (b / "f").read_text()) == (("B", "A") if swapped else ("A", "B"))


def test_exchange_without_the_system_call_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(folder_swap, "_RENAMEAT2", None)
    (tmp_path / "a").write_text("A")
    (tmp_path / "b").write_text("B")
    assert exchange(tmp_path / "a", tmp_path / "b") is False
    assert (tmp_path / "a").read_text() == "A"


def test_exchange_of_a_missing_path_raises(tmp_path):
    if folder_swap._RENAMEAT2 is None:
        pytest.skip("no renameat2 here")
    (tmp_path / "a").write_text("A")
    with pytest.raises(OSError):
        exchange(tmp_path / "a", tmp_path / "missing")


@pytest.mark.skipif(folder_swap.fcntl is None, reason="no advisory locks on this system")
def test_a_held_folder_is_held_until_released(tmp_path):
    assert not held(tmp_path)
    fd = hold(tmp_path)
    assert fd is not None and held(tmp_path)
    release(fd)
    assert not held(tmp_path)
    release(None)  # nothing to release is fine


def test_remove_path_removes_files_links_and_trees(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("x")
    link = tmp_path / "link"
    os.symlink(tree, link)
    remove_path(link)
    assert tree.is_dir() and not os.path.lexists(link)
    remove_path(tree)
    remove_path(tmp_path / "never-there")
    assert list(tmp_path.iterdir()) == []
