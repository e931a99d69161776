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
