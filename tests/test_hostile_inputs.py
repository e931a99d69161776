"""A sweep of hostile files and faults through the ``patchwise`` command.

Each kind of bad input runs through the CLI entry point as a new user would
type it, and must end with the documented exit code (2, or 130 for Ctrl-C), a
message naming the problem, no traceback, no code from a file run, and the
project's files byte for byte as before.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import pathlib
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.lib.format as npy_format
import pytest
import tifffile

from napari_patchwise.cli import main

LONG = "n" * 300
#: Exit code of a command stopped with Ctrl-C (documented in cli/errors.py and the user guide).
EXIT_INTERRUPTED = 130


class _TouchOnLoad:
    """Unpickling this creates ``path``: a stand-in for any code a crafted file runs."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


@pytest.fixture(scope="module")
def base_project(tmp_path_factory):
    """A four-box project with painted nuclei and background (24×96×96, custom preset)."""
    from napari_patchwise.engine import ImageRef, Plan, get_preset
    from napari_patchwise.engine.io.tiff_write import write_tiff
    from napari_patchwise.engine.plan.project import create_project
    from napari_patchwise.engine.plan.annotation_store import open_annotations

    rng = np.random.default_rng(1)
    image = rng.normal(100, 10, (24, 96, 96)).astype(np.uint16)
    image[4:10, 8:16, 8:16] += 300
    boxes = [((0, 0, 0), (16, 32, 32)), ((0, 0, 48), (16, 32, 80)), ((0, 48, 0), (16, 80, 32)),
             ((8, 48, 48), (24, 80, 80))]
    plan = Plan(ImageRef(image.shape, "uint16", (2.0, 0.5, 0.5), path="image.tif", name="blobs"),
                get_preset("custom", minimum=(16, 32, 32))).add_boxes(boxes)
    folder = create_project(tmp_path_factory.mktemp("base") / "proj", plan)
    write_tiff(folder / "image.tif", image, (2.0, 0.5, 0.5))
    group = open_annotations(folder, plan)
    for box in plan.boxes:
        region = box.slices(plan.magnification)
        ids = np.zeros(tuple(s.stop - s.start for s in region), np.uint32)
        ids[4:10, 4:12, 4:12] = 10 * box.id + 1
        ids[4:10, 4:12, 16:24] = 10 * box.id + 2
        group["nuclei"][region] = ids
        group["background"][region] = (ids == 0).astype(np.uint8)
    return folder


def _hash_tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


# -- the inputs ------------------------------------------------------------------------------
def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _h5(path: Path, damage: str | None = None) -> Path:
    h5py = pytest.importorskip("h5py")
    data = np.random.default_rng(0).integers(0, 1000, (24, 96, 96)).astype("uint16")
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=data, chunks=(8, 32, 32), compression="gzip")
    raw = bytearray(path.read_bytes())
    if damage == "cut":
        raw = raw[: len(raw) // 2]
    elif damage == "chunks":
        for i in range(len(raw) // 2, len(raw) - 64, 7):
            raw[i] = 0xAA
    path.write_bytes(bytes(raw))
    return path


def _npy_objects(path: Path) -> Path:
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return path


def _crafted_seg(path: Path, marker: Path) -> Path:
    np.save(path, {"masks": np.ones((24, 96, 96), "uint16"), "payload": _TouchOnLoad(marker)})
    return path


def _foreign_object_seg(path: Path) -> Path:
    payload = pickle.dumps(np.array({"masks": np.ones((2, 2, 2), "uint16"), "when": __import__("datetime").date(2024, 1, 1)},
                                    dtype=object), protocol=4)
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": "|O", "fortran_order": False, "shape": ()})
    return _write(path, buf.getvalue() + payload)


def _edit_plan(project: Path, change) -> None:
    data = json.loads((project / "plan.json").read_text())
    change(data)
    (project / "plan.json").write_text(json.dumps(data))


def _damage_chunk(project: Path) -> None:
    _write(project / "annotations.zarr" / "image" / "nuclei" / "c" / "0" / "0" / "0", b"not a zstd frame")


@dataclass
class Case:
    kind: str
    argv: list[str]
    message: str
    code: int = 2
    setup: object = None  # callable(project, tmp) run before the hash is taken
    fault: object = None  # callable(monkeypatch) injecting a fault into the run


def _box(i):
    return lambda d: d["images"][0]["boxes"][0].__setitem__("id", i)


CASES = [
    # images given to propose
    Case("text file named .tif", ["propose", "{tmp}/t.tif", "-o", "{tmp}/new"], "t.tif is not a TIFF file",
         setup=lambda p, t: _write(t / "t.tif", b"this is text")),
    Case("folder named .tif", ["propose", "{tmp}/d.tif", "-o", "{tmp}/new"], "is a folder, not an image file",
         setup=lambda p, t: (t / "d.tif").mkdir()),
    Case("plain folder as image", ["propose", "{tmp}/dir", "-o", "{tmp}/new"], "dir is a folder, not an image file",
         setup=lambda p, t: (t / "dir").mkdir()),
    Case("text file named .npy", ["propose", "{tmp}/t.npy", "-o", "{tmp}/new"], "t.npy is not a NumPy .npy file",
         setup=lambda p, t: _write(t / "t.npy", b"hello there")),
    Case("pickled .npy image", ["propose", "{tmp}/o.npy", "-o", "{tmp}/new"], "holds pickled Python objects",
         setup=lambda p, t: _npy_objects(t / "o.npy")),
    Case("folder named .npy", ["propose", "{tmp}/d.npy", "-o", "{tmp}/new"], "is a folder, not an image file",
         setup=lambda p, t: (t / "d.npy").mkdir()),
    Case("garbage HDF5", ["propose", "{tmp}/g.h5", "-o", "{tmp}/new"], "is not a readable HDF5 file",
         setup=lambda p, t: _write(t / "g.h5", b"not hdf5 at all")),
    Case("truncated HDF5", ["propose", "{tmp}/cut.h5", "-o", "{tmp}/new", "--preset", "custom", "--size",
                            "16,32,32"], "is not a readable HDF5 file", setup=lambda p, t: _h5(t / "cut.h5", "cut")),
    Case("HDF5 with damaged chunks", ["propose", "{tmp}/bad.h5", "-o", "{tmp}/new", "--preset", "custom",
                                      "--size", "16,32,32"], "bad.h5 could not be read",
         setup=lambda p, t: _h5(t / "bad.h5", "chunks")),
    Case("folder named .h5", ["propose", "{tmp}/d.h5", "-o", "{tmp}/new"], "is a folder, not an image file",
         setup=lambda p, t: (t / "d.h5").mkdir()),
    Case("missing image", ["propose", "{tmp}/none.tif", "-o", "{tmp}/new"], "no image at"),
    Case("2D image", ["propose", "{tmp}/flat.tif", "-o", "{tmp}/new"], "flat.tif has shape (32, 32); patchwise needs one 3D",
         setup=lambda p, t: tifffile.imwrite(t / "flat.tif", np.zeros((32, 32), "uint8"))),
    Case("unreachable scheduler", ["propose", "{project}/image.tif", "-o", "{tmp}/new", "--preset", "custom",
                                   "--size", "16,32,32", "--scheduler", "tcp://127.0.0.1:9"],
         "tcp://127.0.0.1:9"),
    Case("project name too long", ["propose", "{project}/image.tif", "-o", "{tmp}/" + LONG, "--preset", "custom",
                                   "--size", "16,32,32"], "longer than the file system allows"),
    Case("demo --out an existing file", ["demo", "--out", "{tmp}/afile"], "afile is a file",
         setup=lambda p, t: _write(t / "afile", b"keep me")),
    # a damaged annotation store
    Case("damaged chunk, check", ["check", "{project}"], "annotations.zarr/image/nuclei, chunk c/0/0/0",
         setup=lambda p, t: _damage_chunk(p)),
    Case("damaged chunk, seed", ["seed", "{project}"], "annotations.zarr/image/nuclei, chunk c/0/0/0",
         setup=lambda p, t: _damage_chunk(p)),
    Case("damaged chunk, export", ["export", "{project}", "--format", "nnunet", "-o", "{tmp}/out"],
         "patchwise seed {project} --boxes 1,2,3,4", setup=lambda p, t: _damage_chunk(p)),
    # plan.json
    Case("box id 0", ["validate", "{project}"], "box id must be a whole number >= 1; got 0",
         setup=lambda p, t: _edit_plan(p, _box(0))),
    Case("negative box id", ["validate", "{project}"], "box id must be a whole number >= 1; got -5",
         setup=lambda p, t: _edit_plan(p, _box(-5))),
    Case("box id as text", ["validate", "{project}"], "got '1' (text)",
         setup=lambda p, t: _edit_plan(p, _box("1"))),
    Case("shape as text", ["validate", "{project}"], "image shape must be a list of three numbers",
         setup=lambda p, t: _edit_plan(p, lambda d: d["images"][0]["image"].__setitem__("shape", "128"))),
    Case("magnification as text", ["validate", "{project}"], "magnification must be a list of three numbers",
         setup=lambda p, t: _edit_plan(p, lambda d: d.__setitem__("magnification", "1,1,1"))),
    Case("box corner as text", ["validate", "{project}"], "box 1 lo must be a list",
         setup=lambda p, t: _edit_plan(p, lambda d: d["images"][0]["boxes"][0].__setitem__("lo", "000"))),
    Case("plan.json not JSON", ["validate", "{project}"], "is not valid JSON",
         setup=lambda p, t: _write(p / "plan.json", b"{ nope")),
    Case("plan.json a file's parent", ["validate", "{project}/plan.json"], "is not a folder"),
    # export
    Case("export into annotations.zarr", ["export", "{project}", "--format", "nnunet", "-o",
                                          "{project}/annotations.zarr/export"], "lies inside the project's annotations.zarr"),
    Case("dataset name too long", ["export", "{project}", "--format", "nnunet", "-o", "{tmp}/out",
                                   "--dataset-name", LONG], "the file system allows at most"),
    Case("export folder name too long", ["export", "{project}", "--format", "nnunet", "-o", "{tmp}/" + LONG],
         "the output folder: the name"),
    Case("zero patch size", ["export", "{project}", "--format", "stardist", "-o", "{tmp}/out", "--patch-size",
                             "0,0,0"], "--patch-size must be three whole numbers"),
    # imports into seed
    Case("crafted Cellpose file", ["seed", "{project}", "--method", "labels", "--from", "{tmp}/evil_seg.npy"],
         "evil_seg.npy was refused", setup=lambda p, t: _crafted_seg(t / "evil_seg.npy", t / "ran")),
    Case("Cellpose file with a foreign object", ["seed", "{project}", "--method", "labels", "--from",
                                                 "{tmp}/odd_seg.npy"], "datetime.date",
         setup=lambda p, t: _foreign_object_seg(t / "odd_seg.npy")),
    Case("negative labels", ["seed", "{project}", "--method", "labels", "--from", "{tmp}/neg.tif"],
         "negative values", setup=lambda p, t: tifffile.imwrite(t / "neg.tif", -np.ones((24, 96, 96), "int16"))),
    Case("labels folder named .tif", ["seed", "{project}", "--method", "labels", "--from", "{tmp}/l.tif"],
         "is a folder, not an image file", setup=lambda p, t: (t / "l.tif").mkdir()),
    Case("labels text file named .tif", ["seed", "{project}", "--method", "labels", "--from", "{tmp}/l.tif"],
         "l.tif is not a TIFF file", setup=lambda p, t: _write(t / "l.tif", b"this is text")),
    Case("box 0 on the command line", ["seed", "{project}", "--boxes", "0"], "whole numbers >= 1"),
    # faults while running
    Case("Ctrl-C during check", ["check", "{project}"], "interrupted (Ctrl-C)", code=EXIT_INTERRUPTED,
         fault=lambda mp: mp.setattr("napari_patchwise.engine.qc.checks.check_project", _raise(KeyboardInterrupt()))),
    Case("disk full during seed", ["seed", "{project}"], "the disk is full",
         fault=lambda mp: mp.setattr("zarr.storage._local._put",
                                     _raise(OSError(errno.ENOSPC, "No space left on device")))),
    Case("disk full after a few seeded chunks", ["seed", "{project}", "--method", "labels", "--from",
                                                 "{tmp}/labels.tif"], "the disk is full",
         setup=lambda p, t: tifffile.imwrite(t / "labels.tif", _blobs()),
         fault=lambda mp: _fail_after(mp, "zarr.storage._local._put", 3,
                                      OSError(errno.ENOSPC, "No space left on device"))),
    Case("disk full during export", ["export", "{project}", "--format", "nnunet", "-o", "{tmp}/out"],
         "the disk is full", fault=lambda mp: _fail_after(mp, "tifffile.imwrite", 2,
                                                           OSError(errno.ENOSPC, "No space left on device"))),
    Case("Ctrl-C during export", ["export", "{project}", "--format", "nnunet", "-o", "{tmp}/out"],
         "interrupted (Ctrl-C)", code=EXIT_INTERRUPTED,
         fault=lambda mp: _fail_after(mp, "tifffile.imwrite", 2, KeyboardInterrupt())),
    Case("Ctrl-C after the first seeded box", ["seed", "{project}", "--method", "labels", "--from",
                                               "{tmp}/labels.tif"], "interrupted (Ctrl-C)", code=EXIT_INTERRUPTED,
         setup=lambda p, t: tifffile.imwrite(t / "labels.tif", _blobs()),
         fault=lambda mp: _fail_after(mp, "napari_patchwise.engine.seed.run.write_box_labels", 1,
                                      KeyboardInterrupt())),
]


def _blobs():
    labels = np.zeros((24, 96, 96), "uint16")
    labels[2:8, 4:12, 4:12] = 1
    labels[2:8, 4:12, 52:60] = 2
    labels[2:8, 52:60, 4:12] = 3
    labels[10:16, 52:60, 52:60] = 4
    return labels


def _fail_after(monkeypatch, target: str, n: int, exc: BaseException):
    """Let ``target`` run ``n`` times, then raise ``exc`` (a fault half way through a run)."""
    module, _, name = target.rpartition(".")
    real = getattr(__import__(module, fromlist=[name]), name)
    calls = []

    def f(*args, **kwargs):
        calls.append(1)
        if len(calls) > n:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(target, f)


def _raise(exc):
    def f(*args, **kwargs):
        raise exc
    return f


@pytest.fixture
def fast_connect():
    import dask

    try:  # distributed's config defaults load on import: before the set, not inside it
        import distributed  # noqa: F401
    except ImportError:
        pass
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        yield


def test_the_sweep_covers_at_least_30_kinds():
    assert len({c.kind for c in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_hostile_input_ends_in_a_message_and_changes_nothing(case, base_project, tmp_path, capsys, monkeypatch,
                                                             fast_connect):
    project = shutil.copytree(base_project, tmp_path / "proj")
    work = tmp_path / "work"
    work.mkdir()
    if case.setup:
        case.setup(project, work)
    before, inputs = _hash_tree(project), _hash_tree(work)
    if case.fault:
        case.fault(monkeypatch)
    argv = [a.format(project=project, tmp=work) for a in case.argv]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == case.code, err
    assert "Traceback" not in out + err
    assert case.message.format(project=project) in err, err
    assert err.count("error:") == 1
    assert _hash_tree(project) == before
    assert not (work / "ran").exists()
    assert not [p for p in work.rglob("*") if p.name.endswith(".partial")]  # no half-written folder left
    assert {k: v for k, v in _hash_tree(work).items() if k in inputs} == inputs


def test_ctrl_c_in_a_real_process_exits_130_with_a_message(tmp_path):
    """SIGINT, as Ctrl-C sends it, to the command running in its own process."""
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "napari_patchwise.cli", "demo", "--out", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # not ignored, as in a terminal
    try:
        first = proc.stdout.readline()  # "1/5 making the synthetic nuclei volume ...": it is working
        assert first.startswith("1/5"), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in out + err
    assert "patchwise demo: error: interrupted (Ctrl-C)" in err
