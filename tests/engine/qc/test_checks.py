"""check_project on a seeded project: box rules and annotation findings, statuses derived, nothing written."""

from __future__ import annotations

import numpy as np

from napari_patchwise.engine import check_project, load_plan, open_annotations, worst_severity
from napari_patchwise.engine.qc.checks import check_box


def _tree(folder):
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_a_seeded_project_checks_clean_and_writes_nothing(seeded_project):
    before = _tree(seeded_project)
    plan, findings, report = check_project(seeded_project)
    assert _tree(seeded_project) == before
    assert [b.status for b in plan.boxes] == ["seeded", "seeded"]
    # seeding keeps its own rules: ids never touch, background never lies under objects
    codes = {f.code for f in findings}
    assert not {"touching", "class-overlap"} & codes
    assert worst_severity(findings) != "error"
    assert set(report.boxes) == {1, 2}


def test_touching_paint_in_a_seeded_box_is_an_error_of_that_box(seeded_project):
    plan = load_plan(seeded_project)
    group = open_annotations(seeded_project, plan)
    nuclei = group["nuclei"]
    box = plan.box(2)
    region = box.slices(plan.magnification)
    block = np.asarray(nuclei[region])
    z = block.shape[0] // 2
    block[z, 0:4, 0:4] = 9001
    block[z, 0:4, 4:8] = 9002  # face to face with 9001
    nuclei[region] = block
    _, findings, _ = check_project(seeded_project)
    touching = [f for f in findings if f.code == "touching"]
    assert [f.box_id for f in touching] == [2] and touching[0].severity == "error"
    qc = check_box(plan, {"nuclei": nuclei, "background": group["background"], "ignore": group["ignore"]}, box)
    assert [9001, 9002] in qc.touching["nuclei"].tolist()
