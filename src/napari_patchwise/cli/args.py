"""Reading command-line values the commands share, and the project lock a writing command holds."""

from __future__ import annotations

from pathlib import Path

from ..engine.plan.lock import project_lock
from ..engine.plan.plan_file import PLAN_FILE, load_plan
from .errors import UsageError


def triple_arg(text: str, what: str) -> tuple[int, int, int]:
    """``Z,Y,X`` (or ``ZxYxX``, or one number for all three) as three whole numbers >= 1.

    Examples
    --------
    >>> triple_arg("32,64x64", "--size"), triple_arg("8", "--size")
    ((32, 64, 64), (8, 8, 8))
    >>> triple_arg("0,1,1", "--size")
    Traceback (most recent call last):
    ...
    napari_patchwise.cli.errors.UsageError: --size must be three whole numbers Z,Y,X (e.g. 64,64,64); got '0,1,1'.
    """
    try:
        vals = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        vals = ()
    if len(vals) == 1:
        vals = vals * 3
    if len(vals) != 3 or min(vals) < 1:
        raise UsageError(f"{what} must be three whole numbers Z,Y,X (e.g. 64,64,64); got {text!r}.")
    return vals  # type: ignore[return-value]


def writing(folder, args, *, new: bool = False):
    """Hold the project's lock while a command changes it (``with writing(folder, args):``).

    Load the plan inside the block, never before: another writer may have
    changed it until the lock was taken. ``new``: the folder may be missing or
    empty (a new project is made there).
    """
    folder = Path(folder)
    if new:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{folder} is a file; choose a new or empty folder for the project.")
    elif not (folder / PLAN_FILE).is_file():
        load_plan(folder)  # raises with the precise reason
    return project_lock(folder, getattr(args, "command_line", None) or f"patchwise {args.command}",
                        create=new)


def add_axes_options(parser) -> None:
    """``--axes``, ``--time``, ``--channel`` and ``--channel-names``: how an image file with time
    points or channels is read (see :mod:`napari_patchwise.engine.io.axes`)."""
    parser.add_argument("--axes", default=None, metavar="AXES",
                        help="the file's axes, one letter per axis (e.g. TZYX, CZYX, TCZYX, ZCYX), when its "
                        "metadata records none or records them wrong; default: what the file records")
    parser.add_argument("--time", default=None, metavar="T",
                        help="time points to add, e.g. 0,5,10 or 0-19:5 (default: every one); each becomes "
                        "an image named NAME_t000, NAME_t005, ...")
    parser.add_argument("--channel", default=None, metavar="N|all",
                        help="the channel proposal and seeding measure on an image with channels: its "
                        "number, or all (the mean of the channels, each normalised; the default). Export "
                        "writes every channel")
    parser.add_argument("--channel-names", default=None, metavar="NAME,NAME",
                        help="a name per channel (e.g. nuclei,membrane), for nnU-Net's channel_names; "
                        "default: the names the file records (ImageJ / Fiji labels, OME-TIFF, OME-Zarr), else "
                        "channel_0, channel_1, ...")


def add_prediction_options(parser, *, second: bool = False) -> None:
    """``--prediction`` (with ``--second-prediction`` when ``second``), ``--threshold``, ``--kind`` and
    ``--class``: how the commands that read a model's prediction (evaluate, scan, report) take it."""
    from ..engine.evaluate.prediction import KINDS

    parser.add_argument("--prediction", required=True, metavar="PRED",
                        help="the prediction: a TIFF, Zarr, HDF5 (file.h5:dataset) or .npy volume of the image's "
                             "shape or the annotation grid's; or a folder with one file per image named after it "
                             "(NAME.tif)")
    if second:
        parser.add_argument("--second-prediction", default=None, metavar="P2",
                            help="another prediction of the same images: where the two differ counts as uncertain")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="probability from which a voxel of a probability map is foreground "
                             "(default: %(default)s)")
    parser.add_argument("--kind", default="auto", choices=KINDS,
                        help="what the prediction holds (default auto: floats a probability map, integers "
                             "instance ids, or class values when the plan has several classes)")
    parser.add_argument("--class", dest="class_name", default=None, metavar="NAME",
                        help="the class a one-class prediction (instances, probability) is of, when the plan "
                             "has several")
