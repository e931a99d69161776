"""The next-round job on a real project: the mix, the round number, the record, boxes never re-proposed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.geometry.box import boxes_overlap
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.jobs.next_round import NextRoundRequest, run_next_round
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.plan_file import load_collection
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.propose.candidates import box_size_for
from napari_patchwise.engine.propose.mix import mix_round


@dataclass(frozen=True)
class Region:
    image: str
    lo: tuple
    hi: tuple
    kind: str
    reason: str
    score: float


def _volume(shape, seed=0):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    data = rng.normal(40, 8, shape)
    for _ in range(20):
        c = [rng.integers(0, n) for n in shape]
        data += 120 * (((z - c[0]) / 3) ** 2 + ((y - c[1]) / 6) ** 2 + ((x - c[2]) / 6) ** 2 < 1)
    return np.clip(data, 0, 255).astype(np.uint8)


@pytest.fixture
def project(tmp_path):
    image = _volume((32, 128, 128))
    write_tiff(tmp_path / "raw.tif", image, (1.0, 1.0, 1.0))
    plan = Plan(ImageRef(image.shape, "uint8", path=str(tmp_path / "raw.tif"), name="raw"),
                get_preset("custom", minimum=(8, 16, 16)), box_size=(16, 32, 32))
    plan = plan.add_boxes([((0, 0, 0), (16, 32, 32))], source="proposal", stratum="dense", status="done")
    create_project(tmp_path / "proj", Collection.from_plan(plan, "raw"))
    return tmp_path / "proj"


def _regions():
    # the first overlaps the annotated box: never proposed again
    spots = [(0, 0, 0), (16, 96, 96), (0, 96, 0), (16, 0, 96), (0, 48, 48), (16, 48, 0)]
    return [Region("raw", lo, tuple(v + s for v, s in zip(lo, (16, 32, 32))), "uncertain",
                   f"spot {k}", 1 - k / 10) for k, lo in enumerate(spots)]


def test_a_round_mixes_failures_and_stratified_boxes(project):
    coll = load_collection(project)
    request = NextRoundRequest(project, "pred.tif", n=6, mix=0.5, command="patchwise next-round proj")
    result = run_next_round(request, coll, regions=_regions())
    assert result.round == 2  # the project's proposal without a round counts as round 1
    plan = result.collection.plan("raw")
    new = [plan.box(i) for i in result.added["raw"]]
    assert len(new) == 6 and {b.round for b in new} == {2}
    fails = [b for b in new if b.stratum.startswith("failure:")]
    assert [b.notes for b in fails] == ["spot 1", "spot 2", "spot 3"]  # spot 0 overlaps the annotated box
    assert all(b.source == "uncertainty" and "score" in b.stats for b in fails)
    assert all(b.source == "proposal" for b in new if b not in fails)
    old = coll.plan("raw").boxes
    for b in new:
        assert not any(boxes_overlap(b, o) for o in old)
        assert not any(boxes_overlap(b, o) for o in new if o.id != b.id)
    record = result.record
    assert record["round"] == 2 and record["command"] == "patchwise next-round proj"
    assert [p["box"] for p in record["patches"]][:3] == [f"raw:{b.id}" for b in fails]
    assert record["mix"]["asked_failures"] == 3 and record["mix"]["failures"] == 3
    assert record["request"]["n"] == 6 and record["predictions"][0]["missing"] is True
    assert "failure:uncertain" in record["reasons"]


def test_an_unknown_image_is_refused(project):
    with pytest.raises(ValueError, match="no image named 'other'"):
        run_next_round(NextRoundRequest(project, "p.tif", images=("other",)), load_collection(project),
                       regions=[])




@pytest.mark.parametrize("mix, n, scans, measures", [(0.0, 3, 0, 1), (1.0, 3, 1, 0), (0.5, 4, 1, 1),
                                                    (1.0, 8, 1, 1)])  # mix 1 and n = 8: failures fall short
def test_a_part_whose_share_is_zero_is_not_measured(project, monkeypatch, mix, n, scans, measures):
    from napari_patchwise.engine.jobs import next_round as module

    calls = {"scan": 0, "strata": 0}
    real_strata = module.stratified_candidates

    def scan(request, images, progress=None):
        calls["scan"] += 1
        return tuple(_regions())

    def measured(*args, **kwargs):
        calls["strata"] += 1
        return real_strata(*args, **kwargs)

    monkeypatch.setattr(module, "scan_regions", scan)
    monkeypatch.setattr(module, "stratified_candidates", measured)
    coll = load_collection(project)
    request = NextRoundRequest(project, "pred.tif", n=n, mix=mix)
    lazy = run_next_round(request, coll)
    assert (calls["scan"], calls["strata"]) == (scans, measures)
    # the same round as when both parts are measured first
    plan = coll.plan("raw")
    both = mix_round(_regions(), real_strata(request, coll, ["raw"]), n=n, mix=mix, plans={"raw": plan},
                     sizes={"raw": box_size_for(plan)})
    assert lazy.mix == both
