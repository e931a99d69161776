"""The project lock across processes: refusal naming the holder, stale locks after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from napari_patchwise.engine.plan.lock import LockHolder, ProjectLock, ProjectLocked, lock_holder, project_lock
from napari_patchwise.engine.plan.plan_file import LOCK_FILE, ProjectError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses fork and SIGKILL")

HOLD = """
import os, sys, time
from napari_patchwise.engine.plan.lock import ProjectLock
lock = ProjectLock(sys.argv[1], "patchwise seed " + sys.argv[1]).acquire()
{after}
print("holding", flush=True)
sys.stdin.readline()  # held until the test closes stdin (or kills this process)
"""


def _holder(folder, after: str = "") -> subprocess.Popen:
    """A child process holding the lock of ``folder``; returns once it holds it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    code = textwrap.dedent(HOLD.format(after=after))
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "holding", "the child did not take the lock"
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdin.close()
    proc.stdout.close()


def test_a_second_writer_is_refused_naming_the_holder_and_the_fix(tmp_path):
    (tmp_path / "plan.json").write_text("{}")
    proc = _holder(tmp_path)
    try:
        with pytest.raises(ProjectLocked) as info:
            ProjectLock(tmp_path, "patchwise check --update-status").acquire()
        message = str(info.value)
        assert f"patchwise seed {tmp_path} (pid {proc.pid} on " in message
        assert "wait for that command to finish" in message and "close the project in that napari" in message
        assert info.value.holder.pid == proc.pid
        assert lock_holder(tmp_path).pid == proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert lock_holder(tmp_path) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]  # released: no lock file left


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    proc = _holder(tmp_path)
    _kill(proc)
    left = (tmp_path / LOCK_FILE).read_text()
    assert LockHolder.from_text(left).pid == proc.pid  # the file stays, naming the dead holder
    assert lock_holder(tmp_path) is None  # but nobody holds it
    with ProjectLock(tmp_path, "patchwise seed again"):
        assert lock_holder(tmp_path).command == "patchwise seed again"
        assert lock_holder(tmp_path).pid == os.getpid()
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_forked_child_does_not_keep_a_killed_parents_lock(tmp_path):
    """A worker forked while the lock is held (e.g. a process pool) outlives its parent."""
    folder, pid_file = tmp_path / "proj", tmp_path / "child.pid"
    folder.mkdir()
    after = ("r, w = os.pipe()\n"
             "pid = os.fork()\n"
             "if pid == 0:\n"  # its fork handlers have run once the child runs this: it says so
             "    os.write(w, b'x'); time.sleep(120); os._exit(0)\n"
             "os.read(r, 1)\n"  # a busy machine may run the child late: the parent waits for it
             f"open({str(pid_file)!r}, 'w').write(str(pid))")
    proc = _holder(folder, after)
    child = int(pid_file.read_text())
    try:
        _kill(proc)
        assert lock_holder(folder) is None
        ProjectLock(folder, "next").acquire().release()
    finally:
        os.kill(child, signal.SIGKILL)


def test_two_locks_in_one_process_exclude_each_other(tmp_path):
    """A viewer and a command run in the same Python: flock locks belong to the open file."""
    with ProjectLock(tmp_path, "napari"):
        with pytest.raises(ProjectLocked, match="is being changed by napari"):
            with project_lock(tmp_path, "patchwise seed"):
                pass
        assert lock_holder(tmp_path).command == "napari"  # the refused one took nothing
    assert lock_holder(tmp_path) is None


def test_acquiring_twice_and_releasing_twice_is_harmless(tmp_path):
    lock = ProjectLock(tmp_path, "a")
    assert lock.acquire() is lock.acquire() and lock.held
    lock.release()
    lock.release()
    assert not lock.held and lock_holder(tmp_path) is None


def test_a_garbled_lock_file_is_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_bytes(b"\xff\x00 not a holder")
    assert lock_holder(tmp_path) is None
    with ProjectLock(tmp_path, "b"):
        assert lock_holder(tmp_path).command == "b"


def test_a_folder_that_cannot_hold_a_lock_file_says_why(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write into read-only folders")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(ProjectError, match="cannot create the lock file .* you may write to"):
            ProjectLock(tmp_path, "c").acquire()
    finally:
        tmp_path.chmod(0o755)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        ProjectLock(tmp_path / "gone", "d").acquire()


def test_project_lock_for_a_new_project_removes_the_folders_it_made_on_failure(tmp_path):
    target = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError):
        with project_lock(target, "patchwise propose", create=True):
            assert target.is_dir()
            raise RuntimeError("the proposal failed")
    assert list(tmp_path.iterdir()) == []
    with project_lock(target, "patchwise propose", create=True):
        (target / "plan.json").write_text("{}")
    assert sorted(p.name for p in target.iterdir()) == ["plan.json"]


def test_project_lock_refused_leaves_no_new_folder(tmp_path):
    with ProjectLock(tmp_path, "holder"):
        with pytest.raises(ProjectLocked):
            with project_lock(tmp_path, "other", create=True):
                pass
    assert list(Path(tmp_path).iterdir()) == []


def test_a_holder_letting_go_within_the_grace_is_waited_for(tmp_path):
    import threading

    from napari_patchwise.engine.plan.lock import GRACE

    holder = ProjectLock(tmp_path, "finishing").acquire()
    timer = threading.Timer(GRACE / 5, holder.release)
    timer.start()
    try:
        with ProjectLock(tmp_path, "next") as lock:
            assert lock.held and lock_holder(tmp_path).command == "next"
    finally:
        timer.join()
