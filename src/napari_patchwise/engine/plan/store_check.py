"""Finding the chunks of a project's ``annotations.zarr`` that no longer decode.

A chunk file damaged on disk (a bad sector, a copy cut short, an edit by
hand) makes zarr's codec fail deep inside a read, with a message that names
neither the array nor the chunk. :func:`damaged_chunks` reads every stored
chunk of every layer once and lists those that fail; :func:`damaged_message`
says which they are, which boxes they cover, and how to get back.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.project import create_project, open_annotations
>>> plan = Plan(ImageRef((4, 8, 8))).add_boxes([((0, 0, 0), (4, 4, 4))])
>>> with tempfile.TemporaryDirectory() as tmp:
...     folder = create_project(tmp, plan)
...     open_annotations(folder)["nuclei"][:] = 1
...     _ = (folder / "annotations.zarr" / "image" / "nuclei" / "c" / "0" / "0" / "0").write_bytes(b"junk")
...     found = damaged_chunks(folder)
...     print([(c.array, c.key, c.index) for c in found])
...     print(damaged_message(folder, found, plan).splitlines()[0])
[('image/nuclei', 'c/0/0/0', (0, 0, 0))]
annotations.zarr/image/nuclei, chunk c/0/0/0 (voxels z 0:4, y 0:8, x 0:8 at the magnification; boxes 1) cannot be decoded: it is damaged on disk.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from ..geometry.regions import chunk_region, regions_overlap

ANNOTATIONS = "annotations.zarr"


@dataclass(frozen=True)
class DamagedChunk:
    """One chunk file that does not decode.

    Attributes
    ----------
    array : str
        The layer (``nuclei``, ``background``, ``edits`` ...).
    key : str
        The chunk's file inside the array folder (``c/0/1/0``).
    index : tuple of int
        The chunk's grid index.
    region : tuple of slice
        The voxels it holds, at the annotation magnification.
    error : str
        What the codec said.
    """

    array: str
    key: str
    index: tuple[int, ...]
    region: tuple[slice, ...]
    error: str


def damaged_chunks(folder) -> list[DamagedChunk]:
    """Every stored chunk of the project's annotation arrays that fails to decode.

    Reads each stored chunk once (missing chunks hold the fill value and are
    not read); never writes.
    """
    import zarr

    root = Path(folder) / ANNOTATIONS
    try:
        group = zarr.open_group(root, mode="r", use_consolidated=False)
    except Exception:  # the metadata itself is damaged: open_annotations says so
        return []
    found = []
    arrays = [(path, node) for path, node in group.members(max_depth=None)
              if isinstance(node, zarr.Array) and not any(p.startswith(".") for p in path.split("/"))]
    for name, arr in sorted(arrays, key=lambda t: t[0]):
        for index in itertools.product(*(range(n) for n in arr.cdata_shape)):
            key = arr.metadata.encode_chunk_key(index)
            if not (root / name / key).is_file():
                continue
            try:
                arr.get_block_selection(index)
            except Exception as e:  # any codec failure: what matters is which chunk
                region = chunk_region(index, arr.chunks, arr.shape)
                found.append(DamagedChunk(name, key, tuple(index), region, f"{type(e).__name__}: {e}"))
    return found


def _boxes_in(plan, region) -> list[int]:
    ids = []
    for b in plan.boxes:
        if regions_overlap(b.slices(plan.magnification), region):
            ids.append(b.id)
    return ids


def damaged_message(folder, chunks: list[DamagedChunk], plan=None) -> str:
    """Which arrays and chunks are damaged, the boxes they cover, and how to restore them."""
    folder = Path(folder)
    lines = []
    boxes: set[int] = set()
    for c in chunks:
        where = ", ".join(f"{a} {r.start}:{r.stop}" for a, r in zip("zyx", c.region))
        covered = _boxes_in(plan, c.region) if plan is not None else []
        boxes.update(covered)
        on = f"; boxes {', '.join(map(str, covered))}" if covered else "; no box"
        lines.append(f"{ANNOTATIONS}/{c.array}, chunk {c.key} (voxels {where} at the magnification{on}) "
                     f"cannot be decoded: it is damaged on disk.")
    seed = f" --boxes {','.join(map(str, sorted(boxes)))}" if boxes else ""
    lines.append(
        f"Restore {folder / ANNOTATIONS} from a copy or backup; or move the damaged chunk "
        f"file(s) out of {folder / ANNOTATIONS} (the chunk then reads as unannotated) and seed "
        f"those boxes again (patchwise seed {folder}{seed}). plan.json is not affected "
        "(plan.json.bak holds its previous save)."
    )
    return "\n".join(lines)
