"""Task presets: box sizes and rules from the field's training-data guides.

Sizes are ``(z, y, x)`` **at the chosen magnification** (a 32×85×85 box at
magnification ``(1, 2, 2)`` covers 32×170×170 full-resolution voxels).

References
----------
.. [1] WEBKNOSSOS documentation, "AI model training": minimum box 85×85×30
   (x×y×z) for dense neuron training, 32×32×32 for instance segmentation,
   at least 230,000 voxels per box, 5–10 million annotated voxels in total.
.. [2] MemBrain-seg: 160³ training patches centred on points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..geometry.magnification import Triple, _as_int_triple

#: Every box should hold at least this many voxels at the magnification.
MIN_BOX_VOXELS = 230_000
#: The whole plan should annotate this many voxels at the magnification.
TARGET_TOTAL_VOXELS = (5_000_000, 10_000_000)
#: Fewer boxes than this is worth a note: many small boxes beat a few large ones.
MIN_BOXES = 10


@dataclass(frozen=True)
class Preset:
    """Box rules for one kind of training task.

    Parameters
    ----------
    name : str
        ``'neuron'``, ``'instance'``, ``'membrane'`` or ``'custom'``.
    minimum : tuple of int
        Hard minimum box size ``(z, y, x)`` at the magnification.
    default_size : tuple of int
        Size of a new box at the magnification.
    alternatives : tuple of tuple of int
        Other recommended sizes.
    ignore_border : int
        Width, in voxels at the magnification, of a border inside each box
        that is excluded from training (MemBrain-seg style).
    point_centred : bool
        Boxes of this preset are normally placed centred on points.
    description : str
        One line for menus and reports.

    Examples
    --------
    >>> p = get_preset("neuron")
    >>> p.minimum, p.default_size
    ((30, 85, 85), (32, 85, 85))
    >>> p.size_at((1, 2, 2))
    (32, 170, 170)
    """

    name: str
    minimum: Triple
    default_size: Triple
    alternatives: tuple[Triple, ...] = ()
    ignore_border: int = 0
    point_centred: bool = False
    description: str = ""

    def __post_init__(self):
        minimum = _as_int_triple(self.minimum, f"{self.name} minimum", positive=True)
        default = _as_int_triple(self.default_size, f"{self.name} default size", positive=True)
        if any(d < m for d, m in zip(default, minimum)):
            raise ValueError(
                f"preset {self.name!r}: default size {default} is below its minimum {minimum}."
            )
        border = self.ignore_border
        if isinstance(border, bool) or not isinstance(border, (int, np.integer)) or border < 0:
            raise ValueError(
                f"preset {self.name!r}: the ignore border must be a whole number of voxels, 0 or "
                f"more; got {border!r}."
            )
        if border and any(m < 2 * int(border) + 1 for m in minimum):
            raise ValueError(
                f"preset {self.name!r}: a {border}-voxel ignore border needs boxes of at least "
                f"{2 * int(border) + 1} voxels along every axis, but the minimum is {minimum}; "
                "raise the minimum or narrow the border."
            )
        object.__setattr__(self, "minimum", minimum)
        object.__setattr__(self, "default_size", default)
        object.__setattr__(self, "ignore_border", int(border))

    def size_at(self, mag: Triple, size: Triple | None = None) -> Triple:
        """Full-resolution extent of a box of ``size`` (default: the preset's
        default size) at magnification ``mag``."""
        s = self.default_size if size is None else _as_int_triple(size, "size", positive=True)
        return tuple(int(a) * int(m) for a, m in zip(s, mag))  # type: ignore[return-value]

    @property
    def suggested_count(self) -> int:
        """Boxes of the default size needed to reach the low end of the voxel
        target, and at least :data:`MIN_BOXES`.

        Examples
        --------
        >>> get_preset("instance").suggested_count
        20
        """
        per_box = math.prod(self.default_size)
        return max(MIN_BOXES, math.ceil(TARGET_TOTAL_VOXELS[0] / per_box))

    def to_dict(self) -> dict:
        d = {"name": self.name, "minimum": list(self.minimum), "default_size": list(self.default_size)}
        if self.ignore_border and self.name == "custom":  # a named preset's border is its own
            d["ignore_border"] = self.ignore_border
        return d


PRESETS: dict[str, Preset] = {
    "neuron": Preset(
        "neuron",
        minimum=(30, 85, 85),
        default_size=(32, 85, 85),
        description="dense neuron / EM segmentation: boxes of at least 30×85×85 (z×y×x)",
    ),
    "instance": Preset(
        "instance",
        minimum=(32, 32, 32),
        default_size=(64, 64, 64),
        alternatives=((32, 96, 96),),
        description="instance segmentation (nuclei, cells, organelles): 64³ or 32×96×96 boxes",
    ),
    "membrane": Preset(
        "membrane",
        minimum=(160, 160, 160),
        default_size=(160, 160, 160),
        ignore_border=16,
        point_centred=True,
        description="membrane segmentation (MemBrain-seg): 160³ boxes on points, 16-voxel ignore border",
    ),
}

PRESET_NAMES = (*PRESETS, "custom")


def get_preset(name: str, minimum=None, default_size=None, ignore_border: int = 0) -> Preset:
    """Look up a preset, or build the ``'custom'`` one from a minimum size.

    Parameters
    ----------
    name : str
        One of :data:`PRESET_NAMES`.
    minimum : sequence of int, optional
        Required for ``'custom'``: the hard minimum ``(z, y, x)`` at the
        magnification. Ignored otherwise.
    default_size : sequence of int, optional
        For ``'custom'``, the size of new boxes (default: ``minimum``).
    ignore_border : int
        For ``'custom'``, the ignore border in voxels at the magnification on
        every face of a box (default 0: none; see :mod:`.border`).

    Raises
    ------
    ValueError
        For an unknown name, or ``'custom'`` without a minimum.

    Examples
    --------
    >>> get_preset("custom", minimum=(16, 48, 48)).default_size
    (16, 48, 48)
    >>> get_preset("custom", minimum=(64, 64, 64), ignore_border=8).to_dict()["ignore_border"]
    8
    >>> get_preset("custom", minimum=(16, 48, 48), ignore_border=8)
    Traceback (most recent call last):
    ...
    ValueError: preset 'custom': a 8-voxel ignore border needs boxes of at least 17 voxels along every axis, but the minimum is (16, 48, 48); raise the minimum or narrow the border.
    >>> get_preset("nuclei")
    Traceback (most recent call last):
    ...
    ValueError: unknown preset 'nuclei'; choose one of neuron, instance, membrane, custom.
    """
    if name == "custom":
        if minimum is None:
            raise ValueError(
                "the 'custom' preset needs a minimum box size (z, y, x), e.g. minimum=(16, 48, 48)."
            )
        return Preset(
            "custom",
            minimum=minimum,
            default_size=minimum if default_size is None else default_size,
            ignore_border=ignore_border,
            description="custom minimum box size"
            + (f", {ignore_border}-voxel ignore border" if ignore_border else ""),
        )
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}.")
    return PRESETS[name]


def preset_from_dict(d: dict) -> Preset:
    """Inverse of :meth:`Preset.to_dict`."""
    name = d.get("name")
    if name == "custom":
        return get_preset("custom", minimum=d.get("minimum"), default_size=d.get("default_size"),
                          ignore_border=d.get("ignore_border", 0))
    return get_preset(name)
