"""Inputs of the Propose tab: the form, layer data to voxels, and the measurement cache."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, SpinBox
from napari.layers import Image, Labels, Points

from ..engine.plan.plan import Plan
from ..engine.propose.run import Candidates

#: (label, value) of the proposal sources.
SOURCES = (
    ("image content (stratified)", "image"),
    ("points layer (box centred on each point)", "points"),
    ("uncertainty (probability layer)", "uncertainty"),
)
#: How many measurements are kept.
CACHE_SIZE = 4

Extent = tuple[tuple[int, int, int], tuple[int, int, int]]


def layer_array(layer):
    """The full-resolution array of an image or labels layer (level 0 of a pyramid)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def points_to_voxels(points_layer: Points, image_layer) -> np.ndarray:
    """Points of ``points_layer`` as ``(z, y, x)`` voxel coordinates of ``image_layer``.

    Each point goes from the points layer's data coordinates to world
    coordinates and from there to the image's data coordinates, so layers with
    different scale, translation or affine transforms line up as they do on
    screen.

    Raises
    ------
    ValueError
        If the points layer has fewer than three dimensions.
    """
    if points_layer.ndim < 3:
        raise ValueError(
            f"the points layer '{points_layer.name}' is {points_layer.ndim}D; put the points in "
            "a 3D points layer (e.g. add a new Points layer while the 3D image is open)."
        )
    data = np.asarray(points_layer.data, dtype=float)
    if data.size == 0:
        return np.empty((0, 3))
    out = [np.asarray(image_layer.world_to_data(points_layer.data_to_world(p)), float) for p in data]
    return np.round(np.asarray(out).reshape(len(out), -1)[:, -3:], 6)  # no float noise


@dataclass(frozen=True)
class MeasureRequest:
    """What :func:`measure_candidates` needs, read from the layers on the main thread."""

    key: tuple
    layer_ids: tuple[int, ...]
    plan: Plan
    image: Any
    labels: Any
    probability: Any
    description: str


class CandidateCache:
    """The last few measurements, by request key; entries are dropped when a
    layer they were measured on changes or goes away.

    Examples
    --------
    >>> cache = CandidateCache(size=2)
    >>> for key, layer in (("a", 1), ("b", 2), ("c", 1)):
    ...     cache.put(key, [layer], f"measured {key}")
    >>> len(cache), cache.get("a")  # the oldest made room
    (2, None)
    >>> cache.forget_layer(1)  # layer 1 was painted: what was measured on it goes
    >>> cache.get("c"), cache.get("b")
    (None, 'measured b')
    """

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._items: OrderedDict[tuple, tuple[frozenset, Candidates]] = OrderedDict()

    def get(self, key) -> Candidates | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key, layer_ids: Iterable[int], cands: Candidates) -> None:
        self._items[key] = (frozenset(layer_ids), cands)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget_layer(self, layer_id: int) -> None:
        for key in [k for k, (ids, _) in self._items.items() if layer_id in ids]:
            del self._items[key]

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class ProposeForm(Container):
    """The settings of a proposal (magicgui form)."""

    def __init__(self, layers_of: Callable[[type], list]):
        def choices(kind):
            return lambda _w: [(layer.name, layer) for layer in layers_of(kind)]

        self.source = ComboBox(choices=SOURCES, value="image", label="propose from")
        self.points = ComboBox(choices=choices(Points), label="points layer")
        self.probability = ComboBox(choices=choices(Image), label="probability layer",
                                    nullable=True)
        self.weak_labels = ComboBox(choices=choices(Labels), label="weak labels (optional)",
                               nullable=True)
        self.limit = ComboBox(choices=("box count", "voxel budget"), value="box count",
                              label="stop at")
        self.n_boxes = SpinBox(value=0, min=0, max=100_000, label="boxes (0 = preset default)")
        self.budget = FloatSpinBox(value=5.0, min=0.01, max=100_000.0, step=0.5,
                                   label="budget (M voxels at mag)")
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        self.include_empty = CheckBox(value=False, text="include empty regions")
        self.replace = CheckBox(value=False, text="replace unlocked proposals")
        self.border = ComboBox(choices=("shift", "reject"), value="shift",
                               label="box at the border")
        super().__init__(
            widgets=[self.source, self.points, self.probability, self.weak_labels, self.limit,
                     self.n_boxes, self.budget, self.seed, self.include_empty, self.replace,
                     self.border],
            labels=True,
        )
        self.source.tooltip = (
            "image content: boxes that cover every kind of region (stratum) of the image; "
            "points: one box centred on each point; uncertainty: where a model's "
            "probability map is least sure"
        )
        self.weak_labels.tooltip = "rough instance labels; when given they define foreground and objects"
        self.probability.tooltip = (
            "foreground probability (z, y, x) or class probabilities (C, z, y, x) of the image"
        )
        self.n_boxes.tooltip = ("number of boxes to add; 0 fills the plan up to the preset's "
                                "suggested count and 5 million voxels (on a smaller image: up "
                                "to half of it, one stratum after another)")
        self.budget.tooltip = "stop once the new boxes hold this many million voxels at the magnification"
        self.seed.tooltip = "same seed, same boxes; another seed gives other, equally valid boxes"
        self.include_empty.tooltip = "also propose blank, empty or saturated blocks"
        self.replace.tooltip = ("first remove earlier proposals of this kind that are neither "
                                "locked (accepted) nor started")
        self.border.tooltip = ("a point too close to the image border: shift its box inside, "
                               "or reject it")
        self.changed.connect(self.update_visibility)
        self.update_visibility()

    def update_visibility(self, *_):
        src = self.source.value
        self.points.visible = self.border.visible = src == "points"
        self.probability.visible = src == "uncertainty"
        self.weak_labels.visible = src != "points"
        self.include_empty.visible = src == "image"
        for w in (self.limit, self.seed):
            w.visible = src != "points"
        by_count = self.limit.value == "box count"
        self.n_boxes.visible = src != "points" and by_count
        self.budget.visible = src != "points" and not by_count

    def limits(self) -> tuple[int | None, int | None]:
        """``(n, budget)`` for the engine; ``(None, None)`` means the preset default."""
        if self.limit.value == "voxel budget":
            return None, int(round(self.budget.value * 1e6))
        return (self.n_boxes.value or None), None
