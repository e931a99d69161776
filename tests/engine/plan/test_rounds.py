"""Rounds: a box's round in plan.json, round numbers across proposal runs, records never overwritten."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.geometry.box import Box
from napari_patchwise.engine.jobs.propose import ProposeRequest, run_propose
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.plan.plan_file import ProjectError, load_collection
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.rounds import (
    box_round,
    next_round,
    read_round_records,
    record_path,
    round_record,
    summarize_rounds,
    write_round_record,
)


def test_round_is_written_only_when_set_and_read_back():
    plain = Box(1, (0, 0, 0), (8, 8, 8), source="proposal")
    assert "round" not in plain.to_dict()
    numbered = plain.replace(round=4)
    assert numbered.to_dict()["round"] == 4
    assert Box.from_dict(numbered.to_dict()).round == 4
    assert Box.from_dict(plain.to_dict()).round is None


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_a_round_is_a_whole_number_from_one(bad):
    with pytest.raises(ValueError, match="round must be a whole number >= 1"):
        Box(1, (0, 0, 0), (8, 8, 8), round=bad)


def test_boxes_without_a_round_count_as_round_one_if_proposed_none_if_drawn():
    assert box_round(Box(1, (0, 0, 0), (4, 4, 4), source="proposal")) == 1
    assert box_round(Box(1, (0, 0, 0), (4, 4, 4), source="points")) == 1
    assert box_round(Box(1, (0, 0, 0), (4, 4, 4), source="manual")) is None
    assert box_round(Box(1, (0, 0, 0), (4, 4, 4), source="import")) is None
    assert box_round(Box(1, (0, 0, 0), (4, 4, 4), source="manual", round=3)) == 3


def test_an_old_plan_file_without_rounds_reads_unchanged(tmp_path):
    plan = Plan(ImageRef((16, 64, 64))).add_boxes([((0, 0, 0), (8, 16, 16))], source="proposal")
    plan = plan.add_boxes([((8, 16, 16), (16, 32, 32))])  # drawn by hand
    create_project(tmp_path / "p", plan)
    text = (tmp_path / "p" / "plan.json").read_text()
    assert '"round"' not in text  # older readers see nothing new
    coll = load_collection(tmp_path / "p")
    assert [b.round for b in coll.images[0].plan.boxes] == [None, None]
    assert next_round(coll, tmp_path / "p") == 2
    assert [s.round for s in summarize_rounds(coll, tmp_path / "p")] == [1]


def test_every_proposal_run_gets_the_next_round(sample):
    plan = Plan(ImageRef(sample.image.shape), get_preset("custom", minimum=(8, 16, 16)), box_size=(16, 32, 32))
    first = run_propose(ProposeRequest(plan, image=sample.image, n=2, seed=0, scheduler="sync"))
    assert first.added
    second = run_propose(ProposeRequest(first.plan, by="points", points=[(0, 0, 0), (20, 90, 90)]))
    points = run_propose(ProposeRequest(second.plan, by="points", points=[(12, 48, 48)]))
    rounds = {b.id: b.round for b in points.plan.boxes}
    assert [rounds[i] for i in first.added] == [1] * len(first.added)
    assert [rounds[i] for i in second.added] == [2, 2]
    assert [rounds[i] for i in points.added] == [3]
    # a project-wide number given by the command wins
    fourth = run_propose(ProposeRequest(points.plan, by="points", points=[(8, 8, 8)], round=7))
    assert {fourth.plan.box(i).round for i in fourth.added} == {7}
    with pytest.raises(ValueError, match="round number"):
        ProposeRequest(plan, by="points", points=[(8, 8, 8)], round=0)


def test_next_round_spans_images_and_records(tmp_path):
    a = Plan(ImageRef((16, 64, 64))).add_boxes([((0, 0, 0), (8, 8, 8))], source="proposal", round=2)
    b = Plan(ImageRef((16, 64, 64))).add_boxes([((0, 0, 0), (8, 8, 8))], source="uncertainty", round=5)
    coll = Collection.from_plan(a, "a").add_image(b, "b")
    assert next_round(coll) == 6
    write_round_record(tmp_path, round_record(9, "patchwise propose", []))
    assert next_round(coll, tmp_path) == 10  # a round whose boxes were all removed is not given again


def test_records_hold_the_boxes_and_why_and_are_never_overwritten(tmp_path):
    pred = tmp_path / "pred.npy"
    np.save(pred, np.zeros((4, 4, 4), np.uint8))
    box = Box(3, (0, 0, 0), (8, 8, 8), source="uncertainty", stratum="failure:merge",
              notes="merges 2 annotated objects", stats={"score": 0.8}, round=2)
    record = round_record(2, "patchwise next-round p --prediction pred.npy", [("cell1", box)],
                          predictions=[pred], mix={"fraction": 0.5})
    path = write_round_record(tmp_path, record)
    assert path == record_path(tmp_path, 2) and path.name == "loop_002.json"
    data = json.loads(path.read_text())
    assert data["round"] == 2 and data["command"].startswith("patchwise next-round")
    assert data["patches"] == [{"box": "cell1:3", "image": "cell1", "id": 3, "lo": [0, 0, 0], "hi": [8, 8, 8],
                                "source": "uncertainty", "stratum": "failure:merge",
                                "reason": "merges 2 annotated objects", "score": 0.8}]
    assert data["predictions"][0]["path"] == str(pred.resolve())
    assert data["predictions"][0]["size"] == pred.stat().st_size and len(data["predictions"][0]["sha256"]) == 64
    assert data["mix"] == {"fraction": 0.5} and data["reasons"] == {"failure:merge": 1}
    before = path.read_bytes()
    with pytest.raises(ProjectError, match="round 2 already has a record"):
        write_round_record(tmp_path, round_record(2, "again", []))
    assert path.read_bytes() == before
    assert [r["round"] for r in read_round_records(tmp_path)] == [2]


def test_a_damaged_record_is_named(tmp_path):
    (tmp_path / "rounds").mkdir()
    (tmp_path / "rounds" / "loop_001.json").write_text("{")
    with pytest.raises(ProjectError, match="loop_001.json"):
        read_round_records(tmp_path)


def test_summaries_count_boxes_annotated_and_reasons(tmp_path):
    plan = Plan(ImageRef((32, 64, 64)))
    plan = plan.add_boxes([((0, 0, 0), (8, 8, 8))], source="proposal", stratum="dense", status="done")
    plan = plan.add_boxes([((8, 8, 8), (16, 16, 16))], source="proposal", stratum="sparse")
    plan = plan.add_boxes([((16, 0, 0), (24, 8, 8))], source="uncertainty", stratum="failure:merge",
                          status="in_progress", round=2)
    plan = plan.add_boxes([((24, 0, 0), (32, 8, 8))])  # drawn by hand: no round
    coll = Collection.from_plan(plan, "a")
    write_round_record(tmp_path, round_record(2, "patchwise next-round", [("a", plan.box(3))],
                                              created="2026-01-02T03:04:05+00:00"))
    first, second = summarize_rounds(coll, tmp_path)
    assert (first.round, first.created, first.boxes, first.annotated) == (1, None, 2, 1)
    assert first.reasons == {"dense": 1, "sparse": 1}
    assert (second.round, second.boxes, second.annotated, second.recorded) == (2, 1, 1, 1)
    assert second.reasons == {"failure:merge": 1}
    assert second.line() == "round 2  2026-01-02 03:04  1 box, 1 annotated  failure:merge 1"
