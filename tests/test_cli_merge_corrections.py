"""``patchwise merge-corrections``: MemBrain-seg folders in, .nii.gz labels out, nothing overwritten."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("nrrd")
pytest.importorskip("nibabel")

from napari_patchwise.cli.main import main  # noqa: E402
from napari_patchwise.engine.io.nrrd_io import write_nrrd  # noqa: E402
from napari_patchwise.engine.io.volumes import read_volume  # noqa: E402


@pytest.fixture
def folders(tmp_path):
    labels, corr = tmp_path / "labels", tmp_path / "corrections"
    (corr / "p0").mkdir(parents=True)
    labels.mkdir()
    base = np.zeros((40, 40, 40), "uint8")
    base[20, 20, 18:22] = 1
    write_nrrd(labels / "p0.nrrd", base, (14.08, 14.08, 14.08), "angstrom")
    write_nrrd(labels / "p1.nrrd", base)
    add = np.zeros_like(base)
    add[20, 21, 20] = 1
    remove = np.zeros_like(base)
    remove[20, 20, 18] = 1
    write_nrrd(corr / "p0" / "Add1.nrrd", add)
    write_nrrd(corr / "p0" / "remove1.nrrd", remove)
    return labels, corr, tmp_path / "out"


def _args(labels, corr, out, *more):
    return ["merge-corrections", "--labels-dir", str(labels), "--corrections-dir", str(corr), "--out-dir", str(out),
            *more]


def test_merges_and_reports(folders, capsys):
    labels, corr, out = folders
    assert main(_args(*folders)) == 0
    printed = capsys.readouterr().out
    assert "p0.nrrd: 1 add, 1 remove, 0 ignore" in printed and "p1: no folder" in printed
    vol = read_volume(out / "p0.nii.gz")
    merged = np.asarray(vol.data)
    assert merged[20, 21, 20] == 1 and merged[20, 20, 18] == 0 and merged[20, 20, 19] == 1
    assert (merged[:16] == 2).all() and (merged[:, :, -16:] == 2).all() and merged[16:24, 16:24, 16:24].max() == 1
    assert not (out / "p1.nii.gz").exists()


def test_existing_output_refused_with_exit_2_then_overwritten_when_asked(folders, capsys):
    labels, corr, out = folders
    assert main(_args(*folders)) == 0
    before = (out / "p0.nii.gz").read_bytes()
    capsys.readouterr()
    assert main(_args(*folders, "--border", "0")) == 2
    err = capsys.readouterr().err
    assert "p0.nii.gz" in err and "--overwrite" in err and "Traceback" not in err
    assert (out / "p0.nii.gz").read_bytes() == before
    assert main(_args(*folders, "--border", "0", "--overwrite")) == 0
    assert np.asarray(read_volume(out / "p0.nii.gz").data)[0, 0, 0] == 0


def test_missing_corrections_folder_is_exit_2(folders, capsys):
    labels, corr, out = folders
    assert main(_args(labels, corr / "nope", out)) == 2
    assert "no corrections folder" in capsys.readouterr().err
