"""Find a project's layers in a viewer (Qt-free).

The plan itself is shared between the docks by the viewer's
:class:`~napari_patchwise.layers.session.Session`.
"""

from __future__ import annotations

from pathlib import Path

from napari.layers import Labels, Shapes

from .box_shapes import METADATA_KEY
from .box_sync import selected_box_ids


def _meta(layer) -> dict:
    meta = (layer.metadata or {}).get(METADATA_KEY, {})
    return meta if isinstance(meta, dict) else {}


def tag_image(layer_data: tuple, image: str | None) -> tuple:
    """A layer data tuple whose Patchwise metadata names ``image`` (unchanged when None).

    Examples
    --------
    >>> _, kwargs, _ = tag_image((None, {"metadata": {METADATA_KEY: {"role": "annotation"}}}, "labels"), "a")
    >>> kwargs["metadata"][METADATA_KEY]
    {'role': 'annotation', 'image': 'a'}
    """
    if image is None:
        return layer_data
    data, kwargs, kind = layer_data
    metadata = dict(kwargs.get("metadata") or {})
    metadata[METADATA_KEY] = {**metadata.get(METADATA_KEY, {}), "image": image}
    return data, {**kwargs, "metadata": metadata}, kind


def layer_image(layer) -> str | None:
    """The name of the project image a layer of the project reader shows (None: the project's only one)."""
    image = _meta(layer).get("image")
    return image if isinstance(image, str) else None


def project_layers(layers, project) -> list:
    """The layers of ``project`` in ``layers``: its image, boxes, annotation and correction layers (as the
    reader made them)."""
    want = Path(project).resolve()
    out = []
    for layer in layers:
        meta = _meta(layer)
        if meta.get("role") in ("image", "boxes", "annotation", "correction", "corrected") and meta.get("project") \
                and Path(meta["project"]).resolve() == want:
            out.append(layer)
    return out


def overlay_layers(layers, project) -> list:
    """The layers drawn over ``project``'s annotations (the live contacts markers): they belong to
    the image shown, so they leave the viewer with its layers."""
    want = Path(project).resolve()
    return [layer for layer in layers
            if _meta(layer).get("role") == "contacts" and _meta(layer).get("project")
            and Path(_meta(layer)["project"]).resolve() == want]


def annotation_projects(layers) -> list[str]:
    """Project folders of the annotation layers in ``layers``, in layer order."""
    out = []
    for layer in layers:
        meta = _meta(layer)
        if isinstance(layer, Labels) and meta.get("role") == "annotation" and meta.get("project"):
            if meta["project"] not in out:
                out.append(meta["project"])
    return out


def annotation_layer_map(layers, project) -> dict[str, Labels]:
    """``{array name: Labels layer}`` of one project's annotation layers."""
    want = Path(project).resolve()
    out = {}
    for layer in layers:
        meta = _meta(layer)
        if (isinstance(layer, Labels) and meta.get("role") == "annotation" and meta.get("project")
                and Path(meta["project"]).resolve() == want):
            out[meta["array"]] = layer
    return out


def correction_layer_map(layers, project) -> dict[str, dict[str, Labels]]:
    """``{class: {'add' | 'remove' | 'ignore': mask layer, 'view': merged view}}`` of one project."""
    want = Path(project).resolve()
    out: dict[str, dict[str, Labels]] = {}
    for layer in layers:
        meta = _meta(layer)
        if (isinstance(layer, Labels) and meta.get("role") in ("correction", "corrected") and meta.get("project")
                and Path(meta["project"]).resolve() == want and isinstance(meta.get("class"), str)):
            key = meta.get("kind") if meta["role"] == "correction" else "view"
            out.setdefault(meta["class"], {})[key] = layer
    return out


def selected_project_box_ids(session, layers, project) -> list[int]:
    """Ids of a project's boxes whose rectangles are selected: through the Box planner
    when it edits the project in ``session``, else in the project reader's boxes layer."""
    sync = session.sync_for(project)
    if sync is not None:
        return sync.selected_box_ids()
    want = Path(project).resolve()
    for layer in layers:
        meta = _meta(layer)
        if (isinstance(layer, Shapes) and meta.get("role") == "boxes" and meta.get("project")
                and Path(meta["project"]).resolve() == want):
            return selected_box_ids(layer)
    return []
