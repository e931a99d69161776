"""One dataset from several projects: names, agreement, and what a dataset folder holds.

``patchwise export P1 P2 -o OUT`` writes one dataset from several projects,
and exporting another project into an existing dataset adds its cases. Each
project gets a *key* in the dataset, its folder's name (made unique:
:func:`project_key`). Its cases are named as its own export names them
(``box_NNNN`` for a project of one image, ``{image}_box_NNNN`` for several)
while it is the dataset's only project; a project joining others names its
cases after its images, and prefixes them with its key when one of its image
names is also an image of another project (:func:`choose_naming`):
``{project}_{image}_box_NNNN``. A project keeps the naming it was first
exported with, so its later exports extend its cases.

Every project of a dataset must have the same classes (the label values of
``dataset.json``); the export settings are the dataset's.

What a format folder holds (:class:`Dataset`, read by :func:`read_dataset`):

one project
    ``patchwise_manifest.json``: that project's manifest, exactly as an
    export of one project writes it.
several projects
    ``patchwise_projects/{key}.json``: each project's manifest (its cases and
    their files; its ``files`` empty), and ``patchwise_manifest.json``: the
    dataset's manifest (:func:`dataset_manifest`), listing the projects, every
    case (with its ``project``) and the dataset-level files.

Examples
--------
>>> project_key("/data/my embryo", set())
'my_embryo'
>>> project_key("/other/my_embryo", {"my_embryo"})
'my_embryo_2'
>>> case_for("project", "cells", "t000", 3)
'cells_t000_box_0003'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .images import image_case_name
from .manifest import _jsonable, manifest_header, read_manifest
from .model import MANIFEST_NAME, ExportError

#: Folder of a dataset of several projects holding each project's manifest.
PROJECTS_FOLDER = "patchwise_projects"
#: How a project names its cases: ``box_NNNN``, ``{image}_box_NNNN``, ``{project}_{image}_box_NNNN``.
NAMINGS = ("box", "image", "project")


def project_key(folder, taken: Iterable[str]) -> str:
    """A project's name in a dataset: its folder's name as a safe file name, unique among ``taken``.

    Names are told apart without regard to case.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(folder)).name).strip("._") or "project"
    taken = {t.lower() for t in taken}
    key, i = name, 1
    while key.lower() in taken:
        i += 1
        key = f"{name}_{i}"
    return key


def case_for(naming: str, key: str, image: str, box_id: int) -> str:
    """The case name of a box under a project's naming.

    Examples
    --------
    >>> case_for("box", "p", "raw", 7), case_for("image", "p", "raw", 7)
    ('box_0007', 'raw_box_0007')
    """
    if naming == "box":
        return f"box_{int(box_id):04d}"
    if naming == "image":
        return image_case_name(image, box_id)
    return image_case_name(f"{key}_{image}", box_id)


def manifest_naming(manifest: Mapping) -> str:
    """The naming of a one-project manifest: cases after images when it lists images."""
    return "image" if manifest.get("images") else "box"


def manifest_images(manifest: Mapping) -> list[str]:
    """The image names a project's manifest lists (none when its cases are not named after images)."""
    return [str(i.get("name")) for i in manifest.get("images") or [] if isinstance(i, Mapping)]


def class_list(manifest_or_plan) -> list[dict]:
    """Classes as a manifest records them (``name`` and ``kind``)."""
    if isinstance(manifest_or_plan, Mapping):
        return [dict(c) for c in manifest_or_plan.get("classes") or [] if isinstance(c, Mapping)]
    return [{"name": c.name, "kind": c.kind} for c in manifest_or_plan.classes]


def _classes_text(classes: Sequence[Mapping]) -> str:
    return ", ".join(f"{c.get('name')} ({c.get('kind')})" for c in classes) or "none"


def check_same_classes(named: Mapping[str, Sequence[Mapping]]) -> None:
    """Refuse projects whose classes differ (one dataset has one set of label values).

    Examples
    --------
    >>> check_same_classes({"a": [{"name": "nuclei", "kind": "instance"}],
    ...                     "b": [{"name": "mito", "kind": "semantic"}]})
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: projects a and b have different classes (a: nuclei (instance); b: mito (semantic)); one dataset holds one set of labels: give the projects the same classes (patchwise propose --classes), or export them into different folders.
    """
    items = list(named.items())
    first_key, first = items[0]
    odd = [(k, c) for k, c in items[1:] if list(c) != list(first)]
    if odd:
        who = [first_key, *(k for k, _ in odd)]
        listed = "; ".join(f"{k}: {_classes_text(c)}" for k, c in [(first_key, first), *odd])
        raise ExportError(
            f"projects {', '.join(who[:-1])} and {who[-1]} have different classes ({listed}); one dataset "
            "holds one set of labels: give the projects the same classes (patchwise propose --classes), "
            "or export them into different folders."
        )


def choose_naming(several_images: bool, alone: bool, own: Iterable[str], others: Iterable[str]) -> str:
    """How a project new to a dataset names its cases.

    ``alone``: the dataset will hold no other project (its names stay those
    of a one-project export). Otherwise cases are named after images, with
    the project's key in front when one of its images (``own``) has the name
    of another project's image (``others``; told apart without regard to case).

    Examples
    --------
    >>> choose_naming(False, True, ["raw"], []), choose_naming(True, True, ["a", "b"], [])
    ('box', 'image')
    >>> choose_naming(False, False, ["raw"], ["fib"]), choose_naming(False, False, ["raw"], ["RAW"])
    ('image', 'project')
    """
    if alone:
        return "image" if several_images else "box"
    taken = {o.lower() for o in others}
    return "project" if any(n.lower() in taken for n in own) else "image"


@dataclass
class Dataset:
    """What a format folder holds: each project's manifest by key, and their naming.

    Attributes
    ----------
    manifests : dict of str to dict
        Each project's manifest (``cases`` with ``files``), by key.
    naming : dict of str to str
        Each project's naming (:data:`NAMINGS`).
    index : dict or None
        The dataset's manifest when the folder holds several projects.
    """

    manifests: dict[str, dict] = field(default_factory=dict)
    naming: dict[str, str] = field(default_factory=dict)
    index: dict | None = None

    def key_of(self, project: str) -> str | None:
        """The key of the project at path ``project``, if the folder holds it."""
        for key, m in self.manifests.items():
            if m.get("project") == project:
                return key
        return None

    def cases(self) -> dict[str, dict]:
        """Every case of the folder, by name, each with its ``project`` key."""
        return {c["case"]: {**c, "project": key} for key, m in self.manifests.items() for c in m["cases"]}

    def settings(self) -> dict:
        """The dataset's settings and classes (from its first project)."""
        first = next(iter(self.manifests.values()), {})
        return {"settings": first.get("settings") or {}, "classes": class_list(first),
                "export_format": first.get("export_format")}


def read_dataset(target: Path, manifest: Mapping) -> Dataset:
    """The projects of a format folder whose ``patchwise_manifest.json`` is ``manifest``.

    Raises
    ------
    ExportError
        When a project's manifest the dataset's manifest lists is missing or damaged.
    """
    if not manifest.get("projects"):
        key = project_key(manifest.get("project") or "project", ())
        return Dataset({key: dict(manifest)}, {key: manifest_naming(manifest)})
    out = Dataset(index=dict(manifest))
    for p in manifest["projects"]:
        try:
            key, rel, naming = str(p["name"]), str(p["manifest"]), str(p["naming"])
        except (KeyError, TypeError):
            raise ExportError(f"{target / MANIFEST_NAME} has a damaged project list; export with overwrite "
                              "on (--overwrite) to write it again.") from None
        if naming not in NAMINGS or Path(rel).parts[:1] != (PROJECTS_FOLDER,) or ".." in Path(rel).parts:
            raise ExportError(f"{target / MANIFEST_NAME} lists project {key} oddly ({rel}, {naming}); export "
                              "with overwrite on (--overwrite) to write it again.")
        out.manifests[key] = read_manifest(target / rel)
        out.naming[key] = naming
    return out


def compatible(dataset: Dataset, export_format: str, classes: list[dict], settings: Mapping) -> str | None:
    """``None`` when new projects may join ``dataset``, else what differs (text for the message)."""
    have = dataset.settings()
    who = ", ".join(dataset.manifests)
    if have["export_format"] not in (None, export_format):
        return f"a {have['export_format']} export (of {who})"
    if have["classes"] != classes:
        return (f"an export of {who} with other classes ({_classes_text(have['classes'])}, not "
                f"{_classes_text(classes)}); one dataset holds one set of labels")
    changed = sorted(k for k in settings if have["settings"].get(k) != settings[k])
    if changed:
        was = ", ".join(f"{k}={have['settings'].get(k)!r}" for k in changed)
        return f"an export of {who} with other settings ({was}; use the same settings to add cases)"
    return None


def project_manifest_path(key: str) -> str:
    """Where a project's manifest lives in a dataset of several projects."""
    return f"{PROJECTS_FOLDER}/{key}.json"


def dataset_manifest(*, export_format: str, manifests: Mapping[str, Mapping], naming: Mapping[str, str],
                     files: Mapping[str, str], created: str | None = None) -> dict:
    """The ``patchwise_manifest.json`` of a dataset of several projects.

    It lists each project (key, folder, naming, its manifest's path and its
    number of cases), the classes, labels and settings the projects share,
    every case (each with its ``project``; files and hashes as in the
    project's manifest) and the dataset-level files.

    Examples
    --------
    >>> m = dataset_manifest(export_format="nnunet", naming={"a": "image", "b": "project"},
    ...                      manifests={k: {"project": f"/p/{k}", "classes": [], "labels": {}, "settings": {},
    ...                                     "cases": [{"case": f"{k}_x", "files": {}}]} for k in "ab"},
    ...                      files={}, created="1970-01-01T00:00:00Z")
    >>> [(p["name"], p["manifest"], p["cases"]) for p in m["projects"]], [c["project"] for c in m["cases"]]
    ([('a', 'patchwise_projects/a.json', 1), ('b', 'patchwise_projects/b.json', 1)], ['a', 'b'])
    """
    first = next(iter(manifests.values()))
    cases = [{**c, "project": key} for key, m in manifests.items() for c in m["cases"]]
    return _jsonable({
        **manifest_header(export_format, created),
        "projects": [{"name": key, "project": m.get("project"), "naming": naming[key],
                      "manifest": project_manifest_path(key), "cases": len(m["cases"])}
                     for key, m in manifests.items()],
        "classes": first.get("classes"),
        "labels": first.get("labels"),
        "settings": first.get("settings"),
        "cases": sorted(cases, key=lambda c: c["case"]),
        "files": dict(sorted(files.items())),
    })
