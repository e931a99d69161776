"""Box sizes fitted to the image: the preset's default when it fits, else the nearest good size."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_patchwise.engine.plan.boxfit import ANISOTROPY_LIMIT, fit_box_size
from napari_patchwise.engine.propose.candidates import box_size_for
from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.engine.plan.presets import MIN_BOX_VOXELS, get_preset
from napari_patchwise.engine.plan.rules import validate_box
from napari_patchwise.engine.geometry.box import Box

INSTANCE, NEURON, MEMBRANE = (get_preset(n) for n in ("instance", "neuron", "membrane"))


@pytest.mark.parametrize(
    "preset, shape, voxel, mag",
    [
        (INSTANCE, (96, 384, 384), (1, 1, 1), (1, 1, 1)),  # the demo volume
        (INSTANCE, (64, 200, 200), (1, 1, 1), (1, 1, 1)),  # exactly deep enough
        (NEURON, (128, 128, 128), (10, 10, 10), (1, 1, 1)),  # FIB-SEM, isotropic
        (INSTANCE, (64, 256, 256), (1, 1, 1), (1, 2, 2)),  # anisotropic at mag, kept: best
        (INSTANCE, (100, 100, 100), (1.2, 1, 1), (1, 1, 1)),  # mildly anisotropic
    ],
)
def test_the_default_is_kept_when_it_fits(preset, shape, voxel, mag):
    fit = fit_box_size(preset, shape, mag, voxel)
    assert fit.size == preset.default_size and not fit.changed and fit.message == ""


def test_the_embryo_gets_a_shallow_box_and_is_told_why():
    # 51 planes, z 2.18× coarser: 64³ neither fits nor keeps its shape
    fit = fit_box_size(INSTANCE, (51, 120, 122), 1, (2.18, 1, 1))
    assert fit.size == (32, 96, 96) and fit.changed
    m = fit.message
    assert "instead of the instance preset's 64×64×64" in m
    assert "only 51 voxels along z" in m and "2.18× coarser than y/x" in m
    assert "keeps the minimum 32×32×32" in m and "a multiple of the minimum" in m
    assert "294,912 voxels" in m


def test_anisotropy_alone_refits_a_box_that_fits():
    # the ovule stack: 100³ voxels of 0.284×0.128×0.128 µm; 64³ fits but is 2.2× too deep
    fit = fit_box_size(INSTANCE, (100, 100, 100), 1, (0.284, 0.128, 0.128))
    assert fit.size == (32, 96, 96)
    phys = np.array(fit.size) * (0.284, 0.128, 0.128)
    default = np.array(INSTANCE.default_size) * (0.284, 0.128, 0.128)
    ratio = lambda p: p.max() / p.min()  # noqa: E731
    assert ratio(phys) < ratio(default)  # closer to the intended cube
    assert "2.22× coarser" in fit.message and "only" not in fit.message


def test_y_and_x_stay_alike():
    # ssTEM-like: z 10× coarser; the minimum holds z, y and x grow together
    fit = fit_box_size(NEURON, (200, 1000, 1000), 1, (40, 4, 4))
    assert fit.size[0] == 30 and fit.size[1] == fit.size[2]


def test_a_tiny_image_gets_the_largest_box_it_holds():
    fit = fit_box_size(INSTANCE, (32, 40, 40))
    assert fit.size == (32, 40, 40)
    assert "no box of 230,000 fits" in fit.message


@pytest.mark.parametrize(
    "preset, shape, mag, words",
    [
        (INSTANCE, (20, 512, 512), 1, ["only 20 voxels along z", "custom preset", "20×32×32"]),
        (MEMBRANE, (96, 384, 384), 1, ["only 96 voxels along z", "instance preset"]),
        (INSTANCE, (60, 30, 512), (2, 1, 1),
         ["30 voxels along z and 30 voxels along y", "lower magnification along z"]),
    ],
)
def test_when_even_the_minimum_does_not_fit_the_axis_and_the_fix_are_named(preset, shape, mag,
                                                                           words):
    with pytest.raises(ValueError, match="no box fits") as info:
        fit_box_size(preset, shape, mag)
    for w in words:
        assert w in str(info.value)


def test_bad_voxel_size():
    with pytest.raises(ValueError, match="voxel size must be three positive numbers"):
        fit_box_size(INSTANCE, (64, 64, 64), 1, (0, 1, 1))


def test_the_plan_uses_the_fit_unless_a_size_is_set():
    plan = Plan(ImageRef((51, 120, 122), voxel_size=(2.18, 1, 1)), INSTANCE)
    assert plan.box_fit().size == (32, 96, 96)
    assert box_size_for(plan) == (32, 96, 96) and plan.default_box_size == (32, 96, 96)
    hand = plan.replace(box_size=(32, 64, 64))
    assert box_size_for(hand) == (32, 64, 64) and hand.default_box_size == (32, 64, 64)
    assert Plan.from_dict(hand.to_dict()).box_size == (32, 64, 64)
    assert "box_size" not in plan.to_dict()  # automatic: plans stay as they were
    with pytest.raises(ValueError, match="below the instance preset's minimum"):
        box_size_for(plan.replace(box_size=(16, 64, 64)))


def test_at_a_magnification_the_fit_is_in_voxels_at_that_magnification():
    plan = Plan(ImageRef((102, 240, 244), voxel_size=(1.09, 0.5, 0.5)), INSTANCE, (2, 2, 2))
    assert plan.box_fit().size == (32, 96, 96)  # the embryo again, at half resolution
    assert box_size_for(plan) == (64, 192, 192)


shapes = st.tuples(st.integers(32, 400), st.integers(32, 400), st.integers(32, 400))
voxels = st.tuples(*[st.floats(0.1, 5.0)] * 3)


@settings(max_examples=150, deadline=None)
@given(shape=shapes, voxel=voxels, preset=st.sampled_from([INSTANCE, NEURON]))
def test_a_fitted_box_always_fits_keeps_the_minimum_and_passes_the_box_rules(shape, voxel, preset):
    try:
        fit = fit_box_size(preset, shape, 1, voxel)
    except ValueError as e:
        assert any(s < m for s, m in zip(shape, preset.minimum)), e
        return
    assert all(m <= s <= n for m, s, n in zip(preset.minimum, fit.size, shape))
    box = Box(1, (0, 0, 0), fit.size)
    codes = {f.code for f in validate_box(box, shape, 1, preset)}
    assert not codes & {"outside-image", "not-aligned", "below-minimum"}
    if math.prod(shape) >= 2 * MIN_BOX_VOXELS and all(s >= 2 * d for s, d in zip(shape, (64,) * 3)):
        assert "few-voxels" not in codes
    aniso = max(voxel) / min(voxel)
    if aniso <= ANISOTROPY_LIMIT and all(d <= s for d, s in zip(preset.default_size, shape)):
        assert fit.size == preset.default_size
    assert fit.changed == bool(fit.message)


def test_a_small_custom_box_is_not_inflated_to_reach_230000_voxels():
    small = get_preset("custom", minimum=(16, 48, 48))  # 36,864 voxels: meant to be small
    fit = fit_box_size(small, (200, 500, 500), 1, (4, 1, 1))
    assert math.prod(fit.size) <= 4 * math.prod(small.default_size)
    assert all(s >= m for s, m in zip(fit.size, small.minimum))
