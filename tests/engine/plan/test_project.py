"""Project folders: plan.json + annotations.zarr on disk."""

from __future__ import annotations

import json
import os
import string
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.geometry.box import SOURCES, STATUSES
from napari_patchwise.engine.plan.collection import Collection
from napari_patchwise.engine.plan.annotation_store import ANNOTATIONS, MAX_CHUNKS, annotation_array, open_annotations
from napari_patchwise.engine.plan.plan_file import PLAN_FILE, ProjectError, is_project, load_plan
from napari_patchwise.engine.plan.project import create_project, open_project, resolve_image_path, save_plan
from napari_patchwise.engine.plan.atomic import write_json_atomic

from project_helpers import ANN_SHAPE, SHAPE, make_plan, snapshot



def read_backup(folder: Path) -> Plan:
    return Collection.from_dict(json.loads((folder / "plan.json.bak").read_text("utf-8"))).images[0].plan


def tmp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or ".old." in p.name)


# -- round trip ---------------------------------------------------------------
def test_round_trip(tmp_path):
    plan = make_plan()
    folder = create_project(tmp_path / "a" / "proj", plan)
    assert folder == tmp_path / "a" / "proj"
    loaded = load_plan(folder)
    assert loaded.to_dict() == plan.to_dict()
    assert loaded == plan
    assert loaded.box(2).stats == {"snr": 1.5}

    group = open_annotations(folder, mode="r")
    assert plan.annotation_shape == ANN_SHAPE
    expected = {"nuclei": "uint32", "mito": "uint8", "background": "uint8", "ignore": "uint8"}
    assert sorted(group.array_keys()) == sorted(expected)
    for name, dtype in expected.items():
        arr = group[name]
        assert arr.shape == ANN_SHAPE
        assert arr.dtype == np.dtype(dtype)
        assert all(c <= m for c, m in zip(arr.chunks, MAX_CHUNKS))
        assert arr.fill_value == 0
        assert arr.nchunks_initialized == 0
    assert group["nuclei"].attrs["kind"] == "instance"
    assert group["mito"].attrs["kind"] == "semantic"
    assert group["ignore"].attrs["kind"] == "ignore"
    assert group.attrs["napari-patchwise"] == {
        "magnification": [1, 2, 2],
        "classes": [{"name": "nuclei", "kind": "instance"}, {"name": "mito", "kind": "semantic"}],
    }
    assert tmp_files(folder) == []


def test_open_project_paints_persist(tmp_path):
    create_project(tmp_path, make_plan())
    plan, group = open_project(tmp_path)
    group["nuclei"][3, 4:6, 5] = 7
    annotation_array(tmp_path, "ignore")[0, 0, 0] = 1
    assert annotation_array(open_annotations(tmp_path, mode="r"), "nuclei")[3, 5, 5] == 7
    assert annotation_array(tmp_path, "ignore", mode="r")[0, 0, 0] == 1
    with pytest.raises(ProjectError, match="no annotation layer 'cells'.*nuclei"):
        annotation_array(group, "cells")


def test_plan_json_is_readable(tmp_path):
    create_project(tmp_path, make_plan())
    text = (tmp_path / PLAN_FILE).read_text(encoding="utf-8")
    assert text.startswith('{\n  "format": "napari-patchwise-plan",\n  "version": 2,')
    assert text.endswith("}\n")
    assert '\n          "id": 1,' in text  # indented boxes (in their image)
    assert "first ✓" in text and "\\u" not in text  # non-ASCII stays legible
    assert is_project(tmp_path)


def test_write_json_atomic(tmp_path):
    path = write_json_atomic(tmp_path / "x.json", {"a": [1, "é"]})
    assert json.loads(path.read_text(encoding="utf-8")) == {"a": [1, "é"]}
    assert tmp_files(tmp_path) == []


def test_lone_surrogate_round_trips(tmp_path):
    plan = make_plan().update_box(1, notes="bad \ud800 char")
    create_project(tmp_path, plan)
    assert load_plan(tmp_path).box(1).notes == "bad \ud800 char"


# -- atomic saves ---------------------------------------------------------------
class HalfWriter:
    """A file that writes ``keep`` in full but only half of anything else, then
    fails like a full disk."""

    def __init__(self, f, keep: bytes):
        self.f, self.keep = f, keep

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def __getattr__(self, name):  # flush, fileno, ...
        return getattr(self.f, name)

    def write(self, data):
        if data == self.keep:
            return self.f.write(data)
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize("fail_at", ["replace", "fsync", "half-write"])
def test_crash_during_save_keeps_previous_plan(tmp_path, monkeypatch, fail_at):
    plan = make_plan()
    create_project(tmp_path, plan)
    before = (tmp_path / PLAN_FILE).read_bytes()
    new_plan = plan.update_box(1, status="done").replace(
        classes=(*plan.classes, ClassSpec("cells"))
    )
    real_replace, real_fdopen = os.replace, os.fdopen

    def crash_replace(src, dst):
        if str(dst).endswith(PLAN_FILE):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    def crash_fsync(fd):
        raise OSError(5, "Input/output error")

    def half_write_new_plan(fd, *args, **kwargs):  # the backup (old bytes) is written in full
        return HalfWriter(real_fdopen(fd, *args, **kwargs), keep=before)

    patch = {"replace": crash_replace, "fsync": crash_fsync, "half-write": half_write_new_plan}
    monkeypatch.setattr(os, "fdopen" if fail_at == "half-write" else fail_at, patch[fail_at])
    with pytest.raises(ProjectError, match="previous plan.json is unchanged"):
        save_plan(tmp_path, new_plan)
    monkeypatch.undo()

    assert (tmp_path / PLAN_FILE).read_bytes() == before
    assert load_plan(tmp_path) == plan
    assert tmp_files(tmp_path) == []
    if fail_at != "fsync":
        assert (tmp_path / "plan.json.bak").read_bytes() == before
    # the extra layer that was added is harmless; saving again completes the job
    save_plan(tmp_path, new_plan)
    assert load_plan(tmp_path) == new_plan
    assert open_annotations(tmp_path, new_plan, mode="r")["cells"].dtype == np.uint32


def test_leftover_temp_file_is_ignored(tmp_path):
    plan = make_plan()
    create_project(tmp_path, plan)
    half = (tmp_path / PLAN_FILE).read_bytes()[:100]
    (tmp_path / ".plan.json.k3j2l.tmp").write_bytes(half)  # killed mid-write
    assert is_project(tmp_path)
    assert load_plan(tmp_path) == plan
    save_plan(tmp_path, plan.remove_box(1))
    assert load_plan(tmp_path) == plan.remove_box(1)


def test_backup_kept(tmp_path):
    p1 = make_plan()
    p2 = p1.remove_box(1)
    p3 = p2.update_box(2, notes="checked")
    create_project(tmp_path, p1)
    bak = tmp_path / "plan.json.bak"
    assert not bak.exists()
    save_plan(tmp_path, p2)
    assert read_backup(tmp_path) == p1
    save_plan(tmp_path, p3)
    assert read_backup(tmp_path) == p2
    # saving the same plan again rewrites nothing, so the backup keeps the previous version
    state = snapshot(tmp_path)
    assert save_plan(tmp_path, p3) == tmp_path / PLAN_FILE
    assert snapshot(tmp_path) == state
    # a damaged plan.json never replaces a good backup
    (tmp_path / PLAN_FILE).write_text('{"format": ', encoding="utf-8")
    with pytest.raises(ProjectError, match=r"plan\.json\.bak"):
        load_plan(tmp_path)
    save_plan(tmp_path, p1)
    assert read_backup(tmp_path) == p2
    assert load_plan(tmp_path) == p1


# -- create_project -------------------------------------------------------------
def test_create_refuses_existing_project(tmp_path):
    create_project(tmp_path, make_plan())
    annotation_array(tmp_path, "nuclei")[0, 0, 0] = 5
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match="already a napari-patchwise project; open it instead"):
        create_project(tmp_path, make_plan(magnification=(1, 1, 1)))
    assert snapshot(tmp_path) == state

    other = make_plan(magnification=(1, 1, 1)).remove_box(2)
    create_project(tmp_path, other, overwrite=True)
    assert load_plan(tmp_path) == other
    group = open_annotations(tmp_path, mode="r")
    assert group["nuclei"].shape == SHAPE
    assert group["nuclei"].nchunks_initialized == 0  # annotations were recreated
    assert read_backup(tmp_path) == make_plan()
    assert tmp_files(tmp_path) == []


def test_create_refuses_foreign_folder(tmp_path):
    (tmp_path / "raw.tif").write_bytes(b"II*\x00data")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("keep me")
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match="not empty and holds no napari-patchwise project"):
        create_project(tmp_path, make_plan())
    assert snapshot(tmp_path) == state

    create_project(tmp_path, make_plan(), overwrite=True)
    assert (tmp_path / "raw.tif").read_bytes() == b"II*\x00data"
    assert (tmp_path / "notes" / "a.txt").read_text() == "keep me"
    assert load_plan(tmp_path) == make_plan()
    assert resolve_image_path(tmp_path, make_plan()) == tmp_path / "raw.tif"


def test_create_refuses_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(ProjectError, match="is a file"):
        create_project(path, make_plan())
    with pytest.raises(TypeError, match="expected a Plan"):
        create_project(tmp_path / "new", make_plan().to_dict())
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_files_get_the_folder_permissions(tmp_path):
    folder = tmp_path / "proj"
    folder.mkdir(mode=0o750)
    os.chmod(folder, 0o750)
    create_project(folder, make_plan())
    save_plan(folder, make_plan().remove_box(1))
    assert (folder / PLAN_FILE).stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600
    assert (folder / "plan.json.bak").stat().st_mode & 0o777 == 0o640
    assert (folder / ANNOTATIONS).stat().st_mode & 0o777 == 0o750  # not mkdtemp's 0700


def test_resolve_image_path(tmp_path):
    assert resolve_image_path(tmp_path, make_plan()) == tmp_path / "raw.tif"
    absolute = tmp_path / "data" / "raw.zarr"
    plan = make_plan(image=ImageRef(SHAPE, path=str(absolute)))
    assert resolve_image_path("elsewhere", plan) == absolute
    assert resolve_image_path(tmp_path, make_plan(image=ImageRef(SHAPE))) is None
    with pytest.raises(ValueError, match="path must be text"):
        ImageRef(SHAPE, path=5)


# -- property: any plan survives save and load ---------------------------------------
NAMES = st.text(string.ascii_letters, min_size=1, max_size=1).flatmap(
    lambda first: st.text(string.ascii_letters + string.digits + "_-", max_size=8).map(
        lambda rest: first + rest
    )
).filter(lambda n: n not in ("background", "ignore"))
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False),
    st.text(max_size=6),
)


@st.composite
def plans(draw):
    mag = tuple(draw(st.sampled_from([1, 2, 4])) for _ in range(3))
    shape = tuple(draw(st.integers(1, 300)) for _ in range(3))
    voxel = tuple(draw(st.floats(1e-3, 1e4)) for _ in range(3))
    preset = draw(
        st.sampled_from(["neuron", "instance", "membrane"]).map(get_preset)
        | st.tuples(*[st.integers(1, 64)] * 3).map(lambda m: get_preset("custom", minimum=m))
    )
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    classes = tuple(ClassSpec(n, draw(st.sampled_from(["instance", "semantic"]))) for n in names)
    image = ImageRef(
        shape,
        dtype=draw(st.sampled_from(["uint8", "uint16", "float32"])),
        voxel_size=voxel,
        path=draw(st.none() | st.text(max_size=12)),
        name=draw(st.text(max_size=8)),
        unit=draw(st.sampled_from(["micrometer", "nm", "µm"])),
    )
    plan = Plan(image, preset, mag, classes, next_id=draw(st.integers(1, 5)))
    for _ in range(draw(st.integers(0, 6))):
        lo, hi = [], []
        for s, m in zip(shape, mag):
            cells = max(1, s // m)
            i = draw(st.integers(0, cells - 1))
            k = draw(st.integers(1, cells - i))
            lo.append(i * m)
            hi.append((i + k) * m)
        plan, _ = plan.add_box(
            lo,
            hi,
            source=draw(st.sampled_from(SOURCES)),
            status=draw(st.sampled_from(STATUSES)),
            stratum=draw(st.none() | st.text(max_size=6)),
            notes=draw(st.text(max_size=20)),
            locked=draw(st.booleans()),
            stats=draw(st.dictionaries(st.text(max_size=4), JSON_SCALARS, max_size=3)),
        )
    if plan.boxes and draw(st.booleans()):
        plan = plan.remove_box(plan.boxes[0].id)
    return plan


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(first=plans(), second=plans())
def test_any_plan_round_trips(first, second):
    with tempfile.TemporaryDirectory() as tmp:
        create_project(tmp, first)
        assert load_plan(tmp).to_dict() == first.to_dict()
        save_plan(tmp, second)  # nothing painted, so any change is allowed
        loaded, group = open_project(tmp)
        assert loaded.to_dict() == second.to_dict()
        assert loaded == second
        assert group["background"].shape == second.annotation_shape
        assert tmp_files(Path(tmp)) == []


def test_a_save_of_boxes_alone_leaves_the_annotation_store_alone(tmp_path, monkeypatch):
    import napari_patchwise.engine.plan.project as project_module

    plan = make_plan()
    create_project(tmp_path, plan)
    synced = []
    real = project_module.sync_annotations
    monkeypatch.setattr(project_module, "sync_annotations", lambda *a: (synced.append(a[2]), real(*a)))
    save_plan(tmp_path, plan.update_box(2, notes="checked").remove_box(1))
    assert synced == [] and load_plan(tmp_path) == plan.update_box(2, notes="checked").remove_box(1)
    wider = plan.replace(classes=(*plan.classes, ClassSpec("golgi", "semantic")))
    save_plan(tmp_path, wider)  # a new class: its array is made
    assert len(synced) == 1 and open_annotations(tmp_path, mode="r")["golgi"].dtype == np.uint8
