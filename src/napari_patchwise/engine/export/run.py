"""Export a project: choose boxes, assign splits, write every format, swap into place.

:func:`export_project` is what the Export dock and ``patchwise export`` call.
For each format a writer module (``nnunet``, ``stardist``,
``cellpose_planes``, ``omezarr`` in this package) provides::

    folder_name(ctx) -> str                     the format folder in the output folder
    write_case(root, crop, ctx) -> CaseOutput   the files of one case (and its warnings)
    finish(root, cases, ctx) -> CaseOutput      dataset-level files, warnings and notes,
                                                from all cases (or just the file names)
    label_mapping(ctx) -> dict                  optional: label values written
    IMAGES = "training planes"                  optional: what a case's images are called
                                                when a case gives several (Cellpose)

Each format folder is written into a hidden temporary folder beside it and
swapped into place when every format is complete, so a failure leaves the
previous folders as they were; what a killed export left beside a format
folder is removed (or put back) by the next export, which says so
(:attr:`ExportReport.recovered`, see :mod:`.staging`). An earlier export of the same project and
image(s) is extended: its cases keep their split and their files, and only new
boxes are written. A project of several images exports into one dataset
(:mod:`.images`: case names after the image, splits grouped by image).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path

from ..geometry.box import Box
from ..plan.paths import STAGE_RESERVE, PathError, check_name_fits, check_output_outside_store, check_path_names
from ..findings import Finding
from .crops import content_hash, read_crop
from .images import check_split_by, select_images, split_cases
from .manifest import build_manifest, case_entry, manifest_bytes, several_images_manifest, sha256_file
from .model import (
    FORMAT_NAMES,
    MANIFEST_NAME,
    CaseOutput,
    CaseRef,
    ExportContext,
    ExportError,
    ExportOptions,
    ExportReport,
    ImageCount,
)
from .sources import case_label, case_label_of, no_boxes_several, open_sources, same_export
from .splits import check_fractions, domain_split_note
from .staging import Stage, commit_all, ensure_output_folder, existing_export, recover

#: Format name to writer module, where they differ.
MODULES = {"cellpose": "cellpose_planes"}


def writer_module(fmt: str):
    """The writer module of a format (imported on first use)."""
    return importlib.import_module(f"napari_patchwise.engine.export.{MODULES.get(fmt, fmt)}")


def _formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    out = tuple(dict.fromkeys(formats))
    unknown = [f for f in out if f not in FORMAT_NAMES]
    if unknown:
        raise ExportError(
            f"unknown export format {', '.join(map(repr, unknown))}; choose from {', '.join(FORMAT_NAMES)}."
        )
    if not out:
        raise ExportError(f"choose at least one export format ({', '.join(FORMAT_NAMES)}).")
    return out


def _context(plan, options: ExportOptions) -> ExportContext:
    fields = [f.name for f in dataclasses.fields(ExportContext) if f.name != "plan"]
    unknown = sorted(set(options.context) - set(fields))
    if unknown:
        raise ExportError(
            f"unknown export setting {', '.join(unknown)}; the settings are {', '.join(fields)}."
        )
    return ExportContext(plan, **options.context)


def _settings(ctx: ExportContext, writer=None) -> dict:
    """The context settings a writer uses (its ``SETTINGS``; all of them if it names none)."""
    names = [f.name for f in dataclasses.fields(ctx) if f.name != "plan"]
    names = [n for n in names if n in getattr(writer, "SETTINGS", names)]
    out = {}
    for name in names:
        v = ctx.instance_name() if name == "instance_class" else getattr(ctx, name)
        out[name] = list(v) if isinstance(v, (tuple, list)) else v
    return out


def _box_findings(findings: list[Finding], box: Box, overridden: bool) -> tuple[Finding, ...]:
    keep = ("warning", "error") if overridden else ("warning",)
    return tuple(f for f in findings if f.box_id == box.id and f.severity in keep)


def _no_boxes_message(plan, skipped) -> str:
    if not plan.boxes:
        return "the plan has no boxes; propose or draw boxes, annotate them, then export."
    lines = "\n".join(f"  box {i}: {why}" for i, why in skipped)
    return (f"no box can be exported:\n{lines}\n"
            "Fix the findings (QC dock, or patchwise check) and export again.")


class _Format:
    """What one format's export holds while it is being written."""

    def __init__(self, name: str, writer, ctx: ExportContext, out: Path):
        self.name, self.writer = name, writer
        self.target = out / writer.folder_name(ctx)
        self.old: dict | None = None
        self.old_cases: dict[str, dict] = {}
        self.stage: Stage | None = None
        self.recovered: list[str] = []
        self.new: dict[str, tuple[dict, CaseOutput]] = {}  # case -> (entry, what the writer wrote)

    def open(self, overwrite: bool, same) -> list[str]:
        """Look at the target; returns warnings about files its manifest lists but it lacks.

        What an interrupted export left beside the target is cleaned up (or
        put back) first; :attr:`recovered` says what was done.
        """
        self.recovered = recover(self.target)
        self.old = existing_export(self.target, overwrite=overwrite, same=same)
        self.old_cases = {c["case"]: c for c in (self.old or {}).get("cases", [])}
        missing = sorted(rel for c in self.old_cases.values() for rel in c["files"]
                         if not (self.target / rel).is_file())
        if not missing:
            return []
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        return [(f"{self.target} lacks files its manifest lists ({shown}); export with "
                 "overwrite to write them again.")]

    def start(self) -> None:
        self.stage = Stage(self.target)
        if self.old is not None:
            linked = {rel for c in self.old_cases.values() for rel in c["files"]}
            self.stage.carry(self.target, linked)


def export_project(
    folder,
    out,
    options: ExportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    writers: Mapping[str, object] | None = None,
) -> ExportReport:
    """Export the validated boxes of a project as training data.

    A project with several images writes one dataset from every image (or
    those ``options.images`` names): case names begin with the image's name
    (:func:`~.images.image_case_name`), the manifest records each case's
    image, and splits are grouped by image by default from three images on
    (see :mod:`.images`). A project of one image names its cases as it
    always did.

    Parameters
    ----------
    folder : str or Path
        The project folder (``plan.json`` and ``annotations.zarr``).
    out : str or Path
        The output folder; each format writes one folder inside it.
    options : ExportOptions, optional
        Formats, images, split fractions, grouping and seed, pinned test
        boxes or images, overrides, overwrite, and writer settings.
    progress : callable, optional
        Called with ``(done, total)`` boxes read.
    writers : mapping of str to module, optional
        Writer per format name instead of the package's (for other writers
        and for tests).

    Returns
    -------
    ExportReport

    Raises
    ------
    ExportError
        Unknown format, setting or image, bad fractions, test boxes or test
        images, no box that can be exported (the message lists why each was
        skipped), an image missing, an output folder that cannot be written
        or that holds something else (unless ``overwrite``). Nothing already
        written is changed then.
    """
    from ..plan.plan_file import load_collection

    options = options or ExportOptions()
    formats = _formats(options.formats)
    try:
        fractions = check_fractions(options.fractions)
    except ValueError as e:
        raise ExportError(str(e)) from None
    project = Path(folder).resolve()
    collection = load_collection(project)
    several = len(collection.images) > 1
    names = select_images(collection.names, options.images)
    test_images = select_images(collection.names, options.test_images, "test images") \
        if options.test_images else ()
    outside = [n for n in test_images if n not in names]
    if outside:
        raise ExportError(f"test images {', '.join(outside)} are not among the exported images "
                          f"({', '.join(names)}); add them to the images to export.")
    if test_images and len(test_images) == len(names):
        raise ExportError(f"every exported image ({', '.join(names)}) is held out as test; leave at least "
                          "one image for training.")
    split_by = check_split_by(options.split_by, len(names))
    if several and options.test_boxes and len(names) > 1:
        raise ExportError("box ids repeat across the images of this project, so test boxes cannot name "
                          "a box; hold out whole images as test (test images, --test-images NAME) or "
                          "export one image (--images NAME) with its test boxes.")
    sources, skipped = open_sources(project, collection, names, options.overrides, options.only_done)
    plan = sources[0].plan
    ctx = _context(plan, options)
    known = {b.id for b in plan.boxes}
    bad_pins = sorted(set(options.test_boxes) - known)
    if bad_pins:
        raise ExportError(
            f"test boxes {', '.join(map(str, bad_pins))} are not in the plan (its boxes are "
            f"{', '.join(map(str, sorted(known))) or 'none'}); check the box ids."
        )
    units = [(src, box, src.case(box, several)) for src in sources for box in src.boxes]
    if not units:
        if several:
            raise ExportError(no_boxes_several(sources, skipped))
        raise ExportError(_no_boxes_message(plan, skipped))
    report = ExportReport(skipped=list(skipped))
    try:
        check_path_names(out, "the output folder")
        check_output_outside_store(project, out)
        out = ensure_output_folder(out)
        writers = dict(writers or {})
        fmts = [_Format(f, writers.get(f) or writer_module(f), ctx, out) for f in formats]
        for fm in fmts:
            check_name_fits(out, fm.target.name, f"the {fm.name} folder name", reserve=STAGE_RESERVE)
    except PathError as e:
        raise ExportError(str(e)) from None
    described = {src.name: src.describe() for src in sources} if several else None
    for fm in fmts:
        same = same_export(plan, str(project), _settings(ctx, fm.writer), sources[0].path, described)
        report.warnings.extend(fm.open(options.overwrite, same))
        report.recovered.extend(fm.recovered)
        report.folders[fm.name] = fm.target

    # splits: cases already exported keep theirs
    existing: dict[str, str] = {}
    images_of: dict[str, str] = {}
    for fm in fmts:
        for c in fm.old_cases.values():
            case, split = c["case"], c.get("split")
            if c.get("image") is not None:
                images_of[case] = c["image"]
            if existing.setdefault(case, split) != split:
                report.warnings.append(
                    f"{case_label(c, several)} is {split} in {fm.target} but {existing[case]} elsewhere; "
                    f"new folders use {existing[case]}."
                )
    try:
        splits, warnings = split_cases(units, fractions, options.seed, split_by, test_images,
                                       options.test_boxes, existing, images_of)
        report.warnings.extend(warnings)
    except ValueError as e:
        raise ExportError(str(e)) from None
    if test_images and all(s == "test" for s in [*splits.values(), *existing.values()]):
        lines = "".join(f"\n  box {i}: {why}" for i, why in skipped)
        raise ExportError(
            f"every box that can be exported is in a test image ({', '.join(test_images)}), so the dataset "
            f"would have no training case; the other images' boxes were skipped:{lines or ' (none)'}\n"
            "Fix their findings (or override them), or hold out fewer images."
        )
    current = {src.case(b, several) for src in sources for b in src.plan.boxes}
    for i, why in skipped if len(sources) == 1 else ():
        if sources[0].case(Box(i, (0, 0, 0), (1, 1, 1)), several) in existing:
            report.warnings.append(
                f"box {i} stays in the export although it cannot be exported now ({why}); "
                "export with overwrite to drop it."
            )
        if i in set(options.test_boxes):
            report.warnings.append(f"box {i} is pinned to the test split but is not exported: {why}")
    chosen = set(names)
    for case in sorted(existing):
        if case not in current and (not several or images_of.get(case) in chosen):
            report.warnings.append(f"{case_label_of(case, images_of, several)} is no longer in the plan but "
                                   "stays in the export; export with overwrite to drop it.")
    unreviewed = [(src, b) for src, b, _ in units if b.status != "done"]
    if unreviewed:
        ids = ", ".join(f"{src.name}:{b.id}" if several else str(b.id) for src, b in unreviewed)
        report.warnings.append(
            f"{len(unreviewed)} of {len(units)} exported boxes are not marked done ({ids}); they are "
            "exported as they are (export with only-done to leave them out)."
        )
    for src in sources:
        for f in src.findings:
            if f.box_id is None and f.severity == "warning":
                where = f"plan of image {src.name}" if several else "plan"
                report.warnings.append(f"{where}: {f.code}: {f.message}")

    active = [fm for fm in fmts if fm.old is None or any(case not in fm.old_cases for _, _, case in units)]
    for fm in fmts:
        report.written[fm.name] = []
        report.kept[fm.name] = sorted(fm.old_cases)
    try:
        for fm in active:
            fm.start()
        _write_cases(units, splits, several, ctx, fmts, active, report, progress)
        for fm in active:
            _finish(fm, sources, described, split_by, test_images, ctx, project, options, fractions,
                    skipped, report)
        commit_all({fm.name: fm.stage for fm in active})
        if (note := domain_split_note(units, splits)) is not None:  # cases per domain, when tagged
            for fm in active:
                report.notes.setdefault(fm.name, []).append(note)
    except BaseException:
        for fm in active:
            if fm.stage is not None:
                fm.stage.discard()
        raise
    return report


def _write_cases(units, splits, several, ctx, fmts, active, report, progress) -> None:
    """Read each box once (one at a time); write it into every format that does not
    hold it yet, and compare it with what formats that hold it recorded."""
    total = len(units)
    if progress:
        progress(0, total)
    contexts = {}
    for n, (src, box, case) in enumerate(units, start=1):
        if src.name not in contexts:
            contexts[src.name] = dataclasses.replace(ctx, plan=src.plan)
        image_ctx = contexts[src.name]
        who = f"box {box.id} of image {src.name}" if several else f"box {box.id}"
        crop = read_crop(src.plan, src.layers, src.levels, box, splits[case],
                         _box_findings(src.findings, box, box.id in src.overridden), src.overridden.get(box.id))
        crop = dataclasses.replace(crop, case=case)
        digest = content_hash(crop)
        changed = [fm.name for fm in fmts
                   if case in fm.old_cases and fm.old_cases[case].get("content_hash") != digest]
        if changed:
            report.warnings.append(
                f"{who} changed since it was exported ({', '.join(changed)}); export with "
                "overwrite to replace it."
            )
        targets = [fm for fm in active if case not in fm.old_cases]
        if targets:
            for f in crop.findings:
                report.warnings.append(f"{who}: {f.code}: {f.message}")
            if crop.override:
                report.warnings.append(f"{who}: exported despite its errors: {crop.override}")
        for fm in targets:
            written = fm.writer.write_case(fm.stage.path, crop, image_ctx)
            entry = case_entry(crop, {}, digest, src.plan.magnification)
            if several:
                entry["image"] = src.name
            fm.new[case] = (entry, written)
            report.written[fm.name].append(case)
            report.warnings.extend(f"{fm.name} {w}" if w.startswith(case) else f"{fm.name} {case}: {w}"
                                   for w in written.warnings)
        if progress:
            progress(n, total)


def _finish(fm: _Format, sources, described, split_by, test_images, ctx, project, options, fractions,
            skipped, report: ExportReport) -> None:
    """Dataset-level files, checksums and the manifest of one staged format folder."""
    root = fm.stage.path
    refs = [CaseRef(c["case"], c["split"]) for c in fm.old_cases.values()]
    refs += [CaseRef(case, entry["split"], out) for case, (entry, out) in fm.new.items()]
    done = fm.writer.finish(root, sorted(refs, key=lambda r: r.case), ctx)
    if isinstance(done, CaseOutput):
        report.warnings.extend(f"{fm.name} {w}" for w in done.warnings)
        report.notes[fm.name] = list(done.notes)
    noun = getattr(fm.writer, "IMAGES", None)
    if noun:
        counts = [out.images for _, out in fm.new.values() if out.images is not None]
        report.images[fm.name] = ImageCount(noun, sum(counts), sum(1 for n in counts if n))
    entries = [dict(c) for c in fm.old_cases.values()]
    claimed = {rel for c in entries for rel in c["files"]}
    for case, (entry, out) in fm.new.items():
        files = tuple(out.files)
        missing = [rel for rel in files if not (root / rel).is_file()]
        if missing:
            raise ExportError(f"the {fm.name} writer listed {missing} for {case} but did not write them.")
        entries.append({**entry, "files": {rel: sha256_file(root / rel) for rel in sorted(files)}})
        claimed.update(files)
    dataset_files = {rel: sha256_file(root / rel) for rel in fm.stage.files()
                     if rel not in claimed and rel != MANIFEST_NAME}
    mapping = getattr(fm.writer, "label_mapping", None)
    manifest = build_manifest(
        export_format=fm.name, plan=sources[0].plan, project=project, image_path=sources[0].path,
        cases=entries, files=dataset_files, labels=mapping(ctx) if mapping else None,
        settings=_settings(ctx, fm.writer), fractions=fractions, seed=options.seed,
        test_boxes=options.test_boxes, skipped=skipped,
        plan_findings=[f for src in sources for f in src.findings if f.box_id is None],
    )
    if described is not None:
        manifest = several_images_manifest(manifest, fm.old, described, split_by, test_images)
    (root / MANIFEST_NAME).write_bytes(manifest_bytes(manifest))
