"""Seeding boxes of a project, and the per-box annotation checks."""

import numpy as np
import pytest

from napari_patchwise.engine import ClassSpec, ImageRef, Plan
from napari_patchwise.engine.plan.annotation import EDITS, WEAK
from napari_patchwise.engine.plan.project import create_project, open_project
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.qc.checks import check_box, check_plan_annotations, check_project
from napari_patchwise.engine.seed.run import (
    box_region,
    cellpose_into_boxes,
    import_into_boxes,
    seed_boxes,
)
from napari_patchwise.engine.plan.annotation_store import annotation_layers, hidden_layer
from napari_patchwise.engine.qc.touching import find_contacts
from napari_patchwise.engine.seed.weaklabels import SeedParams


def _project(tmp_path, sample, mag=(1, 1, 1), classes=None):
    plan = Plan(ImageRef(sample.image.shape, voxel_size=sample.voxel_size), magnification=mag,
                classes=classes or (ClassSpec("nuclei"),))
    plan = plan.add_boxes([((0, 0, 0), (24, 48, 48)), ((0, 48, 48), (24, 96, 96))])
    folder = create_project(tmp_path / "p", plan)
    return plan, open_annotations(folder), folder


def test_seed_boxes_writes_rule_abiding_seeds(tmp_path, sample, sample_project):
    plan, group = open_project(sample_project)
    calls = []
    plan, report = seed_boxes(plan, group, sample.image, params=SeedParams(min_size=10),
                              progress=lambda i, n: calls.append((i, n)))
    assert calls[-1][0] == calls[-1][1]
    assert [b.status for b in plan.boxes] == ["seeded", "seeded"]
    layers = annotation_layers(group, plan)
    nuclei, bg = layers["nuclei"][:], layers["background"][:]
    assert report.threshold is not None and sum(b["objects"] for b in report.boxes.values()) > 5
    # ids unique across boxes, no touching instances, background never under objects
    ids = [set(np.unique(nuclei[box_region(plan, b)])) - {0} for b in plan.boxes]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    assert len(find_contacts(nuclei).pairs()) == 0
    assert not np.any((bg > 0) & (nuclei > 0))
    assert np.array_equal(group[WEAK][:] > 0, (nuclei > 0) | (group[WEAK][:] > 0))
    # nothing written outside the boxes
    outside = np.ones(nuclei.shape, bool)
    for b in plan.boxes:
        outside[box_region(plan, b)] = False
    assert not nuclei[outside].any() and not bg[outside].any()
    assert check_plan_annotations(plan, layers).boxes[1].status == "seeded"


def test_seeding_keeps_edited_voxels_unless_asked(tmp_path, sample, sample_project):
    plan, group = open_project(sample_project)
    layers = annotation_layers(group, plan)
    layers["nuclei"][5, 5:10, 5:10] = 999
    hidden_layer(group, EDITS)[5, 5:10, 5:10] = 1
    plan2, report = seed_boxes(plan, group, sample.image, box_ids=[1])
    assert (layers["nuclei"][5, 5:10, 5:10] == 999).all()
    assert report.boxes[1]["kept"] == 25
    # seeding again replaces the earlier seeds but still keeps the edit
    before = layers["nuclei"][:]
    seed_boxes(plan2, group, sample.image, box_ids=[1], params=SeedParams(method="li"))
    after = layers["nuclei"][:]
    assert (after[5, 5:10, 5:10] == 999).all()
    seeded_before = set(np.unique(before)) - {0, 999}
    assert not (set(np.unique(after)) & seeded_before)  # old seed ids are gone (replaced)
    seed_boxes(plan2, group, sample.image, box_ids=[1], overwrite_edits=True)
    assert not (layers["nuclei"][:] == 999).any()
    assert not group[EDITS][:].any()


def test_semantic_class_and_magnification(tmp_path, sample):
    plan, group, _ = _project(tmp_path, sample, mag=(1, 2, 2), classes=(ClassSpec("nuc", "semantic"),))
    plan, report = seed_boxes(plan, group, sample.image)
    arr = group["nuc"][:]
    assert arr.shape == (24, 48, 48) and set(np.unique(arr)) <= {0, 1} and arr.any()


def test_seed_bad_input(tmp_path, sample, sample_project):
    plan, group = open_project(sample_project)
    with pytest.raises(ValueError, match="plan was made for"):
        seed_boxes(plan, group, sample.image[:10])
    with pytest.raises(ValueError, match="no box 9"):
        seed_boxes(plan, group, sample.image, box_ids=[9])
    with pytest.raises(ValueError, match="no class 'cells'"):
        seed_boxes(plan, group, sample.image, class_name="cells")
    bad = plan.add_boxes([((0, 1, 1), (8, 200, 200))])
    _, rep = seed_boxes(bad, group, sample.image, box_ids=[3])
    assert 3 in rep.skipped and "outside the image" in rep.skipped[3]


def test_import_separates_touching_instances(tmp_path, sample, sample_project):
    plan, group = open_project(sample_project)
    labels = np.zeros(plan.annotation_shape, np.uint32)
    labels[4:10, 4:12, 4:12] = 1
    labels[4:10, 12:20, 4:12] = 2  # touches 1 on a face
    plan, report = import_into_boxes(plan, group, labels, box_ids=[1])
    out = group["nuclei"][:]
    assert len(np.unique(out)) - 1 == 2 and len(find_contacts(out).pairs()) == 0
    assert group["background"][:].sum() > 0  # the carved gap is background
    assert not np.any((group["background"][:] > 0) & (out > 0))
    with pytest.raises(ValueError, match="annotation layers are"):
        import_into_boxes(plan, group, labels[:3])


class FakeCellpose:
    """Stands in for a Cellpose model: same eval signature, returns ellipsoid masks."""

    def __init__(self):
        self.calls = []

    def eval(self, x, diameter=None, do_3D=False, anisotropy=None, z_axis=None, channel_axis=None,
             flow_threshold=0.4, cellprob_threshold=0.0, min_size=15, **kw):
        self.calls.append(dict(shape=x.shape, do_3D=do_3D, anisotropy=anisotropy, diameter=diameter))
        masks = np.zeros(x.shape, np.int32)
        masks[2:6, 2:10, 2:10] = 1
        masks[2:6, 10:18, 2:10] = 2
        return masks, None, None


def test_cellpose_into_boxes_with_a_stand_in(tmp_path, sample, sample_project):
    plan, group = open_project(sample_project)
    model = FakeCellpose()
    plan, report = cellpose_into_boxes(plan, group, sample.image, model, diameter=12)
    assert len(model.calls) == 2 and all(c["do_3D"] for c in model.calls)
    assert model.calls[0]["anisotropy"] == pytest.approx(4.0)  # 2.0 / 0.5
    assert report.method == "cellpose" and sum(b["objects"] for b in report.boxes.values()) == 4
    assert len(find_contacts(group["nuclei"][:]).pairs()) == 0


def test_check_box_findings(tmp_path, sample):
    plan, group, folder = _project(tmp_path, sample, classes=(ClassSpec("nuclei"), ClassSpec("mito", "semantic")))
    L = annotation_layers(group, plan)
    n = L["nuclei"][:]
    n[2:5, 2:6, 2:6] = 1
    n[2:5, 6:10, 2:6] = 2          # touches 1
    n[10, 10, 10] = 3              # a tiny object inside the box
    n[12:15, 20:24, 20:24] = 4
    n[12:15, 30:34, 30:34] = 4     # 4 in two parts
    L["nuclei"][:] = n
    m = np.zeros_like(L["mito"][:])
    m[2, 2, 2] = 1                 # overlaps nuclei
    L["mito"][:] = m
    w = np.zeros(plan.annotation_shape, np.uint8)
    w[20, 40, 40] = 1
    hidden_layer(group, WEAK)[:] = w
    bg = np.zeros(plan.annotation_shape, np.uint8)
    bg[20, 40, 40] = 1             # background over weak foreground
    L["background"][:] = bg
    dense_plan = plan.update_box(1, dense=True)
    q = check_box(dense_plan, L, dense_plan.box(1), hidden={WEAK: group[WEAK]})
    codes = {f.code: f.severity for f in q.findings}
    assert codes == {"touching": "error", "class-overlap": "error", "split-instance": "warning",
                     "tiny-fragment": "warning", "unannotated": "warning",
                     "background-over-object": "warning"}
    assert q.touching["nuclei"].tolist() == [[1, 2]]
    q2 = check_box(dense_plan.update_box(1, status="done"), L, dense_plan.box(1).replace(status="done"))
    assert {f.code: f.severity for f in q2.findings}["unannotated"] == "error"
    # box 2 is empty: todo, and export will skip it
    q3 = check_box(plan, L, plan.box(2))
    assert q3.status == "todo" and [(f.severity, f.code) for f in q3.findings] == [("warning", "not-annotated")]
    _, findings, report = check_project(folder)
    plan_codes = {f.code for f in findings if f.box_id is None}
    assert {"few-class-voxels", "few-objects"} <= plan_codes
    assert report.boxes[1].status == "seeded"
    hidden_layer(group, EDITS)[3, 3, 3] = 1
    assert check_project(folder)[2].boxes[1].status == "in_progress"


def test_no_background_finding_and_fragment_on_face_is_fine(tmp_path, sample, sample_project):
    plan, group = open_project(sample_project)
    L = annotation_layers(group, plan)
    n = np.zeros(plan.annotation_shape, np.uint32)
    n[0, 0, 0] = 5  # a one-voxel piece on the box's face: cut by the box, not a fragment
    L["nuclei"][:] = n
    codes = {f.code for f in check_box(plan, L, plan.box(1)).findings}
    assert codes == {"no-background"}


def test_a_box_without_objects_is_left_unpainted_and_only_background_is_flagged(tmp_path, sample, sample_project):
    plan, group = open_project(sample_project)
    dark = sample.image.copy()
    dark[:, :48, :48] = 100  # box 1 holds nothing above the shared threshold
    plan2, report = seed_boxes(plan, group, dark, params=SeedParams(min_size=20))
    assert report.empty == [1] and "no objects found in boxes 1" in report.summary()
    assert plan2.box(1).status == "todo" and plan2.box(2).status == "seeded"
    L = annotation_layers(group, plan2)
    assert not L["nuclei"][box_region(plan2, plan2.box(1))].any()
    assert not L["background"][box_region(plan2, plan2.box(1))].any()
    L["background"][0:2, 0:4, 0:4] = 1
    codes = {f.code for f in check_box(plan2, L, plan2.box(1)).findings}
    assert codes == {"only-background"}
