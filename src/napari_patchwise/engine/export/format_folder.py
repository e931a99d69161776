"""One format folder of an export: what it holds already, which cases stay, its manifests.

A :class:`FormatFolder` reads the folder a format writes into (cleaning up
after an interrupted export first, :func:`~.staging.recover`), as a
:class:`~.projects.Dataset` of one or more projects. Projects of the export
that the folder already holds keep their cases (new ones are added), unless
the export overwrites: then only their own cases are replaced and every other
project's stay. A folder holding something else than a napari-patchwise
export, or an export new projects cannot join (other classes or settings), is
refused unless the export overwrites it. :meth:`FormatFolder.write_manifests`
writes the manifest of each project and, with several projects, the
dataset's manifest (see :mod:`.projects`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .manifest import build_manifest, manifest_bytes, several_images_manifest, sha256_file
from .model import MANIFEST_NAME, CaseOutput, ExportError
from .projects import (
    PROJECTS_FOLDER, Dataset, compatible, dataset_manifest, project_manifest_path, read_dataset,
)
from .sources import same_export
from .staging import Stage, existing_export, recover

HINT = ("choose another output folder, move it away, or export with overwrite on (--overwrite, or the "
        "Export dock's overwrite box) to replace it.")


class FormatFolder:
    """What one format's export holds while it is being written."""

    def __init__(self, name: str, writer, ctx, out: Path):
        self.name, self.writer = name, writer
        self.target = out / writer.folder_name(ctx)
        self.dataset: Dataset | None = None
        self.old_cases: dict[str, dict] = {}  # cases that stay, each with its "project" key
        self.dropped: dict[str, dict] = {}  # cases of overwritten projects
        self.stage: Stage | None = None
        self.recovered: list[str] = []
        self.warnings: list[str] = []
        self.new: dict[str, tuple[dict, CaseOutput]] = {}  # case -> (entry, what the writer wrote)

    @property
    def old(self) -> dict | None:
        return None if self.dataset is None else self.dataset.index

    def open(self, overwrite: bool, classes: list[dict], settings: dict) -> None:
        """Read the folder: a dataset new cases may join, or nothing (a missing or empty folder).

        Raises
        ------
        ExportError
            When the folder holds something else, or a dataset these
            projects cannot join (without ``overwrite``).
        """
        self.recovered = recover(self.target)
        try:
            manifest = existing_export(self.target, overwrite=False, same=lambda m: None)
            self.dataset = None if manifest is None else read_dataset(self.target, manifest)
        except ExportError:
            if not overwrite:
                raise
            self.dataset = None
            return
        if self.dataset is None:
            return
        differs = compatible(self.dataset, self.name, classes, settings)
        if differs:
            if not overwrite:
                raise ExportError(f"{self.target} holds {differs}; {HINT}")
            self.warnings.append(f"{self.name}: replaced {self.target}, which held {differs}.")
            self.dataset = None

    def settle(self, projects, overwrite: bool, settings: dict) -> None:
        """Decide which cases stay: the projects of the export held here are checked (same images,
        magnification, classes, settings and naming) and, with ``overwrite``, their cases dropped."""
        if self.dataset is None:
            return
        drop = set()
        for p in projects:
            key = self.dataset.key_of(str(p.folder))
            if key is None:
                continue
            manifest = self.dataset.manifests[key]
            described = {src.name: src.describe() for src in p.sources} if p.several else None
            differs = same_export(p.sources[0].plan, str(p.folder), settings, p.sources[0].path,
                                  described)(manifest)
            if differs is None and (key != p.key or self.dataset.naming[key] != p.naming):
                differs = f"project {p.key} with its cases named otherwise (as {key}, {self.dataset.naming[key]})"
            if overwrite:
                drop.add(key)
            elif differs:
                raise ExportError(f"{self.target} holds an export of {differs}; {HINT}")
        cases = self.dataset.cases()
        self.dropped = {c: e for c, e in cases.items() if e["project"] in drop}
        self.old_cases = {c: e for c, e in cases.items() if e["project"] not in drop}
        for key in drop:
            del self.dataset.manifests[key]
            del self.dataset.naming[key]
        if not self.dataset.manifests:
            self.dataset = None

    def missing_files(self) -> list[str]:
        """Warnings about files the manifest lists but the folder lacks."""
        missing = sorted(rel for c in self.old_cases.values() for rel in c["files"]
                         if not (self.target / rel).is_file())
        if not missing:
            return []
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return [(f"{self.target} lacks files its manifest lists ({shown}); export with "
                 "overwrite to write them again.")]

    def start(self) -> None:
        self.stage = Stage(self.target)
        if self.dataset is not None:
            linked = {rel for c in self.old_cases.values() for rel in c["files"]}
            skip = {rel for c in self.dropped.values() for rel in c["files"]}
            skip |= {(Path(PROJECTS_FOLDER) / p.name).as_posix() for p in (self.target / PROJECTS_FOLDER).glob("*")}
            self.stage.carry(self.target, linked, skip=skip)

    def write_manifests(self, projects, all_keys: list[str], naming: Mapping[str, str], run: Mapping,
                        split_by: str) -> None:
        """The manifest of each project (and with several, the dataset's manifest) into the stage.

        ``run`` holds what every project's manifest records of this export
        (:func:`~.manifest.build_manifest` keywords but ``plan``, ``project``,
        ``image_path``, ``cases``, ``files``, ``skipped`` and ``plan_findings``); ``split_by``
        the grouping of the splits.
        """
        root = self.stage.path
        old = self.dataset.manifests if self.dataset is not None else {}
        all_keys = [k for k in all_keys if k in old or any(p.key == k for p in projects)]
        entries: dict[str, list[dict]] = {k: [] for k in all_keys}
        for e in self.old_cases.values():
            entries[e["project"]].append({k: v for k, v in e.items() if k != "project"})
        claimed = {rel for c in self.old_cases.values() for rel in c["files"]}
        for case, (entry, out) in self.new.items():
            files = tuple(out.files)
            missing = [rel for rel in files if not (root / rel).is_file()]
            if missing:
                raise ExportError(f"the {self.name} writer listed {missing} for {case} but did not write them.")
            entries[entry.pop("project")].append(
                {**entry, "files": {rel: sha256_file(root / rel) for rel in sorted(files)}})
            claimed.update(files)
        manifests: dict[str, dict] = {}
        for key in all_keys:
            p = next((p for p in projects if p.key == key), None)
            if p is None:
                manifests[key] = {**old[key], "files": {}}
                continue
            manifests[key] = build_manifest(
                export_format=self.name, plan=p.sources[0].plan, project=p.folder, image_path=p.sources[0].path,
                cases=entries[key], files={}, skipped=p.skipped,
                plan_findings=[f for src in p.sources for f in src.findings if f.box_id is None], **run)
            if p.several:
                manifests[key] = several_images_manifest(
                    manifests[key], old.get(key), {src.name: src.describe() for src in p.sources},
                    split_by, p.test_images)
        if len(all_keys) == 1:
            [(key, manifest)] = manifests.items()
            manifest["files"] = self._dataset_files(claimed)
            (root / MANIFEST_NAME).write_bytes(manifest_bytes(manifest))
            return
        (root / PROJECTS_FOLDER).mkdir(exist_ok=True)
        for key, manifest in manifests.items():
            (root / project_manifest_path(key)).write_bytes(manifest_bytes(manifest))
        index = dataset_manifest(export_format=self.name, manifests=manifests, naming=naming,
                                 files=self._dataset_files(claimed), created=run.get("created"))
        (root / MANIFEST_NAME).write_bytes(manifest_bytes(index))

    def _dataset_files(self, claimed: set[str]) -> dict[str, str]:
        root = self.stage.path
        return {rel: sha256_file(root / rel) for rel in self.stage.files()
                if rel not in claimed and rel != MANIFEST_NAME}
