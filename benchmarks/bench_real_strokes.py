"""Benchmark: brush drags on real volumes in a real viewer, held strokes against a plain layer.

Two real volumes from ``../shared/data`` (or ``$PATCHWISE_SHARED_DATA``), each
made into a project with the ``patchwise`` command as a new user would, opened
in a napari window (1280×800, run under Xvfb) with the Patchwise dock at its
Annotate/QC step, live checks on:

* **class labels** -- ``fibsem_neuroproof`` (128³, 10 nm): boxes of the
  ``neuron`` preset seeded from its ground truth (``seed --method labels``);
  drags across the boxes on ``neurons labels``, most of them with the label
  under the press, a few with a new label, one in seven erasing;
* **a correction mask** -- a ``cryoet_filament_patches`` patch (96³, taken as
  2.5 nm): one box of the ``custom`` preset seeded from its filament mask as a
  semantic class, *Correct* on the class; drags on ``filament remove`` along
  the filaments.

Each drag is a press, 10 mouse moves and a release through napari's own mouse
callbacks (``bench_stroke.drag``). Baseline, in the same run and the same
viewer: a plain in-memory napari Labels layer holding a copy of the layer,
given the same drag (napari puts a hidden Labels layer in ``pan_zoom`` mode,
so each layer's mode is set after it is shown). Printed per volume:
stroke → idle and the longest gap of a 10 ms timer in the second after
(median, max), the ratio to the plain layer, and checks that the drags
painted the same voxels on both layers and that the project's layer equals
what is on disk.

``--no-hold`` makes the project's layers write every dab (as before strokes
were held), for the figure beside it.

Usage::

    xvfb-run -a -s "-screen 0 1280x800x24" python benchmarks/bench_real_strokes.py [--drags 50] [--no-hold]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("PATCHWISE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
FIBSEM = "fibsem_neuroproof/training_sample2_crop128.h5"
CRYOET = "cryoet_filament_patches/train"
CRYOET_IMAGE = "0_0_30_47_25"
MOVES = 10


def _run(*args: str) -> None:
    patchwise = str(Path(sys.executable).parent / "patchwise")
    done = subprocess.run([patchwise, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"patchwise {args[0]} failed: {done.stderr.strip()[-500:]}")


def fibsem_project(tmp: Path) -> tuple[Path, str, str, None]:
    """The FIB-SEM project (boxes seeded from the ground truth), its layer, the layer's array in the store and
    the voxels drags start at (none: in the boxes)."""
    import h5py

    from napari_patchwise.engine.io.tiff_write import write_tiff

    with h5py.File(SHARED / FIBSEM) as f:
        raw, gt = f["raw"][()], f["groundtruth"][()]
    write_tiff(tmp / "neuroproof.tif", raw, (10.0, 10.0, 10.0))
    np.save(tmp / "gt.npy", gt.astype(np.uint32))
    folder = tmp / "fibsem"
    _run("propose", str(tmp / "neuroproof.tif"), "-o", str(folder), "--preset", "neuron",
         "--voxel-size", "10,10,10nm", "--classes", "neurons:instance")
    _run("seed", str(folder), "--method", "labels", "--from", str(tmp / "gt.npy"))
    return folder, "neurons labels", "/neurons", None


def cryoet_project(tmp: Path) -> tuple[Path, str, str, np.ndarray]:
    """The cryo-ET project (one box seeded from the filament mask), its mask layer, the layer's array in the
    store and the filament voxels (drags start there)."""
    import tifffile

    mask = tifffile.imread(SHARED / CRYOET / "masks" / f"{CRYOET_IMAGE}_mask.tif").astype(np.uint8)
    np.save(tmp / "mask.npy", mask)
    folder = tmp / "cryoet"
    _run("propose", str(SHARED / CRYOET / "imgs" / f"{CRYOET_IMAGE}.tif"), "-o", str(folder), "--preset", "custom",
         "--min", "48,48,48", "--size", "64,64,64", "--voxel-size", "2.5,2.5,2.5nm", "--classes",
         "filament:semantic")
    _run("seed", str(folder), "--method", "labels", "--from", str(tmp / "mask.npy"))
    return folder, "filament remove", "/corrections/filament/remove", np.argwhere(mask > 0)


def measure(folder: Path, layer_name: str, array_path: str, starts, drags: int, seed: int) -> dict:
    """Open ``folder`` in a viewer with the dock and make ``drags`` drags on ``layer_name`` and a plain copy."""
    import zarr
    from bench_gui_gaps import loop_until, settle
    from bench_stroke import open_at_qc, stroke

    from napari_patchwise.engine.plan.project import load_plan
    from napari_patchwise.layers.session import session_for

    plan = load_plan(folder)
    viewer, dock = open_at_qc(folder)
    session = session_for(viewer)
    qc = dock.qc
    if layer_name.endswith(" remove"):
        class_name = layer_name.rsplit(" ", 1)[0]
        if not qc.corrections.correct(class_name):
            raise SystemExit(f"could not make the correction layers of {class_name!r}")
        loop_until(lambda: class_name in qc.corrections.views and not session.working, timeout=60)
    settle()
    layer = viewer.layers[layer_name]
    plain = viewer.add_labels(np.asarray(layer.data[...]).copy(), name="plain", scale=layer.scale,
                              translate=layer.translate, units=layer.units, visible=False)
    for each in (layer, plain):
        each.brush_size = 5
    rng = np.random.default_rng(seed)
    boxes = [b.slices(plan.magnification) for b in plan.boxes]
    shape = layer.data.shape
    rows: dict[str, list] = {"plain": [], "project": []}
    changed: dict[str, list] = {"plain": [], "project": []}
    for _ in range(drags):
        if starts is not None:
            point = tuple(int(v) for v in starts[int(rng.integers(len(starts)))])
        else:
            region = boxes[int(rng.integers(len(boxes)))]
            point = tuple(int(rng.integers(s.start + 3, max(s.start + 4, s.stop - 3))) for s in region)
        angle = rng.uniform(0, 2 * np.pi)
        end = (point[0], *(int(np.clip(p + 20 * f, 0, n - 1))
                           for p, f, n in zip(point[1:], (np.sin(angle), np.cos(angle)), shape[1:])))
        viewer.dims.set_current_step(0, point[0])
        settle()
        if starts is not None:  # a mask: one value
            label = 1
        else:  # mostly the object under the press, sometimes a new one
            under = int(np.asarray(layer.data[point]))
            label = under if under and rng.random() < 0.6 else int(rng.integers(1, 200))
        mode = "erase" if rng.random() < 0.15 else "paint"
        for name, target, other in (("plain", plain, layer), ("project", layer, plain)):
            target.visible, other.visible = True, False
            target.mode = mode  # after it is shown: napari keeps a hidden Labels layer in pan_zoom
            before = np.asarray(target.data[...]).copy()
            rows[name].append(stroke(viewer, target, point, label, MOVES, end))
            changed[name].append(int((np.asarray(target.data[...]) != before).sum()))
    loop_until(lambda: qc.settled, timeout=120)
    settle()
    now = np.asarray(layer.data[...])
    group = zarr.open_group(folder / "annotations.zarr", mode="r")
    path = next(p for p, a in group.members(max_depth=None) if isinstance(a, zarr.Array) and p.endswith(array_path))
    out = {
        "rows": rows,
        "voxels": sum(changed["project"]),
        "same drags": changed["plain"] == changed["project"] and np.array_equal(now, np.asarray(plain.data)),
        "on disk": np.array_equal(now, group[path][...]),
    }
    viewer.close()
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drags", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-hold", action="store_true", help="write every dab (strokes not held)")
    args = ap.parse_args(argv)
    if not (SHARED / FIBSEM).exists() or not (SHARED / CRYOET).exists():
        raise SystemExit(f"the real volumes are not in {SHARED}: set PATCHWISE_SHARED_DATA to the shared data folder")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if args.no_hold:
        import napari_patchwise.layers.session as session_module

        session_module.buffer_strokes = lambda layer: False
    held = "not held" if args.no_hold else "held"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for title, make in (("fibsem_neuroproof 128³, class labels", fibsem_project),
                            ("cryo-ET patch 96³, Remove mask", cryoet_project)):
            folder, layer_name, array_path, starts = make(tmp)
            r = measure(folder, layer_name, array_path, starts, args.drags, args.seed)
            base = statistics.median(i for i, _ in r["rows"]["plain"])
            print(f"\n{title}: {args.drags} drags of {MOVES} moves on {layer_name!r} ({held}), live QC on")
            for name, values in r["rows"].items():
                idle = [i for i, _ in values]
                burst = [b for _, b in values]
                print(f"  {name:8s} stroke → idle median {statistics.median(idle) * 1e3:5.0f} ms "
                      f"({statistics.median(idle) / base:4.2f}×); "
                      f"burst median {statistics.median(burst) * 1e3:4.0f} ms, max {max(burst) * 1e3:4.0f} ms")
            print(f"  voxels changed {r['voxels']}; the same on the plain layer drag by drag: {r['same drags']}; "
                  f"layer equals the disk: {r['on disk']}")


if __name__ == "__main__":
    main()
