"""``patchwise advise``: measure an image before the first box and say how to plan its annotation.

Reads the image (and its labels) through :mod:`..engine.io`, builds an
:class:`~napari_patchwise.engine.advise.AdviseRequest` and prints what
:func:`~napari_patchwise.engine.advise.run_advise` answers. Reads only; writes nothing.
"""

from __future__ import annotations

import json
import shlex
import sys

from ..engine.advise import Advice, AdviseRequest, run_advise
from ..engine.geometry.voxelsize import (VoxelChoice, choose_voxel_size, convert, is_physical, normalize_unit,
                                         parse_voxel_size)
from ..engine.io.volumes import read_volume
from .console import print_voxel_notes
from .errors import UsageError


def choose(args, vol) -> VoxelChoice:
    """The voxel size (``--voxel-size``, else the file's) in ``--unit`` if given; an unknown
    voxel size is an error: object sizes and the magnification depend on it."""
    unit = None
    if args.unit:
        unit = normalize_unit(args.unit)
        if unit is None:
            raise UsageError(f"unknown unit {args.unit!r}; use one of nm, um (µm), mm, A (angstrom) or px.")
    vox = choose_voxel_size(args.voxel_size, vol.voxel_size, vol.unit)
    if args.voxel_size and unit and parse_voxel_size(args.voxel_size)[1] is None:
        vox = VoxelChoice(vox.voxel_size, unit, True)  # --unit is the unit of bare numbers
    if not vox.known:
        raise UsageError(
            f"{vol.path} records no voxel size; give it with --voxel-size Z,Y,X and a unit "
            "(e.g. --voxel-size 2,0.5,0.5um, or 2.18,1,1px in pixels): object sizes and the "
            "magnification depend on it.")
    if unit and unit != vox.unit:
        if not (is_physical(unit) and is_physical(vox.unit)):
            raise UsageError(f"cannot give lengths in {unit}: the voxel size is in {vox.unit}; "
                             "leave out --unit or give --voxel-size in a length unit.")
        vox = VoxelChoice(tuple(convert(v, vox.unit, unit) for v in vox.voxel_size), unit, True, vox.notes)
    return vox


def _x(t) -> str:
    return "×".join(str(v) for v in t)


def _g(v, digits=3) -> str:
    return "n/a" if v is None or v != v else f"{v:.{digits}g}"


def print_advice(advice: Advice, image: str) -> None:
    """The advice as text: the answer, why, what was measured and the command to run next."""
    m = advice.measures
    print(f"problems: {', '.join(advice.problems)}")
    print(f"recommend: {advice.recommend}")
    print(f"magnification: {_x(advice.magnification)}   box size: {_x(advice.box_size)} "
          f"(z×y×x at the magnification, {advice.preset} preset)   boxes: {advice.boxes} ({advice.difficulty})")
    print("why:")
    for r in advice.reasons:
        print(f"  - {r}")
    size = ",".join(f"{v:.4g}" for v in m.voxel_size)
    print(f"measured on {_x(m.sample)} voxels of {size} {m.unit}: "
          f"signal-to-noise {_g(m.snr)} ({m.snr_from}), foreground {100 * m.foreground_fraction:.0f}%, "
          f"anisotropy {_g(m.anisotropy)}")
    o = m.objects
    if o is None:
        print("objects: none found")
    else:
        touching = "not measured" if o.touching_fraction is None else f"{100 * o.touching_fraction:.0f}%"
        print(f"objects ({o.source}): {o.n_objects}; diameter {' / '.join(_g(v) for v in o.diameter)} {m.unit}, "
              f"thickness {' / '.join(_g(v) for v in o.thickness)} {m.unit} (10th / 50th / 90th percentile); "
              f"of {o.n_shaped}: star-convex {100 * o.star_convex_fraction:.0f}%, touching {touching}, "
              f"elongation {_g(o.elongation, 2)}, slenderness {_g(o.slenderness)}, "
              f"branching {100 * o.branching_fraction:.0f}%")
    print("next: " + shlex.join(["patchwise", "propose", image, "-o", "PROJECT", "--preset", advice.preset,
                                 "--mag", ",".join(map(str, advice.magnification)),
                                 "--size", ",".join(map(str, advice.box_size)), "--n", str(advice.boxes)]))


def cmd_advise(args) -> int:
    vol = read_volume(args.image)
    vox = choose(args, vol)
    labels = read_volume(args.labels).data if args.labels else None
    advice = run_advise(AdviseRequest(vol.data, vox.voxel_size, vox.unit, labels=labels))
    if args.json:
        json.dump(advice.to_dict(), sys.stdout, indent=2)
        print()
        return 0
    print_voxel_notes(vox)
    print_advice(advice, args.image)
    return 0


def add_parser(sub) -> None:
    a = sub.add_parser(
        "advise",
        help="measure an image and advise: problem type, trainer, magnification, box size and count",
        description="Measure IMAGE (a centred block of at most about 160³ voxels; never the whole of a "
        "large volume) and, with LABELS, its objects: signal-to-noise, object sizes, star-convexity, "
        "touching, elongation and branching, anisotropy, foreground. Answer with the problem types "
        "(boundary, snr, topology or none), a trainer (stardist, cellpose or nnunet) and why, the "
        "coarsest magnification that keeps the smallest structures at least 4 voxels across, a box "
        "size and how many boxes to plan. Without labels the objects are found by thresholding. "
        "Writes nothing.")
    a.add_argument("image", metavar="IMAGE",
                   help="3D image: TIFF, Zarr / OME-Zarr, HDF5 (file.h5 or file.h5:dataset) or .npy")
    a.add_argument("--labels", default=None, metavar="LABELS",
                   help="instance labels or a binary mask of the same shape (any readable format)")
    a.add_argument("--voxel-size", default=None, metavar="Z,Y,X[UNIT]",
                   help="voxel size, e.g. 0.5,0.2,0.2um or 10nm; required when the file records none")
    a.add_argument("--unit", default=None,
                   help="unit of the lengths printed (e.g. um, nm), and of --voxel-size numbers given "
                   "without one (default: the voxel size's)")
    a.add_argument("--json", action="store_true",
                   help='print {"problems", "recommend", "reasons", "magnification", "box_size", "boxes", '
                   '"measures"} as JSON (measures: what was measured, the preset and the difficulty)')
    a.set_defaults(func=cmd_advise)
