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
from napari_patchwise.engine.plan.project import (
    ANNOTATIONS,
    PLAN_FILE,
    ProjectError,
    annotation_array,
    create_project,
    is_project,
    load_plan,
    open_annotations,
    open_project,
    resolve_image_path,
    save_plan,
    write_json_atomic,
)

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


def read_backup(folder: Path) -> Plan:
    return Plan.from_dict(json.loads((folder / "plan.json.bak").read_text("utf-8")))


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
        assert all(c <= m for c, m in zip(arr.chunks, (32, 128, 128)))
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
    assert text.startswith('{\n  "format": "napari-patchwise-plan",\n  "version": 1,')
    assert text.endswith("}\n")
    assert '\n      "id": 1,' in text  # indented boxes
    assert "µm" in text and "first ✓" in text  # non-ASCII stays legible
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


# -- load errors ----------------------------------------------------------------
def _plan_dict(**image_changes):
    d = make_plan().to_dict()
    d["image"].update(image_changes)
    return d


def _bad_box():
    d = make_plan().to_dict()
    d["boxes"][0]["hi"] = [-5, 20, 20]
    return d


GOOD = json.dumps(make_plan().to_dict(), indent=2)

BAD_FILES = {
    "empty": ("", "is empty"),
    "truncated": (GOOD[: len(GOOD) // 2], r"not valid JSON \(line \d+, column \d+"),
    "foreign": ('{"hello": 1}', "not a napari-patchwise plan"),
    "list": ("[1, 2, 3]", "not a napari-patchwise plan"),
    "newer": (json.dumps({**make_plan().to_dict(), "version": 999}), "version 999.*upgrade"),
    "negative-box": (json.dumps(_bad_box()), r"boxes\[0\].*non-positive size"),
    "2d-image": (json.dumps(_plan_dict(shape=[45, 50])), "2D image"),
    "binary": (b"\xff\xfe\x00garbage", "not UTF-8"),
    "wrong-type": (json.dumps({**make_plan().to_dict(), "classes": 5}), "wrong type"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("with_backup", [False, True])
def test_load_bad_plan_file(tmp_path, case, with_backup):
    content, phrase = BAD_FILES[case]
    path = tmp_path / PLAN_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if with_backup:
        (tmp_path / "plan.json.bak").write_text(GOOD)
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match=phrase) as info:
        load_plan(tmp_path)
    message = str(info.value)
    assert str(path) in message
    assert ("plan.json.bak" in message) == with_backup
    with pytest.raises(ProjectError):
        open_project(tmp_path)
    assert is_project(tmp_path) == (case in ("newer", "negative-box", "2d-image", "wrong-type"))
    assert snapshot(tmp_path) == state


@pytest.mark.parametrize(
    "make, phrase",
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is not a folder"),
        (lambda p: (p / PLAN_FILE).write_text(GOOD) and p / PLAN_FILE, "choose its parent folder"),
        (lambda p: (p / "e").mkdir() or p / "e", "not a napari-patchwise project: no plan.json"),
    ],
    ids=["missing", "file", "plan-file", "no-plan"],
)
def test_load_bad_folder(tmp_path, make, phrase):
    target = make(tmp_path)
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match=phrase):
        load_plan(target)
    with pytest.raises(ProjectError, match=phrase):
        save_plan(target, make_plan())
    assert not is_project(target)
    assert snapshot(tmp_path) == state


def test_load_does_not_touch_files(tmp_path):
    create_project(tmp_path, make_plan())
    save_plan(tmp_path, make_plan().remove_box(1))
    state = snapshot(tmp_path)
    load_plan(tmp_path)
    open_annotations(tmp_path, mode="r")
    is_project(tmp_path)
    assert snapshot(tmp_path) == state


# -- annotations follow the plan --------------------------------------------------
def test_new_class_keeps_painted_data(tmp_path):
    plan = make_plan()
    create_project(tmp_path, plan)
    nuclei = annotation_array(tmp_path, "nuclei")
    nuclei[2:4, 5:8, 10:12] = 3
    nuclei[19, 22, 24] = 4_000_000_000
    painted = nuclei[:]
    bigger = plan.replace(classes=(*plan.classes, ClassSpec("membrane", "semantic")))
    save_plan(tmp_path, bigger)
    group = open_annotations(tmp_path, mode="r")
    assert group["membrane"].dtype == np.uint8 and group["membrane"].shape == ANN_SHAPE
    np.testing.assert_array_equal(group["nuclei"][:], painted)
    classes = group.attrs["napari-patchwise"]["classes"]
    assert classes[-1] == {"name": "membrane", "kind": "semantic"}
    # removing a class from the plan never deletes its layer
    save_plan(tmp_path, plan.replace(classes=(ClassSpec("mito", "semantic"),)))
    np.testing.assert_array_equal(open_annotations(tmp_path, mode="r")["nuclei"][:], painted)


def test_magnification_change_with_painted_data_refused(tmp_path):
    create_project(tmp_path, make_plan())
    annotation_array(tmp_path, "ignore")[0, 0, 0] = 1
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match=r"\['ignore'\] hold painted labels.*new project"):
        save_plan(tmp_path, make_plan(magnification=(1, 1, 1)))
    assert snapshot(tmp_path) == state


def test_magnification_change_without_painted_data(tmp_path):
    create_project(tmp_path, make_plan())
    arr = annotation_array(tmp_path, "nuclei")
    arr[0, 0, 0] = 9
    arr[0, 0, 0] = 0  # erased strokes leave no chunk behind
    new = make_plan(magnification=(2, 4, 4)).remove_box(1).remove_box(2)
    save_plan(tmp_path, new)
    plan, group = open_project(tmp_path)
    assert plan == new
    for name in ("nuclei", "mito", "background", "ignore"):
        assert group[name].shape == (10, 12, 13)
    assert group["nuclei"].dtype == np.uint32 and group["mito"].dtype == np.uint8
    assert group.attrs["napari-patchwise"]["magnification"] == [2, 4, 4]


def test_class_kind_change(tmp_path):
    plan = make_plan()
    create_project(tmp_path, plan)
    semantic = plan.replace(classes=(ClassSpec("nuclei", "semantic"), plan.classes[1]))
    save_plan(tmp_path, semantic)  # empty: recreated with the new kind
    assert annotation_array(tmp_path, "nuclei").dtype == np.uint8
    annotation_array(tmp_path, "nuclei")[1, 1, 1] = 1
    state = snapshot(tmp_path)
    with pytest.raises(ProjectError, match="holds painted semantic labels.*new name"):
        save_plan(tmp_path, plan)
    assert snapshot(tmp_path) == state


def test_open_annotations_mismatch(tmp_path):
    create_project(tmp_path, make_plan())
    wrong = r"layer 'nuclei' is uint32 \(20, 23, 25\), not uint32 \(20, 45, 50\)"
    with pytest.raises(ProjectError, match=wrong):
        open_annotations(tmp_path, make_plan(magnification=1))
    with pytest.raises(ProjectError, match="layer 'cells' is missing.*save_plan"):
        open_annotations(tmp_path, make_plan(classes=(ClassSpec("cells"),)))
    with pytest.raises(ValueError, match="mode must be 'r' or 'r\\+'"):
        open_annotations(tmp_path, mode="w")
    (tmp_path / ANNOTATIONS / "zarr.json").write_text("{oops")
    with pytest.raises(ProjectError, match="not a readable zarr group"):
        open_project(tmp_path)


def test_missing_annotations(tmp_path):
    create_project(tmp_path, make_plan())
    os.rename(tmp_path / ANNOTATIONS, tmp_path / "elsewhere.zarr")
    with pytest.raises(ProjectError, match="no annotations.zarr in"):
        open_project(tmp_path)
    save_plan(tmp_path, make_plan())  # starts again with empty layers
    assert open_project(tmp_path)[1]["nuclei"].shape == ANN_SHAPE


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


def test_is_project(tmp_path):
    assert not is_project(tmp_path)
    assert not is_project(tmp_path / "nope")
    assert not is_project(None)
    (tmp_path / PLAN_FILE).write_text('{"format": "something-else"}')
    assert not is_project(tmp_path)
    assert not is_project(tmp_path / PLAN_FILE)
    (tmp_path / PLAN_FILE).write_text(GOOD)
    assert is_project(tmp_path)


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
