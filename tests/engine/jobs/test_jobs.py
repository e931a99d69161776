"""The engine's jobs: each request refuses bad values with a message naming the fix, and each
job applies the rules the command line and the docks share (no Qt here)."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest
import tifffile

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.export.model import ExportOptions
from napari_patchwise.engine.jobs import (
    CheckRequest,
    ExportRequest,
    ProposeRequest,
    SeedRequest,
    parse_box_ids,
    run_check,
    run_propose,
    run_seed,
)
from napari_patchwise.engine.jobs.seed import PROBABILITY_BACKGROUND
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.propose.run import measure_candidates
from napari_patchwise.engine.samples.nuclei import make_sample
from napari_patchwise.engine.plan.box_arrays import box_region
from napari_patchwise.engine.plan.annotation_store import annotation_layers
from napari_patchwise.engine.seed.weaklabels import SeedParams


@pytest.fixture(scope="module")
def sample():
    return make_sample((24, 96, 96), seed=1)


@pytest.fixture
def project(tmp_path, sample):
    plan = Plan(ImageRef(sample.image.shape, voxel_size=sample.voxel_size), classes=(ClassSpec("nuclei"),))
    plan = plan.add_boxes([((0, 0, 0), (24, 48, 48)), ((0, 48, 48), (24, 96, 96))])
    return create_project(tmp_path / "p", plan)


def _layers(folder):
    plan = load_plan(folder)
    return annotation_layers(open_annotations(folder, plan, mode="r"), plan)


# -- seed ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(method="watershed"), "seeding method 'watershed' is unknown"),
    (dict(method="otsu", source="x.tif"), "--from is for imports"),
    (dict(method="otsu", labels=np.zeros((2, 2, 2))), "--from is for imports"),
    (dict(method="manual"), "--method manual needs --threshold"),
    (dict(method="li", threshold=300.0), "Add --method manual"),
    (dict(method="otsu", diameter=0.0), "--diameter must be positive"),
    (dict(method="otsu", smooth=-1.0), "--smooth must be >= 0"),
    (dict(method="otsu", min_distance=-0.5), "--min-distance must be >= 0"),
    (dict(method="otsu", min_size=-3), "--min-size must be a number of voxels >= 0"),
    (dict(method="otsu", params=SeedParams(method="li")), "give one method"),
    (dict(method="labels"), "--method labels needs --from FILE"),
    (dict(method="probability", labels=np.zeros((2, 2, 2))), "--method probability needs --from FILE"),
    (dict(method="probability", source="p.tif", threshold=1.5), r"probability threshold lies in \(0, 1\]"),
    (dict(method="probability", source="p.tif", threshold=0.0), r"probability threshold lies in \(0, 1\]"),
    (dict(method="probability", source="p.tif", background_below=-0.1), "background cut is a probability"),
    (dict(method="probability", source="p.tif", min_size=-1), "--min-size"),
    (dict(method="otsu", box_ids=(0,)), "whole number >= 1"),
])
def test_seed_request_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SeedRequest("project", **kwargs)


def test_seed_request_refuses_cellpose_with_a_file_or_when_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "cellpose", None)
    with pytest.raises(ValueError, match="use --method labels --from FILE"):
        SeedRequest("project", method="cellpose", source="x_seg.npy")
    with pytest.raises(ValueError, match="Cellpose is not installed"):
        SeedRequest("project", method="cellpose")


def test_seed_request_builds_the_thresholding_parameters():
    request = SeedRequest("p", method="manual", threshold=120.0, diameter=6.0, split=False, box_ids=[2, 2, 1])
    assert request.params == SeedParams(method="manual", threshold=120.0, object_diameter=6.0, split=False)
    assert request.box_ids == (2, 1)


@pytest.mark.parametrize("threshold, message", [(1e9, "nothing would be seeded"),
                                                (-1.0, "every voxel would be foreground")])
def test_a_manual_threshold_outside_the_boxes_is_refused_before_writing(project, sample, threshold, message):
    with pytest.raises(ValueError, match=message):
        run_seed(SeedRequest(project, method="manual", threshold=threshold, image=sample.image))
    assert not _layers(project)["nuclei"][:].any()
    assert [b.status for b in load_plan(project).boxes] == ["todo", "todo"]


def test_a_manual_threshold_inside_seeds_with_the_project_image_read_from_disk(project, sample):
    tifffile.imwrite(project / "image.tif", sample.image)
    plan = load_plan(project)
    plan = plan.replace(image=dataclasses.replace(plan.image, path=str(project / "image.tif")))
    middle = float(np.percentile(sample.image, 90))
    plan, report = run_seed(SeedRequest(project, method="manual", threshold=middle, box_ids=(1,), plan=plan))
    assert report.boxes[1]["objects"] > 0 and 2 not in report.boxes
    assert [b.status for b in plan.boxes] == ["seeded", "todo"]


def test_seeding_without_the_image_says_where_it_should_be(project):
    with pytest.raises(ValueError, match="is not there; put it back"):
        run_seed(SeedRequest(project))


@pytest.mark.parametrize("below", [PROBABILITY_BACKGROUND, 0.3])
def test_a_probability_import_marks_background_below_the_cut(project, sample, tmp_path, below):
    prob = np.where(sample.labels > 0, 0.9, 0.0).astype("float32")
    prob[:, :, :20][sample.labels[:, :, :20] == 0] = 0.2  # unsure: background only with the higher cut
    tifffile.imwrite(tmp_path / "prob.tif", prob)
    plan, _ = run_seed(SeedRequest(project, method="probability", source=tmp_path / "prob.tif",
                                   background_below=below))
    layers = _layers(project)
    inside = np.zeros(prob.shape, bool)
    for box in plan.boxes:
        inside[box_region(plan, box)] = True
    nuclei, background = layers["nuclei"][:] > 0, layers["background"][:] > 0
    assert not nuclei[prob < 0.5].any() and nuclei[inside & (prob > 0.5)].mean() > 0.8
    assert background[inside & (prob == 0)].all() and not background[prob > 0.5].any()
    unsure = background[inside & (prob == 0.2)]
    assert unsure.size and (unsure.all() if below > 0.2 else not unsure.any())


def test_labels_given_as_an_array_are_imported_with_their_label(project, sample):
    plan, report = run_seed(SeedRequest(project, method="labels", labels=sample.labels, label="layer import"))
    assert report.method == "layer import"
    nuclei = _layers(project)["nuclei"][:]
    region = box_region(plan, plan.boxes[0])
    assert not nuclei[region][sample.labels[region] == 0].any()
    assert (nuclei[region] > 0).sum() > 0.8 * (sample.labels[region] > 0).sum()


# -- propose ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(by="chance"), "propose by 'chance' is unknown"),
    (dict(by="points"), "needs the points"),
    (dict(), "needs the image"),
    (dict(by="uncertainty", image=np.zeros((2, 2, 2))), "needs a probability map"),
    (dict(by="points", points=[(1, 1, 1)], border="wrap"), "border takes shift or reject"),
    (dict(by="points", points=[(1, 1, 1)], size=(0, 8, 8)), "three whole numbers"),
])
def test_propose_request_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProposeRequest(Plan(ImageRef((24, 96, 96))), **kwargs)


def test_replace_drops_unlocked_proposals_of_every_kind(sample):
    preset = get_preset("custom", minimum=(16, 32, 32), default_size=(16, 32, 32))
    plan = Plan(ImageRef(sample.image.shape), preset=preset)
    plan = plan.add_boxes([((0, 0, 0), (16, 32, 32))], source="uncertainty")
    plan = plan.add_boxes([((0, 32, 0), (16, 64, 32))], source="uncertainty", locked=True)
    plan = plan.add_boxes([((0, 0, 32), (16, 32, 64))], source="points")
    plan = plan.add_boxes([((0, 64, 64), (16, 96, 96))], source="manual")
    prob = (sample.labels > 0).astype("float32") * 0.5
    cands = measure_candidates(sample.image, plan, probability=prob, scheduler="sync")
    by_unc = run_propose(ProposeRequest(plan, by="uncertainty", candidates=cands, n=1, replace=True)).plan
    assert [(b.id, b.source) for b in by_unc.boxes][:3] == [(2, "uncertainty"), (3, "points"), (4, "manual")]
    kept = run_propose(ProposeRequest(plan, by="uncertainty", candidates=cands, n=1)).plan
    assert [b.id for b in kept.boxes][:4] == [1, 2, 3, 4]
    by_points = run_propose(ProposeRequest(plan, by="points", points=[(8, 80, 16)], replace=True)).plan
    assert [b.id for b in by_points.boxes] == [1, 2, 4, 5]


def test_points_skip_excluded_boxes_and_say_so():
    plan = Plan(ImageRef((64, 128, 128)), box_size=(32, 32, 32))
    first = run_propose(ProposeRequest(plan, by="points", points=[(32, 64, 64)]))
    (box,) = first.plan.boxes
    again = run_propose(ProposeRequest(plan, by="points", points=[(32, 64, 64), (32, 20, 20)],
                                       exclude=((box.lo, box.hi),)))
    assert len(again.added) == 1 and again.n_points == 2
    assert "point 0: its box was rejected before" in again.messages[-1]


# -- check and export ---------------------------------------------------------------------------------
def test_check_request_and_saving_statuses(project, sample):
    with pytest.raises(ValueError, match="connectivity takes 1"):
        CheckRequest(project, connectivity=0)
    run_seed(SeedRequest(project, method="labels", labels=sample.labels, box_ids=(2,)))
    assert [b.status for b in load_plan(project).boxes] == ["todo", "todo"]  # the job saves nothing
    result = run_check(CheckRequest(project))
    assert [b.status for b in result.plan.boxes] == ["todo", "seeded"]
    assert [b.status for b in load_plan(project).boxes] == ["todo", "todo"]
    run_check(CheckRequest(project, update_status=True))
    assert [b.status for b in load_plan(project).boxes] == ["todo", "seeded"]


@pytest.mark.parametrize("options, out, message", [
    (ExportOptions(formats=()), "out", "tick at least one format"),
    (ExportOptions(formats=("nnunet", "yolo")), "out", "unknown export format yolo"),
    (ExportOptions(fractions=(0, 0.5, 0.5)), "out", "train fraction is 0"),
    (ExportOptions(fractions=(0.8, -0.2, 0)), "out", "not negative"),
    (ExportOptions(context={"dataset_id": 1000}), "out", "from 1 to 999"),
    (ExportOptions(context={"min_masks": -1}), "out", "0 or more"),
    (ExportOptions(), ".", "choose an output folder"),
])
def test_export_request_refuses_bad_values(options, out, message):
    with pytest.raises(ValueError, match=message):
        ExportRequest("project", out, options)


def test_box_ids_from_text():
    assert parse_box_ids(" 4, 1,4 ") == [4, 1]
    assert parse_box_ids("  ") is None
    with pytest.raises(ValueError, match="--test-boxes takes box ids like 3,7"):
        parse_box_ids("3,x", "--test-boxes", "3,7")
