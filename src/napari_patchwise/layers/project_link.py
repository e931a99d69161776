"""Find a project's layers in a viewer and share its plan between docks (Qt-free).

The Box planner owns the plan while it edits it (and saves it on every
change); the Seed and QC docks read and change the same plan through
:func:`current_plan` and :func:`commit_plan`, which go through the planner
when it is editing that project and through ``plan.json`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

from napari.layers import Labels, Shapes
from psygnal import Signal

from ..engine.plan.plan import Plan
from ..engine.plan.project import load_plan, save_plan
from ..engine.findings import Finding
from .box_shapes import METADATA_KEY
from .box_sync import selected_box_ids, sync_for_project


class _Bus:
    """Tells the docks that a project's annotation arrays were written outside painting."""

    annotations_changed = Signal(str)


#: ``bus.annotations_changed.emit(project)`` after seeding or importing.
bus = _Bus()


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


def current_plan(project) -> Plan:
    """The plan of ``project`` as the planner holds it, else as saved."""
    sync = sync_for_project(project)
    return sync.plan if sync is not None else load_plan(project)


def commit_plan(project, plan: Plan) -> None:
    """Make ``plan`` the project's plan: through the planner (which saves it) or into ``plan.json``."""
    sync = sync_for_project(project)
    if sync is not None:
        sync.set_plan(plan)
    else:
        save_plan(project, plan)


def show_findings(project, findings: list[Finding]) -> bool:
    """Show annotation findings on the planner's boxes (their colours and table); False if no planner."""
    sync = sync_for_project(project)
    if sync is None:
        return False
    sync.set_extra_findings(findings)
    return True


def selected_project_box_ids(layers, project) -> list[int]:
    """Ids of a project's boxes whose rectangles are selected: through the Box planner
    when it edits the project, else in the project reader's boxes layer."""
    sync = sync_for_project(project)
    if sync is not None:
        return sync.selected_box_ids()
    want = Path(project).resolve()
    for layer in layers:
        meta = _meta(layer)
        if (isinstance(layer, Shapes) and meta.get("role") == "boxes" and meta.get("project")
                and Path(meta["project"]).resolve() == want):
            return selected_box_ids(layer)
    return []
