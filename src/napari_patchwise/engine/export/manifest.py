"""The manifest of an exported folder: provenance, cases, checksums.

Every format folder holds ``patchwise_manifest.json`` describing where its
data came from (project, image, magnification, classes and the label values
the format uses), how the splits were made, and every case: its box, split,
findings, override reason, voxel counts, a hash of its content and the
sha256 of each of its files. Files that belong to no case (``dataset.json``
and the like) are listed under ``files``.

The creation time honours ``SOURCE_DATE_EPOCH`` so that reproducible builds
give identical manifests.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..plan.plan import Plan
from ..findings import Finding
from .model import MANIFEST_NAME, Crop, ExportError

#: ``format`` entry of a manifest.
MANIFEST_FORMAT = "napari-patchwise-export"
#: Manifest schema version written (and the newest one read).
MANIFEST_VERSION = 1


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp, "a.txt"); _ = p.write_bytes(b"abc")
    ...     sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def created_time(environ: Mapping[str, str] | None = None) -> str:
    """Now in UTC, ISO 8601 with seconds; ``SOURCE_DATE_EPOCH`` when it is set.

    Examples
    --------
    >>> created_time({"SOURCE_DATE_EPOCH": "0"})
    '1970-01-01T00:00:00Z'
    """
    environ = os.environ if environ is None else environ
    epoch = environ.get("SOURCE_DATE_EPOCH")
    if epoch not in (None, ""):
        try:
            when = _dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ExportError(
                f"SOURCE_DATE_EPOCH must be whole seconds since 1970; got {epoch!r}. Fix or unset it."
            ) from None
    else:
        when = _dt.datetime.now(_dt.timezone.utc)
    return when.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_labels(class_names: Sequence[str]) -> dict[str, int]:
    """The composition's label values (``-1`` unannotated ... ``K + 1`` ignore).

    Formats that write other values record their own mapping instead.

    Examples
    --------
    >>> default_labels(["nuclei", "mito"])
    {'unannotated': -1, 'background': 0, 'nuclei': 1, 'mito': 2, 'ignore': 3}
    """
    out = {"unannotated": -1, "background": 0}
    out.update({n: i for i, n in enumerate(class_names, start=1)})
    out["ignore"] = len(class_names) + 1
    return out


def border_entry(plan: Plan) -> dict:
    """The manifest's ``ignore_border``: the preset's border at the magnification and at full resolution.

    Its voxels carry the format's ignore value in every case (see
    :mod:`~..plan.border`).

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan, get_preset
    >>> border_entry(Plan(ImageRef((160, 320, 320)), get_preset("membrane"), (1, 2, 2)))
    {'voxels': 16, 'full_resolution': [16, 32, 32]}
    """
    from ..plan.border import border_width

    b = int(getattr(plan.preset, "ignore_border", 0) or 0)
    return {"voxels": b, "full_resolution": list(border_width(b, plan.magnification))}


def manifest_header(export_format: str, created: str | None = None) -> dict:
    """The fields every manifest begins with: what it is, its version, the format, who wrote it and when.

    ``created`` defaults to :func:`created_time` (now, or ``SOURCE_DATE_EPOCH``).

    Examples
    --------
    >>> h = manifest_header("stardist", "1970-01-01T00:00:00Z")
    >>> list(h), h["format"], h["export_format"]
    (['format', 'version', 'export_format', 'plugin_version', 'created'], 'napari-patchwise-export', 'stardist')
    """
    from ... import __version__

    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "export_format": export_format,
        "plugin_version": __version__,
        "created": created or created_time(),
    }


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def case_entry(crop: Crop, files: Mapping[str, str], content: str, magnification: Sequence[int]) -> dict:
    """The manifest entry of one case.

    ``files`` maps each of its files (relative path) to its sha256;
    ``content`` is :func:`~.crops.content_hash` of the crop.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_patchwise.engine import Box
    >>> from napari_patchwise.engine.plan.annotation import compose
    >>> comp = compose({"a": np.ones((1, 1, 2), np.uint8)}, ["a"])
    >>> crop = Crop("box_0001", Box(1, (0, 0, 0), (1, 1, 2)), np.zeros((1, 1, 2)), comp, (1.0, 1.0, 1.0))
    >>> e = case_entry(crop, {"b.tif": "00"}, "sha256:1", (1, 1, 1))
    >>> e["case"], e["lo"], e["counts"]["a"], e["files"]
    ('box_0001', [0, 0, 0], 2, {'b.tif': '00'})
    """
    box = crop.box
    return {
        "case": crop.case,
        "box_id": box.id,
        "lo": list(box.lo),
        "hi": list(box.hi),
        "magnification": [int(m) for m in magnification],
        "shape": list(crop.image.shape),
        "stratum": box.stratum,
        "status": box.status,
        "split": crop.split,
        "findings": [f.to_dict() for f in crop.findings],
        "override": crop.override,
        "counts": crop.composition.counts(),
        "content_hash": content,
        "files": dict(sorted(files.items())),
    }


def build_manifest(
    *,
    export_format: str,
    plan: Plan,
    project,
    image_path,
    cases: Iterable[Mapping],
    files: Mapping[str, str],
    labels: Mapping[str, int] | None = None,
    settings: Mapping | None = None,
    fractions: Sequence[float] = (0.8, 0.2, 0.0),
    seed: int = 0,
    test_boxes: Sequence = (),
    skipped: Iterable[tuple[int, str]] = (),
    plan_findings: Iterable[Finding] = (),
    created: str | None = None,
) -> dict:
    """The manifest of one format folder (a JSON-ready dict; cases sorted by name).

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> m = build_manifest(export_format="nnunet", plan=Plan(ImageRef((4, 8, 8), path="raw.tif")),
    ...                    project="/p", image_path="/p/raw.tif", cases=[], files={},
    ...                    created="1970-01-01T00:00:00Z")
    >>> m["format"], m["labels"]["ignore"], m["image"]["shape"], m["ignore_border"]["voxels"]
    ('napari-patchwise-export', 2, [4, 8, 8], 0)
    """
    from ..geometry.magnification import voxel_size_at

    names = [c.name for c in plan.classes]
    img = plan.image
    return _jsonable({
        **manifest_header(export_format, created),
        "project": str(project),
        "image": {
            "path": None if image_path is None else str(image_path),
            "shape": list(img.shape),
            "dtype": img.dtype,
            "voxel_size": list(img.voxel_size),
            "unit": img.unit,
        },
        "magnification": list(plan.magnification),
        "voxel_size": list(voxel_size_at(img.voxel_size, plan.magnification)),
        "classes": [{"name": c.name, "kind": c.kind} for c in plan.classes],
        "labels": dict(labels) if labels is not None else default_labels(names),
        "ignore_border": border_entry(plan),
        "settings": dict(settings or {}),
        "split": {"fractions": [float(f) for f in fractions], "seed": int(seed),
                  "test_boxes": pinned_boxes(test_boxes)},
        "cases": sorted((dict(c) for c in cases), key=lambda c: c["case"]),
        "skipped": [{"box_id": int(k[1]), "image": k[0], "reason": why} if isinstance(k, tuple)
                    else {"box_id": int(k), "reason": why} for k, why in sorted(skipped)],
        "plan_findings": [f.to_dict() for f in plan_findings],
        "files": dict(sorted(files.items())),
    })


def several_images_manifest(manifest: Mapping, old: Mapping | None, images: Mapping[str, Mapping],
                            split_by: str, test_images: Sequence[str]) -> dict:
    """The manifest of an export of several images: ``images`` instead of ``image``.

    ``images`` lists every image with cases in the folder: those of an earlier
    export (``old``) first, then the ones exported now (described by
    :meth:`~.sources.ImageSource.describe`, by name); each case names its
    image. ``split`` records the grouping (``by``) and the images held out
    as test.

    Examples
    --------
    >>> m = several_images_manifest({"image": {"path": "a.tif"}, "split": {"seed": 0}}, None,
    ...                             {"a": {"name": "a"}, "b": {"name": "b"}}, "image", ["b"])
    >>> m["image"], [i["name"] for i in m["images"]], m["split"]
    (None, ['a', 'b'], {'seed': 0, 'by': 'image', 'test_images': ['b']})
    """
    listed = {i.get("name"): dict(i) for i in (old or {}).get("images") or [] if isinstance(i, Mapping)}
    listed.update({name: dict(d) for name, d in images.items()})
    old_tests = ((old or {}).get("split") or {}).get("test_images") or []
    out = dict(manifest)
    out["image"] = None
    out["images"] = list(listed.values())
    out["split"] = {**dict(manifest.get("split") or {}), "by": split_by,
                    "test_images": sorted(set(old_tests) | set(test_images))}
    return _jsonable(out)


def manifest_bytes(manifest: Mapping) -> bytes:
    """The manifest as UTF-8 JSON text (indented, keys in their order, final newline)."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def read_manifest(path) -> dict:
    """Read a manifest (a manifest file, or the folder holding one).

    Raises
    ------
    ExportError
        If there is none, it is not JSON, or not a napari-patchwise manifest
        this version can read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = pathlib.Path(tmp, MANIFEST_NAME).write_text('{"format": "other"}')
    ...     read_manifest(tmp)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    napari_patchwise.engine.export.model.ExportError: ... is not a napari-patchwise export manifest; ...
    """
    p = Path(path)
    if p.is_dir():
        p = p / MANIFEST_NAME
    try:
        data = json.loads(p.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ExportError(f"no {MANIFEST_NAME} at {p.parent}; it is not a napari-patchwise export.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ExportError(
            f"{p} is not a readable napari-patchwise export manifest ({e}); move the folder away "
            "or export with overwrite on (--overwrite, or the Export dock's overwrite box)."
        ) from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ExportError(
            f"{p} is not a napari-patchwise export manifest; move the folder away or export "
            "with overwrite on (--overwrite, or the Export dock's overwrite box)."
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version > MANIFEST_VERSION:
        raise ExportError(
            f"{p} has manifest version {version!r}; this napari-patchwise reads versions "
            f"1..{MANIFEST_VERSION}. Upgrade napari-patchwise or export with overwrite on (--overwrite, or the Export dock's overwrite box)."
        )
    cases = data.get("cases")
    if not isinstance(cases, list) or not all(
        isinstance(c, dict) and isinstance(c.get("case"), str) and isinstance(c.get("files"), dict)
        for c in cases
    ):
        raise ExportError(f"{p} has a damaged case list; export with overwrite on (--overwrite, or the Export dock's overwrite box) to write it again.")
    return data


def pinned_boxes(test_boxes) -> list:
    """The manifest's ``test_boxes``: ids sorted, then ``"IMAGE:ID"`` for (image, id) pairs.

    Examples
    --------
    >>> pinned_boxes([7, ("b", 2), 3, ("a", 5)])
    [3, 7, 'a:5', 'b:2']
    """
    pairs = sorted((str(p[0]), int(p[1])) for p in test_boxes if isinstance(p, tuple))
    return sorted(int(i) for i in test_boxes if not isinstance(i, tuple)) + [f"{n}:{i}" for n, i in pairs]
