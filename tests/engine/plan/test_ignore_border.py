"""The ignore border rule: the mask, a box's interior in any region, composition and QC."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from napari_patchwise.engine import Box, ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.plan.border import (
    border_mask,
    border_problem,
    border_width,
    box_interior,
    interior_slices,
)
from napari_patchwise.engine.plan.box_arrays import box_region, compose_box
from napari_patchwise.engine.plan.presets import preset_from_dict
from napari_patchwise.engine.qc.checks import check_box


def _brute_mask(shape, width):
    """Each voxel tested alone: within ``width`` of a face along some axis."""
    out = np.zeros(shape, bool)
    for idx in itertools.product(*(range(s) for s in shape)):
        out[idx] = any(i < w or i >= s - w for i, s, w in zip(idx, shape, width))
    return out


@pytest.mark.parametrize("shape", [(5, 7, 9), (4, 12, 12), (2, 3, 3), (9, 9, 9)])
@pytest.mark.parametrize("border", [0, 1, 2])
@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2), (2, 1, 3)])
def test_border_mask_matches_a_voxel_by_voxel_reference(shape, border, mag):
    width = border_width(border, mag)
    assert width == tuple(border * m for m in mag)
    assert np.array_equal(border_mask(shape, border, mag), _brute_mask(shape, width))


def test_border_problem_names_the_short_axes_and_the_size_needed():
    assert border_problem((33, 33, 33), 16) is None
    assert border_problem((3, 3, 3), 0) is None
    msg = border_problem((20, 160, 32), 16)
    assert "along zx" in msg and "33" in msg and "enlarge the box" in msg
    assert border_mask((20, 160, 32), 16).all()  # nothing inside: every voxel is border


@pytest.mark.parametrize("mag", [(1, 1, 1), (1, 2, 2)])
def test_box_interior_of_any_region_is_the_box_mask_cut_to_it(mag):
    preset = get_preset("custom", minimum=(8, 8, 8), ignore_border=2)
    plan = Plan(ImageRef((16, 32, 32)), preset, mag)
    box = Box(1, (0, 4 * mag[1], 2 * mag[2]), (10, 14 * mag[1], 14 * mag[2]))
    whole = box_region(plan, box)
    full = border_mask(tuple(s.stop - s.start for s in whole), 2)
    rng = np.random.default_rng(1)
    for _ in range(40):
        region = []
        for s in whole:
            a, b = sorted(rng.integers(s.start, s.stop + 1, 2))
            region.append(slice(int(a), int(b)))
        region = tuple(region)
        inner = box_interior(plan, box, region)
        got = np.ones(tuple(r.stop - r.start for r in region), bool)
        got[inner] = False
        want = full[tuple(slice(r.start - w.start, r.stop - w.start) for r, w in zip(region, whole))]
        assert np.array_equal(got, want)


def test_compose_box_ignores_the_border_and_keeps_the_arrays():
    preset = get_preset("custom", minimum=(6, 6, 6), ignore_border=1)
    plan = Plan(ImageRef((6, 12, 12)), preset, (1, 2, 2), (ClassSpec("cells"),))
    cells = np.zeros((6, 6, 6), np.uint32)
    cells[0, 0, 0] = 5  # in the border
    cells[2:4, 2:4, 2:4] = 3
    layers = {"cells": cells, "background": (cells == 0).astype(np.uint8)}
    before = cells.copy()
    comp = compose_box(plan, layers, Box(1, (0, 0, 0), (6, 12, 12)))
    assert np.array_equal(cells, before)
    border = border_mask((6, 6, 6), 1)
    assert np.all(comp.classmap[border] == comp.ignore_value)
    assert np.all(comp.instances["cells"][border] == 0)
    assert comp.counts()["cells"] == 8 and comp.counts()["unannotated"] == 0
    # no border for a preset without one
    plain = plan.replace(preset=get_preset("custom", minimum=(6, 6, 6)))
    assert compose_box(plain, layers, Box(1, (0, 0, 0), (6, 12, 12))).counts()["cells"] == 9


def test_qc_does_not_count_the_border_as_unannotated():
    preset = get_preset("custom", minimum=(6, 6, 6), ignore_border=1)
    plan = Plan(ImageRef((6, 6, 6)), preset, (1, 1, 1), (ClassSpec("cells"),))
    cells = np.zeros((6, 6, 6), np.uint32)
    cells[2:4, 2:4, 2:4] = 1
    bg = np.zeros((6, 6, 6), np.uint8)
    bg[1:5, 1:5, 1:5] = 1  # everything inside the border painted, the border left alone
    bg[cells > 0] = 0
    box = Box(1, (0, 0, 0), (6, 6, 6), dense=True, status="done")
    q = check_box(plan, {"cells": cells, "background": bg}, box)
    assert "unannotated" not in {f.code for f in q.findings}
    assert q.counts["unannotated"] == 0 and q.counts["ignore"] == 6 ** 3 - 4 ** 3
    bg[2, 1, 1] = 0  # one voxel inside the border left unannotated: reported
    q = check_box(plan, {"cells": cells, "background": bg}, box)
    assert [f.severity for f in q.findings if f.code == "unannotated"] == ["error"]
    assert q.counts["unannotated"] == 1


def test_presets_check_and_keep_the_border():
    with pytest.raises(ValueError, match="needs boxes of at least 33 voxels"):
        get_preset("custom", minimum=(32, 64, 64), ignore_border=16)
    with pytest.raises(ValueError, match="whole number of voxels"):
        get_preset("custom", minimum=(32, 64, 64), ignore_border=-1)
    custom = get_preset("custom", minimum=(40, 40, 40), ignore_border=4)
    assert preset_from_dict(custom.to_dict()) == custom
    membrane = get_preset("membrane")
    assert membrane.ignore_border == 16 and preset_from_dict(membrane.to_dict()).ignore_border == 16
    assert "ignore_border" not in get_preset("instance").to_dict()


def test_plan_rule_flags_a_box_too_small_for_the_border():
    plan = Plan(ImageRef((160, 320, 320)), get_preset("membrane"), (1, 2, 2))
    plan = plan.add_boxes([((0, 0, 0), (160, 320, 320)), ((0, 0, 0), (32, 320, 320))])
    found = {(f.code, f.box_id): f for f in plan.validate()}
    assert ("border-too-wide", 1) not in found
    f = found[("border-too-wide", 2)]
    assert f.severity == "error" and "16-voxel ignore border" in f.message and "along z" in f.message
    assert interior_slices((32, 160, 160), 16)[0] == slice(16, 16)
