"""``patchwise rounds``: the project's rounds of boxes; and the record every proposing command writes.

Each round is a line: its number, when it was made, how many of its boxes the
plan holds, how many of them are annotated (status in progress or done) and
why they were chosen (strata, failure kinds). ``--json`` prints a list of one
object per round. Reading takes no lock.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..engine.plan.plan import Plan
from ..engine.plan.plan_file import load_collection
from ..engine.plan.rounds import record_new_boxes, record_path, summarize_rounds


def record_round(out: Path, number: int, args, added: Iterable[tuple[str, Plan, Sequence[int]]], *,
                 predictions: Sequence = (), mix: dict | None = None, request: dict | None = None) -> Path | None:
    """Write the record of round ``number`` (``added``: image name, its plan, the new box ids); the
    lock is held. Nothing is written for a run that added no box."""
    command = getattr(args, "command_line", None) or f"patchwise {getattr(args, 'command', '')}".strip()
    path = record_new_boxes(out, number, command, added, predictions=predictions, mix=mix, request=request)
    if path is not None:
        n = sum(len(ids) for _, _, ids in added)
        print(f"round {number}: {n} box{'es' if n != 1 else ''}, recorded in "
              f"{record_path(Path(out).name, number).as_posix()}")
    return path


def cmd_rounds(args) -> int:
    folder = Path(args.project)
    summaries = summarize_rounds(load_collection(folder), folder)
    if args.json:
        json.dump([s.to_dict() for s in summaries], sys.stdout, indent=2)
        print()
        return 0
    if not summaries:
        print(f"{folder} has no rounds yet: no box was proposed (patchwise propose, patchwise next-round).")
        return 0
    for s in summaries:
        print(s.line())
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "rounds", help="list the rounds of boxes of a project (when, how many, annotated, why)",
        description="List the project's rounds of proposed boxes: each round's number, date, boxes the plan "
        "holds, boxes annotated (in progress or done) and why they were chosen. Records are in "
        "PROJECT/rounds/loop_NNN.json.")
    p.add_argument("project", metavar="PROJECT", help="project folder")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per round")
    p.set_defaults(func=cmd_rounds)
