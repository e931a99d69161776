"""How the ``patchwise`` command ends when something goes wrong: a message and an exit code,
never a traceback for bad input or a fault of the machine.

Exit codes: 2 for bad input, a damaged file, a full disk, an unreachable
scheduler (the message names the file or array and the fix); 130 when
interrupted with Ctrl-C (the shell's code for SIGINT). Writes are atomic
(temporary file or folder, then rename), so a file that was already written is
either as before or complete.
"""

from __future__ import annotations

import sys
from pathlib import Path

class UsageError(Exception):
    """Bad input from the command line (exit code 2)."""


#: Exit code of a command stopped with Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
#: Exit code of bad input and of faults the message explains.
EXIT_BAD_INPUT = 2


def _origin(e: BaseException) -> str:
    """The module of the innermost frame the exception came from."""
    tb = e.__traceback__
    name = ""
    while tb is not None:
        name = tb.tb_frame.f_globals.get("__name__", "") or ""
        tb = tb.tb_next
    return name


def _from_codec(e: BaseException) -> bool:
    seen = e
    while seen is not None:
        if _origin(seen).split(".")[0] in ("numcodecs", "zarr") or "decompress" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _project_of(args) -> Path | None:
    from ..engine.plan.plan_file import is_project

    for name in ("project", "out"):
        value = getattr(args, name, None)
        if value and is_project(value):
            return Path(value)
    return None


def _inputs(args) -> list[str]:
    values = [getattr(args, k, None) for k in ("image", "source", "labels", "uncertainty")]
    return [str(v) for value in values if value
            for v in (value if isinstance(value, (list, tuple)) else [value])]


def _damaged(args, e: BaseException) -> str | None:
    """The message for a chunk that does not decode: which array and chunk, and how to restore it."""
    from ..engine.plan.store_check import damaged_chunks, damaged_message

    folder = _project_of(args)
    if folder is not None:
        found = damaged_chunks(folder)
        if found:
            from ..engine.plan.plan_file import load_plan

            try:
                plan = load_plan(folder)
            except ValueError:
                plan = None
            return damaged_message(folder, found, plan)
    inputs = ", ".join(_inputs(args)) or "an input"
    return (f"a Zarr chunk could not be decoded ({type(e).__name__}: {e}); {inputs} is damaged on disk: "
            "copy it again from its source.")


def _hdf5(args, e: BaseException) -> str:
    inputs = ", ".join(p for p in _inputs(args) if ".h5" in p.lower() or ".hdf" in p.lower()) or "an HDF5 input"
    return (f"{inputs} could not be read ({e}): the HDF5 file is damaged or cut short; copy it again "
            "from its source (h5dump or h5ls show what is still readable).")


def run(args, func, expected: tuple[type[BaseException], ...]) -> int:
    """Run a subcommand; turn bad input and faults into one message line and an exit code."""
    from ..engine.plan.paths import os_error_reason

    command = getattr(args, "command", "")

    def fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
        print(f"patchwise {command}: error: {message}", file=sys.stderr, flush=True)
        return code

    try:
        return int(func(args))
    except KeyboardInterrupt:
        return fail("interrupted (Ctrl-C) before it finished. Files are replaced only whole (plan.json, "
                    "export folders), so each is as it was or complete; run the command again to finish.",
                    EXIT_INTERRUPTED)
    except expected as e:
        if _from_codec(e):
            return fail(_damaged(args, e))
        return fail(str(e))
    except OSError as e:
        if _origin(e).startswith("h5py"):
            return fail(_hdf5(args, e))
        return fail(f"{os_error_reason(e)}. Files are replaced only whole, so what was saved before "
                    "is intact.")
    except Exception as e:
        if _from_codec(e):
            return fail(_damaged(args, e))
        raise
