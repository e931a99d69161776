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
