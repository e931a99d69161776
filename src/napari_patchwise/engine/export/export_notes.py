"""What an export tells about its plans and splits: warnings and the notes of a split by image.

Also the check that case names stay unique across the projects of a dataset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .model import CaseRef, ExportError
from .project_choice import box_label, split_group

if TYPE_CHECKING:
    from .format_folder import FormatFolder


def check_unique(units, fmts) -> None:
    """Refuse an export whose case names would meet another project's in the dataset."""
    owner: dict[str, str] = {}
    for fm in fmts:
        owner.update({c: e["project"] for c, e in fm.old_cases.items()})
    for p, _, _, case in units:
        if owner.setdefault(case, p.key) != p.key:
            raise ExportError(f"case {case} of project {p.key} would take the name of project {owner[case]}'s "
                              "case; rename one of the images, or export into another output folder.")


def plan_warnings(projects, existing, project_of, images_of, options, multi, report, units) -> None:
    """Warnings about the plans: boxes kept though not exportable or gone, boxes not done, plan findings."""
    single = projects[0] if len(projects) == 1 else None
    if single is not None and len(single.sources) == 1:
        src = single.sources[0]
        for i, why in single.skipped:
            if single.case(src.name, i) in existing:
                report.warnings.append(f"box {i} stays in the export although it cannot be exported now ({why}); "
                                       "export with overwrite to drop it.")
            if i in set(options.test_boxes):
                report.warnings.append(f"box {i} is pinned to the test split but is not exported: {why}")
    for p in projects:
        current = {p.case(src.name, b.id) for src in p.sources for b in src.plan.boxes}
        chosen = {split_group(p, n, multi) for n in p.names}
        label = box_label(p, multi)
        for case in sorted(existing):
            if project_of.get(case) != p.key or case in current:
                continue
            if p.several and images_of.get(case) not in chosen:
                continue
            box = case.rsplit("_", 1)[-1].lstrip("0") or "0"
            image = (images_of.get(case) or "").split(":")[-1]
            report.warnings.append(f"{label(image, box)} is no longer in the plan but stays in the export; "
                                   "export with overwrite to drop it.")
    unreviewed = [(p, src, b) for p, src, b, _ in units if b.status != "done"]
    if unreviewed:
        ids = ", ".join((f"{p.key}:" if multi else "") + (f"{src.name}:{b.id}" if p.several else str(b.id))
                        for p, src, b in unreviewed)
        report.warnings.append(
            f"{len(unreviewed)} of {len(units)} exported boxes are not marked done ({ids}); they are "
            "exported as they are (export with only-done to leave them out)."
        )
    for p in projects:
        for src in p.sources:
            for f in src.findings:
                if f.box_id is None and f.severity == "warning":
                    where = f"plan of image {src.name}" if p.several else "plan"
                    where += f" of project {p.key}" if multi else ""
                    report.warnings.append(f"{where}: {f.code}: {f.message}")


def split_note(fm: FormatFolder, refs: Sequence[CaseRef], multi: bool) -> str:
    """How many images and cases each split of a folder split by image holds."""
    group = {c: e.get("project", "") + ":" + str(e.get("image", "")) for c, e in fm.old_cases.items()}
    group.update({c: f"{e['project']}:{e.get('image', '')}" for c, (e, _) in fm.new.items()})
    images: dict[str, set] = {}
    cases: Counter = Counter()
    for r in refs:
        images.setdefault(r.split, set()).add(group.get(r.case, r.case))
        cases[r.split] += 1
    parts = [f"{s} {len(images[s])} image{'' if len(images[s]) == 1 else 's'} ({cases[s]} "
             f"case{'' if cases[s] == 1 else 's'})" for s in ("train", "val", "test") if cases[s]]
    return "splits by image: " + ", ".join(parts) + (" across projects" if multi else "")


def dataset_images(fm: FormatFolder, projects, multi: bool) -> list[str]:
    """The names of every image a format folder's cases come from (``PROJECT:IMAGE`` with several projects).

    Images of projects already in the folder are named from their manifest
    (the image file's stem for a project of one image).
    """
    from pathlib import Path

    names: list[str] = []
    running = {p.key for p in projects}
    for key, m in (fm.dataset.manifests.items() if fm.dataset is not None else ()):
        if key in running:
            continue
        listed = [str(i.get("name")) for i in m.get("images") or []] or \
            [Path(str((m.get("image") or {}).get("path") or key)).stem]
        names += [f"{key}:{n}" if multi else n for n in listed]
    for p in projects:
        held = [e.get("image") for e in fm.old_cases.values() if e["project"] == p.key and e.get("image")]
        own = [n for n in p.collection.names if n in p.names or n in held]
        names += [f"{p.key}:{n}" if multi else n for n in own]
    return names
