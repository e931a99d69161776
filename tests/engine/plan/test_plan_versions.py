"""Every plan.json an earlier release wrote still opens, and migrates to the collection schema
without losing a box or a voxel.

The files in ``data/plan_v1_*.json`` were written by ``patchwise demo`` of earlier releases
(the first one with a CLI; one before boxes carried ``dense``; one recording whether the voxel
size was known; the last one before projects held several images). They are kept byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from napari_patchwise.engine.plan.annotation_store import (
    ANNOTATIONS, ATTRS_KEY, _create_layer, _layers, _meta, open_annotations,
)
from napari_patchwise.engine.plan.collection import COLLECTION_VERSION, Collection
from napari_patchwise.engine.plan.plan_file import load_collection, load_plan
from napari_patchwise.engine.plan.project import save_plan
from napari_patchwise.engine.plan import store_layout

DATA = Path(__file__).parent / "data"
RELEASES = sorted(DATA.glob("plan_v1_?_*.json"))


def test_every_release_is_kept():
    assert len(RELEASES) == 4


@pytest.fixture(params=RELEASES, ids=lambda p: p.stem)
def old_project(request, tmp_path):
    """A project folder as that release left it: its plan.json, and layers at the store's root
    with a few painted voxels in every box."""
    raw = request.param.read_bytes()
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "plan.json").write_bytes(raw)
    plan = load_plan(folder)
    root = zarr.open_group(folder / ANNOTATIONS, mode="w", zarr_format=3,
                           attributes={ATTRS_KEY: _meta(plan)})
    painted = {}
    for k, (name, kind) in enumerate(_layers(plan)):
        a = _create_layer(root, name, kind, plan.annotation_shape)
        for box in plan.boxes:
            lo = [v // m for v, m in zip(box.lo, plan.magnification)]
            a[lo[0], lo[1]:lo[1] + 3, lo[2]:lo[2] + 2] = k + box.id
        painted[name] = a[:]
    return folder, raw, painted


def test_an_old_plan_reads_as_written(old_project):
    folder, raw, _ = old_project
    old = json.loads(raw)
    coll = load_collection(folder)
    assert len(coll.names) == 1
    plan = coll.plan(coll.names[0])
    assert [b.id for b in plan.boxes] == [b["id"] for b in old["boxes"]]
    assert [(tuple(b.lo), tuple(b.hi)) for b in plan.boxes] == \
        [(tuple(b["lo"]), tuple(b["hi"])) for b in old["boxes"]]
    assert [b.status for b in plan.boxes] == [b["status"] for b in old["boxes"]]
    assert tuple(plan.image.shape) == tuple(old["image"]["shape"])
    assert tuple(plan.image.voxel_size) == tuple(old["image"]["voxel_size"])
    assert plan.next_id == old["next_id"]
    assert [c.name for c in plan.classes] == [c["name"] for c in old["classes"]]
    assert (folder / "plan.json").read_bytes() == raw  # reading never writes


def test_an_old_project_migrates_on_its_first_write_without_loss(old_project):
    folder, raw, painted = old_project
    plan = load_plan(folder)
    save_plan(folder, plan)
    written = json.loads((folder / "plan.json").read_text("utf-8"))
    assert written["version"] == COLLECTION_VERSION
    assert (folder / "plan.json.bak").read_bytes() == raw
    name = load_collection(folder).names[0]
    assert load_plan(folder, image=name) == plan
    assert Collection.from_dict(written) == Collection.from_dict(json.loads(raw))
    assert not store_layout.root_arrays(folder / ANNOTATIONS)
    group = open_annotations(folder, mode="r", image=name)
    got = {n: a[:] for n, a in group.arrays()}
    assert set(painted) <= set(got)
    for layer, data in painted.items():
        assert np.array_equal(got[layer], data), layer
        assert np.count_nonzero(data) == 6 * len(plan.boxes)
