"""Images with different channel counts: nnU-Net, StarDist and Cellpose refuse them in one dataset,
OME-Zarr writes each case with its own channels."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr

from napari_patchwise.cli.main import main
from napari_patchwise.engine.export import ExportError, ExportOptions, export_project
from napari_patchwise.engine.export.run import export_projects
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.project import create_project

sys.path.insert(0, str(Path(__file__).parent))
from test_export_images import SHAPE, VOXELS, _paint, _plan  # noqa: E402


def _mixed(tmp_path, names=("cho", "plant"), two=("plant",), folder_name="proj") -> Path:
    """A project of the named images, those in ``two`` with two channels (a z, c, y, x ImageJ stack)."""
    plans = []
    for name in names:
        plan = _plan(name, 2)
        if name in two:
            plan = plan.replace(image=dataclasses.replace(plan.image, channels=2, file_axes="ZCYX"))
        plans.append(plan)
    coll = Collection.from_plan(plans[0], names[0])
    for name, plan in zip(names[1:], plans[1:]):
        coll = coll.add_image(plan, name)
    folder = tmp_path / folder_name
    create_project(folder, coll)
    rng = np.random.default_rng(0)
    for name in names:
        if name in two:
            stack = rng.integers(0, 1000, (SHAPE[0], 2, *SHAPE[1:])).astype(np.uint16)
            tifffile.imwrite(folder / f"{name}.tif", stack, imagej=True, metadata={"axes": "ZCYX"})
        else:
            write_tiff(folder / f"{name}.tif", rng.integers(0, 1000, SHAPE).astype(np.uint16), VOXELS[name])
        _paint(folder, name, 0)
    return folder


@pytest.mark.parametrize("fmt, why", [("nnunet", "dataset.json names one set of input channels"),
                                      ("stardist", "stardist_config.json gives one n_channel_in"),
                                      ("cellpose", "a Cellpose model")])
def test_one_dataset_of_images_with_different_channel_counts_is_refused(tmp_path, fmt, why):
    folder = _mixed(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ExportError) as e:
        export_project(folder, out, ExportOptions(formats=(fmt,), split_by="box"))
    message = str(e.value)
    assert "different channel counts (cho 1, plant 2)" in message and why in message
    assert "--images" in message and "omezarr" in message  # the fix
    assert not any(out.iterdir())  # nothing written


def test_ome_zarr_writes_each_case_with_its_own_channels(tmp_path):
    folder = _mixed(tmp_path)
    out = tmp_path / "out"
    report = export_project(folder, out, ExportOptions(formats=("omezarr",), split_by="box"))
    assert sorted(report.written["omezarr"]) == ["cho_box_0001", "cho_box_0002", "plant_box_0001", "plant_box_0002"]
    for case, axes, channels in (("cho_box_0001", ["z", "y", "x"], 1), ("plant_box_0001", ["c", "z", "y", "x"], 2)):
        group = zarr.open(str(out / "omezarr" / f"{case}.zarr"), mode="r")
        ms = group.attrs["multiscales"][0]
        assert [a["name"] for a in ms["axes"]] == axes
        level = group[ms["datasets"][0]["path"]]
        assert (level.shape[0] if channels > 1 else 1) == channels and level.ndim == len(axes)


def test_images_of_one_channel_count_export_apart_and_the_other_cannot_join_them(tmp_path):
    folder = _mixed(tmp_path)
    out = tmp_path / "out"
    export_project(folder, out, ExportOptions(formats=("stardist",), images=("cho",)))
    export_project(folder, tmp_path / "other", ExportOptions(formats=("stardist",), images=("plant",)))
    with pytest.raises(ExportError, match=r"different channel counts \(plant 2, cho 1\)"):
        export_project(folder, out, ExportOptions(formats=("stardist",), images=("plant",)))  # cho is in out
    assert main(["export", str(folder), "--format", "nnunet", "--images", "plant", "-o", str(tmp_path / "nn")]) == 0


def test_projects_with_different_channel_counts_are_refused_by_project_and_image(tmp_path):
    a = _mixed(tmp_path, ("cho",), (), "a")
    b = _mixed(tmp_path, ("plant",), ("plant",), "b")
    with pytest.raises(ExportError, match=r"different channel counts \(a:cho 1, b:plant 2\)"):
        export_projects([a, b], tmp_path / "out", ExportOptions(formats=("nnunet",)))


def test_the_cli_says_so_and_exits_2(tmp_path, capsys):
    folder = _mixed(tmp_path)
    assert main(["export", str(folder), "--format", "nnunet", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "different channel counts (cho 1, plant 2)" in err and "Traceback" not in err
