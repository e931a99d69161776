"""Export projects: choose boxes, assign splits, write every format, swap into place.

:func:`export_project` is what the Export dock and ``patchwise export`` call
(:func:`export_projects` for several projects into one dataset).
For each format a writer module (``nnunet``, ``stardist``,
``cellpose_planes``, ``omezarr``, ``membrain`` in this package) provides::

    folder_name(ctx) -> str                     the format folder in the output folder
    write_case(root, crop, ctx) -> CaseOutput   the files of one case (and its warnings)
    finish(root, cases, ctx) -> CaseOutput      dataset-level files, warnings and notes,
                                                from all cases (or just the file names);
                                                given ``images=`` (the names of every image
                                                of the dataset) when it takes them
    label_mapping(ctx) -> dict                  optional: label values written
    context_defaults(ctx, folders) -> ctx       optional: settings filled in from the project
                                                folders before anything is read (MemBrain-seg)
    IMAGES = "training planes"                  optional: what a case's images are called
                                                when a case gives several (Cellpose)

Each format folder is written into a hidden temporary folder beside it and
swapped into place when every format is complete, so a failure leaves the
previous folders as they were; what a killed export left beside a format
folder is removed (or put back) by the next export, which says so
(:attr:`ExportReport.recovered`, see :mod:`.staging`). An earlier export of the same project and
image(s) is extended: its cases keep their split and their files, and only new
boxes are written. A project of several images exports into one dataset
(:mod:`.images`: case names after the image, splits grouped by image), and so
do several projects (:mod:`.projects`): another project's cases in the folder
stay, and the dataset-level files cover every project's cases.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace

from ..geometry.box import Box
from ..plan.paths import STAGE_RESERVE, PathError, check_name_fits, check_output_outside_store, check_path_names
from ..findings import Finding
from .channel_counts import check_channel_counts, counted, image_label
from .crops import content_hash, read_crop
from .format_folder import FormatFolder
from .images import check_split_by, split_cases
from .manifest import case_entry
from .model import (
    FORMAT_NAMES,
    CaseOutput,
    CaseRef,
    ExportContext,
    ExportError,
    ExportOptions,
    ExportReport,
    ImageCount,
    box_key_text,
)
from .export_notes import check_unique, dataset_images, plan_warnings, split_note
from .project_choice import ProjectExport, box_label, name_projects, open_projects, skipped_boxes, split_group
from .projects import class_list
from .sources import no_boxes_several
from .splits import check_fractions, domain_split_note
from .staging import commit_all, ensure_output_folder

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
    always did. An output folder holding other projects' export gets this
    project's cases added (:func:`export_projects`).

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
    return export_projects([folder], out, options, progress, writers=writers)






def export_projects(
    folders: Sequence,
    out,
    options: ExportOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    writers: Mapping[str, object] | None = None,
) -> ExportReport:
    """Export several projects into one dataset (or add them to the dataset in ``out``).

    The projects must have the same classes. Cases are named uniquely
    (:mod:`.projects`); images and test images are named ``PROJECT:IMAGE``,
    or ``IMAGE`` when one project holds it; splits are grouped by image
    across the projects. A dataset already in ``out`` keeps every other
    project's cases; with ``overwrite`` the cases of these projects are
    replaced. One project exports as :func:`export_project` says.

    Raises
    ------
    ExportError
        As :func:`export_project`, and for projects with different classes
        (naming them and their classes), an image named ambiguously, or a
        folder in ``out`` these projects cannot join (other classes or
        settings, unless ``overwrite``).
    """
    options = options or ExportOptions()
    formats = _formats(options.formats)
    try:
        fractions = check_fractions(options.fractions)
    except ValueError as e:
        raise ExportError(str(e)) from None
    if not folders:
        raise ExportError("name at least one project to export.")
    projects = open_projects(folders, options)
    single = projects[0] if len(projects) == 1 else None
    n_images = sum(len(p.names) for p in projects)
    split_by = check_split_by(options.split_by, n_images)
    plain_pins = [i for i in options.test_boxes if not isinstance(i, tuple)]
    if single is not None and len(single.collection.images) > 1 and plain_pins and n_images > 1:
        raise ExportError("box ids repeat across the images of this project, so test boxes cannot name "
                          "a box; name each box's image (NAME:ID), hold out whole images as test (test "
                          "images, --test-images NAME) or export one image (--images NAME) with its test boxes.")
    plan = projects[0].sources[0].plan
    ctx = _context(plan, options)
    for f in formats:  # a writer may fill settings in from the projects (MemBrain-seg's dataset token)
        defaults = getattr((writers or {}).get(f) or writer_module(f), "context_defaults", None)
        if defaults is not None:
            ctx = defaults(ctx, [p.folder for p in projects])
    if single is not None:
        known = sorted({b.id for b in plan.boxes})
        pairs = [f"{src.name}:{b.id}" for src in single.sources for b in src.plan.boxes]
        qualified = [f"{n}:{i}" for n, i in (p for p in options.test_boxes if isinstance(p, tuple))]
        bad_pins = [str(i) for i in sorted(set(plain_pins) - set(known))] + [q for q in qualified if q not in pairs]
        if bad_pins:
            raise ExportError(
                f"test boxes {', '.join(bad_pins)} are not in the plan (its boxes are "
                f"{', '.join(map(str, pairs if qualified else known)) or 'none'}); "
                "check the box ids."
            )
    if not any(src.boxes for p in projects for src in p.sources):
        if single is not None and len(single.collection.images) == 1:
            raise ExportError(_no_boxes_message(plan, single.skipped))
        raise ExportError(no_boxes_several([s for p in projects for s in p.sources], skipped_boxes(projects)))
    report = ExportReport(skipped=skipped_boxes(projects))
    try:
        for p in projects:
            check_output_outside_store(p.folder, out)
        check_path_names(out, "the output folder")
        out = ensure_output_folder(out)
        writers = dict(writers or {})
        fmts = [FormatFolder(f, writers.get(f) or writer_module(f), ctx, out) for f in formats]
        for fm in fmts:
            check_name_fits(out, fm.target.name, f"the {fm.name} folder name", reserve=STAGE_RESERVE)
    except PathError as e:
        raise ExportError(str(e)) from None
    classes = class_list(plan)
    for fm in fmts:
        fm.open(options.overwrite, classes, _settings(ctx, fm.writer))
        report.recovered.extend(fm.recovered)
        report.folders[fm.name] = fm.target
    keys, naming = name_projects(projects, fmts)
    multi = len(keys) > 1
    for fm in fmts:
        fm.settle(projects, options.overwrite, _settings(ctx, fm.writer))
        report.warnings.extend(fm.warnings + fm.missing_files())
    units = [(p, src, box, p.case(src.name, box.id)) for p in projects for src in p.sources for box in src.boxes]
    check_unique(units, fmts)
    now = {image_label(p.key, src.name, multi): src.plan.image.channels for p, src, _, _ in units}
    for fm in fmts:  # one model takes one number of channels (nnU-Net, StarDist, Cellpose)
        check_channel_counts(fm.name, counted(now, fm.old_cases.values(), multi))

    # splits: cases already exported keep theirs
    existing: dict[str, str] = {}
    images_of: dict[str, str] = {}
    project_of: dict[str, str] = {}
    by_key = {p.key: p for p in projects}
    for fm in fmts:
        for c in fm.old_cases.values():
            case, split = c["case"], c.get("split")
            project_of[case] = c["project"]
            owner = by_key.get(c["project"]) or SimpleNamespace(key=c["project"], naming=naming[c["project"]])
            group = split_group(owner, c.get("image"), multi)
            if group is not None:
                images_of[case] = group
            if existing.setdefault(case, split) != split:
                who = box_label(owner, multi)(c.get("image"), c.get("box_id")) if isinstance(owner, ProjectExport) \
                    else f"case {case}"
                report.warnings.append(f"{who} is {split} in {fm.target} but {existing[case]} elsewhere; "
                                       f"new folders use {existing[case]}.")
    test_groups = [split_group(p, n, multi) for p in projects for n in p.test_images]
    pins = [(split_group(projects[0], i[0], multi), i[1]) if isinstance(i, tuple) else i for i in options.test_boxes]
    try:
        splits, warnings = split_cases([(SimpleNamespace(name=split_group(p, src.name, multi), domain=src.domain), box, case)
                                        for p, src, box, case in units], fractions, options.seed, split_by,
                                       test_groups, pins, existing, images_of)
        report.warnings.extend(warnings)
    except ValueError as e:
        raise ExportError(str(e)) from None
    if test_groups and all(s == "test" for s in [*splits.values(), *existing.values()]):
        lines = "".join(f"\n  box {box_key_text(k)}: {why}" for k, why in report.skipped)
        raise ExportError(
            f"every box that can be exported is in a test image ({', '.join(test_groups)}), so the dataset "
            f"would have no training case; the other images' boxes were skipped:{lines or ' (none)'}\n"
            "Fix their findings (or override them), or hold out fewer images."
        )
    plan_warnings(projects, existing, project_of, images_of, options, multi, report, units)

    active = [fm for fm in fmts if fm.dataset is None or fm.dropped
              or any(case not in fm.old_cases for *_, case in units)]
    for fm in fmts:
        report.written[fm.name] = []
        report.kept[fm.name] = sorted(fm.old_cases)
    try:
        for fm in active:
            fm.start()
        _write_cases(units, splits, multi, ctx, fmts, active, report, progress)
        run = {"labels": None, "fractions": fractions, "seed": options.seed, "test_boxes": options.test_boxes}
        for fm in active:
            _finish(fm, projects, keys, naming, run, split_by, ctx, report, multi)
        commit_all({fm.name: fm.stage for fm in active})
        if (note := domain_split_note([u[1:] for u in units], splits)) is not None:  # cases per domain, when tagged
            for fm in active:
                report.notes.setdefault(fm.name, []).append(note)
    except BaseException:
        for fm in active:
            if fm.stage is not None:
                fm.stage.discard()
        raise
    return report




def _write_cases(units, splits, multi, ctx, fmts, active, report, progress) -> None:
    """Read each box once (one at a time); write it into every format that does not
    hold it yet, and compare it with what formats that hold it recorded."""
    total = len(units)
    if progress:
        progress(0, total)
    contexts = {}
    for n, (p, src, box, case) in enumerate(units, start=1):
        if (p.key, src.name) not in contexts:
            contexts[p.key, src.name] = dataclasses.replace(ctx, plan=src.plan)
        image_ctx = contexts[p.key, src.name]
        who = box_label(p, multi)(src.name, box.id)
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
            if p.several:
                entry["image"] = src.name
            entry["project"] = p.key
            fm.new[case] = (entry, written)
            report.written[fm.name].append(case)
            report.warnings.extend(f"{fm.name} {w}" if w.startswith(case) else f"{fm.name} {case}: {w}"
                                   for w in written.warnings)
        if progress:
            progress(n, total)



def _finish(fm: FormatFolder, projects, keys, naming, run, split_by, ctx, report: ExportReport, multi) -> None:
    """Dataset-level files, checksums and the manifests of one staged format folder."""
    root = fm.stage.path
    refs = [CaseRef(c["case"], c["split"]) for c in fm.old_cases.values()]
    refs += [CaseRef(case, entry["split"], out) for case, (entry, out) in fm.new.items()]
    refs.sort(key=lambda r: r.case)
    extra = {"images": dataset_images(fm, projects, multi)} \
        if "images" in inspect.signature(fm.writer.finish).parameters else {}
    done = fm.writer.finish(root, refs, ctx, **extra)
    if isinstance(done, CaseOutput):
        report.warnings.extend(f"{fm.name} {w}" for w in done.warnings)
        report.notes[fm.name] = list(done.notes)
    if split_by == "image":
        report.notes.setdefault(fm.name, []).append(split_note(fm, refs, multi))
    noun = getattr(fm.writer, "IMAGES", None)
    if noun:
        counts = [out.images for _, out in fm.new.values() if out.images is not None]
        report.images[fm.name] = ImageCount(noun, sum(counts), sum(1 for n in counts if n))
    mapping = getattr(fm.writer, "label_mapping", None)
    fm.write_manifests(projects, keys, naming, {**run, "labels": mapping(ctx) if mapping else None,
                                                "settings": _settings(ctx, fm.writer)}, split_by)
