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
image is extended: its cases keep their split and their files, and only new
boxes are written.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path

from ..geometry.box import Box
from ..plan.paths import STAGE_RESERVE, PathError, check_name_fits, check_output_outside_store, check_path_names
from ..plan.project import resolve_image_path
from ..findings import Finding
from .crops import content_hash, exportable, image_levels, read_crop
from .manifest import build_manifest, case_entry, manifest_bytes, sha256_file
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
    case_name,
)
from .splits import assign_splits, check_fractions
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


def _same_export(plan, project: str, image: str | None, settings: dict) -> Callable[[dict], str | None]:
    """A check that an old manifest describes an export new cases may join."""
    classes = [{"name": c.name, "kind": c.kind} for c in plan.classes]

    def differs(old: dict) -> str | None:
        old_image = old.get("image") or {}
        if old.get("project") != project:
            return f"another project ({old.get('project')}, not {project})"
        if old_image.get("path") != image or old_image.get("shape") != list(plan.image.shape):
            return f"another image ({old_image.get('path')} {old_image.get('shape')})"
        if old.get("magnification") != list(plan.magnification):
            now = list(plan.magnification)
            return f"this project at magnification {old.get('magnification')} (now {now})"
        if old.get("classes") != classes:
            names = [c.get("name") for c in old.get("classes") or [] if isinstance(c, dict)]
            return f"this project with other classes ({', '.join(map(str, names))})"
        changed = sorted(k for k in settings if (old.get("settings") or {}).get(k) != settings[k])
        if changed:
            was = ", ".join(f"{k}={(old.get('settings') or {}).get(k)!r}" for k in changed)
            return f"this project with other settings ({was}; use the same settings to add cases)"
        return None

    return differs


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

    Parameters
    ----------
    folder : str or Path
        The project folder (``plan.json`` and ``annotations.zarr``).
    out : str or Path
        The output folder; each format writes one folder inside it.
    options : ExportOptions, optional
        Formats, split fractions and seed, pinned test boxes, overrides,
        overwrite, and writer settings.
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
        Unknown format or setting, bad fractions or test boxes, no box that
        can be exported (the message lists why each was skipped), the image
        missing, an output folder that cannot be written or that holds
        something else (unless ``overwrite``). Nothing already written is
        changed then.
    """
    options = options or ExportOptions()
    formats = _formats(options.formats)
    try:
        fractions = check_fractions(options.fractions)
    except ValueError as e:
        raise ExportError(str(e)) from None
    from ..plan.annotation_store import open_annotations
    from ..qc.checks import check_project
    from ..plan.annotation_store import annotation_layers

    project = Path(folder).resolve()
    plan, findings, qc = check_project(project)
    ctx = _context(plan, options)
    known = {b.id for b in plan.boxes}
    bad_pins = sorted(set(options.test_boxes) - known)
    if bad_pins:
        raise ExportError(
            f"test boxes {', '.join(map(str, bad_pins))} are not in the plan (its boxes are "
            f"{', '.join(map(str, sorted(known))) or 'none'}); check the box ids."
        )
    boxes, skipped, overridden = exportable(
        plan, findings, options.overrides, counts={i: q.counts for i, q in qc.boxes.items()},
        only_done=options.only_done,
    )
    if not boxes:
        raise ExportError(_no_boxes_message(plan, skipped))
    report = ExportReport(skipped=list(skipped))
    levels = image_levels(project, plan)
    layers = annotation_layers(open_annotations(project, plan, mode="r"), plan)
    image_path = resolve_image_path(project, plan)
    image_text = None if image_path is None else str(image_path.resolve())
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
    for fm in fmts:
        same = _same_export(plan, str(project), image_text, _settings(ctx, fm.writer))
        report.warnings.extend(fm.open(options.overwrite, same))
        report.recovered.extend(fm.recovered)
        report.folders[fm.name] = fm.target

    # splits: cases already exported keep theirs
    existing: dict[int, str] = {}
    for fm in fmts:
        for c in fm.old_cases.values():
            box_id, split = c.get("box_id"), c.get("split")
            if existing.setdefault(box_id, split) != split:
                report.warnings.append(
                    f"box {box_id} is {split} in {fm.target} but {existing[box_id]} elsewhere; "
                    f"new folders use {existing[box_id]}."
                )
    exportable_ids = {b.id for b in boxes}
    try:
        splits = assign_splits(boxes, fractions, options.seed, options.test_boxes,
                               existing={i: s for i, s in existing.items() if i in exportable_ids})
    except ValueError as e:
        raise ExportError(str(e)) from None
    for i, why in skipped:
        if i in existing:
            report.warnings.append(
                f"box {i} stays in the export although it cannot be exported now ({why}); "
                "export with overwrite to drop it."
            )
        if i in set(options.test_boxes):
            report.warnings.append(f"box {i} is pinned to the test split but is not exported: {why}")
    gone = sorted(i for i in existing if i not in known)
    for i in gone:
        report.warnings.append(f"box {i} is no longer in the plan but stays in the export; "
                               "export with overwrite to drop it.")
    unreviewed = [b for b in boxes if b.status != "done"]
    if unreviewed:
        ids = ", ".join(str(b.id) for b in unreviewed)
        report.warnings.append(
            f"{len(unreviewed)} of {len(boxes)} exported boxes are not marked done ({ids}); they are "
            "exported as they are (export with only-done to leave them out)."
        )
    for f in findings:
        if f.box_id is None and f.severity == "warning":
            report.warnings.append(f"plan: {f.code}: {f.message}")

    active = [fm for fm in fmts if fm.old is None or any(case_name(b) not in fm.old_cases for b in boxes)]
    for fm in fmts:
        report.written[fm.name] = []
        report.kept[fm.name] = sorted(fm.old_cases)
    try:
        for fm in active:
            fm.start()
        _write_cases(plan, layers, levels, boxes, splits, findings, overridden, fmts, active, ctx,
                     report, progress)
        for fm in active:
            _finish(fm, plan, ctx, project, image_text, options, fractions, skipped, findings, report)
        commit_all({fm.name: fm.stage for fm in active})
    except BaseException:
        for fm in active:
            if fm.stage is not None:
                fm.stage.discard()
        raise
    return report


def _write_cases(plan, layers, levels, boxes, splits, findings, overridden, fmts, active, ctx,
                 report, progress) -> None:
    """Read each box once (one at a time); write it into every format that does not
    hold it yet, and compare it with what formats that hold it recorded."""
    total = len(boxes)
    if progress:
        progress(0, total)
    for n, box in enumerate(boxes, start=1):
        case = case_name(box)
        crop = read_crop(plan, layers, levels, box, splits[box.id],
                         _box_findings(findings, box, box.id in overridden), overridden.get(box.id))
        digest = content_hash(crop)
        changed = [fm.name for fm in fmts
                   if case in fm.old_cases and fm.old_cases[case].get("content_hash") != digest]
        if changed:
            report.warnings.append(
                f"box {box.id} changed since it was exported ({', '.join(changed)}); export with "
                "overwrite to replace it."
            )
        targets = [fm for fm in active if case not in fm.old_cases]
        if targets:
            for f in crop.findings:
                report.warnings.append(f"box {box.id}: {f.code}: {f.message}")
            if crop.override:
                report.warnings.append(f"box {box.id}: exported despite its errors: {crop.override}")
        for fm in targets:
            written = fm.writer.write_case(fm.stage.path, crop, ctx)
            entry = case_entry(crop, {}, digest, plan.magnification)
            fm.new[case] = (entry, written)
            report.written[fm.name].append(case)
            report.warnings.extend(f"{fm.name} {w}" if w.startswith(case) else f"{fm.name} {case}: {w}"
                                   for w in written.warnings)
        if progress:
            progress(n, total)


def _finish(fm: _Format, plan, ctx, project, image_text, options, fractions, skipped, findings,
            report: ExportReport) -> None:
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
        export_format=fm.name, plan=plan, project=project, image_path=image_text,
        cases=entries, files=dataset_files, labels=mapping(ctx) if mapping else None,
        settings=_settings(ctx, fm.writer), fractions=fractions, seed=options.seed,
        test_boxes=options.test_boxes, skipped=skipped,
        plan_findings=[f for f in findings if f.box_id is None],
    )
    (root / MANIFEST_NAME).write_bytes(manifest_bytes(manifest))
