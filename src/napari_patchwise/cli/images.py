"""``patchwise images``: the images of a project, one row each (reads only; takes no lock)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..engine.plan.annotation_store import open_annotations
from ..engine.plan.plan_file import load_collection
from ..engine.plan.project_images import annotated_voxels

COLUMNS = ("name", "shape", "dtype", "voxel size", "boxes", "annotated", "domain")


def image_rows(folder) -> list[dict]:
    """One dict per image of the project: what ``patchwise images`` prints.

    ``plan.json`` is read once; a version 1 project is read as it is (never migrated).
    """
    collection = load_collection(folder)
    rows = []
    for entry in collection.images:
        plan, image = entry.plan, entry.plan.image
        group = open_annotations(folder, plan, mode="r", image=entry.name)
        rows.append({
            "name": entry.name,
            "shape": list(image.shape),
            "dtype": image.dtype,
            "voxel_size": list(image.voxel_size),
            "unit": image.unit,
            "voxel_size_known": image.voxel_size_known,
            "boxes": len(plan.boxes),
            "annotated_voxels": annotated_voxels(group, plan),
            "domain": entry.domain,
        })
    return rows


def _cells(row: dict) -> tuple[str, ...]:
    size = "×".join(f"{v:g}" for v in row["voxel_size"]) + f" {row['unit']}"
    if not row["voxel_size_known"]:
        size += " (unknown)"
    return (row["name"], "×".join(map(str, row["shape"])), row["dtype"], size,
            str(row["boxes"]), f"{row['annotated_voxels']:,}", row["domain"] or "-")


def cmd_images(args) -> int:
    rows = image_rows(Path(args.project))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    table = [COLUMNS, *(_cells(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def add_parser(sub) -> None:
    c = sub.add_parser(
        "images", help="list a project's images: shape, dtype, voxel size, boxes, annotated voxels, domain",
        description="List the images of PROJECT, one row each: name, shape (z×y×x), dtype, voxel "
        "size and unit, boxes, annotated voxels (at the magnification) and domain. Reads only.")
    c.add_argument("project", help="project folder (holding plan.json)")
    c.add_argument("--json", action="store_true", help="print the rows as JSON")
    c.set_defaults(func=cmd_images)
