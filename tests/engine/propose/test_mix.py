"""The mixed next round: the failure share honoured, shortfalls filled, boxes never re-proposed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from napari_patchwise.engine import ImageRef, Plan
from napari_patchwise.engine.geometry.box import boxes_overlap
from napari_patchwise.engine.propose.mix import Candidate, add_picks, failure_asked, mix_round

SIZE = (16, 32, 32)


@dataclass(frozen=True)
class Region:
    """What the failure scan returns (only these attributes are used)."""

    image: str
    lo: tuple
    hi: tuple
    kind: str
    reason: str
    score: float


def tiles(image, z, count, shift=0):
    """``count`` disjoint box-sized extents along x in the slab at ``z``."""
    return [((z, shift, 32 * i), (z + 16, shift + 32, 32 * i + 32)) for i in range(count)]


def regions(count, image="a", z=0):
    return [Region(image, lo, hi, "merge", f"region {k}", 1.0 - k / 100) for k, (lo, hi) in
            enumerate(tiles(image, z, count))]


def strat(count, image="a", z=16):
    return [Candidate(image, lo, hi, "dense", {"density": 1.0}) for lo, hi in tiles(image, z, count)]


PLANS = {"a": Plan(ImageRef((64, 64, 512)))}


def test_half_of_ten_are_failures_when_enough_exist():
    m = mix_round(regions(12), strat(12), n=10, mix=0.5, plans=PLANS, sizes={"a": SIZE})
    assert (m.asked, m.failures, m.stratified, len(m.picks)) == (5, 5, 5, 10)
    assert [p.notes for p in m.picks[:5]] == [f"region {k}" for k in range(5)]  # worst first
    assert all(p.stratum == "failure:merge" and p.source == "uncertainty" for p in m.picks[:5])
    assert m.picks[0].stats["score"] == 1.0
    assert all(p.stratum == "dense" and p.source == "proposal" for p in m.picks[5:])
    assert m.messages == ()


@pytest.mark.parametrize("n, mix, asked", [(10, 0.3, 3), (7, 0.5, 4), (4, 0.0, 0), (4, 1.0, 4)])
def test_the_share_follows_mix(n, mix, asked):
    m = mix_round(regions(12), strat(12), n=n, mix=mix, plans=PLANS, sizes={"a": SIZE})
    assert failure_asked(n, mix) == asked
    assert (m.failures, m.stratified) == (asked, n - asked)


def test_fewer_failures_are_filled_by_stratified_boxes():
    m = mix_round(regions(2), strat(12), n=10, mix=0.5, plans=PLANS, sizes={"a": SIZE})
    assert (m.failures, m.stratified) == (2, 8)
    assert any("only 2 of the 5 failure boxes" in s for s in m.messages)


def test_fewer_stratified_boxes_are_filled_by_failures():
    m = mix_round(regions(12), strat(2), n=10, mix=0.5, plans=PLANS, sizes={"a": SIZE})
    assert (m.failures, m.stratified) == (8, 2)
    assert [p.notes for p in m.picks[:8]] == [f"region {k}" for k in range(8)]


def test_boxed_or_excluded_regions_are_never_proposed_again():
    (lo0, hi0), (lo1, hi1) = tiles("a", 0, 2)
    plan = PLANS["a"].add_boxes([(lo0, hi0)], status="done")  # annotated
    plan = plan.add_boxes([((16, 0, 0), (32, 32, 32))])  # boxed, not yet annotated
    plans = {"a": plan}
    m = mix_round(regions(4), strat(4), n=8, mix=0.5, plans=plans, sizes={"a": SIZE},
                  exclude={"a": [(lo1, hi1)]})
    assert m.skipped == 2 and m.failures == 2  # the annotated box and the excluded region are skipped
    assert m.stratified == 3  # the first stratified candidate overlaps the hand-drawn box
    assert any("only 5 of 8 boxes fit" in s for s in m.messages)
    new, boxes = add_picks(plan, m.picks, 2)
    for box in boxes:
        assert box.round == 2
        assert not any(boxes_overlap(box, old) for old in plan.boxes)
        assert not any(boxes_overlap(box, other) for other in boxes if other.id != box.id)
    assert len(new.boxes) == len(plan.boxes) + len(boxes)


def test_regions_of_images_not_chosen_are_skipped_and_boxes_fit_the_image():
    far = Region("a", (60, 60, 500), (64, 64, 512), "fragment", "tiny fragment", 0.9)
    other = Region("b", (0, 0, 0), (16, 32, 32), "merge", "elsewhere", 0.95)
    m = mix_round([other, far], [], n=2, mix=1.0, plans=PLANS, sizes={"a": SIZE})
    assert m.skipped == 1 and len(m.picks) == 1
    p = m.picks[0]
    assert (p.lo, p.hi) == ((48, 32, 480), (64, 64, 512))  # box-sized, moved inside the image
    assert any("only 1 of 2 boxes fit" in s for s in m.messages)


def test_bad_n_or_mix_is_refused():
    with pytest.raises(ValueError, match="from 0 to 1"):
        mix_round([], [], n=2, mix=1.5, plans=PLANS, sizes={"a": SIZE})
    with pytest.raises(ValueError, match=">= 1"):
        mix_round([], [], n=0, mix=0.5, plans=PLANS, sizes={"a": SIZE})
