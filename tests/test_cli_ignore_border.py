"""``patchwise propose --preset custom --ignore-border N``: the border is kept by the project and checked."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np

from napari_patchwise.cli import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_plan


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*map(str, argv)])
    return code, out.getvalue(), err.getvalue()


def _image(tmp_path):
    img = np.random.default_rng(0).integers(0, 1000, (24, 64, 64)).astype(np.uint16)
    path = tmp_path / "img.tif"
    write_tiff(path, img, (1.0, 1.0, 1.0))
    return path


def test_custom_border_is_kept_by_the_project(tmp_path):
    image = _image(tmp_path)
    code, out, err = _run(["propose", image, "-o", tmp_path / "p", "--preset", "custom",
                           "--size", "12,24,24", "--ignore-border", "3", "--n", "2"])
    assert code == 0, err
    assert load_plan(tmp_path / "p").preset.ignore_border == 3
    assert json.loads((tmp_path / "p" / "plan.json").read_text())["preset"]["ignore_border"] == 3


def test_a_border_too_wide_for_the_minimum_exits_2(tmp_path):
    image = _image(tmp_path)
    code, out, err = _run(["propose", image, "-o", tmp_path / "p", "--preset", "custom",
                           "--size", "12,24,24", "--ignore-border", "6"])
    assert code == 2
    assert "needs boxes of at least 13 voxels" in err and "Traceback" not in err
    assert not (tmp_path / "p").exists()


def test_ignore_border_is_only_for_the_custom_preset(tmp_path):
    image = _image(tmp_path)
    code, out, err = _run(["propose", image, "-o", tmp_path / "p", "--preset", "instance",
                           "--ignore-border", "4"])
    assert code == 2 and "--ignore-border is for --preset custom" in err
