"""Rounds of proposed boxes: the round number of a box, and one record per round.

Every proposal run (``patchwise propose``, ``patchwise next-round``, the
Propose form) is a numbered round: its new boxes carry ``round`` in
``plan.json`` (:class:`~..geometry.box.Box`), and the commands write a record
of it to ``PROJECT/rounds/loop_001.json``, ``loop_002.json``... (as nnActive
keeps one ``loop_XXX.json`` per active-learning loop listing its patches):
the round number, when it was made, the command, the boxes (image-qualified
ids and extents) with why each was chosen, the predictions it came from
(path and sha256, or size and modification time for large files and
folders) and the mix used. A record is written atomically, under the
project's lock, and never overwritten.

Rules, here once:

- a box without ``round`` (saved before rounds were recorded) counts as
  round 1 when a proposal made it (:data:`PROPOSAL_SOURCES`), and as no round
  when drawn by hand or imported (:func:`box_round`);
- the next round is one past the highest round of any box of any image and of
  any record (:func:`next_round`), so a round number is never given twice,
  even when its boxes were all removed.

Examples
--------
>>> import tempfile
>>> from napari_patchwise.engine import ImageRef, Plan
>>> from napari_patchwise.engine.plan.collection import Collection
>>> plan = Plan(ImageRef((16, 64, 64))).add_boxes([((0, 0, 0), (8, 8, 8))], source="proposal")
>>> coll = Collection.from_plan(plan)
>>> with tempfile.TemporaryDirectory() as tmp:
...     n = next_round(coll, tmp)
...     path = write_round_record(tmp, round_record(n, "patchwise propose", []))
...     print(n, path.name, next_round(coll, tmp), [r["round"] for r in read_round_records(tmp)])
2 loop_002.json 3 [2]
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..geometry.box import Box
from .atomic import write_json_atomic
from .collection import Collection
from .plan_file import ProjectError

#: Folder of the round records inside a project.
ROUNDS_DIR = "rounds"
#: Box sources a proposal makes (a box of these without ``round`` is of round 1).
PROPOSAL_SOURCES = ("grid", "points", "proposal", "uncertainty")
#: Files up to this size are identified by their sha256; larger ones (and folders) by size and time.
HASH_LIMIT = 64 * 2**20
_RECORD = re.compile(r"loop_(\d{3,})\.json\Z")
#: Statuses of a box that has been annotated, wholly or in part.
ANNOTATED_STATUSES = ("in_progress", "done")


def box_round(box: Box) -> int | None:
    """The round of ``box``: its own, 1 for a proposal saved before rounds, None for a drawn box.

    Examples
    --------
    >>> box_round(Box(1, (0, 0, 0), (4, 4, 4), source="proposal"))
    1
    >>> box_round(Box(1, (0, 0, 0), (4, 4, 4), source="uncertainty", round=3))
    3
    >>> print(box_round(Box(1, (0, 0, 0), (4, 4, 4))))
    None
    """
    if box.round is not None:
        return box.round
    return 1 if box.source in PROPOSAL_SOURCES else None


def record_path(folder, number: int) -> Path:
    """``PROJECT/rounds/loop_NNN.json`` of round ``number``.

    Examples
    --------
    >>> record_path("proj", 7).as_posix()
    'proj/rounds/loop_007.json'
    """
    return Path(folder) / ROUNDS_DIR / f"loop_{int(number):03d}.json"


def recorded_rounds(folder) -> list[int]:
    """Round numbers that have a record in ``folder``, ascending (none when the folder has no rounds)."""
    d = Path(folder) / ROUNDS_DIR
    if not d.is_dir():
        return []
    return sorted(int(m.group(1)) for p in d.iterdir() if (m := _RECORD.match(p.name)))


def next_round(collection: Collection, folder=None) -> int:
    """The number the next proposal run gets: one past every box's round and every record.

    Parameters
    ----------
    collection : Collection
        The project's images.
    folder : str or Path, optional
        The project folder (its records count too).

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> next_round(Collection.from_plan(Plan(ImageRef((8, 8, 8)))))
    1
    """
    rounds = [r for e in collection.images for b in e.plan.boxes if (r := box_round(b)) is not None]
    if folder is not None:
        rounds += recorded_rounds(folder)
    return max(rounds, default=0) + 1


def file_identity(path) -> dict:
    """What identifies a prediction file: path, size and sha256 (small files) or modification time.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = Path(tmp, "p.npy")
    ...     _ = p.write_bytes(b"abc")
    ...     ident = file_identity(p)
    >>> ident["size"], ident["sha256"][:12]
    (3, 'ba7816bf8f01')
    """
    p, dataset = Path(str(path)), ""
    if not p.exists() and ":" in p.name:  # file.h5:dataset
        head, dataset = str(path).rsplit(":", 1)
        p, dataset = Path(head), ":" + dataset
    out: dict = {"path": str(p.resolve()) + dataset}
    try:
        st = p.stat()
    except OSError:
        return {**out, "missing": True}
    if p.is_file():
        out["size"] = st.st_size
        if st.st_size <= HASH_LIMIT:
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out["sha256"] = h.hexdigest()
            return out
    else:  # a Zarr folder: the total size of its files
        out["size"] = sum(q.stat().st_size for q in p.rglob("*") if q.is_file())
    out["mtime"] = datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).isoformat(
        timespec="seconds")
    return out


def box_entry(image: str, box: Box, reason: str | None = None) -> dict:
    """A box in a round record: ``image:id``, extent, source, stratum and why it was chosen.

    Examples
    --------
    >>> box_entry("a", Box(4, (0, 0, 0), (8, 8, 8), source="proposal", stratum="dense"))["reason"]
    'stratum dense'
    """
    why = reason or box.notes or (f"stratum {box.stratum}" if box.stratum else box.source)
    entry = {"box": f"{image}:{box.id}", "image": image, "id": box.id, "lo": list(box.lo),
             "hi": list(box.hi), "source": box.source, "stratum": box.stratum, "reason": why}
    if "score" in box.stats:
        entry["score"] = box.stats["score"]
    return entry


def round_record(number: int, command: str, boxes: Iterable[tuple[str, Box]], *,
                 predictions: Sequence = (), mix: Mapping | None = None, request: Mapping | None = None,
                 created: str | None = None) -> dict:
    """The record of round ``number`` (see the module's description), JSON-ready.

    Parameters
    ----------
    number : int
        The round.
    command : str
        The command line or action that made it.
    boxes : iterable of (image name, Box)
        Its new boxes.
    predictions : sequence of paths
        Predictions the round was chosen from (identified with :func:`file_identity`).
    mix : mapping, optional
        How the round was mixed (asked and obtained counts).
    request : mapping, optional
        The request's settings (n, seed, threshold, ...).

    Examples
    --------
    >>> r = round_record(2, "patchwise next-round p", [("a", Box(1, (0, 0, 0), (4, 4, 4)))],
    ...                  created="2026-01-01T00:00:00+00:00")
    >>> r["round"], r["patches"][0]["box"], r["reasons"]
    (2, 'a:1', {'manual': 1})
    """
    entries = [box_entry(image, b) for image, b in boxes]
    when = created or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {
        "round": int(number),
        "created": when,
        "command": command,
        "request": dict(request or {}),
        "predictions": [file_identity(p) for p in predictions],
        "mix": dict(mix or {}),
        "reasons": dict(Counter(reason_key(e) for e in entries)),
        "patches": entries,
    }


def reason_key(entry: Mapping) -> str:
    """The short reason a box counts under in a summary: its stratum, else its source."""
    return entry.get("stratum") or entry.get("source") or "?"


def write_round_record(folder, record: Mapping) -> Path:
    """Write ``record`` to ``PROJECT/rounds/loop_NNN.json``; an existing record is never overwritten.

    Call it holding the project's lock (:mod:`.lock`), as every command that changes a project does.

    Raises
    ------
    ProjectError
        When the round already has a record (nothing is written).
    """
    path = record_path(folder, record["round"])
    if path.exists():
        raise ProjectError(
            f"round {record['round']} already has a record ({path}); records are never overwritten: "
            "propose again to make a new round.")
    path.parent.mkdir(exist_ok=True)
    return write_json_atomic(path, dict(record))


def record_new_boxes(folder, number: int, command: str, added, **record) -> Path | None:
    """Write the record of round ``number`` for the boxes a run added; nothing for a run that added none.

    ``added`` is an iterable of ``(image name, plan, new box ids)``; ``record`` goes to
    :func:`round_record` (``predictions``, ``mix``, ``request``). The command line and the dock's
    Propose step both record their rounds through it, holding the project's lock.

    Examples
    --------
    >>> import tempfile
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((8, 8, 8))).add_boxes([((0, 0, 0), (4, 4, 4))], source="proposal")
    >>> folder = Path(tempfile.mkdtemp())
    >>> record_new_boxes(folder, 1, "patchwise propose", [("a", plan, [])]) is None
    True
    >>> record_new_boxes(folder, 1, "patchwise propose", [("a", plan, [1])]).name
    'loop_001.json'
    """
    boxes = [(name, plan.box(i)) for name, plan, ids in added for i in ids]
    if not boxes:
        return None
    return write_round_record(folder, round_record(number, command, boxes, **record))


def read_round_records(folder) -> list[dict]:
    """Every round record of ``folder``, by round (a damaged one is refused, naming the file)."""
    out = []
    for n in recorded_rounds(folder):
        path = record_path(folder, n)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ProjectError(f"cannot read the round record {path} ({e}); move it aside to go on.") from None
        if not isinstance(data, dict):
            raise ProjectError(f"{path} is not a round record (not a JSON object); move it aside to go on.")
        data["round"] = n
        out.append(data)
    return out


@dataclass(frozen=True)
class RoundSummary:
    """One round of a project: when, how many boxes, how many annotated, why they were chosen.

    ``boxes`` and ``annotated`` count the boxes the plan holds now (removed ones
    are gone); ``recorded`` counts the boxes the record lists.
    """

    round: int
    created: str | None
    command: str | None
    boxes: int
    annotated: int
    recorded: int | None
    reasons: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"round": self.round, "created": self.created, "command": self.command, "boxes": self.boxes,
                "annotated": self.annotated, "recorded": self.recorded, "reasons": dict(self.reasons)}

    def line(self) -> str:
        """One line of ``patchwise rounds``.

        Examples
        --------
        >>> RoundSummary(2, "2026-01-01T10:00:00+00:00", None, 5, 1, 5, {"failure:merge": 3, "dense": 2}).line()
        'round 2  2026-01-01 10:00  5 boxes, 1 annotated  failure:merge 3, dense 2'
        """
        when = (self.created or "no record")[:16].replace("T", " ")
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        n = f"{self.boxes} box{'es' if self.boxes != 1 else ''}"
        return f"round {self.round}  {when}  {n}, {self.annotated} annotated" + (f"  {why}" if why else "")


def summarize_rounds(collection: Collection, folder=None) -> list[RoundSummary]:
    """Every round of the project: from the boxes' rounds and the records, ascending.

    A round with boxes but no record (proposed before records, or by a viewer)
    has no date; its reasons come from the boxes. Boxes count as annotated once
    their status is ``in_progress`` or ``done``.

    Examples
    --------
    >>> from napari_patchwise.engine import ImageRef, Plan
    >>> plan = Plan(ImageRef((16, 64, 64))).add_boxes([((0, 0, 0), (8, 8, 8))], source="proposal",
    ...                                               stratum="dense", status="done")
    >>> [s.line() for s in summarize_rounds(Collection.from_plan(plan))]
    ['round 1  no record  1 box, 1 annotated  dense 1']
    """
    by_round: dict[int, list[tuple[str, Box]]] = {}
    for e in collection.images:
        for b in e.plan.boxes:
            r = box_round(b)
            if r is not None:
                by_round.setdefault(r, []).append((e.name, b))
    records = {r["round"]: r for r in read_round_records(folder)} if folder is not None else {}
    out = []
    for n in sorted(set(by_round) | set(records)):
        held = by_round.get(n, [])
        rec = records.get(n, {})
        reasons = rec.get("reasons") if isinstance(rec.get("reasons"), dict) else None
        if reasons is None:
            reasons = dict(Counter(reason_key({"stratum": b.stratum, "source": b.source}) for _, b in held))
        patches = rec.get("patches")
        out.append(RoundSummary(
            n, rec.get("created"), rec.get("command"), len(held),
            sum(b.status in ANNOTATED_STATUSES for _, b in held),
            len(patches) if isinstance(patches, list) else None, reasons))
    return out
