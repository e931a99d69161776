"""An image layer's voxel size and the layers that follow it, without a viewer."""

from __future__ import annotations

import numpy as np
from napari.layers import Image, Labels

from napari_patchwise.engine.plan.plan import ImageRef, Plan
from napari_patchwise.layers.annotation_layers import annotation_transform
from napari_patchwise.layers.box_sync import BoxLayerSync
from napari_patchwise.layers.image_scale import (
    ImageScaleLink,
    image_ref_from_layer,
    layer_voxel_size,
    place_project_layers,
    set_layer_voxel_size,
)

VOL = np.zeros((4, 16, 16), np.uint8)


def test_voxel_size_from_the_scale_or_unknown():
    """(From the file at scale 1: tests/gui/test_planner_voxel_size.py, with napari's own reader.)"""
    assert layer_voxel_size(Image(VOL, scale=(2, 0.5, 0.5), units=("nanometer",) * 3)) == (
        (2.0, 0.5, 0.5), "nanometer", True, "layer")
    assert layer_voxel_size(Image(VOL)) == ((1.0, 1.0, 1.0), "pixel", False, "unknown")
    ref = image_ref_from_layer(Image(VOL, name="v"))
    assert (ref.voxel_size, ref.unit, ref.voxel_size_known, ref.path) == ((1.0, 1.0, 1.0), "pixel", False, None)
    explicit = Image(VOL)
    set_layer_voxel_size(explicit, (1, 1, 1), "micrometer")  # 1,1,1 on purpose: known
    assert layer_voxel_size(explicit) == ((1.0, 1.0, 1.0), "micrometer", True, "layer")


def test_leading_axes_keep_their_scale():
    layer = Image(np.zeros((3, 4, 8, 8)), scale=(5, 1, 1, 1))
    set_layer_voxel_size(layer, (2, 0.5, 0.5), "micrometer")
    assert tuple(layer.scale) == (5, 2, 0.5, 0.5)
    assert [str(u) for u in layer.units] == ["pixel"] + ["micrometer"] * 3


def test_link_follows_the_layer_into_the_plan_and_boxes_move_with_it():
    plan = Plan(ImageRef((4, 16, 16), voxel_size=(2, 0.5, 0.5)), magnification=(1, 2, 2))
    sync = BoxLayerSync(plan.add_boxes([((0, 0, 0), (2, 8, 8))]))
    image = Image(VOL, scale=(2, 0.5, 0.5))
    labels = Labels(np.zeros((4, 8, 8), np.uint8), **annotation_transform(plan),
                    metadata={"napari-patchwise": {"role": "annotation", "array": "nuclei", "project": "/p"}})

    def apply(new):
        sync.set_plan(new)
        place_project_layers([image, labels, sync.rectangles], new, "/p")

    seen = []
    link = ImageScaleLink(image, lambda: sync.plan, apply)
    link.followed.connect(seen.append)
    image.scale = (1.0, 0.25, 0.25)
    assert sync.plan.image.voxel_size == (1.0, 0.25, 0.25) and sync.plan.boxes[0].lo == (0, 0, 0)
    assert tuple(sync.rectangles.scale) == tuple(sync.wireframes.scale) == (1.0, 0.25, 0.25)
    assert tuple(labels.scale) == (1.0, 0.5, 0.5) and tuple(labels.translate) == (0.0, 0.125, 0.125)
    assert "1,0.25,0.25" in seen[-1]
    image.units = ("nanometer",) * 3
    assert sync.plan.image.unit == "nanometer" and str(sync.rectangles.units[0]) == "nanometer"
    refused = []
    link.refused.connect(refused.append)
    image.scale = (-1.0, 0.25, 0.25)
    assert refused and tuple(image.scale) == (1.0, 0.25, 0.25)
    link.disconnect()
    image.scale = (9, 9, 9)
    assert sync.plan.image.voxel_size == (1.0, 0.25, 0.25)


def test_layers_of_another_project_stay_put():
    plan = Plan(ImageRef((4, 16, 16), voxel_size=(3, 1, 1)))
    other = Labels(np.zeros((4, 16, 16), np.uint8),
                   metadata={"napari-patchwise": {"role": "annotation", "project": "/elsewhere"}})
    assert place_project_layers([other], plan, "/p") == 0 and tuple(other.scale) == (1, 1, 1)
