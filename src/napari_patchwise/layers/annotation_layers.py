"""Annotation arrays (at the training magnification) as napari Labels layers.

A voxel ``j`` of an array at magnification ``m`` covers full-resolution voxels
``[j*m, (j+1)*m)``, whose centre is ``j*m + (m-1)/2``. The layers therefore get
``scale = voxel_size * m`` and ``translate = voxel_size * (m - 1) / 2`` so they
sit exactly on the image.
"""

from __future__ import annotations

from ..engine.plan.plan import Plan
from ..engine.plan.stroke_buffer import StrokeBuffer
from .box_shapes import METADATA_KEY


def annotation_transform(plan: Plan) -> dict:
    """``scale`` and ``translate`` that put annotation arrays on the image.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((8, 8, 8), voxel_size=(2.0, 0.5, 0.5)), magnification=(1, 2, 2))
    >>> annotation_transform(plan)
    {'scale': (2.0, 1.0, 1.0), 'translate': (0.0, 0.25, 0.25)}
    """
    vs = plan.image.voxel_size
    m = plan.magnification
    return {
        "scale": tuple(v * f for v, f in zip(vs, m)),
        "translate": tuple(v * (f - 1) / 2 for v, f in zip(vs, m)),
    }


def annotation_layer_name(name: str) -> str:
    """Layer name of an annotation array (``'nuclei'`` -> ``'nuclei labels'``)."""
    return name if name in ("background", "ignore") else f"{name} labels"


#: One colour for every voxel of the background and ignore layers: background in a class's
#: colours looked like its object 1 (both are label 1), and any value in them means the same.
FIXED_COLORS = {"background": "#7f93ad", "ignore": "#e8c33a"}


def annotation_layer_data(plan: Plan, group, project: str | None = None) -> list[tuple]:
    """Layer data tuples for every annotation array of a project's group.

    Classes come first, then ``background`` and ``ignore``; background is
    shown faintly so objects stay visible through it, background and ignore
    each in one colour of their own (:data:`FIXED_COLORS`). Each array is
    wrapped in a :class:`~napari_patchwise.engine.plan.stroke_buffer.StrokeBuffer`
    (see :mod:`.stroke_hold`).
    """
    out = []
    tf = annotation_transform(plan)
    names = [c.name for c in plan.classes] + ["background", "ignore"]
    for name in names:
        if name not in group:
            continue
        kwargs = {
            "name": annotation_layer_name(name),
            **tf,
            "units": (plan.image.unit,) * 3,
            "opacity": 0.3 if name == "background" else 0.6,
            "metadata": {METADATA_KEY: {"role": "annotation", "array": name, "project": project}},
        }
        if name in FIXED_COLORS:
            kwargs["colormap"] = {None: FIXED_COLORS[name], 0: "transparent"}
        out.append((StrokeBuffer(group[name]), kwargs, "labels"))
    return out
