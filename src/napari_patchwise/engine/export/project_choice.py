"""The projects of an export: opened, their images chosen, names across projects resolved.

With several projects, an image is named ``PROJECT:IMAGE``, or ``IMAGE``
alone when only one of the projects holds an image of that name
(:func:`resolve_images`); overrides name ``PROJECT:IMAGE:BOX`` or
``IMAGE:BOX`` the same way. ``PROJECT`` is the project's key in the dataset
(its folder's name, see :func:`~.projects.project_key`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

from .images import select_images
from .model import ExportError, ExportOptions
from .projects import case_for, check_same_classes, choose_naming, class_list, manifest_images, project_key
from .sources import open_sources

if TYPE_CHECKING:
    from .format_folder import FormatFolder


@dataclass
class ProjectExport:
    """One project of an export.

    Attributes
    ----------
    key : str
        Its name in the dataset.
    folder : Path
        The project folder (absolute).
    collection : Collection
    names : tuple of str
        The images exported.
    test_images : tuple of str
        Its images held out as test.
    sources : list of ImageSource
        The images opened (:func:`~.sources.open_sources`).
    skipped : list of (int, str)
        Boxes not exported, with the reason.
    naming : str
        How its cases are named (:data:`~.projects.NAMINGS`), once chosen.
    """

    key: str
    folder: Path
    collection: object
    names: tuple[str, ...] = ()
    test_images: tuple[str, ...] = ()
    overrides: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    naming: str = "box"

    @property
    def several(self) -> bool:
        """Whether its cases are named after their images."""
        return self.naming != "box"

    def case(self, image: str, box_id: int) -> str:
        return case_for(self.naming, self.key, image, box_id)


def load_projects(folders: Sequence) -> list[ProjectExport]:
    """Read each project's ``plan.json``; keys after the folder names (made unique).

    Raises
    ------
    ExportError
        When a project folder is given twice.
    """
    from ..plan.plan_file import load_collection

    out: list[ProjectExport] = []
    seen: dict[Path, str] = {}
    for folder in folders:
        path = Path(folder).resolve()
        if path in seen:
            raise ExportError(f"project {folder} is given twice; name each project once.")
        key = project_key(path, [p.key for p in out])
        seen[path] = key
        out.append(ProjectExport(key, path, load_collection(path)))
    return out


def _split(text: str, keys: Sequence[str]) -> tuple[str | None, str]:
    project, sep, image = text.partition(":")
    return (project, image) if sep and project in keys else (None, text)


def export_image_names(folders: Sequence) -> list[str]:
    """The images an export of these projects can hold out as test, as it names them.

    One project: its image names. Several: ``PROJECT:IMAGE`` for each image
    of each project (the key :func:`load_projects` gives it). A folder that
    holds no readable project is left out (the export itself says why).

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> from napari_patchwise.engine.plan.project import create_project
    >>> tmp = Path(tempfile.mkdtemp())
    >>> a = create_project(tmp / "a", Plan(ImageRef((4, 8, 8), path="raw.tif")))
    >>> b = create_project(tmp / "b" / "a", Plan(ImageRef((4, 8, 8), path="fib.tif")))
    >>> export_image_names([a]), export_image_names([a, b, tmp / "none"])
    (['raw'], ['a:raw', 'a_2:fib'])
    """
    from ..plan.plan_file import load_collection
    from ..plan.project import ProjectError

    found: list[tuple[str, tuple[str, ...]]] = []
    seen: set[Path] = set()
    for folder in folders:
        path = Path(folder).resolve()
        if path in seen:
            continue
        try:
            names = tuple(load_collection(path).names)
        except (ProjectError, OSError, ValueError):
            continue
        seen.add(path)
        found.append((project_key(path, [k for k, _ in found]), names))
    if len(found) == 1:
        return list(found[0][1])
    return [f"{key}:{name}" for key, names in found for name in names]


def resolve_images(projects: Sequence[ProjectExport], wanted: Iterable[str], what: str) -> dict[str, tuple[str, ...]]:
    """Per project key, the images ``wanted`` names (``PROJECT:IMAGE`` or ``IMAGE`` when unique).

    Raises
    ------
    ExportError
        For an image no project holds, or one several hold (naming them).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> ps = [ProjectExport("a", Path("a"), NS(names=("raw", "fib"))), ProjectExport("b", Path("b"), NS(names=("raw",)))]
    >>> resolve_images(ps, ["fib", "b:raw"], "images")
    {'a': ('fib',), 'b': ('raw',)}
    >>> resolve_images(ps, ["raw"], "test images")
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: test images raw: projects a and b both hold an image raw; name it PROJECT:IMAGE (a:raw or b:raw).
    """
    keys = [p.key for p in projects]
    out: dict[str, list[str]] = {k: [] for k in keys}
    for text in dict.fromkeys(wanted):
        project, image = _split(text, keys)
        holders = [p for p in projects if (project is None or p.key == project) and image in p.collection.names]
        if not holders:
            where = "; ".join(f"{p.key}: {', '.join(p.collection.names)}" for p in projects)
            raise ExportError(f"{what} {text}: no project holds such an image (PROJECT:IMAGE or IMAGE; the "
                              f"images are {where}).")
        if len(holders) > 1:
            ks = [p.key for p in holders]
            raise ExportError(f"{what} {text}: projects {', '.join(ks[:-1])} and {ks[-1]} both hold an image "
                              f"{image}; name it PROJECT:IMAGE ({' or '.join(f'{k}:{image}' for k in ks)}).")
        out[holders[0].key].append(image)
    return {k: tuple(v) for k, v in out.items() if v}


def choose_images(projects: Sequence[ProjectExport], images: Sequence[str], test_images: Sequence[str]) -> None:
    """Set each project's exported and test images (one project: as its own export chooses them).

    Raises
    ------
    ExportError
        Unknown images, test images not exported, or every image held out.
    """
    if len(projects) == 1:
        p = projects[0]
        p.names = select_images(p.collection.names, images)
        p.test_images = select_images(p.collection.names, test_images, "test images") if test_images else ()
    else:
        chosen = resolve_images(projects, images, "images") if images else None
        tests = resolve_images(projects, test_images, "test images")
        for p in projects:
            p.names = tuple(chosen.get(p.key, ())) if chosen is not None else tuple(p.collection.names)
            p.names = tuple(n for n in p.collection.names if n in p.names)
            p.test_images = tuple(n for n in p.collection.names if n in tests.get(p.key, ()))
        projects_without = [p.key for p in projects if not p.names]
        if projects_without:
            raise ExportError(f"--images leaves no image of project {', '.join(projects_without)}; name one of "
                              "its images too, or export without that project.")
    label = (lambda p, n: n) if len(projects) == 1 else (lambda p, n: f"{p.key}:{n}")
    outside = [label(p, n) for p in projects for n in p.test_images if n not in p.names]
    every = [label(p, n) for p in projects for n in p.names]
    if outside:
        raise ExportError(f"test images {', '.join(outside)} are not among the exported images "
                          f"({', '.join(every)}); add them to the images to export.")
    if any(p.test_images for p in projects) and sum(len(p.test_images) for p in projects) == len(every):
        raise ExportError(f"every exported image ({', '.join(every)}) is held out as test; leave at least "
                          "one image for training.")


def share_overrides(projects: Sequence[ProjectExport], overrides: Mapping) -> None:
    """Give each project its overrides (keys ``(image, box)``, ``(PROJECT:IMAGE, box)`` or a box id).

    Raises
    ------
    ExportError
        A box id alone with several projects, or an image no (single) project holds.
    """
    if len(projects) == 1:
        projects[0].overrides = dict(overrides)
        return
    for key, why in overrides.items():
        if not isinstance(key, tuple):
            raise ExportError("box ids repeat across projects and images: name the image of each override "
                              f"(PROJECT:IMAGE:BOX=REASON, e.g. {projects[0].key}:"
                              f"{projects[0].collection.names[0]}:{key}=\"checked by hand\").")
        image, box_id = key
        [(owner, names)] = resolve_images(projects, [image], "an override names image").items()
        p = next(p for p in projects if p.key == owner)
        p.overrides[(names[0], int(box_id))] = why


def box_label(p: ProjectExport, multi: bool) -> Callable[[str, int], str]:
    """How a box is named in messages: ``box 3``, ``box 3 of image fib``, ``... of project a``."""
    def label(image: str, box_id: int) -> str:
        text = f"box {box_id}" + (f" of image {image}" if p.several else "")
        return text + (f" of project {p.key}" if multi else "")
    return label


def split_group(p: ProjectExport, image: str | None, multi: bool) -> str | None:
    """The name splits group a case's image by (unique across the projects of a dataset)."""
    if not multi:
        return image
    return f"{p.key}:{image if p.naming != 'box' else ''}"


def open_projects(folders, options: ExportOptions) -> list[ProjectExport]:
    """Load the projects, check their classes agree, choose their images and open them."""
    projects = load_projects(folders)
    if len(projects) > 1:
        check_same_classes({p.key: class_list(p.collection.images[0].plan) for p in projects})
        if options.test_boxes:
            raise ExportError("box ids repeat across projects, so test boxes cannot name a box; hold out "
                              "whole images as test (--test-images PROJECT:IMAGE).")
    choose_images(projects, options.images, options.test_images)
    share_overrides(projects, options.overrides)
    for p in projects:
        p.sources, p.skipped = open_sources(p.folder, p.collection, p.names, p.overrides, options.only_done)
    return projects


def skipped_boxes(projects: Sequence[ProjectExport]) -> list[tuple[object, str]]:
    """The boxes the projects skip, each keyed as an override names it (with several projects
    ``(PROJECT:IMAGE, id)``), with why.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> a = ProjectExport("a", Path("a"), NS(names=("raw", "fib")), names=("raw", "fib"), skipped=[(("fib", 3), "touching")])
    >>> b = ProjectExport("b", Path("b"), NS(names=("raw",)), names=("raw",), skipped=[(2, "nothing annotated")])
    >>> skipped_boxes([a, b])
    [(('a:fib', 3), 'touching'), (('b:raw', 2), 'nothing annotated')]
    >>> skipped_boxes([b])
    [(2, 'nothing annotated')]
    """
    if len(projects) == 1:
        return list(projects[0].skipped)
    return [((f"{p.key}:{k[0]}", k[1]) if isinstance(k, tuple) else (f"{p.key}:{p.names[0]}", k), why)
            for p in projects for k, why in p.skipped]


def name_projects(projects: Sequence[ProjectExport], fmts: Sequence[FormatFolder]) -> tuple[list[str], dict]:
    """Keys and naming of the export's projects, from what the format folders hold; every key in order
    and the naming of each."""
    held, others = {}, {}
    for fm in fmts:
        if fm.dataset is None:
            continue
        for key, m in fm.dataset.manifests.items():
            bucket = held if m.get("project") in {str(p.folder) for p in projects} else others
            bucket.setdefault(m.get("project"), (key, fm.dataset.naming[key], manifest_images(m)))
    keys = {}
    for path, (key, _, _) in [*held.items(), *others.items()]:
        if keys.setdefault(key, path) != path:
            raise ExportError(f"the folders in the output folder name different projects {key} ({keys[key]} and "
                              f"{path}); export into another output folder.")
    multi = len(others) + len(projects) > 1
    taken = [k for k, _, _ in others.values()] + [k for k, _, _ in held.values()]
    for p in projects:
        if str(p.folder) in held:
            p.key, naming, _ = held[str(p.folder)]
            several = len(p.collection.images) > 1
            p.naming = naming if multi and not (naming == "box" and several) else ("image" if several else "box")
        else:
            p.key = project_key(p.folder, taken)
            taken.append(p.key)
    for p in projects:
        if str(p.folder) not in held:
            own = p.collection.names
            other = [n for _, _, names in others.values() for n in names]
            other += [n for q in projects if q is not p for n in q.collection.names]
            p.naming = choose_naming(len(own) > 1, not multi, own, other)
    order = [k for k, _, _ in others.values()] + [p.key for p in projects]
    naming = {k: n for k, n, _ in others.values()} | {p.key: p.naming for p in projects}
    return order, naming
