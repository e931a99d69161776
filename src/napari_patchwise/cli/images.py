"""``patchwise images``: the images of a project, one row each.

Listing reads only and takes no lock. ``--set-domain IMAGE=DOMAIN[,...]``
changes images' domain tags first: under the project's lock, ``plan.json``
rewritten atomically; an unknown image name is refused (exit 2), nothing written.
``--remove``, ``--restore`` and ``--purge`` change the images under the project's lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..engine.plan.annotation_store import open_annotations
from ..engine.plan.collection import parse_domains
from ..engine.plan.plan_file import load_collection
from ..engine.plan.project_images import annotated_voxels, save_collection
from .args import writing
from .errors import UsageError

COLUMNS = ("name", "shape", "dtype", "voxel size", "channels", "boxes", "annotated", "domain")


def image_rows(folder) -> list[dict]:
    """One dict per image of the project: what ``patchwise images`` prints.

    ``plan.json`` is read once; a version 1 project is read as it is (never migrated).
    """
    collection = load_collection(folder)
    rows = []
    for entry in collection.images:
        plan, image = entry.plan, entry.plan.image
        group = open_annotations(folder, plan, mode="r", image=entry.name)
        rows.append({
            "name": entry.name,
            "shape": list(image.shape),
            "dtype": image.dtype,
            "voxel_size": list(image.voxel_size),
            "unit": image.unit,
            "voxel_size_known": image.voxel_size_known,
            "channels": image.channels,
            "channel_names": list(image.channel_labels) if image.channels > 1 else [],
            "channel": image.channel,
            "time": image.time,
            "boxes": len(plan.boxes),
            "annotated_voxels": annotated_voxels(group, plan),
            "domain": entry.domain,
        })
    return rows


def _cells(row: dict) -> tuple[str, ...]:
    size = "×".join(f"{v:g}" for v in row["voxel_size"]) + f" {row['unit']}"
    if not row["voxel_size_known"]:
        size += " (unknown)"
    channels = str(row["channels"])
    if row["channels"] > 1:
        measured = "mean" if row["channel"] is None else row["channel_names"][row["channel"]]
        channels += f" ({', '.join(row['channel_names'])}; measures {measured})"
    return (row["name"], "×".join(map(str, row["shape"])), row["dtype"], size, channels,
            str(row["boxes"]), f"{row['annotated_voxels']:,}", row["domain"] or "-")


def set_domains(folder: Path, text: str, args) -> None:
    """Tag images with domains (``IMAGE=DOMAIN[,...]``) under the project's lock; says what changed."""
    try:
        wanted = parse_domains(text)
    except ValueError as e:
        raise UsageError(str(e)) from None
    with writing(folder, args):
        collection = load_collection(folder)
        try:
            changed = collection.set_domains(wanted)
        except ValueError as e:
            raise UsageError(f"{e} Nothing was changed.") from None
        if changed != collection:
            save_collection(folder, changed)
    out = sys.stderr if args.json else sys.stdout  # --json keeps stdout for the rows
    for name, domain in wanted.items():
        was = collection.image(name).domain
        if was == domain:
            print(f"{name}: domain {domain or '(none)'}, unchanged", file=out)
        else:
            print(f"{name}: domain {was or '(none)'} -> {domain or '(none)'}", file=out)


def change_images(args) -> int | None:
    """``--remove``, ``--restore`` and ``--purge``: change the project under its lock, say what was done.

    Returns ``None`` when none of them was given (the command lists the images).
    """
    from ..engine.plan.project_images import HoldsAnnotations, remove_image
    from ..engine.plan.removed_images import purge_removed, restore_image
    from .args import writing
    from .errors import UsageError

    wanted = [o for o in ("remove", "restore", "purge") if getattr(args, o, None) is not None]
    if not wanted:
        if getattr(args, "yes", False):
            raise UsageError("--yes confirms --remove NAME; give the image to remove.")
        return None
    if len(wanted) > 1:
        raise UsageError(f"give one of --remove, --restore, --purge at a time; got {', '.join('--' + o for o in wanted)}.")
    folder = Path(args.project)
    with writing(folder, args):
        if args.remove is not None:
            try:
                n = remove_image(folder, args.remove, confirm=args.yes)
            except HoldsAnnotations as e:
                raise UsageError(
                    f"image {args.remove!r} holds {e.voxels:,} annotated voxels; add --yes to remove it "
                    f"anyway. It then waits in {folder / 'removed'} until purged: patchwise images "
                    f"{folder} --restore {args.remove} puts it back."
                ) from None
            print(f"removed image {args.remove} ({n:,} annotated voxels) from {folder}; it waits in "
                  f"{folder / 'removed'}: --restore {args.remove} puts it back, --purge deletes it for good.")
        elif args.restore is not None:
            name = restore_image(folder, args.restore)
            print(f"restored image {name} into {folder}.")
        else:
            gone = purge_removed(folder, args.purge or None)
            voxels = sum(r.voxels for r in gone)
            print(f"purged {len(gone)} removed image{'' if len(gone) == 1 else 's'} "
                  f"({', '.join(r.name for r in gone) or 'none'}; {voxels:,} annotated voxels) from {folder}.")
    return 0


def cmd_images(args) -> int:
    if args.set_domain is not None:
        if any(getattr(args, o, None) is not None for o in ("remove", "restore", "purge")):
            raise UsageError("give --set-domain on its own, not with --remove, --restore or --purge.")
        set_domains(Path(args.project), args.set_domain, args)
    changed = change_images(args)
    if changed is not None:
        return changed
    rows = image_rows(Path(args.project))
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    table = [COLUMNS, *(_cells(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def add_parser(sub) -> None:
    c = sub.add_parser(
        "images", help="list a project's images: shape, dtype, voxel size, channels, boxes, annotated voxels, domain",
        description="List the images of PROJECT, one row each: name, shape (z×y×x), dtype, voxel "
        "size and unit, channels (their names and the one proposal measures), boxes, annotated voxels (at the magnification) and domain. Reads only, unless "
        "--set-domain changes domain tags first, or --remove, --restore or --purge is given. To add images: "
        "patchwise propose FILE [FILE ...] -o PROJECT.")
    c.add_argument("project", help="project folder (holding plan.json)")
    c.add_argument("--json", action="store_true", help="print the rows as JSON")
    c.add_argument("--set-domain", default=None, metavar="IMAGE=DOMAIN[,IMAGE=DOMAIN]",
                   help="first tag images with a domain (images acquired alike: consistency checks compare "
                   "images within a domain, splits keep every domain in training); IMAGE= clears a tag")
    add_change_arguments(c)
    c.set_defaults(func=cmd_images)


def add_change_arguments(c) -> None:
    """The options that remove, restore and purge images."""
    c.add_argument("--remove", default=None, metavar="NAME",
                   help="remove an image (kept in PROJECT/removed until purged); one holding annotated "
                   "voxels needs --yes")
    c.add_argument("--yes", action="store_true", help="confirm --remove of an image holding annotated voxels")
    c.add_argument("--restore", default=None, metavar="NAME", help="put the last removed image NAME back")
    c.add_argument("--purge", nargs="?", const="", default=None, metavar="NAME",
                   help="delete removed images for good (all of them, or those named NAME)")
