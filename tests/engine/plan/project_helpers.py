"""A plan and a folder snapshot shared by the project-folder tests (plan_file, annotation_store, project)."""

from __future__ import annotations

from pathlib import Path

from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset

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
