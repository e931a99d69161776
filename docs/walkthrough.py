"""Walk through Patchwise as a new user would, on real volumes, in a real napari window.

Each run opens one volume (File › Open: napari's own reader for TIFF, Patchwise's for HDF5,
or File › Open Sample), sets the voxel size where the file has none, starts a plan, proposes
boxes, saves the project, seeds weak labels (diameter estimated, Otsu previewed, then applied
or labels imported), paints a stroke that touches another object (a semantic class: background
painted coarsely across an object), separates it, checks every box and exports to nnU-Net
(verified with nnU-Net's own integrity check when ``nnunetv2`` is installed). Only public
napari API is used: ``viewer.open``, ``add_plugin_dock_widget`` (the one Patchwise dock), its
steps' tabs, fields and buttons,
simulated mouse strokes on a Labels layer and ``viewer.screenshot``.

Run it on a 1280×800 screen (the docs' screenshots are taken there)::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/walkthrough.py            # every volume
    xvfb-run -a -s "-screen 0 1280x800x24" python docs/walkthrough.py embryo ovule

Screenshots the guide uses go to ``docs/images`` (``--out``), the projects and exports to a
temporary folder (``--work``); ``--all-shots DIR`` keeps a screenshot of every step. The
figures of each run (boxes, strata, objects seeded, contacts, cases exported) are printed and
written to ``walkthrough.json`` in the work folder. The real volumes are looked for in
``../shared/data`` beside the repository (``PATCHWISE_SHARED_DATA`` overrides it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from walkthrough_steps import Session  # noqa: E402 (beside this file)

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PATCHWISE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@dataclass(frozen=True)
class Volume:
    """One walkthrough: what to open and the settings a person would choose for it."""

    name: str
    title: str
    open: str  # a path below DATA, or "sample"
    plugin: str | None = None  # None: napari chooses the reader (File › Open)
    voxel_size: str | None = None  # typed into the planner when the file records none
    preset: str = "instance"
    classes: str = "nuclei:instance"
    seed_method: str = "otsu"  # or "layer" (a Labels layer of the file) or "file" (a label image)
    seed_from: str | None = None  # the Labels layer's name, or the label file below DATA
    preview_threshold: bool = True  # estimate the diameter and preview Otsu first
    hide: tuple[str, ...] = ()  # layers of the file a person hides once they are in the way
    shots: tuple[str, ...] = ()  # the steps whose screenshots the guide uses
    extra: dict = field(default_factory=dict)


VOLUMES = {
    v.name: v
    for v in (
        Volume("embryo", "Mouse embryo nuclei (TIFF, no voxel size in the file)",
               "nuclei_embryo_qcanet/8cell_raw.tif", voxel_size="2.18,1,1",
               shots=("plan", "propose", "preview", "stroke", "export")),
        Volume("ovule", "Arabidopsis ovule nuclei (HDF5, voxel size in the file)",
               "nuclei_ovule_gonuclear/1136_mini.h5", plugin="napari-patchwise",
               hide=("1136_mini label",), shots=("propose", "seeded", "qc")),
        Volume("cryoet", "Cryo-ET filaments (TIFF, semantic class, mask imported)",
               "cryoet_filament_patches/train/imgs/3_0_25_54_25.tif", voxel_size="25,25,25A",
               classes="filament:semantic", seed_method="file",
               seed_from="cryoet_filament_patches/train/masks/3_0_25_54_25_mask.tif",
               shots=("preview", "seeded", "stroke")),
        Volume("neuroproof", "FIB-SEM neurons (HDF5, neuron preset, oversegmentation import)",
               "fibsem_neuroproof/training_sample2_crop128.h5", plugin="napari-patchwise",
               preset="neuron", classes="neuron:instance", seed_method="layer",
               seed_from="training_sample2_crop128 oversegmentation", preview_threshold=False,
               hide=("training_sample2_crop128 groundtruth", "training_sample2_crop128 oversegmentation"),
               shots=("propose", "seeded", "qc")),
        Volume("sample", "The synthetic sample (File › Open Sample)", "sample",
               shots=("propose", "3d", "seeded")),
    )
}


def run(volume: Volume, out: Path, work: Path, all_shots: Path | None) -> dict:
    """One walkthrough; returns its figures."""
    session = Session(volume, data=DATA, out=out, work=work / volume.name, all_shots=all_shots)
    try:
        session.open_image()
        session.start_plan()
        session.propose()
        session.save_project()
        session.seed()
        session.paint()
        session.separate()
        session.check_all()
        session.export()
    finally:
        session.close()
    return session.figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("volumes", nargs="*", choices=[[], *VOLUMES], default=[],
                        help="which walkthroughs to run (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="where the guide's screenshots go")
    parser.add_argument("--work", type=Path, default=None, help="projects and exports (default: a temporary folder)")
    parser.add_argument("--all-shots", type=Path, default=None, help="also keep a screenshot of every step here")
    args = parser.parse_args(argv)
    names = args.volumes or list(VOLUMES)
    if not DATA.is_dir() and any(VOLUMES[n].open != "sample" for n in names):
        parser.error(f"the real volumes are not at {DATA}; set PATCHWISE_SHARED_DATA")
    work = args.work or Path(tempfile.mkdtemp(prefix="patchwise-walkthrough-"))
    args.out.mkdir(parents=True, exist_ok=True)
    figures = {}
    for name in names:
        start = time.monotonic()
        figures[name] = run(VOLUMES[name], args.out, work, args.all_shots)
        figures[name]["seconds"] = round(time.monotonic() - start, 1)
        print(f"{name}: {json.dumps(figures[name], default=_plain)}", flush=True)
    (work / "walkthrough.json").write_text(json.dumps(figures, indent=2, default=_plain))
    print(f"projects and exports in {work}")
    return 0


def _plain(value):
    return value.item() if isinstance(value, np.generic) else str(value)


if __name__ == "__main__":
    sys.exit(main())
