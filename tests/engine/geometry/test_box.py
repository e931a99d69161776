"""Boxes: construction, geometry, serialisation and overlap."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.geometry.box import SOURCES, STATUSES, Box, box_from_center, boxes_overlap


@st.composite
def small_boxes(draw, box_id=st.integers(1, 1000), lo_range=(0, 12), size_range=(1, 8)):
    lo = tuple(draw(st.integers(*lo_range)) for _ in range(3))
    size = tuple(draw(st.integers(*size_range)) for _ in range(3))
    return Box(draw(box_id), lo, tuple(l + s for l, s in zip(lo, size)))


# -- construction ----------------------------------------------------------------


def test_box_geometry():
    b = Box(1, (2, 4, 6), (34, 89, 91))
    assert b.size == (32, 85, 85)
    assert b.nvoxels == 32 * 85 * 85
    assert b.center == (18.0, 46.5, 48.5)
    assert b.source == "manual" and b.status == "todo" and b.stratum is None
    assert b.notes == "" and b.locked is False and b.stats == {}


def test_box_normalises_corners_to_int_tuples():
    b = Box(np.int64(7), np.array([0, 2, 4]), [8.0, 10, np.int32(12)])
    assert b.lo == (0, 2, 4) and b.hi == (8, 10, 12)
    assert all(type(v) is int for v in (*b.lo, *b.hi))
    assert type(b.id) is int and b.id == 7


def test_box_is_frozen():
    b = Box(1, (0, 0, 0), (4, 4, 4))
    with pytest.raises(AttributeError):
        b.lo = (1, 1, 1)  # type: ignore[misc]


def test_box_equality_ignores_stats():
    a = Box(1, (0, 0, 0), (4, 4, 4), stats={"mean": 1.0})
    b = Box(1, (0, 0, 0), (4, 4, 4), stats={"mean": 2.0})
    assert a == b
    assert a != Box(2, (0, 0, 0), (4, 4, 4))
    assert a != Box(1, (0, 0, 0), (4, 4, 5))


def test_box_stats_are_copied():
    stats = {"mean": 1.0}
    b = Box(1, (0, 0, 0), (4, 4, 4), stats=stats)
    stats["mean"] = 99.0
    assert b.stats == {"mean": 1.0}


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        ((0, 0, 0), (0, 10, 10)),
        ((0, 0, 0), (10, 0, 10)),
        ((0, 0, 0), (10, 10, 0)),
        ((5, 5, 5), (4, 10, 10)),
        ((0, 0, 0), (10, -1, 10)),
        ((3, 3, 3), (3, 3, 3)),
    ],
)
def test_box_rejects_non_positive_size(lo, hi):
    with pytest.raises(ValueError, match="non-positive size") as info:
        Box(9, lo, hi)
    msg = str(info.value)
    assert "box 9" in msg
    assert "hi must be greater than lo" in msg


@pytest.mark.parametrize(
    ("lo", "hi", "match"),
    [
        ((0, 0, 1.5), (4, 4, 4), "whole numbers"),
        ((0, 0, 0), (4, 4.5, 4), "whole numbers"),
        ((0, 0, 0), (4, float("nan"), 4), "whole numbers"),
        (("a", 0, 0), (4, 4, 4), "whole numbers"),
        ((0, 0, 0), ("4", "4", "x"), "whole numbers"),
        ("abc", (4, 4, 4), "three values"),
        ((0, 0), (4, 4, 4), "three values"),
        ((0, 0, 0), (4, 4, 4, 4), "three values"),
    ],
)
def test_box_rejects_bad_corners(lo, hi, match):
    with pytest.raises(ValueError, match=match) as info:
        Box(3, lo, hi)
    assert "box 3" in str(info.value)


def test_box_keeps_large_integer_corners_exactly():
    big = 2**53 + 1  # not representable as a float
    b = Box(1, (0, 0, big), (1, 1, big + 2))
    assert b.lo[2] == big and b.hi[2] == big + 2
    assert b.size == (1, 1, 2)


def test_box_corners_as_strings_of_numbers_are_parsed():
    assert Box(1, "0,0,0", "4,8,8").hi == (4, 8, 8)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("locked", "yes", "locked must be true or false"),
        ("locked", 1, "locked must be true or false"),
        ("dense", "no", "dense must be true or false"),
        ("notes", None, "notes must be text"),
        ("notes", 3, "notes must be text"),
        ("stratum", 5, "stratum must be text or null"),
    ],
)
def test_box_rejects_wrongly_typed_fields(field, value, match):
    with pytest.raises(ValueError, match=match):
        Box(1, (0, 0, 0), (4, 4, 4), **{field: value})


@pytest.mark.parametrize("box_id", [1.5, True])
def test_box_rejects_non_integer_id(box_id):
    with pytest.raises(ValueError, match="box id must be a whole number"):
        Box(box_id, (0, 0, 0), (4, 4, 4))


@pytest.mark.parametrize("field", ["source", "status"])
def test_box_rejects_unknown_source_or_status(field):
    with pytest.raises(ValueError, match=f"{field} must be one of"):
        Box(1, (0, 0, 0), (4, 4, 4), **{field: "bogus"})


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("status", STATUSES)
def test_box_accepts_every_source_and_status(source, status):
    b = Box(1, (0, 0, 0), (4, 4, 4), source=source, status=status)
    assert (b.source, b.status) == (source, status)


# -- slices ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "mag", "expected"),
    [
        ((0, 4, 8), (4, 12, 16), (1, 2, 2), (slice(0, 4), slice(2, 6), slice(4, 8))),
        ((0, 4, 8), (4, 12, 16), (1, 1, 1), (slice(0, 4), slice(4, 12), slice(8, 16))),
        ((2, 4, 8), (6, 12, 16), (2, 4, 4), (slice(1, 3), slice(1, 3), slice(2, 4))),
        # unaligned corners round outwards so the whole box is covered
        ((1, 5, 7), (3, 9, 10), (2, 4, 4), (slice(0, 2), slice(1, 3), slice(1, 3))),
    ],
)
def test_box_slices(lo, hi, mag, expected):
    assert Box(1, lo, hi).slices(mag) == expected


def test_box_slices_default_is_full_resolution():
    b = Box(1, (1, 2, 3), (4, 5, 6))
    arr = np.zeros((8, 8, 8))
    arr[b.slices()] = 1
    assert arr.sum() == b.nvoxels


@settings(max_examples=100, deadline=None)
@given(
    lo_at=st.tuples(*[st.integers(0, 10)] * 3),
    size_at=st.tuples(*[st.integers(1, 6)] * 3),
    mag=st.sampled_from([(1, 1, 1), (1, 2, 2), (2, 4, 4), (2, 2, 2), (3, 1, 2)]),
)
def test_box_slices_of_aligned_box_index_exact_voxels_at_mag(lo_at, size_at, mag):
    lo = tuple(l * m for l, m in zip(lo_at, mag))
    hi = tuple((l + s) * m for l, s, m in zip(lo_at, size_at, mag))
    sl = Box(1, lo, hi).slices(mag)
    assert tuple((s.start, s.stop) for s in sl) == tuple(
        (l, l + s) for l, s in zip(lo_at, size_at)
    )


# -- replace / serialisation -----------------------------------------------------


def test_box_replace_validates_again():
    b = Box(1, (0, 0, 0), (4, 4, 4))
    assert b.replace(status="done").status == "done"
    assert b.replace(hi=(8, 8, 8)).size == (8, 8, 8)
    assert b.status == "todo"  # original unchanged
    with pytest.raises(ValueError, match="non-positive size"):
        b.replace(hi=(0, 4, 4))
    with pytest.raises(ValueError, match="status must be one of"):
        b.replace(status="finished")


def test_box_to_dict_is_json_ready():
    b = Box(4, (0, 2, 2), (8, 10, 10), source="grid", stratum="dense", status="seeded",
            notes="n", locked=True, stats={"snr": 2.5})
    d = b.to_dict()
    assert d == {
        "id": 4, "lo": [0, 2, 2], "hi": [8, 10, 10], "source": "grid", "stratum": "dense",
        "status": "seeded", "notes": "n", "locked": True, "dense": False, "stats": {"snr": 2.5},
    }
    back = Box.from_dict(json.loads(json.dumps(d)))
    assert back == b
    assert back.stats == b.stats


@settings(max_examples=150, deadline=None)
@given(
    box=small_boxes(lo_range=(-50, 50), size_range=(1, 100)),
    source=st.sampled_from(SOURCES),
    status=st.sampled_from(STATUSES),
    stratum=st.one_of(st.none(), st.text(max_size=10)),
    notes=st.text(max_size=20),
    locked=st.booleans(),
)
def test_box_dict_round_trip(box, source, status, stratum, notes, locked):
    b = box.replace(source=source, status=status, stratum=stratum, notes=notes, locked=locked)
    back = Box.from_dict(json.loads(json.dumps(b.to_dict())))
    assert back == b
    assert back.to_dict() == b.to_dict()


def test_box_from_dict_minimal_entry_uses_defaults():
    b = Box.from_dict({"id": 2, "lo": [0, 0, 0], "hi": [1, 2, 3]})
    assert b == Box(2, (0, 0, 0), (1, 2, 3))


def test_box_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\]"):
        Box.from_dict({"id": 1, "lo": [0, 0, 0], "hi": [1, 1, 1], "colour": "red"})


@pytest.mark.parametrize("missing", ["id", "lo", "hi"])
def test_box_from_dict_rejects_missing_keys(missing):
    d = {"id": 1, "lo": [0, 0, 0], "hi": [1, 1, 1]}
    del d[missing]
    with pytest.raises(ValueError, match=f"missing '{missing}'"):
        Box.from_dict(d)


def test_box_from_dict_rejects_bad_values():
    with pytest.raises(ValueError, match="non-positive size"):
        Box.from_dict({"id": 1, "lo": [0, 0, 0], "hi": [0, 1, 1]})
    with pytest.raises(ValueError, match="whole numbers"):
        Box.from_dict({"id": 1, "lo": [0, 0, 0.5], "hi": [1, 1, 1]})


# -- box_from_center -------------------------------------------------------------


def test_box_from_center_example():
    b = box_from_center(1, (50, 50, 50), (32, 85, 85))
    assert b.lo == (34, 8, 8)
    assert b.size == (32, 85, 85)
    assert b.id == 1


def test_box_from_center_passes_fields():
    b = box_from_center(5, (10, 10, 10), (4, 4, 4), source="points", stratum="edge")
    assert (b.id, b.source, b.stratum) == (5, "points", "edge")


@pytest.mark.parametrize("size", [(0, 4, 4), (4, -4, 4), (4, 4), (4, 4.5, 4)])
def test_box_from_center_rejects_bad_size(size):
    with pytest.raises(ValueError, match="box size"):
        box_from_center(1, (10, 10, 10), size)


@settings(max_examples=150, deadline=None)
@given(
    center=st.tuples(*[st.floats(-500, 500, allow_nan=False)] * 3),
    size=st.tuples(*[st.integers(1, 200)] * 3),
)
def test_box_from_center_keeps_size_and_centre(center, size):
    b = box_from_center(1, center, size)
    assert b.size == size
    for c, bc in zip(b.center, center):
        assert abs(c - bc) <= 0.5 + 1e-9


# -- boxes_overlap ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (((0, 0, 0), (4, 4, 4)), ((3, 3, 3), (8, 8, 8)), True),
        (((0, 0, 0), (4, 4, 4)), ((4, 0, 0), (8, 4, 4)), False),  # touching faces
        (((0, 0, 0), (4, 4, 4)), ((0, 4, 0), (4, 8, 4)), False),
        (((0, 0, 0), (4, 4, 4)), ((0, 0, 4), (4, 4, 8)), False),
        (((0, 0, 0), (4, 4, 4)), ((4, 4, 4), (8, 8, 8)), False),  # touching corner
        (((0, 0, 0), (10, 10, 10)), ((2, 2, 2), (3, 3, 3)), True),  # contained
        (((0, 0, 0), (4, 4, 4)), ((0, 0, 0), (4, 4, 4)), True),  # identical
        (((0, 0, 0), (4, 4, 4)), ((1, 1, 10), (2, 2, 12)), False),  # apart in x only
    ],
)
def test_boxes_overlap_examples(a, b, expected):
    A, B = Box(1, *a), Box(2, *b)
    assert boxes_overlap(A, B) is expected
    assert boxes_overlap(B, A) is expected


@settings(max_examples=200, deadline=None)
@given(a=small_boxes(), b=small_boxes())
def test_boxes_overlap_matches_voxel_masks(a, b):
    ma = np.zeros((20, 20, 20), bool)
    mb = np.zeros_like(ma)
    ma[a.slices()] = True
    mb[b.slices()] = True
    assert boxes_overlap(a, b) == bool((ma & mb).any())
    assert boxes_overlap(a, b) == boxes_overlap(b, a)
