"""Pure computational core of napari-patchwise, laid out as the workflow.

Nothing in this sub-package imports Qt, napari or magicgui, so every function
can run headless, in scripts, on a cluster, or in tests without a display.

The stages, in the order data flows through them (each a sub-package whose
``__init__`` lists its own API):

=============  ==============================================================
``geometry``   boxes, magnifications, voxel sizes, regions (slices), overlaps
``plan``       presets, the plan, box rules, the project folder and its store
``propose``    candidate blocks, strata, stratified / point / uncertainty boxes
``seed``       weak labels: thresholding, imported labels, Cellpose
``qc``         per-box and plan checks, touching instances
``export``     nnU-Net v2, StarDist, Cellpose, OME-Zarr; splits, manifest
``evaluate``   matching a segmentation against ground truth
``io``         volumes in and out with their voxel size
``samples``    synthetic volumes with known answers
=============  ==============================================================

The names below are what a script needs to go from an image to an export:
read (:func:`read_volume`), plan (:class:`Plan`, :func:`create_project`),
propose (:func:`measure_candidates`, then ``propose`` of the stage:
``from napari_patchwise.engine.propose import propose``, since
``engine.propose`` names the stage itself), seed (:func:`seed_boxes`), check
(:func:`check_project`) and export (:func:`export_project`). Boxes and plans
are imported at once; the stage functions are loaded on first use (the
proposal brings dask in, for example), so importing the engine stays cheap.

Examples
--------
>>> from napari_patchwise import engine
>>> plan = engine.Plan(engine.ImageRef((32, 64, 64)), engine.get_preset("instance"))
>>> plan, box = plan.add_box((0, 0, 0), (32, 64, 64))
>>> engine.worst_severity(plan.validate())
'info'
>>> engine.make_sample((16, 32, 32)).image.shape
(16, 32, 32)
"""

from __future__ import annotations

import importlib

from .geometry.box import Box, box_from_center, boxes_overlap
from .geometry.magnification import (
    as_magnification,
    scaled_shape,
    snap_box,
    voxel_size_at,
)
from .plan.classes import ClassSpec
from .plan.plan import ImageRef, Plan
from .plan.presets import PRESETS, Preset, get_preset
from .plan.rules import validate_box, validate_plan
from .findings import Finding, worst_severity

#: The workflow's entry points, loaded on first use: name -> module holding it.
_LAZY = {
    # io: volumes with their voxel size
    "Volume": ".io.volumes",
    "read_volume": ".io.volumes",
    "write_tiff": ".io.tiff_write",
    # plan: the project folder
    "ProjectError": ".plan.plan_file",
    "create_project": ".plan.project",
    "load_plan": ".plan.plan_file",
    "open_annotations": ".plan.annotation_store",
    "open_project": ".plan.project",
    "save_plan": ".plan.project",
    "parse_classes": ".plan.classes",
    "Collection": ".plan.collection",
    "load_collection": ".plan.plan_file",
    "save_collection": ".plan.project_images",
    "add_image": ".plan.project_images",
    "remove_image": ".plan.project_images",
    # propose
    "Candidates": ".propose.candidates",
    "ProposalReport": ".propose.run",
    "boxes_from_points": ".propose.points",
    "measure_candidates": ".propose.candidates",
    "propose_by_uncertainty": ".propose.run",
    # seed
    "SeedParams": ".seed.weaklabels",
    "SeedReport": ".seed.report",
    "import_into_boxes": ".seed.run",
    "seed_boxes": ".seed.run",
    # qc
    "QCReport": ".qc.checks",
    "check_project": ".qc.checks",
    "separate": ".qc.touching",
    # export
    "ExportError": ".export.model",
    "ExportOptions": ".export.model",
    "ExportReport": ".export.model",
    "export_project": ".export.run",
    # evaluate
    "match_instances": ".evaluate.metrics",
    # samples
    "make_sample": ".samples.nuclei",
}

__all__ = [
    "PRESETS",
    "Box",
    "ClassSpec",
    "Finding",
    "ImageRef",
    "Plan",
    "Preset",
    "as_magnification",
    "box_from_center",
    "boxes_overlap",
    "get_preset",
    "scaled_shape",
    "snap_box",
    "validate_box",
    "validate_plan",
    "voxel_size_at",
    "worst_severity",
    *sorted(_LAZY),
]


def __getattr__(name: str):
    """Load a workflow entry point on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
