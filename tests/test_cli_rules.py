"""Rules the command line now shares with the docks through the engine's jobs."""

from __future__ import annotations

import numpy as np
import pytest

from napari_patchwise.cli import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.annotation_store import open_annotations

SHAPE = (24, 96, 96)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample(SHAPE)
    path = tmp_path_factory.mktemp("inputs") / "image.tif"
    write_tiff(path, s.image, s.voxel_size)
    return path, s


def _points(folder, rows):
    path = folder / "points.csv"
    path.write_text("z,y,x\n" + "".join(f"{z},{y},{x}\n" for z, y, x in rows))
    return path


def test_propose_replace_also_drops_unlocked_point_boxes(image, tmp_path, capsys):
    out = tmp_path / "p"
    common = ["propose", str(image[0]), "-o", str(out), "--preset", "custom", "--size", "16,32,32"]
    assert main([*common, "--points", _points(tmp_path, [(8, 20, 20), (8, 70, 70)])]) == 0
    assert [b.id for b in load_plan(out).boxes] == [1, 2]
    assert main([*common, "--points", _points(tmp_path, [(8, 20, 70)]), "--replace"]) == 0
    assert [(b.id, b.source) for b in load_plan(out).boxes] == [(3, "points")]
    capsys.readouterr()


@pytest.mark.parametrize("threshold, message", [("1e9", "nothing would be seeded"),
                                                ("-5", "every voxel would be foreground")])
def test_seed_refuses_a_manual_threshold_outside_the_boxes(image, tmp_path, capsys, threshold, message):
    out = tmp_path / "p"
    assert main(["propose", str(image[0]), "-o", str(out), "--preset", "custom", "--size", "16,32,32",
                 "--points", _points(tmp_path, [(8, 20, 20)])]) == 0
    capsys.readouterr()
    assert main(["seed", str(out), "--method", "manual", "--threshold", threshold]) == 2
    err = capsys.readouterr().err
    assert message in err and "Choose a threshold between them" in err and "Traceback" not in err
    assert not np.asarray(open_annotations(out, mode="r")["nuclei"][...]).any()
    assert [b.status for b in load_plan(out).boxes] == ["todo"]
