"""A plan and a folder snapshot shared by the project-folder tests (plan_file, annotation_store, project)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import zarr

from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.plan.annotation_store import (
    ANNOTATIONS, ATTRS_KEY, _create_layer, _layers, _meta, hidden_layer,
)

#: ``plan.json`` of :func:`make_plan` as version 1 wrote it (one image, no names).
PLAN_V1 = Path(__file__).parent / "data" / "plan_v1.json"

SHAPE = (20, 45, 50)
MAG = (1, 2, 2)
ANN_SHAPE = (20, 23, 25)


def make_plan(**changes) -> Plan:
    plan = Plan(
        ImageRef(SHAPE, voxel_size=(2.0, 0.5, 0.5), path="raw.tif", unit="µm"),
        get_preset("instance"),
        MAG,
        (ClassSpec("nuclei", "instance"), ClassSpec("mito", "semantic")),
    )
    plan, _ = plan.add_box((0, 0, 0), (10, 20, 20), stratum="dense", notes="first ✓")
    plan, _ = plan.add_box((4, 10, 30), (20, 40, 50), source="grid", stats={"snr": 1.5})
    return plan.replace(**changes)


def snapshot(root: Path) -> dict:
    """Bytes and mtimes of everything under ``root`` (and of root itself)."""
    paths = [root, *sorted(root.rglob("*"))] if root.is_dir() else [root]
    return {
        p.as_posix(): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
        for p in paths
        if p.exists()
    }


def make_v1_project(folder: Path, plan: Plan) -> dict[str, np.ndarray]:
    """A project exactly as version 1 wrote it (plan.json version 1, layers at the store's root),
    with painted voxels; returns what each layer holds."""
    folder.mkdir(parents=True)
    (folder / "plan.json").write_bytes(PLAN_V1.read_bytes())
    assert Plan.from_dict(json.loads(PLAN_V1.read_text("utf-8"))) == plan
    root = zarr.open_group(folder / ANNOTATIONS, mode="w", zarr_format=3, attributes={ATTRS_KEY: _meta(plan)})
    rng = np.random.default_rng(3)
    painted = {}
    for name, kind in _layers(plan):
        a = _create_layer(root, name, kind, plan.annotation_shape)
        data = (rng.random(plan.annotation_shape) < 0.1) * rng.integers(1, 9, plan.annotation_shape)
        a[:] = data.astype(a.dtype)
        painted[name] = a[:]
    edits = hidden_layer(root, "edits")
    edits[0, :4, :4] = 1
    painted["edits"] = edits[:]
    return painted
