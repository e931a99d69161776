"""Presets and box rules: every rule trips on a bad box/plan and stays quiet on a good one."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.geometry.box import Box, boxes_overlap
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import (
    MIN_BOX_VOXELS,
    MIN_BOXES,
    PRESET_NAMES,
    PRESETS,
    TARGET_TOTAL_VOXELS,
    Preset,
    get_preset,
    preset_from_dict,
)
from napari_patchwise.engine.findings import Finding, worst_severity
from napari_patchwise.engine.plan.rules import validate_box, validate_plan, voxels_at


def grid_boxes(image_shape, size, mag, max_boxes):
    """Up to ``max_boxes`` boxes of one size on a regular grid, corners on the magnification grid."""
    axes = []
    for extent, s, f in zip(image_shape, size, mag):
        lim = (extent // f) * f
        n = lim // s
        free = lim - n * s
        axes.append([] if n < 1 else [((lim - s) // 2 // f) * f] if n == 1
                    else [int((i * s + round(i * free / (n - 1))) // f * f) for i in range(n)])
    out = [((z, y, x), (z + size[0], y + size[1], x + size[2]))
           for z in axes[0] for y in axes[1] for x in axes[2]]
    if max_boxes is not None and len(out) > max_boxes:
        keep = np.unique(np.linspace(0, len(out) - 1, max_boxes).round().astype(int))
        out = [out[i] for i in keep]
    return out

NEURON = get_preset("neuron")
INSTANCE = get_preset("instance")
MEMBRANE = get_preset("membrane")
ANY_SIZE = get_preset("custom", minimum=(1, 1, 1))

MAGS = [(1, 1, 1), (2, 2, 2), (1, 2, 2), (2, 4, 4), (4, 4, 4), (1, 1, 2)]
mags = st.one_of(
    st.sampled_from(MAGS), st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))
)
presets = st.one_of(
    st.sampled_from([NEURON, INSTANCE, MEMBRANE]),
    st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40)).map(
        lambda m: get_preset("custom", minimum=m)
    ),
)


def codes(findings):
    return [f.code for f in findings]


def only(findings, code):
    found = [f for f in findings if f.code == code]
    assert len(found) == 1, f"expected one {code!r} finding, got {findings}"
    return found[0]


def at_mag(size_at, mag):
    return tuple(s * m for s, m in zip(size_at, mag))


# -- presets ---------------------------------------------------------------------


def test_preset_values_follow_the_guides():
    assert NEURON.minimum == (30, 85, 85) and NEURON.default_size == (32, 85, 85)
    assert INSTANCE.minimum == (32, 32, 32) and INSTANCE.default_size == (64, 64, 64)
    assert (32, 96, 96) in INSTANCE.alternatives
    assert MEMBRANE.minimum == MEMBRANE.default_size == (160, 160, 160)
    assert MEMBRANE.ignore_border == 16 and MEMBRANE.point_centred
    assert NEURON.ignore_border == 0 and INSTANCE.ignore_border == 0
    assert set(PRESETS) == {"neuron", "instance", "membrane"}
    assert PRESET_NAMES == ("neuron", "instance", "membrane", "custom")
    assert MIN_BOX_VOXELS == 230_000
    assert TARGET_TOTAL_VOXELS == (5_000_000, 10_000_000)
    assert MIN_BOXES == 10


@pytest.mark.parametrize("name", ["neuron", "instance", "membrane"])
def test_get_preset_returns_named_preset(name):
    p = get_preset(name)
    assert p.name == name
    assert all(d >= m for d, m in zip(p.default_size, p.minimum))
    assert p.description


def test_get_preset_ignores_minimum_for_named_presets():
    assert get_preset("neuron", minimum=(1, 1, 1)) is PRESETS["neuron"]


@pytest.mark.parametrize("name", ["nuclei", "Neuron", "", "customs"])
def test_get_preset_rejects_unknown_name(name):
    with pytest.raises(ValueError, match="unknown preset") as info:
        get_preset(name)
    assert "neuron, instance, membrane, custom" in str(info.value)


def test_custom_preset_needs_minimum():
    with pytest.raises(ValueError, match="needs a minimum box size"):
        get_preset("custom")


def test_custom_preset_default_size():
    p = get_preset("custom", minimum=(16, 48, 48))
    assert p.name == "custom" and p.minimum == p.default_size == (16, 48, 48)
    q = get_preset("custom", minimum=(16, 48, 48), default_size=(32, 96, 96))
    assert q.default_size == (32, 96, 96)


@pytest.mark.parametrize(
    ("minimum", "default", "match"),
    [
        ((16, 48, 48), (8, 48, 48), "below its minimum"),
        ((16, 48, 48), (16, 48, 47), "below its minimum"),
        ((0, 48, 48), None, "positive"),
        ((16, -1, 48), None, "positive"),
        ((16, 48), None, "three values"),
        ((16, 48, 4.5), None, "whole numbers"),
    ],
)
def test_custom_preset_rejects_bad_sizes(minimum, default, match):
    with pytest.raises(ValueError, match=match):
        get_preset("custom", minimum=minimum, default_size=default)


def test_preset_constructor_rejects_default_below_minimum():
    with pytest.raises(ValueError, match=r"preset 'x': default size \(8, 8, 8\) is below its minimum"):
        Preset("x", minimum=(16, 16, 16), default_size=(8, 8, 8))


@pytest.mark.parametrize(
    ("preset", "mag", "size", "expected"),
    [
        (NEURON, (1, 2, 2), None, (32, 170, 170)),
        (NEURON, (1, 1, 1), None, (32, 85, 85)),
        (INSTANCE, (2, 4, 4), None, (128, 256, 256)),
        (INSTANCE, (1, 2, 2), (32, 96, 96), (32, 192, 192)),
        (MEMBRANE, (1, 1, 1), None, (160, 160, 160)),
    ],
)
def test_preset_size_at(preset, mag, size, expected):
    assert preset.size_at(mag, size) == expected


@pytest.mark.parametrize(("name", "count"), [("instance", 20), ("neuron", 22), ("membrane", 10)])
def test_preset_suggested_count(name, count):
    p = get_preset(name)
    assert p.suggested_count == count
    assert p.suggested_count >= MIN_BOXES
    assert p.suggested_count * p.default_size[0] * p.default_size[1] * p.default_size[2] >= 5e6


@pytest.mark.parametrize(
    "preset",
    [NEURON, INSTANCE, MEMBRANE, get_preset("custom", minimum=(8, 16, 16), default_size=(16, 32, 32))],
)
def test_preset_dict_round_trip(preset):
    assert preset_from_dict(preset.to_dict()) == preset


def test_preset_from_dict_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown preset"):
        preset_from_dict({"name": "foo"})
    with pytest.raises(ValueError, match="needs a minimum"):
        preset_from_dict({"name": "custom"})


def test_preset_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        NEURON.minimum = (1, 1, 1)  # type: ignore[misc]


# -- Finding / worst_severity ----------------------------------------------------


def test_finding_rejects_unknown_severity():
    with pytest.raises(ValueError, match="severity must be one of"):
        Finding("fatal", "x", 1, "m")


def test_finding_to_dict_and_str():
    f = Finding("warning", "overlap", 3, "overlaps box 4")
    assert f.to_dict() == {"severity": "warning", "code": "overlap", "box_id": 3, "message": "overlaps box 4"}
    assert "box 3" in str(f) and "overlap" in str(f)
    assert "plan" in str(Finding("info", "few-boxes", None, "m"))


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ([], None),
        (["info"], "info"),
        (["info", "warning"], "warning"),
        (["warning", "error", "info"], "error"),
        (["error"], "error"),
    ],
)
def test_worst_severity(severities, expected):
    assert worst_severity(Finding(s, "c", None, "") for s in severities) == expected


@pytest.mark.parametrize(
    ("size", "mag", "expected"),
    [((32, 170, 170), (1, 2, 2), 32 * 85 * 85), ((64, 64, 64), 1, 64**3), ((3, 3, 3), (2, 2, 2), 8)],
)
def test_voxels_at(size, mag, expected):
    from napari_patchwise.engine.geometry.magnification import as_magnification

    assert voxels_at(Box(1, (0, 0, 0), size), as_magnification(mag)) == expected


# -- outside-image ---------------------------------------------------------------

SHAPE = (128, 128, 128)


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        ((-64, 0, 0), (0, 64, 64)),
        ((0, -1, 0), (64, 63, 64)),
        ((64, 64, 100), (128, 128, 164)),
        ((65, 0, 0), (129, 64, 64)),
        ((-10, -10, -10), (200, 200, 200)),
    ],
)
def test_outside_image_trips(lo, hi):
    f = only(validate_box(Box(7, lo, hi), SHAPE, 1, ANY_SIZE), "outside-image")
    assert f.severity == "error"
    assert f.box_id == 7
    assert "outside the image" in f.message
    assert "128×128×128" in f.message
    assert "move it inside" in f.message or "clip" in f.message


@pytest.mark.parametrize(
    ("lo", "hi"),
    [((0, 0, 0), (64, 64, 64)), ((64, 64, 64), (128, 128, 128)), ((0, 0, 0), (128, 128, 128))],
)
def test_outside_image_passes(lo, hi):
    assert "outside-image" not in codes(validate_box(Box(7, lo, hi), SHAPE, 1, ANY_SIZE))


# -- not-aligned -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "mag", "words"),
    [
        ((0, 1, 0), (32, 171, 170), (1, 2, 2), ["position", "axes y"]),
        ((0, 0, 0), (32, 170, 171), (1, 2, 2), ["size", "axes x"]),
        ((0, 1, 1), (32, 172, 172), (1, 2, 2), ["position", "axes yx", "size"]),
        ((1, 0, 0), (65, 256, 256), (2, 4, 4), ["position", "axes z"]),
        ((0, 4, 0), (64, 258, 256), (2, 4, 4), ["size", "axes y"]),
    ],
)
def test_not_aligned_trips(lo, hi, mag, words):
    f = only(validate_box(Box(4, lo, hi), (512, 512, 512), mag, ANY_SIZE), "not-aligned")
    assert f.severity == "error"
    assert f.box_id == 4
    assert "not divisible by the magnification" in f.message
    assert "×".join(map(str, mag)) in f.message
    assert "snap" in f.message
    for w in words:
        assert w in f.message


@pytest.mark.parametrize(
    ("lo", "hi", "mag"),
    [
        ((0, 2, 2), (32, 172, 172), (1, 2, 2)),
        ((3, 2, 2), (35, 172, 172), (1, 2, 2)),  # odd z is fine at mz = 1
        ((2, 4, 8), (66, 260, 264), (2, 4, 4)),
        ((1, 1, 1), (2, 2, 2), (1, 1, 1)),
    ],
)
def test_not_aligned_passes(lo, hi, mag):
    assert "not-aligned" not in codes(validate_box(Box(4, lo, hi), (512, 512, 512), mag, ANY_SIZE))


# -- below-minimum ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mag"),
    [
        ((29, 85, 85), (1, 1, 1)),
        ((30, 84, 85), (1, 1, 1)),
        ((30, 85, 84), (1, 1, 1)),
        ((32, 168, 170), (1, 2, 2)),  # 84 at the magnification
        ((32, 85, 85), (1, 2, 2)),  # the neuron box at full resolution is too small at (1, 2, 2)
        ((58, 340, 340), (2, 4, 4)),  # 29 in z at the magnification
    ],
)
def test_below_minimum_trips(size, mag):
    f = only(validate_box(Box(2, (0, 0, 0), size), (256, 1024, 1024), mag, NEURON), "below-minimum")
    assert f.severity == "error"
    assert f.box_id == 2
    assert "below the neuron minimum 30×85×85" in f.message
    assert "enlarge" in f.message


@pytest.mark.parametrize(
    ("size", "mag"),
    [
        ((30, 85, 85), (1, 1, 1)),
        ((32, 85, 85), (1, 1, 1)),
        ((30, 170, 170), (1, 2, 2)),
        ((60, 340, 340), (2, 4, 4)),
        ((100, 100, 100), (1, 1, 1)),
    ],
)
def test_below_minimum_passes(size, mag):
    assert "below-minimum" not in codes(
        validate_box(Box(2, (0, 0, 0), size), (256, 1024, 1024), mag, NEURON)
    )


def test_below_minimum_reports_size_at_magnification():
    f = only(validate_box(Box(1, (0, 0, 0), (32, 168, 170)), (64, 512, 512), (1, 2, 2), NEURON),
             "below-minimum")
    assert "32×84×85" in f.message
    assert "1×2×2" in f.message


# -- not-multiple ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "size_at"),
    [
        (INSTANCE, (48, 64, 64)),
        (INSTANCE, (64, 64, 80)),
        (NEURON, (31, 85, 85)),
        (NEURON, (32, 86, 85)),
        (NEURON, (32, 85, 100)),
        (MEMBRANE, (170, 160, 160)),
    ],
)
@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2)])
def test_not_multiple_trips(preset, size_at, mag):
    box = Box(5, (0, 0, 0), at_mag(size_at, mag))
    f = only(validate_box(box, (2048, 2048, 2048), mag, preset), "not-multiple")
    assert f.severity == "info"
    assert f.box_id == 5
    assert "not an integer multiple" in f.message
    assert "×".join(map(str, preset.minimum)) in f.message


@pytest.mark.parametrize(
    ("preset", "size_at"),
    [
        (INSTANCE, (32, 32, 32)),
        (INSTANCE, (64, 64, 64)),
        (INSTANCE, (96, 96, 96)),
        (INSTANCE, (32, 96, 96)),
        (INSTANCE, (64, 192, 96)),
        (NEURON, (30, 85, 85)),
        (NEURON, (32, 85, 85)),
        (NEURON, (60, 170, 255)),  # multiple of the minimum
        (NEURON, (64, 170, 170)),  # multiple of the default
        (MEMBRANE, (160, 320, 160)),
    ],
)
@pytest.mark.parametrize("mag", [(1, 1, 1), (2, 4, 4)])
def test_not_multiple_passes(preset, size_at, mag):
    box = Box(5, (0, 0, 0), at_mag(size_at, mag))
    assert "not-multiple" not in codes(validate_box(box, (2048, 2048, 2048), mag, preset))


def test_not_multiple_mentions_default_size_when_it_differs():
    f = only(validate_box(Box(1, (0, 0, 0), (31, 85, 85)), (64, 128, 128), 1, NEURON), "not-multiple")
    assert "30×85×85 or 32×85×85" in f.message


def test_not_multiple_needs_one_base_for_all_axes():
    custom = get_preset("custom", minimum=(10, 10, 10), default_size=(12, 12, 12))
    # z is a multiple of 10 only, y and x of 12 only: no single base fits every axis
    f = only(validate_box(Box(1, (0, 0, 0), (20, 24, 24)), (128,) * 3, 1, custom), "not-multiple")
    assert f.severity == "info"
    assert "not-multiple" not in codes(validate_box(Box(1, (0, 0, 0), (20, 30, 40)), (128,) * 3, 1, custom))
    assert "not-multiple" not in codes(validate_box(Box(1, (0, 0, 0), (24, 36, 12)), (128,) * 3, 1, custom))


# -- few-voxels ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "mag", "expected_n"),
    [
        ((44, 200, 200), (2, 2, 2), 220_000),
        ((32, 32, 32), (1, 1, 1), 32_768),
        ((64, 64, 64), (2, 2, 2), 32_768),  # 262,144 at full resolution, too few at mag 2
        ((32, 85, 85), (1, 1, 1), None),  # 231,200: passes (control)
    ],
)
def test_few_voxels(size, mag, expected_n):
    findings = validate_box(Box(8, (0, 0, 0), size), (512, 512, 512), mag, ANY_SIZE)
    if expected_n is None:
        assert "few-voxels" not in codes(findings)
        return
    f = only(findings, "few-voxels")
    assert f.severity == "warning"
    assert f.box_id == 8
    assert f"{expected_n:,} voxels" in f.message
    assert "230,000" in f.message
    assert "larger" in f.message


@pytest.mark.parametrize(
    ("size", "mag"),
    [
        ((46, 200, 200), (2, 2, 2)),  # exactly 230,000 at the magnification
        ((64, 64, 64), (1, 1, 1)),
        ((32, 170, 170), (1, 2, 2)),
        ((23, 100, 100), (1, 1, 1)),
    ],
)
def test_few_voxels_passes(size, mag):
    assert "few-voxels" not in codes(validate_box(Box(8, (0, 0, 0), size), (512,) * 3, mag, ANY_SIZE))


# -- a clean box and a box with every problem ------------------------------------


@pytest.mark.parametrize(
    ("preset", "mag"),
    [(NEURON, (1, 2, 2)), (NEURON, (2, 4, 4)), (INSTANCE, (1, 1, 1)), (INSTANCE, (2, 2, 2)), (MEMBRANE, (1, 1, 1))],
)
def test_default_box_has_no_findings(preset, mag):
    size = preset.size_at(mag)
    lo = at_mag((1, 1, 1), mag)
    box = Box(1, lo, tuple(l + s for l, s in zip(lo, size)))
    assert validate_box(box, tuple(2 * s for s in size), mag, preset) == []


def test_box_with_every_problem_lists_them_in_order():
    box = Box(3, (-1, 1, 1), (28, 170, 171))
    found = validate_box(box, (64, 128, 128), (1, 2, 2), NEURON)
    assert codes(found) == ["outside-image", "not-aligned", "below-minimum", "not-multiple", "few-voxels"]
    assert all(f.box_id == 3 for f in found)
    assert worst_severity(found) == "error"


# -- plan rules ------------------------------------------------------------------


def _row(n, size=(100, 100, 100), gap=0):
    """``n`` boxes in a row along x, ids 1..n."""
    step = size[2] + gap
    return [Box(i + 1, (0, 0, i * step), (size[0], size[1], i * step + size[2])) for i in range(n)]


def test_overlap_trips_for_every_box_involved():
    boxes = [
        Box(1, (0, 0, 0), (64, 64, 64)),
        Box(2, (32, 32, 32), (96, 96, 96)),
        Box(3, (0, 0, 64), (64, 64, 128)),  # touches 1, overlaps 2
        Box(4, (192, 192, 192), (256, 256, 256)),
    ]
    found = [f for f in validate_plan(boxes, (256, 256, 256), 1, INSTANCE) if f.code == "overlap"]
    assert [f.box_id for f in found] == [1, 2, 3]
    assert all(f.severity == "warning" for f in found)
    by_id = {f.box_id: f.message for f in found}
    assert "overlaps box 2;" in by_id[1]
    assert "overlaps boxes 1, 3;" in by_id[2]
    assert "overlaps box 2;" in by_id[3]
    assert "counted twice" in by_id[1]


def test_overlap_passes_for_touching_boxes():
    boxes = [
        Box(1, (0, 0, 0), (64, 64, 64)),
        Box(2, (64, 0, 0), (128, 64, 64)),
        Box(3, (0, 64, 0), (64, 128, 64)),
        Box(4, (0, 0, 64), (64, 64, 128)),
        Box(5, (64, 64, 64), (128, 128, 128)),
    ]
    assert "overlap" not in codes(validate_plan(boxes, (128, 128, 128), 1, INSTANCE))


def test_overlap_found_regardless_of_order():
    boxes = [Box(9, (50, 0, 0), (114, 64, 64)), Box(2, (0, 0, 0), (64, 64, 64)), Box(5, (200, 0, 0), (264, 64, 64))]
    found = [f for f in validate_plan(boxes, (512, 64, 64), 1, INSTANCE) if f.code == "overlap"]
    assert [(f.box_id, f.message.split(";")[0]) for f in found] == [(2, "overlaps box 9"), (9, "overlaps box 2")]


@pytest.mark.parametrize(
    ("n", "words"),
    [(4, "(add boxes)"), (11, "(remove or shrink boxes)"), (1, "(add boxes)")],
)
def test_total_voxels_trips(n, words):
    found = validate_plan(_row(n), (100, 100, 1100), 1, ANY_SIZE)
    f = only(found, "total-voxels")
    assert f.severity == "warning"
    assert f.box_id is None
    assert f"{n * 1_000_000:,} voxels" in f.message
    assert "5–10 million" in f.message
    assert words in f.message


@pytest.mark.parametrize("n", [5, 7, 10])
def test_total_voxels_passes_inside_target_inclusive(n):
    assert "total-voxels" not in codes(validate_plan(_row(n), (100, 100, 1100), 1, ANY_SIZE))


def test_total_voxels_counts_at_the_magnification():
    boxes = _row(10, size=(200, 200, 200))  # 8e6 each at full resolution, 1e6 at mag 2
    assert "total-voxels" not in codes(validate_plan(boxes, (200, 200, 2000), 2, ANY_SIZE))
    f = only(validate_plan(boxes, (200, 200, 2000), 1, ANY_SIZE), "total-voxels")
    assert "80,000,000 voxels" in f.message


def test_total_voxels_trips_for_empty_plan():
    found = validate_plan([], (256, 256, 256), 1, INSTANCE)
    assert codes(found) == ["total-voxels", "few-boxes"]
    assert "0 voxels" in found[0].message
    assert "0 boxes" in found[1].message


def test_a_small_image_gets_its_share_instead_of_an_unreachable_target():
    # 51×120×122 = 746,640 voxels: 5 million can never be annotated
    box = Box(1, (0, 0, 0), (32, 96, 96))
    found = validate_plan([box], (51, 120, 122), 1, INSTANCE)
    assert "total-voxels" not in codes(found)
    f = only(found, "image-share")
    assert f.severity == "info" and f.box_id is None
    assert "39.5 % of the image" in f.message and "294,912 of 746,640 voxels" in f.message
    # the share is counted at the magnification
    f = only(validate_plan([box], (51, 120, 122), (1, 2, 2), ANY_SIZE), "image-share")
    assert "73,728 of 186,660 voxels" in f.message


def test_an_image_just_large_enough_keeps_the_target():
    found = validate_plan([], (5, 1000, 1000), 1, ANY_SIZE)  # exactly 5 million voxels
    assert "image-share" not in codes(found) and "total-voxels" in codes(found)


def test_few_voxels_is_only_an_info_when_no_box_of_that_size_fits():
    # the whole image holds 32×40×40 = 51,200 voxels: no box can reach 230,000
    found = validate_box(Box(1, (0, 0, 0), (32, 40, 40)), (32, 40, 40), 1, INSTANCE)
    f = only(found, "few-voxels")
    assert f.severity == "info" and "the whole image holds only 51,200" in f.message
    found = validate_box(Box(1, (0, 0, 0), (32, 40, 40)), (64, 64, 64), 1, INSTANCE)
    assert only(found, "few-voxels").severity == "warning"  # 262,144 voxels: a larger box fits


@pytest.mark.parametrize(("n", "word"), [(1, "1 box;"), (2, "2 boxes;"), (9, "9 boxes;")])
def test_few_boxes_trips(n, word):
    f = only(validate_plan(_row(n), (100, 100, 1100), 1, ANY_SIZE), "few-boxes")
    assert f.severity == "info"
    assert f.box_id is None
    assert word in f.message
    assert "at least 10" in f.message


@pytest.mark.parametrize("n", [10, 11])
def test_few_boxes_passes(n):
    assert "few-boxes" not in codes(validate_plan(_row(n), (100, 100, 1100), 1, ANY_SIZE))


def _octant_boxes(octants, per_octant, size=32, shape=256):
    """``per_octant`` non-overlapping boxes in each listed octant of a cube."""
    half = shape // 2
    boxes = []
    for oz, oy, ox in octants:
        cells = itertools.product(range(half // size), repeat=3)
        for _, (cz, cy, cx) in zip(range(per_octant), cells):
            lo = (oz * half + cz * size, oy * half + cy * size, ox * half + cx * size)
            boxes.append(Box(len(boxes) + 1, lo, tuple(l + size for l in lo)))
    return boxes


def test_clustered_trips_when_boxes_crowd_one_part():
    boxes = _octant_boxes([(0, 0, 0)], 10)
    f = only(validate_plan(boxes, (256, 256, 256), 1, INSTANCE), "clustered")
    assert f.severity == "warning"
    assert f.box_id is None
    assert "10 of 10 boxes" in f.message
    assert "z low half, y low half, x low half" in f.message
    assert "7 of 8 parts have none" in f.message
    assert "spread" in f.message


def test_clustered_trips_names_the_crowded_part():
    boxes = _octant_boxes([(1, 0, 1)], 6) + _octant_boxes([(0, 1, 0)], 2)
    boxes = [b.replace(id=i + 1) for i, b in enumerate(boxes)]
    f = only(validate_plan(boxes, (256, 256, 256), 1, INSTANCE), "clustered")
    assert "6 of 8 boxes" in f.message
    assert "z high half, y low half, x high half" in f.message


def test_clustered_passes_when_spread():
    octants = list(itertools.product((0, 1), repeat=3))
    boxes = _octant_boxes(octants, 2)
    assert len(boxes) == 16
    assert "clustered" not in codes(validate_plan(boxes, (256, 256, 256), 1, INSTANCE))


def test_clustered_passes_with_fewer_boxes_than_parts():
    # 4 boxes in opposite octants: fewer than the 8 parts, and both halves of every axis used
    boxes = _octant_boxes([(0, 0, 0), (1, 1, 1)], 2)
    assert "clustered" not in codes(validate_plan(boxes, (256, 256, 256), 1, INSTANCE))


def test_clustered_trips_when_few_boxes_keep_to_one_side():
    boxes = _octant_boxes([(0, 0, 0)], 5)  # fewer boxes than parts, all in one octant
    f = only(validate_plan(boxes, (256, 256, 256), 1, INSTANCE), "clustered")
    assert "all 5 boxes have their centre in the low half along z" in f.message


def test_clustered_passes_when_volume_is_not_split():
    # every axis is shorter than 1.5 median box extents: the volume is one part
    boxes = [Box(i + 1, (0, 0, 4 * i), (100, 100, 4 * i + 100)) for i in range(10)]
    assert "clustered" not in codes(validate_plan(boxes, (140, 140, 140), 1, ANY_SIZE))


def test_clustered_looks_along_z():
    # the demo volume: 96 planes, 64³ boxes. Boxes spread over y and x but all in the low z
    # half leave z 48-95 without a box centre; z is split because a box fits in either half
    boxes = [Box(i + 1, (0, 64 * (i // 4), 64 * (i % 4)), (64, 64 * (i // 4) + 64, 64 * (i % 4) + 64))
             for i in range(16)]
    f = only(validate_plan(boxes, (96, 256, 256), 1, INSTANCE), "clustered")
    assert f.severity == "warning"
    assert "all 16 boxes have their centre in the low half along z" in f.message
    assert "z 48–95" in f.message
    moved = [b.replace(lo=(32, *b.lo[1:]), hi=(96, *b.hi[1:])) if b.id % 2 else b for b in boxes]
    assert "clustered" not in codes(validate_plan(moved, (96, 256, 256), 1, INSTANCE))
    # too few planes for two boxes' centres to differ much: z is not split
    assert "clustered" not in codes(validate_plan(boxes, (80, 256, 256), 1, INSTANCE))


def test_plan_without_findings():
    mag = (1, 2, 2)
    size = INSTANCE.size_at(mag, (64, 96, 96))  # 589,824 voxels at mag; ×10 = 5.9 M
    shape = (256, 768, 768)
    extents = grid_boxes(shape, size, mag, max_boxes=10)
    assert len(extents) == 10
    boxes = [Box(i + 1, lo, hi) for i, (lo, hi) in enumerate(extents)]
    assert validate_plan(boxes, shape, mag, INSTANCE) == []


@pytest.mark.parametrize("shape", [(256, 256), (1, 64, 64, 64), (64,)])
def test_validate_plan_rejects_non_3d_image(shape):
    with pytest.raises(ValueError, match=r"the image must be 3D \(z, y, x\)") as info:
        validate_plan([], shape, 1, INSTANCE)
    assert "3D image" in str(info.value)


def test_validate_plan_rejects_bad_mag():
    with pytest.raises(ValueError, match="positive"):
        validate_plan([], (64, 64, 64), 0, INSTANCE)


def test_validate_plan_orders_box_findings_then_plan_findings():
    boxes = [Box(3, (0, 0, 0), (16, 16, 16)), Box(1, (8, 8, 8), (40, 40, 40)), Box(2, (100, 0, 0), (101, 1, 1))]
    found = validate_plan(boxes, (128, 128, 128), 1, INSTANCE)
    ids = [f.box_id for f in found]
    per_box = [i for i in ids if i is not None]
    assert per_box == sorted(per_box)
    first_plan = ids.index(None)
    assert all(i is None for i in ids[first_plan:])
    for bid in (1, 2, 3):
        ranks = [("error", "warning", "info").index(f.severity) for f in found if f.box_id == bid]
        assert ranks == sorted(ranks)


# -- properties ------------------------------------------------------------------


@st.composite
def image_and_mag(draw, max_extent=400):
    mag = draw(mags)
    shape = tuple(draw(st.integers(f, max_extent)) for f in mag)
    return shape, mag


@settings(max_examples=200, deadline=None)
@given(data=st.data(), im=image_and_mag(), keep_size=st.booleans())
def test_boxes_from_fit_are_inside_and_aligned(data, im, keep_size):
    shape, mag = im
    corner = st.tuples(*[st.integers(-20, s + 20) for s in shape])
    a, b = data.draw(corner), data.draw(corner)
    lo = tuple(min(x, y) for x, y in zip(a, b))
    hi = tuple(max(x, y) for x, y in zip(a, b))
    plan = Plan(ImageRef(shape), INSTANCE, mag)
    flo, fhi = plan.fit(lo, hi, keep_size=keep_size)
    found = validate_box(Box(1, flo, fhi), shape, mag, INSTANCE)
    assert "outside-image" not in codes(found)
    assert "not-aligned" not in codes(found)


@st.composite
def good_box(draw):
    preset = draw(presets)
    mag = draw(mags)
    size_at_mag = tuple(draw(st.integers(mn, mn + 60)) for mn in preset.minimum)
    size = at_mag(size_at_mag, mag)
    lo_at_mag = tuple(draw(st.integers(0, 20)) for _ in range(3))
    lo = at_mag(lo_at_mag, mag)
    hi = tuple(l + s for l, s in zip(lo, size))
    shape = tuple(h + draw(st.integers(0, 50)) for h in hi)
    return Box(draw(st.integers(1, 10_000)), lo, hi), shape, mag, preset


@settings(max_examples=200, deadline=None)
@given(case=good_box())
def test_aligned_inside_box_at_least_minimum_has_no_errors(case):
    box, shape, mag, preset = case
    found = validate_box(box, shape, mag, preset)
    assert worst_severity(found) != "error", found
    assert all(f.box_id == box.id for f in found)
    assert set(codes(found)) <= {"not-multiple", "few-voxels"}


@settings(max_examples=200, deadline=None)
@given(case=good_box(), data=st.data())
def test_box_shifted_by_non_multiple_of_mag_is_not_aligned(case, data):
    box, shape, mag, preset = case
    assume(max(mag) > 1)
    shift = tuple(data.draw(st.integers(-7, 7)) for _ in range(3))
    bad_axes = [a for a, d, f in zip("zyx", shift, mag) if d % f]
    assume(bad_axes)
    moved = Box(box.id, *[tuple(c + d for c, d in zip(corner, shift)) for corner in (box.lo, box.hi)])
    f = only(validate_box(moved, shape, mag, preset), "not-aligned")
    assert f.severity == "error" and f.box_id == box.id
    assert f"position {'×'.join(map(str, moved.lo))} (axes {''.join(bad_axes)})" in f.message
    assert "size" not in f.message.split("not divisible")[0]  # size still aligned


@settings(max_examples=200, deadline=None)
@given(case=good_box(), data=st.data())
def test_box_resized_by_non_multiple_of_mag_is_not_aligned(case, data):
    box, shape, mag, preset = case
    assume(max(mag) > 1)
    grow = tuple(data.draw(st.integers(0, 7)) for _ in range(3))
    bad_axes = [a for a, d, f in zip("zyx", grow, mag) if d % f]
    assume(bad_axes)
    resized = box.replace(hi=tuple(h + g for h, g in zip(box.hi, grow)))
    f = only(validate_box(resized, shape, mag, preset), "not-aligned")
    assert f"(axes {''.join(bad_axes)})" in f.message
    assert "position" not in f.message


@st.composite
def box_sets(draw):
    shape = tuple(draw(st.integers(16, 200)) for _ in range(3))
    mag = draw(st.sampled_from(MAGS))
    n = draw(st.integers(0, 14))
    ids = draw(st.lists(st.integers(1, 500), min_size=n, max_size=n, unique=True))
    boxes = []
    for i in ids:
        lo = tuple(draw(st.integers(-8, s)) for s in shape)
        size = tuple(draw(st.integers(1, 120)) for _ in range(3))
        boxes.append(Box(i, lo, tuple(l + s for l, s in zip(lo, size))))
    preset = draw(st.sampled_from([INSTANCE, NEURON, ANY_SIZE, get_preset("custom", minimum=(4, 8, 8))]))
    return boxes, shape, mag, preset


def _key(f):
    return (f.severity, f.code, f.box_id, f.message)


@settings(max_examples=150, deadline=None)
@given(case=box_sets())
def test_validate_plan_box_findings_are_validate_box_plus_overlap(case):
    boxes, shape, mag, preset = case
    found = validate_plan(boxes, shape, mag, preset)
    per_box = [f for f in found if f.box_id is not None]
    plan_level = [f for f in found if f.box_id is None]

    expected = [f for b in boxes for f in validate_box(b, shape, mag, preset)]
    partners = {
        a.id: sorted(b.id for b in boxes if b.id != a.id and boxes_overlap(a, b)) for a in boxes
    }
    overlap = [f for f in per_box if f.code == "overlap"]
    assert sorted(f.box_id for f in overlap) == sorted(i for i, p in partners.items() if p)
    for f in overlap:
        assert f.severity == "warning"
        assert ", ".join(map(str, partners[f.box_id])) + ";" in f.message

    assert sorted(map(_key, (f for f in per_box if f.code != "overlap"))) == sorted(map(_key, expected))
    # per-box first (sorted by id), then plan-level
    assert found == per_box + plan_level
    assert [f.box_id for f in per_box] == sorted(f.box_id for f in per_box)
    assert {f.code for f in plan_level} <= {"total-voxels", "image-share", "few-boxes", "clustered"}
    assert ("few-boxes" in codes(plan_level)) == (len(boxes) < MIN_BOXES)
    total = sum(voxels_at(b, mag) for b in boxes)
    small = (shape[0] // mag[0]) * (shape[1] // mag[1]) * (shape[2] // mag[2]) < 5_000_000
    assert ("image-share" in codes(plan_level)) == small
    assert ("total-voxels" in codes(plan_level)) == (not small and not 5_000_000 <= total <= 10_000_000)


@settings(max_examples=100, deadline=None)
@given(im=image_and_mag(max_extent=700), preset=presets, max_boxes=st.one_of(st.none(), st.integers(1, 30)))
def test_grid_boxes_for_default_size_validate_without_errors(im, preset, max_boxes):
    shape, mag = im
    size = preset.size_at(mag)
    full = 1
    for s, f, b in zip(shape, mag, size):
        full *= (s // f * f) // b
    assume(full <= 400)
    extents = grid_boxes(shape, size, mag, max_boxes=max_boxes)
    boxes = [Box(i + 1, lo, hi) for i, (lo, hi) in enumerate(extents)]
    found = validate_plan(boxes, shape, mag, preset)
    assert "overlap" not in codes(found)
    assert worst_severity(f for f in found if f.box_id is not None) in (None, "warning", "info")
    assert not any(f.severity == "error" for f in found)
    for b in boxes:
        assert b.size == size
