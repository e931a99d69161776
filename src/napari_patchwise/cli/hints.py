"""Commands the ``patchwise`` command prints as hints, spelled so they run as printed.

A person who ran ``.venv/bin/patchwise demo`` without activating the venv has
no ``napari`` or ``pip`` of that venv on ``PATH``: a hint saying ``napari ...``
would start another napari (without this plugin) or none. So hints name the
programs installed beside the Python that is running, the way the shell will
find them: the bare name when ``PATH`` leads there, else their path (relative
to the working folder when inside it, e.g. ``.venv/bin/napari``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def _scripts_folder(executable: str | None = None) -> Path:
    return Path(executable or sys.executable).parent


def installed(name: str, *, executable: str | None = None) -> bool:
    """Whether the program ``name`` is installed beside the running Python.

    Examples
    --------
    >>> installed(Path(sys.executable).name)
    True
    >>> installed("no-such-program-here")
    False
    """
    folder = _scripts_folder(executable)
    return any((folder / n).is_file() for n in (name, f"{name}.exe"))


def program(name: str, *, executable: str | None = None, cwd=None, path: str | None = None) -> str:
    """How to start the program ``name`` installed beside the running Python, from the shell.

    Parameters
    ----------
    name : str
        A console script (``napari``, ``patchwise``, ``nnUNetv2_plan_and_preprocess``) or
        the Python itself.
    executable : str, optional
        The Python (default :data:`sys.executable`).
    cwd : path, optional
        The working folder (default the current one).
    path : str, optional
        The ``PATH`` to search (default the environment's).

    Returns
    -------
    str
        ``name`` when ``PATH`` finds that very file, else its path: relative
        to ``cwd`` when inside it, absolute otherwise (shell-quoted).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     bin_ = Path(tmp, ".venv", "bin"); bin_.mkdir(parents=True)
    ...     for n in ("python", "napari"):
    ...         _ = (bin_ / n).write_text(""); (bin_ / n).chmod(0o755)
    ...     py = str(bin_ / "python")
    ...     print(program("napari", executable=py, cwd=tmp, path=""))
    ...     print(program("napari", executable=py, cwd=tmp, path=str(bin_)))
    ...     print(program("napari", executable=py, cwd=Path(tmp, "elsewhere"), path="") == str(bin_ / "napari"))
    .venv/bin/napari
    napari
    True
    """
    folder = _scripts_folder(executable)
    target = next((folder / n for n in (name, f"{name}.exe") if (folder / n).is_file()), folder / name)
    found = shutil.which(name, path=os.environ.get("PATH", "") if path is None else path)
    if found and _same_file(Path(found), target):
        return name
    here = Path(cwd or Path.cwd()).absolute()
    try:
        rel = target.absolute().relative_to(here)
    except ValueError:
        return shlex.quote(str(target.absolute()))
    spelled = str(rel) if rel.parent != Path(".") else os.path.join(".", str(rel))
    return shlex.quote(spelled)


def _same_file(a: Path, b: Path) -> bool:
    """Same name in the same folder. Not :func:`os.path.samefile`: a venv's ``python`` is a
    link to the base Python, which is not the venv."""
    return a.name == b.name and os.path.realpath(a.parent) == os.path.realpath(b.parent)


def pip(**kw) -> str:
    """``pip`` of the running Python: ``<python> -m pip``.

    Examples
    --------
    >>> pip(executable="/opt/env/bin/python", cwd="/opt", path="")
    'env/bin/python -m pip'
    """
    executable = kw.get("executable") or sys.executable
    return f"{program(Path(executable).name, **kw)} -m pip"
