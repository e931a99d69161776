"""The plan: box ids, fitting boxes, and the plan.json schema."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.geometry.box import SOURCES, STATUSES, Box
from napari_patchwise.engine.geometry.magnification import snap_box
from napari_patchwise.engine.plan.plan import PLAN_FORMAT, PLAN_VERSION, ImageRef, Plan
from napari_patchwise.engine.plan.classes import ClassSpec
from napari_patchwise.engine.plan.presets import get_preset
from napari_patchwise.engine.plan.rules import validate_plan

INSTANCE = get_preset("instance")
NEURON = get_preset("neuron")

MAGS = [(1, 1, 1), (2, 2, 2), (1, 2, 2), (2, 4, 4), (4, 4, 4), (1, 1, 3)]
mags = st.one_of(
    st.sampled_from(MAGS), st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))
)
class_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_\-]{0,12}", fullmatch=True).filter(
    lambda n: n not in ("background", "ignore")
)


def make_plan(shape=(64, 256, 256), mag=(1, 2, 2), preset=INSTANCE, **kw):
    return Plan(ImageRef(shape), preset, mag, **kw)


# -- Plan construction -----------------------------------------------------------


def test_plan_defaults():
    plan = Plan(ImageRef((8, 8, 8)))
    assert plan.preset == INSTANCE
    assert plan.magnification == (1, 1, 1)
    assert plan.classes == (ClassSpec("nuclei", "instance"),)
    assert plan.boxes == () and plan.next_id == 1


@pytest.mark.parametrize(("mag", "expected"), [("1,2,2", (1, 2, 2)), (2, (2, 2, 2)), ([1, 4, 4], (1, 4, 4))])
def test_plan_normalises_magnification(mag, expected):
    assert make_plan(mag=mag).magnification == expected


@pytest.mark.parametrize(("mag", "match"), [(0, "positive"), ("1,2", "three values"), (1.5, "whole")])
def test_plan_rejects_bad_magnification(mag, match):
    with pytest.raises(ValueError, match=match):
        make_plan(mag=mag)


def test_plan_rejects_duplicate_class_names():
    with pytest.raises(ValueError, match="class names must be unique"):
        make_plan(classes=(ClassSpec("a"), ClassSpec("b"), ClassSpec("a", "semantic")))


def test_plan_rejects_duplicate_box_ids():
    boxes = (Box(1, (0, 0, 0), (2, 2, 2)), Box(2, (0, 0, 0), (2, 2, 2)), Box(1, (4, 4, 4), (6, 6, 6)))
    with pytest.raises(ValueError, match=r"box ids must be unique; got \[1, 1, 2\]"):
        make_plan(boxes=boxes)


@pytest.mark.parametrize(("given_next", "expected"), [(1, 8), (8, 8), (20, 20)])
def test_plan_next_id_is_above_every_box_id(given_next, expected):
    boxes = (Box(3, (0, 0, 0), (2, 2, 2)), Box(7, (0, 0, 0), (2, 2, 2)))
    assert make_plan(boxes=boxes, next_id=given_next).next_id == expected


def test_plan_is_immutable():
    plan = make_plan()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.boxes = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("shape", "mag", "expected"),
    [
        ((64, 256, 256), (1, 2, 2), (64, 128, 128)),
        ((65, 257, 255), (2, 4, 4), (33, 65, 64)),
        ((1, 3, 5), (4, 4, 4), (1, 1, 2)),
        ((10, 10, 10), 1, (10, 10, 10)),
    ],
)
def test_annotation_shape(shape, mag, expected):
    assert make_plan(shape, mag).annotation_shape == expected


@settings(max_examples=100, deadline=None)
@given(shape=st.tuples(*[st.integers(1, 3000)] * 3), mag=mags)
def test_annotation_shape_is_ceil_of_shape_over_mag(shape, mag):
    out = make_plan(shape, mag).annotation_shape
    assert out == tuple(-(-s // f) for s, f in zip(shape, mag))
    assert all((o - 1) * f < s <= o * f for o, s, f in zip(out, shape, mag))


@pytest.mark.parametrize(
    ("preset", "mag", "expected"),
    [(INSTANCE, (1, 2, 2), (64, 128, 128)), (NEURON, (1, 2, 2), (32, 170, 170)), (NEURON, (2, 4, 4), (64, 340, 340))],
)
def test_default_box_size(preset, mag, expected):
    assert make_plan(preset=preset, mag=mag).default_box_size == expected


# -- box edits and ids -----------------------------------------------------------


def test_add_box_assigns_increasing_ids_and_leaves_original_alone():
    p0 = make_plan()
    p1, b1 = p0.add_box((0, 0, 0), (64, 128, 128))
    p2, b2 = p1.add_box((0, 0, 128), (64, 128, 256), source="grid", stratum="dense")
    assert (b1.id, b2.id) == (1, 2)
    assert p2.next_id == 3
    assert p2.boxes == (b1, b2)
    assert (b2.source, b2.stratum) == ("grid", "dense")
    assert p0.boxes == () and p0.next_id == 1
    assert p1.boxes == (b1,)
    assert p2.box(2) is b2


def test_add_box_rejects_bad_box_and_keeps_ids():
    plan, _ = make_plan().add_box((0, 0, 0), (8, 8, 8))
    with pytest.raises(ValueError, match="non-positive size"):
        plan.add_box((0, 0, 0), (0, 8, 8))
    with pytest.raises(ValueError, match="source must be one of"):
        plan.add_box((0, 0, 0), (8, 8, 8), source="magic")
    assert plan.next_id == 2


def test_add_boxes():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2)), ((2, 2, 2), (4, 4, 4))], source="points")
    assert [b.id for b in plan.boxes] == [1, 2]
    assert {b.source for b in plan.boxes} == {"points"}
    assert plan.next_id == 3


def test_removed_ids_are_never_reused():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 3)
    plan = plan.remove_box(3).remove_box(1)
    assert [b.id for b in plan.boxes] == [2]
    assert plan.next_id == 4
    plan, box = plan.add_box((0, 0, 0), (2, 2, 2))
    assert box.id == 4
    plan = plan.remove_box(4).remove_box(2)
    assert plan.boxes == () and plan.next_id == 5
    assert plan.add_box((0, 0, 0), (2, 2, 2))[1].id == 5


def test_next_id_survives_round_trip_after_removal():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 3).remove_box(3)
    back = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert back.next_id == 4
    assert back.add_box((0, 0, 0), (2, 2, 2))[1].id == 4


def test_update_box_changes_fields_and_keeps_id_and_order():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 3)
    new = plan.update_box(2, status="done", notes="checked", hi=(4, 4, 4))
    assert [b.id for b in new.boxes] == [1, 2, 3]
    b = new.box(2)
    assert (b.status, b.notes, b.hi) == ("done", "checked", (4, 4, 4))
    assert new.box(1) == plan.box(1) and new.box(3) == plan.box(3)
    assert plan.box(2).status == "todo"
    assert new.next_id == plan.next_id


def test_update_box_rejects_invalid_change():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))])
    with pytest.raises(ValueError, match="non-positive size"):
        plan.update_box(1, lo=(5, 0, 0))
    with pytest.raises(ValueError, match="status must be one of"):
        plan.update_box(1, status="almost")


def test_update_box_cannot_create_duplicate_id():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 2)
    try:
        new = plan.update_box(2, id=1)
    except ValueError:
        return
    assert sorted(b.id for b in new.boxes) == [1, 2]


def test_update_box_cannot_revive_a_removed_id():
    """``update_box`` keeps the id; it must not hand a removed id to another box."""
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 3).remove_box(1)
    try:
        new = plan.update_box(3, id=1)
    except ValueError:
        return  # refusing to change the id is fine
    ids = sorted(b.id for b in new.boxes)
    assert 1 not in ids, f"removed id 1 was reused: ids {ids}"
    assert ids == [2, 3]


def test_update_box_with_its_own_id_is_fine():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 2)
    assert plan.update_box(2, id=2, notes="x").box(2).notes == "x"


@pytest.mark.parametrize("method", ["box", "remove_box"])
def test_unknown_box_id_raises_key_error(method):
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))])
    with pytest.raises(KeyError, match="no box with id 9"):
        getattr(plan, method)(9)


def test_update_unknown_box_raises_key_error():
    with pytest.raises(KeyError, match="no box with id 1"):
        make_plan().update_box(1, status="done")


ops = st.lists(
    st.one_of(
        st.just(("add", 0)),
        st.tuples(st.just("remove"), st.integers(0, 50)),
        st.tuples(st.just("update"), st.integers(0, 50)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(ops=ops, status=st.sampled_from(STATUSES))
def test_ids_stay_unique_and_are_never_reused(ops, status):
    plan = make_plan()
    issued: set[int] = set()
    for op, k in ops:
        before = plan.next_id
        if op == "add":
            plan, box = plan.add_box((0, 0, 0), (4, 4, 4))
            assert box.id == before
            assert box.id not in issued
            issued.add(box.id)
        elif plan.boxes:
            target = plan.boxes[k % len(plan.boxes)].id
            if op == "remove":
                plan = plan.remove_box(target)
                assert target not in {b.id for b in plan.boxes}
            else:
                plan = plan.update_box(target, status=status)
                assert plan.box(target).status == status
        ids = [b.id for b in plan.boxes]
        assert len(ids) == len(set(ids))
        assert set(ids) <= issued
        assert plan.next_id >= before
        assert plan.next_id > max(issued, default=0)


# -- fit -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "keep", "expected"),
    [
        ((-3, 5, 5), (61, 130, 300), False, ((0, 6, 6), (61, 130, 256))),
        ((-3, 200, 5), (61, 300, 101), True, ((0, 156, 6), (64, 256, 102))),
        ((0, 0, 0), (64, 128, 128), False, ((0, 0, 0), (64, 128, 128))),
        ((0, 0, 0), (64, 128, 128), True, ((0, 0, 0), (64, 128, 128))),
        # sticks out at the high end: moved back keeping its size, or clipped
        ((10, 200, 200), (74, 328, 328), True, ((0, 128, 128), (64, 256, 256))),
        ((10, 200, 200), (74, 328, 328), False, ((10, 200, 200), (64, 256, 256))),
        # sticks out at the low end
        ((-10, -20, -40), (20, 100, 60), True, ((0, 0, 0), (30, 120, 100))),
        ((-10, -20, -40), (20, 100, 60), False, ((0, 0, 0), (20, 100, 60))),
        # larger than the image: clipped even when keeping the size
        ((-10, -10, -10), (100, 300, 300), True, ((0, 0, 0), (64, 256, 256))),
        # entirely outside: one grid step at the nearest edge
        ((100, 300, 300), (110, 310, 310), False, ((63, 254, 254), (64, 256, 256))),
        ((-50, -50, -50), (-40, -40, -40), False, ((0, 0, 0), (1, 2, 2))),
        # thinner than a grid step keeps one step
        ((5, 5, 5), (5, 5, 5), False, ((5, 6, 6), (6, 8, 8))),
    ],
)
def test_fit_examples(lo, hi, keep, expected):
    assert make_plan((64, 256, 256), (1, 2, 2)).fit(lo, hi, keep_size=keep) == expected


def test_fit_stays_inside_whole_grid_part_of_image():
    plan = make_plan((65, 257, 258), (2, 4, 4))
    lo, hi = plan.fit((0, 0, 0), (80, 300, 300))
    assert (lo, hi) == ((0, 0, 0), (64, 256, 256))
    lo, hi = plan.fit((60, 250, 250), (90, 300, 300), keep_size=True)
    assert hi == (64, 256, 256)
    assert tuple(h - l for l, h in zip(lo, hi)) == (30, 48, 48)


@pytest.mark.parametrize(("shape", "mag"), [((1, 64, 64), (2, 1, 1)), ((64, 3, 64), (1, 4, 4))])
def test_fit_never_returns_box_outside_image_thinner_than_one_step(shape, mag):
    """An image axis shorter than one magnification step holds no whole grid voxel."""
    try:
        plan = make_plan(shape, mag)
        lo, hi = plan.fit((0, 0, 0), (8, 8, 8))
    except ValueError:
        return  # refusing such an image or extent is fine
    assert all(0 <= l < h <= s for l, h, s in zip(lo, hi, shape)), (lo, hi)


@st.composite
def fit_case(draw):
    mag = draw(mags)
    shape = tuple(draw(st.integers(f, 300)) for f in mag)
    lo = tuple(draw(st.integers(-100, s + 100)) for s in shape)
    hi = tuple(l + draw(st.integers(0, s + 50)) for l, s in zip(lo, shape))
    return shape, mag, lo, hi


@settings(max_examples=200, deadline=None)
@given(case=fit_case(), keep=st.booleans())
def test_fit_is_aligned_inside_and_at_least_one_step(case, keep):
    shape, mag, lo, hi = case
    flo, fhi = make_plan(shape, mag).fit(lo, hi, keep_size=keep)
    for l, h, s, f in zip(flo, fhi, shape, mag):
        assert l % f == 0 and h % f == 0
        assert 0 <= l and h <= (s // f) * f <= s
        assert h - l >= f
    # a fitted extent is a fixed point
    assert make_plan(shape, mag).fit(flo, fhi, keep_size=keep) == (flo, fhi)


@settings(max_examples=200, deadline=None)
@given(case=fit_case())
def test_fit_keep_size_moves_without_resizing(case):
    shape, mag, lo, hi = case
    slo, shi = snap_box(lo, hi, mag, mode="nearest")
    flo, fhi = make_plan(shape, mag).fit(lo, hi, keep_size=True)
    for sl, sh, l, h, s, f in zip(slo, shi, flo, fhi, shape, mag):
        lim = (s // f) * f
        if sh - sl <= lim:
            assert h - l == sh - sl  # size kept
            if sl >= 0 and sh <= lim:
                assert (l, h) == (sl, sh)  # already inside: unchanged
            elif sl < 0:
                assert l == 0
            else:
                assert h == lim
        else:
            assert (l, h) == (0, lim)


@settings(max_examples=200, deadline=None)
@given(case=fit_case())
def test_fit_clip_is_intersection_with_image(case):
    shape, mag, lo, hi = case
    slo, shi = snap_box(lo, hi, mag, mode="nearest")
    flo, fhi = make_plan(shape, mag).fit(lo, hi, keep_size=False)
    for sl, sh, l, h, s, f in zip(slo, shi, flo, fhi, shape, mag):
        lim = (s // f) * f
        a, b = max(sl, 0), min(sh, lim)
        if b - a >= f:
            assert (l, h) == (a, b)
        else:  # no overlap with the image: one step at the nearest edge
            assert h - l == f


# -- validate --------------------------------------------------------------------


def test_plan_validate_matches_validate_plan():
    plan = make_plan((64, 256, 256), (1, 2, 2)).add_boxes(
        [((0, 0, 0), (64, 128, 128)), ((0, 64, 64), (64, 192, 192)), ((0, 1, 0), (3, 3, 3))]
    )
    found = plan.validate()
    assert found == validate_plan(plan.boxes, plan.image.shape, plan.magnification, plan.preset)
    assert {f.code for f in found} >= {"overlap", "not-aligned", "few-boxes"}


# -- serialisation ---------------------------------------------------------------


def test_to_dict_schema():
    plan = make_plan(preset=NEURON).add_boxes([((0, 0, 0), (32, 170, 170))], stratum="edge")
    d = plan.to_dict()
    assert d["format"] == PLAN_FORMAT == "napari-patchwise-plan"
    assert d["version"] == PLAN_VERSION == 1
    assert d["magnification"] == [1, 2, 2]
    assert d["preset"]["name"] == "neuron"
    assert d["classes"] == [{"name": "nuclei", "kind": "instance"}]
    assert d["next_id"] == 2
    assert d["boxes"][0]["stratum"] == "edge"
    assert json.loads(json.dumps(d)) == d


def test_to_dict_sorts_boxes_by_id():
    boxes = (Box(5, (0, 0, 0), (2, 2, 2)), Box(2, (0, 0, 0), (2, 2, 2)))
    assert [b["id"] for b in make_plan(boxes=boxes).to_dict()["boxes"]] == [2, 5]


def test_dict_round_trip_with_custom_preset_and_classes():
    preset = get_preset("custom", minimum=(8, 16, 16), default_size=(16, 32, 32))
    plan = Plan(
        ImageRef((40, 50, 60), "float32", (3.0, 0.5, 0.5), path="a/b.zarr", name="em", unit="nm"),
        preset,
        (1, 2, 2),
        classes=(ClassSpec("mito", "semantic"), ClassSpec("nuclei")),
    ).add_boxes([((0, 0, 0), (16, 32, 32)), ((8, 8, 8), (24, 40, 40))])
    back = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert back == plan
    assert back.preset.default_size == (16, 32, 32)


@st.composite
def plans(draw):
    mag = draw(mags)
    shape = tuple(draw(st.integers(1, 500)) for _ in range(3))
    preset = draw(
        st.one_of(
            st.sampled_from([INSTANCE, NEURON, get_preset("membrane")]),
            st.tuples(*[st.integers(1, 50)] * 3).map(lambda m: get_preset("custom", minimum=m)),
        )
    )
    classes = tuple(
        ClassSpec(n, draw(st.sampled_from(["instance", "semantic"])))
        for n in draw(st.lists(class_names, min_size=1, max_size=4, unique=True))
    )
    plan = Plan(
        ImageRef(shape, draw(st.sampled_from(["uint8", "uint16", "float32"])),
                 tuple(draw(st.floats(0.01, 100)) for _ in range(3))),
        preset, mag, classes,
    )
    for _ in range(draw(st.integers(0, 8))):
        lo = tuple(draw(st.integers(-50, 500)) for _ in range(3))
        size = tuple(draw(st.integers(1, 200)) for _ in range(3))
        plan, _b = plan.add_box(
            lo,
            tuple(l + s for l, s in zip(lo, size)),
            source=draw(st.sampled_from(SOURCES)),
            status=draw(st.sampled_from(STATUSES)),
            stratum=draw(st.one_of(st.none(), st.sampled_from(["dense", "sparse", "low_snr"]))),
            notes=draw(st.text(max_size=12)),
            locked=draw(st.booleans()),
            stats=draw(st.dictionaries(st.sampled_from(["mean", "std"]), st.floats(-1e6, 1e6), max_size=2)),
        )
        if plan.boxes and draw(st.booleans()):
            plan = plan.remove_box(draw(st.sampled_from(plan.boxes)).id)
    return plan


@settings(max_examples=150, deadline=None)
@given(plan=plans())
def test_dict_round_trip(plan):
    text = json.dumps(plan.to_dict())
    back = Plan.from_dict(json.loads(text))
    assert back == plan
    assert back.next_id == plan.next_id
    assert [b.stats for b in back.boxes] == [b.stats for b in plan.boxes]
    assert json.dumps(back.to_dict()) == text


def _valid_dict():
    return make_plan().add_boxes([((0, 0, 0), (64, 128, 128)), ((0, 0, 128), (64, 128, 256))]).to_dict()


@pytest.mark.parametrize("d", [None, [], "plan", {}, {"format": "some-other-tool"}, {"version": 1}])
def test_from_dict_rejects_foreign_input(d):
    with pytest.raises(ValueError, match="not a napari-patchwise plan"):
        Plan.from_dict(d)


def test_from_dict_rejects_foreign_format_even_with_content():
    d = _valid_dict()
    d["format"] = "napari-other-plan"
    with pytest.raises(ValueError, match='expected "format": "napari-patchwise-plan"'):
        Plan.from_dict(d)


@pytest.mark.parametrize("version", [PLAN_VERSION + 1, 99])
def test_from_dict_rejects_newer_version(version):
    d = _valid_dict()
    d["version"] = version
    with pytest.raises(ValueError, match=f"plan version {version} is not supported") as info:
        Plan.from_dict(d)
    assert "upgrade napari-patchwise" in str(info.value)


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, None, True, [1]])
def test_from_dict_rejects_invalid_version(version):
    d = _valid_dict()
    d["version"] = version
    with pytest.raises(ValueError, match="plan version") as info:
        Plan.from_dict(d)
    assert repr(version) in str(info.value)


def test_from_dict_rejects_missing_version():
    d = _valid_dict()
    del d["version"]
    with pytest.raises(ValueError, match="plan version.*None"):
        Plan.from_dict(d)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"id": 3, "lo": [0, 0, 0], "hi": [0, 4, 4]}, "non-positive size"),
        ({"id": 3, "lo": [0, 0, 1.5], "hi": [4, 4, 4]}, "whole numbers"),
        ({"id": 3, "lo": [0, 0], "hi": [4, 4, 4]}, "three values"),
        ({"id": 3, "lo": 5, "hi": [4, 4, 4]}, ""),
        ({"id": 3, "hi": [4, 4, 4]}, "missing 'lo'"),
        ({"id": 3, "lo": [0, 0, 0], "hi": [4, 4, 4], "shape": 1}, "unknown keys"),
        ({"id": 3, "lo": [0, 0, 0], "hi": [4, 4, 4], "status": "later"}, "status must be one of"),
        (None, ""),
        ("box", ""),
    ],
)
def test_from_dict_names_bad_box_entry(entry, match):
    d = _valid_dict()
    d["boxes"].append(entry)
    with pytest.raises(ValueError, match=r"^boxes\[2\]: .*" + match):
        Plan.from_dict(d)


def test_from_dict_rejects_duplicate_box_ids():
    d = _valid_dict()
    d["boxes"][1]["id"] = d["boxes"][0]["id"]
    with pytest.raises(ValueError, match="box ids must be unique"):
        Plan.from_dict(d)


@pytest.mark.parametrize("key", ["image", "preset", "magnification", "classes"])
def test_from_dict_reports_missing_entry(key):
    d = _valid_dict()
    del d[key]
    with pytest.raises(ValueError, match=f"missing entry '{key}'"):
        Plan.from_dict(d)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("magnification", None, "wrong type"),
        ("magnification", [1, 0, 2], "positive"),
        ("magnification", [1, 2], "three values"),
        ("image", {"shape": [256, 256]}, "must be 3D"),
        ("preset", {"name": "nuclei"}, "unknown preset"),
        ("preset", {"name": "custom"}, "needs a minimum"),
        ("classes", [{"name": "background"}], "reserved"),
        ("classes", [{"name": "a"}, {"name": "a"}], "must be unique"),
        ("classes", [{"name": "a", "kind": "blob"}], "kind must be"),
    ],
)
def test_from_dict_rejects_bad_entries(key, value, match):
    d = _valid_dict()
    d[key] = value
    with pytest.raises(ValueError, match=match):
        Plan.from_dict(d)


def test_from_dict_raises_next_id_above_boxes():
    d = _valid_dict()
    d["next_id"] = 1
    assert Plan.from_dict(d).next_id == 3
    del d["next_id"]
    assert Plan.from_dict(d).next_id == 3


def test_batch_edits_equal_one_edit_at_a_time():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 6)
    changes = {2: {"status": "done"}, 5: {"hi": (4, 4, 4), "locked": True}, 6: {"notes": "n"}}
    one_by_one = plan
    for bid, c in changes.items():
        one_by_one = one_by_one.update_box(bid, **c)
    assert plan.update_boxes(changes) == one_by_one
    assert plan.remove_boxes([5, 2, 5]) == plan.remove_box(2).remove_box(5)
    assert plan.remove_boxes([]) == plan
    assert plan.remove_boxes([1, 2]).next_id == 7


def test_batch_edits_name_an_unknown_box_and_change_nothing():
    plan = make_plan().add_boxes([((0, 0, 0), (2, 2, 2))] * 2)
    with pytest.raises(KeyError, match="no box with id 9"):
        plan.update_boxes({1: {"notes": "x"}, 9: {"notes": "y"}})
    with pytest.raises(KeyError, match="no box with id 7"):
        plan.remove_boxes([1, 7])
    with pytest.raises(ValueError, match="keeps its id"):
        plan.update_boxes({1: {"id": 2}})
    assert plan.box(1).notes == ""
