"""Failure strata (``failure:<kind>``) are filled in one reddish family, apart from every other stratum."""

from __future__ import annotations

import colorsys

from napari_patchwise.layers.box_shapes import FAILURE_COLORS, STRATUM_COLORS, stratum_color


def _hls(color):
    return colorsys.rgb_to_hls(*(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)))


def test_every_failure_kind_is_a_red_distinct_from_the_other_strata():
    for kind in [*FAILURE_COLORS, "some-new-kind"]:
        color = stratum_color(f"failure:{kind}")
        hue, _, sat = _hls(color)
        assert (hue < 0.05 or hue > 0.95) and sat > 0.5, (kind, color)
        assert color not in STRATUM_COLORS.values()
    assert stratum_color("failure") == STRATUM_COLORS[None]  # only the prefix with its colon
