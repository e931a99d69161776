"""patchwise propose on volumes whose headers claim more than they hold."""

from __future__ import annotations

import numpy as np
import zarr

from napari_patchwise.cli import main
from napari_patchwise.engine.samples.nuclei import make_sample


def test_propose_refuses_a_huge_claimed_shape_with_exit_2(tmp_path, capsys):
    path = tmp_path / "huge.zarr"
    z = zarr.create_array(path, shape=(10**6,) * 3, chunks=(64, 64, 64), dtype="u2")
    z[:64, :64, :64] = np.arange(64**3, dtype="u2").reshape((64,) * 3)
    out = tmp_path / "project"
    assert main(["propose", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path} claims 1,000,000×1,000,000×1,000,000 voxels" in err
    assert not out.exists()


def test_propose_says_early_that_an_unwritten_zarr_is_empty(tmp_path, capsys):
    path = tmp_path / "empty.zarr"
    zarr.create_array(path, shape=(4096,) * 3, chunks=(64, 256, 256), dtype="u2")
    out = tmp_path / "project"
    assert main(["propose", str(path), "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert "empty.zarr holds no data" in captured.err and "measuring blocks" not in captured.err
    assert not out.exists()


def test_propose_prints_what_it_measures_beside_the_progress(tmp_path, capfd):
    s = make_sample((32, 128, 128))
    path = tmp_path / "part.zarr"
    z = zarr.create_array(path, shape=s.image.shape, chunks=(32, 64, 64), dtype=s.image.dtype)
    z[:] = s.image
    assert main(["propose", str(path), "-o", str(tmp_path / "p"), "--size", "32,32,32",
                 "--voxel-size", "1,1,1", "--scheduler", "sync"]) in (0, 1)
    out, err = capfd.readouterr()
    assert "measuring 49 candidate boxes of 32×32×32" in out and "4 of 4 chunks hold data" in out
    assert "measuring blocks" in err
