"""plan.json: loaded without writing, refused with the problem and the fix, recognised."""

from __future__ import annotations

import json

import pytest

from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.plan_file import PLAN_FILE, ProjectError, is_project, load_plan
from napari_patchwise.engine.plan.project import create_project, open_project, save_plan

from project_helpers import make_plan, snapshot


def _plan_dict(**image_changes):
    d = make_plan().to_dict()
    d["image"].update(image_changes)
    return d


def _bad_box():
    d = make_plan().to_dict()
    d["boxes"][0]["hi"] = [-5, 20, 20]
    return d


GOOD = json.dumps(make_plan().to_dict(), indent=2)

BAD_FILES = {
    "empty": ("", "is empty"),
    "truncated": (GOOD[: len(GOOD) // 2], r"not valid JSON \(line \d+, column \d+"),
    "foreign": ('{"hello": 1}', "not a napari-patchwise plan"),
    "list": ("[1, 2, 3]", "not a napari-patchwise plan"),
    "newer": (json.dumps({**make_plan().to_dict(), "version": 999}), "version 999.*upgrade"),
    "negative-box": (json.dumps(_bad_box()), r"boxes\[0\].*non-positive size"),
    "2d-image": (json.dumps(_plan_dict(shape=[45, 50])), "2D image"),
    "binary": (b"\xff\xfe\x00garbage", "not UTF-8"),
    "wrong-type": (json.dumps({**make_plan().to_dict(), "classes": 5}), "wrong type"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("with_backup", [False, True])
def test_load_bad_plan_file(tmp_path, case, with_backup):
    content, phrase = BAD_FILES[case]
    path = tmp_path / PLAN_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if with_backup:
        (tmp_path / "plan.json.bak").write_text(GOOD)
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match=phrase) as info:
        load_plan(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert ("plan.json.bak" in message) == with_backup
    with pytest.raises(ProjectError):
        open_project(tmp_path)
    assert is_project(tmp_path) == (case in ("newer", "negative-box", "2d-image", "wrong-type"))
    assert snapshot(tmp_path) == state


@pytest.mark.parametrize(
    "make, phrase",
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is not a folder"),
        (lambda p: (p / PLAN_FILE).write_text(GOOD) and p / PLAN_FILE, "choose its parent folder"),
        (lambda p: (p / "e").mkdir() or p / "e", "not a napari-patchwise project: no plan.json"),
    ],
    ids=["missing", "file", "plan-file", "no-plan"],
)
def test_load_bad_folder(tmp_path, make, phrase):
    target = make(tmp_path)
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match=phrase):
        load_plan(target)
    with pytest.raises(ProjectError, match=phrase):
        save_plan(target, make_plan())
    assert not is_project(target)
    assert snapshot(tmp_path) == state


def test_load_does_not_touch_files(tmp_path):
    create_project(tmp_path, make_plan())
    save_plan(tmp_path, make_plan().remove_box(1))
    state = snapshot(tmp_path)
    load_plan(tmp_path)
    open_annotations(tmp_path, mode="r")
    is_project(tmp_path)
    assert snapshot(tmp_path) == state


def test_is_project(tmp_path):
    assert not is_project(tmp_path)
    assert not is_project(tmp_path / "nope")
    assert not is_project(None)
    (tmp_path / PLAN_FILE).write_text('{"format": "something-else"}')
    assert not is_project(tmp_path)
    assert not is_project(tmp_path / PLAN_FILE)
    (tmp_path / PLAN_FILE).write_text(GOOD)
    assert is_project(tmp_path)
