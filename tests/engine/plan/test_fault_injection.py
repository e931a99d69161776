"""Kills at every write step of export, seed and save: nothing is lost, a rerun equals a clean run.

Each run happens in a child process (forked from a server that has the
package imported, so a child costs milliseconds). An audit hook counts the
child's write steps under the test folder (opening a file for writing,
rename, link, mkdir, chmod, remove, the ``renameat2`` exchange) and SIGKILLs the
child at step ``k``; other children are killed after a delay instead, which
can stop them in the middle of writing a file. After each kill:

* the project still loads and validates (``patchwise validate``);
* the previous export is intact (the export folder is the old one or the
  complete new one, never missing, never half written);
* running the same step again gives, byte for byte, what a run that was
  never interrupted gives (creation times are fixed by ``SOURCE_DATE_EPOCH``),
  with nothing left over.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from napari_patchwise import cli
from napari_patchwise.engine import ClassSpec, ImageRef, Plan, get_preset
from napari_patchwise.engine.export import ExportOptions, export_project
from napari_patchwise.engine.io.tiff_write import write_tiff
from napari_patchwise.engine.plan.project import create_project, save_plan
from napari_patchwise.engine.plan.plan_file import load_plan
from napari_patchwise.engine.plan.annotation_store import open_annotations
from napari_patchwise.engine.plan.annotation_store import annotation_layers

SHAPE = (16, 64, 64)
BOXES = [((0, 0, 0), (8, 32, 32)), ((0, 0, 32), (8, 32, 64)), ((8, 32, 0), (16, 64, 32))]
FORMATS = ("nnunet", "omezarr")
#: audit events that change the file system (besides ``open`` for writing)
WRITE_EVENTS = {"os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.link", "os.symlink", "os.chmod",
                "os.truncate", "shutil.rmtree", "shutil.copyfile", "shutil.move", "renameat2"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PRELOAD = ["napari_patchwise.cli", "napari_patchwise.engine.export.run", "napari_patchwise.engine.export.nnunet",
            "napari_patchwise.engine.export.omezarr", "napari_patchwise.engine.seed.run", "zarr", "tifffile"]


# ------------------------------------------------------------ the child side
def _is_write(event: str, args: tuple, root: str) -> bool:
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return False
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS)
        return writes and os.fsdecode(path).startswith(root)
    if event not in WRITE_EVENTS:
        return False
    if event == "renameat2":
        return any(isinstance(a, bytes) and a.startswith(os.fsencode(root)) for a in args)
    if event in ("os.remove", "os.rmdir") and args[-1] is not None:
        return True  # shutil.rmtree removes entries by name relative to an open folder
    return any(isinstance(a, (str, bytes, os.PathLike)) and os.fsdecode(a).startswith(root) for a in args)


#: folders and files this package swaps or renames into place (not zarr's own temporary files)
_OUR_TEMP = re.compile(r"\.[a-z0-9_]{8}\.(partial|old|tmp)\Z")


def _ours(args: tuple) -> bool:
    """Whether a rename moves one of this package's stage, old or temporary paths."""
    paths = [Path(os.fsdecode(a)) for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
    return any(_OUR_TEMP.search(p.name) or _OUR_TEMP.search(p.parent.name) for p in paths)


def _run_op(op: str, spec: dict):
    """One write step of the project, as ``patchwise`` runs it; returns what the caller compares."""
    if op == "export":
        report = export_project(spec["project"], spec["out"],
                                ExportOptions(formats=FORMATS, fractions=(0.5, 0.5, 0.0), seed=3))
        return report.recovered
    if op == "seed":
        return cli.main(["seed", spec["project"], "--method", "manual", "--threshold", "500",
                         "--min-size", "4", "--diameter", "3"])
    if op == "save":
        save_plan(spec["project"], Plan.from_dict(spec["plan"]))
        return None
    raise ValueError(op)


def _child(conn, op: str, spec: dict, kill_at: int | None, delay: float | None, no_exchange: bool) -> None:
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from napari_patchwise.engine.export import folder_swap

    exchange = folder_swap._RENAMEAT2
    if no_exchange or exchange is None:
        folder_swap._RENAMEAT2 = None
    else:  # a C call raises no audit event: say it (then the hook sees it as a write step)
        def audited(*args):
            sys.audit("renameat2", *args)
            return exchange(*args)
        folder_swap._RENAMEAT2 = audited
    root, count, renames = str(spec["root"]), [0], []

    def hook(event, args):
        if _is_write(event, args, root):
            count[0] += 1
            if event == "renameat2" or (event == "os.rename" and _ours(args)):
                renames.append(count[0])
            if count[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)
    if delay is not None:
        threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()
    t0 = time.perf_counter()
    try:
        result = _run_op(op, spec)
    except BaseException as e:  # reported to the test, which fails with it
        conn.send(("error", f"{type(e).__name__}: {e}", (count[0], renames), 0.0))
        return
    conn.send(("ok", result, (count[0], renames), time.perf_counter() - t0))


# ----------------------------------------------------------- the test side
@pytest.fixture(scope="module")
def forks():
    """Start children from a server that imported the package once (``forkserver``)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*_PRELOAD, __name__])
    return ctx


def _spawn(ctx, op, spec, *, kill_at=None, delay=None, no_exchange=False):
    """Run ``op`` in a child; ``(killed, status, result, steps, seconds)``."""
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(send, op, spec, kill_at, delay, no_exchange))
    p.start()
    send.close()
    try:
        msg = recv.recv() if recv.poll(120) else None
    except EOFError:  # killed before it answered
        msg = None
    p.join(120)
    recv.close()
    if p.exitcode == -signal.SIGKILL:
        return True, None, None, None, None
    assert msg is not None, f"the {op} child ended with exit code {p.exitcode} and no answer"
    status, result, steps, seconds = msg
    assert status == "ok", f"{op} failed in the child: {result}"
    return False, status, result, steps, seconds


#: every write step when set (``PATCHWISE_ALL_FAULTS=1``; minutes), else about 20 spread over
#: the run plus every step of its end (the swap into place and the cleanup)
ALL_STEPS = os.environ.get("PATCHWISE_ALL_FAULTS", "") not in ("", "0")


def _steps(n: int, tail: int, spread: int = 20, around=()) -> list[int]:
    """The write steps to kill at, of ``n``: all, or ``spread`` of them, the last ``tail`` and ``around``.

    ``around``: steps (renames) to kill at, and just after.

    >>> _steps(100, 5, 10, around=[50])
    [1, 11, 21, 31, 41, 50, 51, 61, 71, 81, 91, 96, 97, 98, 99, 100]
    """
    if ALL_STEPS:
        return list(range(1, n + 1))
    picked = set(range(max(1, n - tail + 1), n + 1)) | {s + d for s in around for d in (0, 1) if s + d <= n}
    if spread:
        picked |= set(range(1, n + 1, max(1, n // spread)))
    return sorted(picked)


def _tree(root: Path) -> dict[str, bytes]:
    """Every file and folder under ``root`` (hidden ones too), relative path to bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = p.read_bytes() if p.is_file() else b"<dir>"
    return out


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 200, SHAPE).astype(np.uint16)
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    for cz, cy, cx in rng.integers((2, 4, 4), (SHAPE[0] - 2, SHAPE[1] - 4, SHAPE[2] - 4), (12, 3)):
        img[(z - cz) ** 2 + ((y - cy) / 2) ** 2 + ((x - cx) / 2) ** 2 <= 4] = 1000
    return img


def _project(folder: Path) -> Path:
    plan = Plan(ImageRef(SHAPE, "uint16", (2.0, 0.5, 0.5), path="image.tif"),
                get_preset("custom", minimum=(8, 16, 16)), (1, 1, 1), (ClassSpec("nuclei"),))
    for lo, hi in BOXES:
        plan, _ = plan.add_box(lo, hi)
    create_project(folder, plan)
    write_tiff(folder / "image.tif", _image(), (2.0, 0.5, 0.5))
    return folder


def _paint(folder: Path, box_id: int) -> None:
    plan = load_plan(folder)
    layers = annotation_layers(open_annotations(folder, plan), plan)
    z, y, x = plan.box(box_id).slices(plan.magnification)
    shape = (z.stop - z.start, y.stop - y.start, x.stop - x.start)
    ids = np.zeros(shape, np.uint32)
    ids[2:5, 4:10, 4:10] = box_id
    ids[2:5, 14:20, 14:20] = box_id + 10
    layers["background"][z, y, x] = (ids == 0).astype(np.uint8)
    layers["nuclei"][z, y, x] = ids


def _validates(project: Path, capsys) -> None:
    """``patchwise validate`` answers with findings (exit 0 or 1), not an error."""
    code = cli.main(["validate", str(project)])
    err = capsys.readouterr().err
    assert code in (0, 1), err


class _Case:
    """A base state built in a folder, put back there before every run, and its clean result.

    The folder keeps its path (manifests record the project's absolute path).
    """

    def __init__(self, tmp: Path, op: str, ctx, make_base, spec_of):
        self.op, self.ctx = op, ctx
        self.work, self.saved = tmp / "work", tmp / "saved"
        make_base(self.work)
        shutil.copytree(self.work, self.saved, symlinks=True)
        self.before = _tree(self.work)
        self.spec = spec_of(self.work)
        killed, _, self.clean_result, (self.steps, self.renames), self.seconds = _spawn(ctx, op, self.spec)
        assert not killed and self.steps > 0
        self.clean = _tree(self.work)
        self.clean_copy = tmp / "clean"
        shutil.copytree(self.work, self.clean_copy, symlinks=True)

    def fresh(self) -> Path:
        shutil.rmtree(self.work)
        shutil.copytree(self.saved, self.work, symlinks=True)
        return self.work


def _same_objects(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label arrays hold the same objects, whatever their ids."""
    _, ia = np.unique(a.ravel(), return_index=True)
    _, ib = np.unique(b.ravel(), return_index=True)
    return (len(ia) == len(ib) and np.array_equal(a == 0, b == 0)
            and np.array_equal(np.searchsorted(np.sort(ia), _first_index(a)),
                               np.searchsorted(np.sort(ib), _first_index(b))))


def _first_index(a: np.ndarray) -> np.ndarray:
    """Each voxel's label as the position where that label first occurs (ids renumbered by order)."""
    _, first, inverse = np.unique(a.ravel(), return_index=True, return_inverse=True)
    return first[inverse]


def _check_kill(case: _Case, capsys, *, kill_at=None, delay=None, no_exchange=False, check=None,
                renumbered: str | None = None):
    """Kill a run, check what is on disk, rerun it, compare with the clean run; the rerun's result."""
    root, spec = case.fresh(), case.spec
    killed, *_ = _spawn(case.ctx, case.op, spec, kill_at=kill_at, delay=delay, no_exchange=no_exchange)
    where = f"{case.op} killed at write step {kill_at}" if kill_at else f"{case.op} killed after {delay:.3f} s"
    if not killed:
        assert kill_at is None or kill_at > case.steps, f"{where}: the child was not killed"
    _validates(Path(spec["project"]), capsys)
    if check is not None:
        check(root, where)
    rerun_killed, _, result, _, _ = _spawn(case.ctx, case.op, spec, no_exchange=no_exchange)
    assert not rerun_killed
    after = _tree(root)
    assert sorted(after) == sorted(case.clean), f"{where}: the rerun left other files than a clean run"
    differ = [rel for rel in after if after[rel] != case.clean[rel]]
    if renumbered:  # an instance layer whose ids may differ (new ids follow the largest one)
        layer = f"proj/annotations.zarr/image/{renumbered}/"
        differ = [rel for rel in differ if not rel.startswith(layer)]
        got = np.asarray(annotation_layers(open_annotations(root / "proj", mode="r"),
                                           load_plan(root / "proj"))[renumbered])
        want = np.asarray(annotation_layers(open_annotations(case.clean_copy / "proj", mode="r"),
                                            load_plan(case.clean_copy / "proj"))[renumbered])
        assert _same_objects(got, want), f"{where}: the rerun's {renumbered} objects differ from a clean run's"
    assert not differ, f"{where}: the rerun differs from a clean run in {differ[:5]}"
    return killed, result


# ------------------------------------------------------------------ export
def _export_base(base: Path) -> None:
    """A project with an export of boxes 1 and 2; box 3 is painted after it."""
    project = _project(base / "proj")
    _paint(project, 1)
    _paint(project, 2)
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        export_project(project, base / "out", ExportOptions(formats=FORMATS, fractions=(0.5, 0.5, 0.0), seed=3))
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    _paint(project, 3)


def _export_spec(root: Path) -> dict:
    return {"root": str(root), "project": str(root / "proj"), "out": str(root / "out")}


@pytest.fixture(scope="module")
def export_case(tmp_path_factory, forks):
    return _Case(tmp_path_factory.mktemp("export"), "export", forks, _export_base, _export_spec)


def _export_intact(case: _Case, no_exchange: bool):
    """After a kill: each format folder is the old export or the complete new one."""
    def check(root: Path, where: str) -> None:
        project = _tree(root / "proj")
        assert project == {k[len("proj/"):]: v for k, v in case.before.items() if k.startswith("proj/")}, \
            f"{where}: the export changed the project"
        out = root / "out"
        for name in sorted({rel.split("/")[1] for rel in case.clean if rel.startswith("out/") and "/" in rel[4:]}):
            if name.startswith("."):
                continue
            old = {k: v for k, v in case.before.items() if k.startswith(f"out/{name}/")}
            new = {k: v for k, v in case.clean.items() if k.startswith(f"out/{name}/")}
            target = out / name
            if not target.exists():
                # only between the two renames of a swap without exchange: the old one is aside, whole
                assert no_exchange, f"{where}: {name} is missing"
                aside = [p / name for p in out.glob(f".{name}.*.old") if (p / name).is_dir()]
                assert len(aside) == 1, f"{where}: {name} is missing and not aside"
                got = {f"out/{name}/{k}": v for k, v in _tree(aside[0]).items()}
                assert got == old, f"{where}: the old {name} moved aside is not intact"
                continue
            got = {f"out/{name}/{k}": v for k, v in _tree(target).items()}
            assert got in (old, new), f"{where}: {name} is neither the old export nor the new one"
    return check


def test_clean_export_adds_the_new_box(export_case):
    assert export_case.clean_result == []
    assert any(k.endswith("box_0003.json") for k in export_case.clean) and export_case.steps > 20
    assert len(export_case.renames) >= 2  # a swap per format folder


def test_export_killed_at_every_write_step(export_case, capsys):
    case = export_case
    recovered = 0
    for k in _steps(case.steps, tail=3, spread=12, around=case.renames):
        killed, result = _check_kill(case, capsys, kill_at=k, check=_export_intact(case, False))
        assert killed
        recovered += bool(result)
    assert recovered > 0  # some kills left stage folders, which the rerun removed and reported


def test_export_without_exchange_killed_at_every_step_of_the_swap(export_case, capsys):
    """Where the system cannot swap two names at once, the two renames are recovered from."""
    case = export_case
    restored = []
    case.fresh()
    _, _, _, (steps, renames), _ = _spawn(case.ctx, case.op, case.spec, no_exchange=True)
    for k in _steps(steps, tail=0, spread=0, around=renames):
        killed, result = _check_kill(case, capsys, kill_at=k, no_exchange=True,
                                     check=_export_intact(case, True))
        restored += [line for line in result or () if line.startswith("restored")]
    assert restored, "no kill fell between the two renames of a swap"


def test_export_killed_after_random_delays(export_case, capsys):
    case = export_case
    rng = random.Random(12)
    for _ in range(6):
        _check_kill(case, capsys, delay=rng.uniform(0.0, case.seconds), check=_export_intact(case, False))


# ------------------------------------------------------------ seed and save
def _seed_base(base: Path) -> None:
    _project(base / "proj")


def _project_spec(root: Path) -> dict:
    return {"root": str(root), "project": str(root / "proj")}


@pytest.fixture(scope="module")
def seed_case(tmp_path_factory, forks):
    return _Case(tmp_path_factory.mktemp("seed"), "seed", forks, _seed_base, _project_spec)


def test_seed_killed_at_every_write_step(seed_case, capsys):
    case = seed_case
    assert case.clean_result == 0
    for k in _steps(case.steps, tail=2, spread=10, around=case.renames[-2:]):
        assert _check_kill(case, capsys, kill_at=k, renumbered="nuclei")[0]


def test_seed_killed_after_random_delays(seed_case, capsys):
    rng = random.Random(7)
    for _ in range(4):
        _check_kill(seed_case, capsys, delay=rng.uniform(0.0, seed_case.seconds), renumbered="nuclei")


@pytest.mark.xfail(strict=True, reason="issue 12: seeding a box again gives its objects ids after the "
                   "largest id in the layer, so a rerun after a kill numbers them differently")
def test_seed_rerun_after_a_kill_keeps_the_clean_ids(seed_case, capsys):
    _check_kill(seed_case, capsys, kill_at=seed_case.steps - 8)


def _save_spec(root: Path) -> dict:
    plan = load_plan(root / "proj")
    plan = plan.replace(classes=(*plan.classes, ClassSpec("mito", "semantic")))
    plan, _ = plan.add_box((8, 0, 0), (16, 32, 32))
    return {**_project_spec(root), "plan": plan.to_dict()}


@pytest.fixture(scope="module")
def save_case(tmp_path_factory, forks):
    def base(folder: Path) -> None:
        _project(folder / "proj")
        _paint(folder / "proj", 1)
    return _Case(tmp_path_factory.mktemp("save"), "save", forks, base, _save_spec)


def test_save_killed_at_every_write_step(save_case, capsys):
    case = save_case
    for k in _steps(case.steps, tail=2, spread=10, around=case.renames):
        assert _check_kill(case, capsys, kill_at=k)[0]


# ------------------------------------------- the swap itself, in this process
def _old_export(out: Path) -> Path:
    target = out / "Set"
    (target / "imagesTr").mkdir(parents=True)
    (target / "imagesTr" / "a.tif").write_bytes(b"old case")
    (target / "manifest.json").write_text("{}")
    return target


def _second_rename_fails(monkeypatch, exc, *, put_back_fails=False):
    """``os.replace`` in the staging module raises ``exc`` on its 2nd call (and 3rd, if asked)."""
    from napari_patchwise.engine.export import folder_swap, staging

    monkeypatch.setattr(folder_swap, "_RENAMEAT2", None)  # the two-rename swap
    calls = {"n": 0}
    real = os.replace

    def replace(src, dst):
        calls["n"] += 1
        if calls["n"] == 2 or (put_back_fails and calls["n"] == 3):
            raise exc
        return real(src, dst)

    monkeypatch.setattr(staging.os, "replace", replace)
    return staging


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failure_between_the_two_renames_puts_the_old_export_back(tmp_path, monkeypatch, exc):
    target = _old_export(tmp_path)
    before = _tree(tmp_path)
    staging = _second_rename_fails(monkeypatch, exc)
    stage = staging.Stage(target)
    (stage.path / "new.txt").write_text("new")
    if isinstance(exc, OSError):
        with pytest.raises(staging.ExportError, match="No space left.*previous folder is unchanged"):
            stage.commit()
    else:
        with pytest.raises(KeyboardInterrupt):
            stage.commit()
    assert _tree(tmp_path) == before  # the old export, and nothing beside it


def test_old_export_left_aside_is_put_back_by_the_next_export(tmp_path, monkeypatch):
    target = _old_export(tmp_path)
    before = _tree(target)
    staging = _second_rename_fails(monkeypatch, OSError(5, "Input/output error"), put_back_fails=True)
    stage = staging.Stage(target)
    with pytest.raises(staging.ExportError, match="moved aside and the next export puts it back"):
        stage.commit()
    monkeypatch.undo()
    assert not target.exists()
    [aside] = staging.leftovers(target)
    assert _tree(aside / "Set") == before
    lines = staging.recover(target)
    assert lines == [f"restored {target} from {aside.name}, where an interrupted export had moved it"]
    assert _tree(target) == before and staging.leftovers(target) == []


def test_recover_leaves_running_stages_and_other_folders_alone(tmp_path):
    from napari_patchwise.engine.export import staging

    target = _old_export(tmp_path)
    running = staging.Stage(target)
    others = [".Set.abcdefgh.partial.keep", ".Set.abc.partial", ".Sett.abcdefgh.partial", "Set.abcdefgh.old",
              ".Set.ABCDEFGH.old"]
    for name in others:
        (tmp_path / name).mkdir()
    (tmp_path / ".Set.abcdefgh.old").write_text("a file, not a folder of ours")
    (tmp_path / ".Set.zzzzzzzz.partial").symlink_to(target)
    stale = tmp_path / ".Set.k_0m2x9q.partial"
    (stale / "imagesTr").mkdir(parents=True)
    lines = staging.recover(target)
    assert lines == [f"removed 1 leftover folder of an interrupted export beside {target} ({stale.name})"]
    assert running.path.is_dir() and not stale.exists() and (target / "manifest.json").is_file()
    assert all((tmp_path / n).exists() for n in [*others, ".Set.abcdefgh.old", ".Set.zzzzzzzz.partial"])
    running.discard()
    assert not running.path.exists()
