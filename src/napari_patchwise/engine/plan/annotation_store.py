"""The arrays of a project's ``annotations.zarr`` as the engine uses them.

:func:`annotation_layers` gathers the class, ``background`` and ``ignore``
arrays of an open group; :func:`hidden_layer` creates the ``edits`` and
``weak`` arrays (see :mod:`.annotation`) the first time they are needed, so
projects saved before they existed keep working.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.project import create_project, open_annotations
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(tmp, Plan(ImageRef((4, 8, 8))))
...     group = open_annotations(folder)
...     print(sorted(annotation_layers(group, Plan(ImageRef((4, 8, 8))))))
...     print(hidden_layer(group, "edits").dtype, "edits" in group)
['background', 'ignore', 'nuclei']
uint8 True
"""

from __future__ import annotations

import zarr

from .annotation import HIDDEN_LAYERS
from .plan import Plan
from .project import MAX_CHUNKS, ProjectError


def annotation_layers(group: zarr.Group, plan: Plan) -> dict[str, zarr.Array]:
    """``{class name: array, 'background': array, 'ignore': array}`` of a project."""
    names = [c.name for c in plan.classes] + ["background", "ignore"]
    out = {}
    for name in names:
        node = group.get(name)
        if not isinstance(node, zarr.Array):
            raise ProjectError(
                f"annotations have no layer {name!r}; save the plan (save_plan) to add it."
            )
        out[name] = node
    return out


def hidden_layer(group: zarr.Group, name: str) -> zarr.Array:
    """The ``edits`` or ``weak`` array of a project, created empty when missing."""
    if name not in HIDDEN_LAYERS:
        raise ValueError(f"hidden layers are {HIDDEN_LAYERS}; got {name!r}.")
    node = group.get(name)
    if isinstance(node, zarr.Array):
        return node
    shape = _layer_shape(group)
    chunks = tuple(min(s, c) for s, c in zip(shape, MAX_CHUNKS))
    return group.create_array(
        name, shape=shape, chunks=chunks, dtype="uint8", fill_value=0,
        attributes={"kind": name}, overwrite=node is not None,
    )


def _layer_shape(group: zarr.Group) -> tuple[int, ...]:
    for name in ("background", "ignore"):
        node = group.get(name)
        if isinstance(node, zarr.Array):
            return tuple(node.shape)
    raise ProjectError("annotations have no background layer; save the plan to recreate the layers.")

