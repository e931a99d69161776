"""The evaluation history: numbered records, written once, never overwritten, read back in order."""

from __future__ import annotations

import json

from napari_patchwise.engine.evaluate import history
from napari_patchwise.engine.evaluate.history import load_history, save_evaluation


def test_records_are_numbered_after_the_highest_and_keep_what_was_given(tmp_path):
    folder = tmp_path / "evaluations"
    folder.mkdir()
    (folder / "eval_007.json").write_text(json.dumps({"overall": {"dice": 0.1}}))
    path = save_evaluation(tmp_path, {"overall": {"dice": 0.5}, "boxes": []}, prediction="p.tif",
                           settings={"threshold": 0.3})
    assert path.name == "eval_008.json"
    record = json.loads(path.read_text())
    assert (record["number"], record["prediction"], record["settings"], record["overall"]) == (
        8, "p.tif", {"threshold": 0.3}, {"dice": 0.5})
    assert [r["number"] for r in load_history(tmp_path)] == [7, 8]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_number_taken_meanwhile_is_never_overwritten(tmp_path, monkeypatch):
    """Another writer takes eval_001 between the scan and the link: the record goes to eval_002."""
    real = history._numbers
    calls = []

    def stale(folder):
        calls.append(1)
        if len(calls) == 1:  # the first scan misses the other writer's file
            (folder / "eval_001.json").write_text('{"theirs": true}')
            return []
        return real(folder)

    monkeypatch.setattr(history, "_numbers", stale)
    path = save_evaluation(tmp_path, {"overall": {}}, prediction="mine.tif")
    assert path.name == "eval_002.json"
    assert json.loads((tmp_path / "evaluations" / "eval_001.json").read_text()) == {"theirs": True}
    assert json.loads(path.read_text())["number"] == 2 and json.loads(path.read_text())["prediction"] == "mine.tif"


def test_unreadable_records_and_other_files_are_skipped(tmp_path):
    save_evaluation(tmp_path, {"overall": {"dice": 1.0}}, prediction="a")
    (tmp_path / "evaluations" / "eval_002.json").write_text("{broken")
    (tmp_path / "evaluations" / "notes.json").write_text("{}")
    assert [r["prediction"] for r in load_history(tmp_path)] == ["a"]
    assert load_history(tmp_path / "nowhere") == []
