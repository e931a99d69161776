"""The boxes an export held out as test: read from its manifest (``patchwise_manifest.json``).

An export records each case's split in the manifest of every format folder it
writes (:mod:`..export.manifest`); the project itself keeps no record of where
it was exported. :func:`held_out_boxes` therefore reads a given export folder (the
``-o`` folder of ``patchwise export`` or one format folder in it), or looks for
exports of the project inside the project folder and beside it, and takes the
newest.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..export.manifest import read_manifest
from ..export.model import MANIFEST_NAME

__all__ = ["find_exports", "held_out_boxes"]


def _manifests(folder: Path) -> list[Path]:
    """The manifest of an export folder, or those one folder below it."""
    if (folder / MANIFEST_NAME).is_file():
        return [folder / MANIFEST_NAME]
    return _manifests_in(_folders(folder))


def _folders(folder: Path) -> list[Path]:
    """The folders in ``folder`` (hidden ones left out, as a glob does), sorted; none when it
    cannot be read or has gone meanwhile (the folder beside a project may be a shared one, /tmp
    say, that other programs change)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if not e.name.startswith(".") and _is_dir(e))
    except OSError:
        return []


def _is_dir(entry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _manifests_below(base: Path) -> list[Path]:
    """Manifests one folder below ``base``, then two folders below it (each sorted); folders
    that cannot be read or vanish while they are looked at are passed over.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for sub in ("b", "a/x"):
    ...         (Path(tmp) / sub).mkdir(parents=True)
    ...         _ = (Path(tmp) / sub / MANIFEST_NAME).write_text("{}")
    ...     [str(p.relative_to(tmp).parent) for p in _manifests_below(Path(tmp))]
    ['b', 'a/x']
    """
    one = _folders(base)
    return _manifests_in(one) + [p for sub in one for p in _manifests_in(_folders(sub))]


def _manifests_in(folders: list[Path]) -> list[Path]:
    """The manifests of those ``folders`` that hold one."""
    return [p for p in (d / MANIFEST_NAME for d in folders) if p.is_file()]


def _same_project(manifest: dict, project: Path) -> bool:
    try:
        return Path(str(manifest.get("project"))).resolve() == project.resolve()
    except (OSError, RuntimeError):
        return False


def find_exports(project) -> list[Path]:
    """Manifests of exports of ``project``, in the project folder or beside it (two levels deep).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     find_exports(Path(tmp) / "project")
    []
    """
    project = Path(project)
    found = []
    for base in (project, project.parent):
        for path in _manifests_below(base):
            try:
                m = read_manifest(path)
            except (ValueError, OSError):  # not a manifest, or gone since it was found
                continue
            if _same_project(m, project) and path not in found:
                found.append(path)
    return found


def held_out_boxes(project, names: Sequence[str], export=None) -> dict[str, list[int]]:
    """``{image name: [box ids]}`` the export put in the test split, for the images ``names``.

    Parameters
    ----------
    project : path
        The project folder.
    names : sequence of str
        Its images (the first is the image of a one-image export's cases).
    export : path, optional
        The export folder (``-o`` of ``patchwise export``, or a format folder
        in it); default: the newest export of the project found by
        :func:`find_exports`.

    Raises
    ------
    ValueError
        No export found (export first), an export of another project, or an
        export without test boxes (the message says how to make some).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     held_out_boxes(Path(tmp) / "project", ["img"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --split test needs an export that held out test boxes, and none of ... was found ...
    """
    project = Path(project)
    if export is None:
        paths = find_exports(project)
        if not paths:
            raise ValueError(
                f"--split test needs an export that held out test boxes, and none of {project} was found "
                f"in it or beside it; export first (patchwise export {project} -o OUT --format nnunet "
                "--split 0.7,0.15,0.15, or --test-boxes IDS), then give --export OUT if OUT is elsewhere.")
    else:
        export = Path(export)
        if not export.exists():
            raise FileNotFoundError(f"no export at {export}; give the folder patchwise export wrote (its -o).")
        paths = _manifests(export)
        if not paths:
            raise ValueError(f"{export} holds no {MANIFEST_NAME}; give the folder patchwise export wrote "
                             "(its -o folder or one format folder in it).")
    manifests = [(read_manifest(p), p) for p in paths]
    if export is not None:
        other = [p for m, p in manifests if not _same_project(m, project)]
        if other:
            m = read_manifest(other[0])
            raise ValueError(f"{other[0]} is an export of {m.get('project')}, not of {project}; give an "
                             "export of this project.")
    manifest, where = max(manifests, key=lambda mp: str(mp[0].get("created", "")))
    out: dict[str, list[int]] = {}
    for case in manifest["cases"]:
        if case.get("split") != "test" or not isinstance(case.get("box_id"), int):
            continue
        image = case.get("image") or names[0]
        out.setdefault(str(image), []).append(int(case["box_id"]))
    if not out:
        raise ValueError(f"the export at {where.parent} put no box in the test split; export again with a "
                         "test share (--split 0.7,0.15,0.15) or named test boxes (--test-boxes IDS).")
    return {n: sorted(out[n]) for n in names if n in out}
