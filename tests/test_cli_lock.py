"""One writer per project through the ``patchwise`` command.

Chosen behaviour: a second writer is refused at once (exit code 2, the holder
named, nothing changed); it does not wait. Readers (validate, check) run
while a writer holds the project.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from napari_patchwise.cli import main
from napari_patchwise.engine import ImageRef, Plan, get_preset
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.lock import LockHolder, ProjectLock, lock_holder
from napari_patchwise.engine.plan.plan_file import LOCK_FILE, load_plan
from napari_patchwise.engine.plan.project import create_project
from napari_patchwise.engine.plan.annotation_store import open_annotations

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

SHAPE = (24, 96, 96)
#: two disjoint boxes (full-resolution corners)
BOXES = [((0, 0, 0), (16, 48, 48)), ((0, 0, 56), (16, 40, 96))]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from napari_patchwise.engine.samples.nuclei import make_sample

    s = make_sample(SHAPE)
    path = tmp_path_factory.mktemp("inputs") / "image.tif"
    write_tiff(path, s.image, s.voxel_size)
    return path


@pytest.fixture
def project(image, tmp_path):
    from napari_patchwise.engine.samples.nuclei import VOXEL_SIZE

    ref = ImageRef(SHAPE, "uint16", VOXEL_SIZE, path=str(image), name="image")
    plan = Plan(ref, get_preset("custom", minimum=(16, 32, 32)), (1, 1, 1)).add_boxes(BOXES)
    return create_project(tmp_path / "proj", plan)


def _seed(project, box: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "napari_patchwise.cli", "seed", str(project), "--boxes", str(box)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _written_holder(project) -> LockHolder | None:
    """The holder a lock file names; read without locking, so a command starting now is not disturbed."""
    try:
        return LockHolder.from_text((project / LOCK_FILE).read_text())
    except OSError:
        return None


def _until_locked_by(proc: subprocess.Popen, project, timeout: float = 300) -> None:
    """Wait until ``proc`` holds the project's lock (fails if it ends first)."""
    waited = 0.0
    while (holder := _written_holder(project)) is None or holder.pid != proc.pid:
        try:
            proc.wait(timeout=0.005)
        except subprocess.TimeoutExpired:
            waited += 0.005
            assert waited < timeout, "the command never took the lock"
        else:
            pytest.fail(f"the command ended before it was seen holding the lock: {proc.communicate()}")


def _snapshot(project) -> dict:
    out = {"plan.json": (project / "plan.json").read_bytes()}
    group = open_annotations(project, mode="r")
    out.update({name: np.asarray(a[...]).tobytes() for name, a in group.arrays()})
    return out


def _assert_both_seeded_with_unique_ids(project) -> None:
    plan = load_plan(project)
    assert [b.status for b in plan.boxes] == ["seeded", "seeded"]  # neither writer's status lost
    nuclei = np.asarray(open_annotations(project, plan, mode="r")["nuclei"][...])
    ids = [set(np.unique(nuclei[b.slices(plan.magnification)]).tolist()) - {0} for b in plan.boxes]
    assert ids[0] and ids[1]
    assert not ids[0] & ids[1], f"instance ids reused across boxes: {sorted(ids[0] & ids[1])[:10]}"


def test_a_second_seed_is_refused_while_the_first_runs_then_both_boxes_keep_their_seeds(project):
    first = _seed(project, 1)
    _until_locked_by(first, project)
    first.send_signal(signal.SIGSTOP)  # paused while it holds the project (python starts slower than it seeds)
    try:
        second = _seed(project, 2)
        out2, err2 = second.communicate(timeout=300)
    finally:
        first.send_signal(signal.SIGCONT)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 2, (out2, err2)
    assert f"{project} is being changed by patchwise seed {project} --boxes 1 (pid {first.pid} on " in err2
    assert "wait for that command to finish" in err2 and "Nothing was changed" in err2
    assert "Traceback" not in err2 and out2 == ""
    assert [b.status for b in load_plan(project).boxes] == ["seeded", "todo"]
    assert main(["seed", str(project), "--boxes", "2"]) == 0  # after the first: ids follow its ids
    _assert_both_seeded_with_unique_ids(project)
    assert not (project / LOCK_FILE).exists()


def test_two_seeds_started_together_never_corrupt_the_project(project):
    """Whichever runs first, the other is refused or runs after it; a rerun completes the work."""
    procs = {1: _seed(project, 1), 2: _seed(project, 2)}
    results = {box: (p.pid, *p.communicate(timeout=300), p.returncode) for box, p in procs.items()}
    for box, (pid, out, err, code) in results.items():
        assert code in (0, 2), err
        if code == 2:
            other = results[3 - box]
            assert f"(pid {other[0]} on " in err and "Traceback" not in err
            assert main(["seed", str(project), "--boxes", str(box)]) == 0
    _assert_both_seeded_with_unique_ids(project)


def test_writers_are_refused_and_readers_run_while_a_viewer_holds_the_project(project, image, capsys):
    before = _snapshot(project)
    with ProjectLock(project, "napari, where the project is open"):
        for argv in (["seed", str(project)],
                     ["check", str(project), "--update-status"],
                     ["propose", str(image), "-o", str(project), "--n", "1"]):
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert f"patchwise {argv[0]}: error: {project} is being changed by napari" in err, err
            assert f"(pid {os.getpid()} on " in err
        assert _snapshot(project) == before  # nothing changed
        assert main(["validate", str(project)]) == 0
        assert main(["check", str(project)]) == 0
        assert "2 boxes" in capsys.readouterr().out
    assert main(["check", str(project), "--update-status"]) == 0


def test_a_seed_killed_while_holding_the_lock_leaves_a_lock_the_next_seed_takes_over(project, capsys):
    killed = _seed(project, 1)
    _until_locked_by(killed, project)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert (project / LOCK_FILE).exists() and lock_holder(project) is None  # left behind, held by nobody
    assert main(["seed", str(project)]) == 0
    assert "took over" not in capsys.readouterr().err  # silently
    _assert_both_seeded_with_unique_ids(project)
    assert not (project / LOCK_FILE).exists()


def test_a_new_project_is_locked_while_it_is_made_and_a_failed_one_leaves_no_folder(image, tmp_path, capsys):
    out = tmp_path / "new" / "proj"
    assert main(["propose", str(image), "-o", str(out), "--size", "0,0,0"]) == 2
    assert not (tmp_path / "new").exists()  # refused before anything was made
    with ProjectLock(tmp_path, "holder"):  # an empty folder another program is making a project in
        assert main(["propose", str(image), "-o", str(tmp_path), "--preset", "custom", "--size", "16,32,32",
                     "--n", "1"]) == 2
        assert "is being changed by holder" in capsys.readouterr().err
    assert main(["propose", str(image), "-o", str(out), "--preset", "custom", "--size", "16,32,32",
                 "--n", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["annotations.zarr", "plan.json", "rounds"]


def test_readers_take_no_lock_and_read_plan_json_once(project, tmp_path, monkeypatch):
    """validate, check and export see one save of plan.json (replaced atomically), never two."""
    import napari_patchwise.engine.plan.plan_file as project_module

    assert main(["seed", str(project)]) == 0
    reads = []
    parse = project_module._parse_plan
    monkeypatch.setattr(project_module, "_parse_plan", lambda path: reads.append(path) or parse(path))
    with ProjectLock(project, "a writer"):
        for argv in (["validate", project], ["check", project],
                     ["export", project, "--format", "omezarr", "-o", tmp_path / "out"]):
            reads.clear()
            assert main([str(a) for a in argv]) in (0, 1), argv
            assert reads == [project / "plan.json"], argv
    assert (tmp_path / "out").is_dir()
