"""``patchwise rounds`` and ``patchwise next-round``; every ``patchwise propose`` run is a recorded round."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

from napari_patchwise.cli.main import main
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.plan_file import load_collection

SIZE = ["--size", "16,32,32", "--preset", "custom", "--min", "8,16,16"]


def _volume(shape, seed=0):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    data = rng.normal(40, 8, shape)
    for _ in range(20):
        c = [rng.integers(0, n) for n in shape]
        data += 120 * (((z - c[0]) / 3) ** 2 + ((y - c[1]) / 6) ** 2 + ((x - c[2]) / 6) ** 2 < 1)
    return np.clip(data, 0, 255).astype(np.uint8)


@pytest.fixture
def project(tmp_path, capsys):
    write_tiff(tmp_path / "raw.tif", _volume((32, 128, 128)), (1.0, 1.0, 1.0))
    out = tmp_path / "proj"
    assert main(["propose", str(tmp_path / "raw.tif"), "-o", str(out), *SIZE, "--n", "2"]) in (0, 1)
    capsys.readouterr()
    return out


def test_each_propose_run_is_a_new_recorded_round(project, tmp_path, capsys):
    assert main(["propose", str(tmp_path / "raw.tif"), "-o", str(project), "--n", "2"]) in (0, 1)
    assert "round 2: 2 boxes, recorded in proj/rounds/loop_002.json" in capsys.readouterr().out
    plan = load_collection(project).plan("raw")
    assert sorted(b.round for b in plan.boxes) == [1, 1, 2, 2]
    assert sorted(p.name for p in (project / "rounds").iterdir()) == ["loop_001.json", "loop_002.json"]
    first = json.loads((project / "rounds" / "loop_001.json").read_text())
    assert [p["box"] for p in first["patches"]] == ["raw:1", "raw:2"]
    assert first["command"].startswith("patchwise propose") and first["created"]
    assert main(["rounds", str(project), "--json"]) == 0
    rounds = json.loads(capsys.readouterr().out)
    assert [(r["round"], r["boxes"], r["annotated"], r["recorded"]) for r in rounds] == [(1, 2, 0, 2), (2, 2, 0, 2)]
    assert main(["rounds", str(project)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["round 1", "round 2"]
    assert all("2 boxes, 0 annotated" in line for line in lines)


def _fake_scan(regions):
    """A stand-in for the failure scan (napari_patchwise.engine.scan) with its request's fields, returning chosen regions."""

    @dataclass(frozen=True)
    class ScanRequest:
        project: object
        prediction: object
        second_prediction: object = None
        threshold: float | None = None
        images: tuple | None = None
        n: int = 10

    seen = []

    def scan_failures(request, progress=None):
        seen.append(request)
        return types.SimpleNamespace(regions=tuple(r for r in regions if r.image in request.images))

    module = types.ModuleType("napari_patchwise.engine.scan")
    module.ScanRequest, module.scan_failures, module.seen = ScanRequest, scan_failures, seen
    return module


@dataclass(frozen=True)
class Region:
    image: str
    lo: tuple
    hi: tuple
    kind: str
    reason: str
    score: float


def test_next_round_mixes_failures_records_and_lists_the_round(project, tmp_path, capsys, monkeypatch):
    held = load_collection(project).plan("raw").boxes
    spots = [((z, y, x), (z + 16, y + 32, x + 32)) for z in (0, 16) for y in (0, 48, 96) for x in (0, 48, 96)]
    free = [(lo, hi) for lo, hi in spots
            if not any(all(a < bh and b < ah for a, ah, b, bh in zip(lo, hi, o.lo, o.hi)) for o in held)]
    kinds = [("merge", "prediction merges 2 objects"), ("fragment", "tiny fragment"),
             ("uncertain", "47 % of voxels uncertain")]
    regions = [Region("raw", lo, hi, kind, why, 0.9 - k / 10)
               for k, ((lo, hi), (kind, why)) in enumerate(zip(free, kinds))]
    fake = _fake_scan(regions)
    monkeypatch.setitem(sys.modules, "napari_patchwise.engine.scan", fake)
    pred = tmp_path / "pred.npy"
    np.save(pred, np.zeros((32, 128, 128), np.uint16))
    before = {b.id for b in load_collection(project).plan("raw").boxes}
    assert main(["next-round", str(project), "--prediction", str(pred), "-n", "4", "--mix", "0.5",
                 "--threshold", "0.4"]) == 0
    text = capsys.readouterr().out
    assert "round 2: 4 boxes, 2 where the prediction fails (2 asked) and 2 stratified" in text
    assert "failure:merge: prediction merges 2 objects" in text
    request = fake.seen[0]
    assert (request.prediction, request.threshold, request.images) == (str(pred), 0.4, ("raw",))
    plan = load_collection(project).plan("raw")
    new = [b for b in plan.boxes if b.id not in before]
    assert len(new) == 4 and {b.round for b in new} == {2}
    assert [b.stratum for b in new if b.stratum.startswith("failure:")] == ["failure:merge", "failure:fragment"]
    record = json.loads((project / "rounds" / "loop_002.json").read_text())
    assert record["mix"]["fraction"] == 0.5 and record["mix"]["failures"] == 2
    assert record["predictions"][0]["path"] == str(pred.resolve()) and "sha256" in record["predictions"][0]
    assert main(["rounds", str(project)]) == 0
    assert "round 2" in capsys.readouterr().out.splitlines()[1]


def test_next_round_refuses_bad_input_and_writes_nothing(project, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "napari_patchwise.engine.scan", _fake_scan([]))
    plan_before = (project / "plan.json").read_bytes()
    for bad in (["--mix", "1.5"], ["-n", "0"], ["--images", "nope"]):
        assert main(["next-round", str(project), "--prediction", "p.npy", *bad]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and ("--mix" in err or "-n" in err or "nope" in err)
    assert (project / "plan.json").read_bytes() == plan_before
    assert sorted(p.name for p in (project / "rounds").iterdir()) == ["loop_001.json"]


def test_next_round_with_the_failure_scan_adds_a_recorded_round(project, tmp_path, capsys):
    coll = load_collection(project)
    truth = np.zeros((32, 128, 128), np.uint16)
    pred = truth.copy()
    pred[16:32, 96:128, 96:128] = 7  # a large false object far from the boxes
    path = tmp_path / "pred.tif"
    write_tiff(path, pred, (1.0, 1.0, 1.0))
    assert main(["next-round", str(project), "--prediction", str(path), "-n", "2", "--mix", "1"]) in (0, 1)
    after = load_collection(project).plan("raw")
    new = [b for b in after.boxes if b.round == 2]
    assert 1 <= len(new) <= 2 and len(after.boxes) == len(coll.plan("raw").boxes) + len(new)
    record = json.loads((project / "rounds" / "loop_002.json").read_text())
    assert sorted(p["box"] for p in record["patches"]) == sorted(f"raw:{b.id}" for b in new)
