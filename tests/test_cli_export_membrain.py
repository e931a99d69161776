"""``patchwise export --format membrain``: MemBrain-seg's layout from the command line, bad tokens exit 2."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from napari_patchwise.cli import main
from napari_patchwise.engine.export.model import MANIFEST_NAME

nib = pytest.importorskip("nibabel")


def _export(project, out, *args):
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        code = main(["export", str(project), "-o", str(out), "--format", "membrain", *args])
    return code, o.getvalue(), e.getvalue()


def test_membrain_layout_from_the_command_line(annotated_project, tmp_path):
    out = tmp_path / "out"
    code, text, err = _export(annotated_project, out, "--membrain-token", "blobs-1", "--split", "0.5,0.5")
    assert code == 0, err
    root = out / "membrain"
    assert "membrain: 3 new cases" in text and "dataset token blobs-1" in text
    labels = sorted(p.name for d in ("labelsTr", "labelsVal") for p in (root / d).iterdir())
    assert labels == [f"blobs-1_blobs_patch{i}.nii.gz" for i in (1, 2, 4)]  # box 3: touching nuclei
    for d_img, d_lab in (("imagesTr", "labelsTr"), ("imagesVal", "labelsVal")):
        for lab in (root / d_lab).iterdir():
            assert (root / d_img / lab.name.replace(".nii.gz", "_0000.nii.gz")).is_file()
    box2 = next(root.glob("labels*/blobs-1_blobs_patch2.nii.gz"))
    lab = np.asarray(nib.load(str(box2)).dataobj).transpose(2, 1, 0)
    assert lab.dtype == np.uint8
    assert (lab[-2:] == 2).all()  # the unannotated planes are ignore
    assert set(np.unique(lab[:-2]).tolist()) == {0, 1}
    manifest = json.loads((root / MANIFEST_NAME).read_text())
    assert manifest["settings"]["membrain_token"] == "blobs-1"


@pytest.mark.parametrize("args, message", [
    (("--membrain-token", "blobs_1"), "has a '_'"),
    (("--membrain-class", "membrane"), "'membrane' is not a class of this plan"),
])
def test_bad_membrain_settings_exit_2_with_the_fix(annotated_project, tmp_path, args, message):
    code, text, err = _export(annotated_project, tmp_path / "out", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "membrain").exists()
