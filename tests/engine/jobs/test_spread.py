"""Spreading a total of boxes across images within per-image bounds."""

from __future__ import annotations

import itertools

import pytest

from napari_patchwise.engine.jobs.spread import parse_per_image, spread_boxes


@pytest.mark.parametrize("total, weights, lo, hi", [
    (total, weights, lo, hi)
    for total in (0, 1, 7, 30, 100)
    for weights in ([1], [1, 1, 1], [1, 5, 20], [3, 1, 4, 1, 5])
    for lo, hi in ((0, None), (2, 8), (4, 12), (0, 1))
])
def test_shares_keep_the_bounds_and_the_total_when_they_can(total, weights, lo, hi):
    shares = spread_boxes(total, weights, lo, hi)
    top = total if hi is None else hi
    k = len(weights)
    assert len(shares) == k and all(lo <= s <= max(top, lo) for s in shares)
    if lo * k <= total <= top * k:
        assert sum(shares) == total
    elif total < lo * k:
        assert shares == (lo,) * k
    else:
        assert shares == (top,) * k


def test_larger_images_never_get_fewer_boxes():
    weights = [5, 1, 20, 3, 8]
    for total, (lo, hi) in itertools.product(range(0, 60, 7), ((0, None), (2, 9))):
        shares = spread_boxes(total, weights, lo, hi)
        order = sorted(range(len(weights)), key=weights.__getitem__)
        assert [shares[i] for i in order] == sorted(shares)


def test_shares_follow_the_weights_between_the_bounds():
    assert spread_boxes(12, [1, 2, 3]) == (2, 4, 6)
    assert spread_boxes(30, [1, 1, 10], lo=4, hi=12) == (9, 9, 12)  # the cap's excess goes to the others
    assert spread_boxes(10, [1, 100], lo=3, hi=20) == (3, 7)


@pytest.mark.parametrize("bad", [([], 3), ([1, 0], 3), ([1], -1)])
def test_bad_weights_or_total_are_refused(bad):
    weights, total = bad
    with pytest.raises(ValueError, match="positive weight"):
        spread_boxes(total, weights)


@pytest.mark.parametrize("text", ["3", "a,b", "5,2", "0,0", "-1,4", "1,2,3"])
def test_per_image_needs_min_and_max(text):
    with pytest.raises(ValueError, match="MIN,MAX"):
        parse_per_image(text)
