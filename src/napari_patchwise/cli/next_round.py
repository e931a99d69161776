"""``patchwise next-round``: the next round of boxes, where the prediction fails mixed with stratified ones.

Holding the project's lock, the command reads the project, builds a
:class:`~napari_patchwise.engine.jobs.next_round.NextRoundRequest`, runs
:func:`~napari_patchwise.engine.jobs.next_round.run_next_round`, saves the
plan and writes the round's record (``PROJECT/rounds/loop_NNN.json``).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..engine.jobs.next_round import NextRoundRequest, run_next_round
from ..engine.plan.plan_file import load_collection
from ..engine.plan.project_images import save_collection
from ..engine.plan.rounds import record_path, write_round_record
from .args import writing
from .console import ProgressBar
from .errors import UsageError


def cmd_next_round(args) -> int:
    folder = Path(args.project)
    if args.n < 1:
        raise UsageError(f"-n is the number of boxes of the round, a whole number >= 1; got {args.n}.")
    if not 0 <= args.mix <= 1:
        raise UsageError(f"--mix is the fraction of failure boxes, from 0 to 1; got {args.mix}.")
    images = tuple(v.strip() for v in args.images.split(",") if v.strip()) if args.images else None
    request = NextRoundRequest(folder, args.prediction, args.second_prediction, args.threshold, images,
                               n=args.n, mix=args.mix, seed=args.seed, scheduler=args.scheduler,
                               command=getattr(args, "command_line", None) or "patchwise next-round")
    t0 = time.perf_counter()
    with writing(folder, args):
        collection = load_collection(folder)
        result = run_next_round(request, collection, progress=ProgressBar("scanning for failures"))
        for m in result.mix.messages:
            print(f"note: {m}")
        if not result.added:
            print("no box was added: every region is taken by boxes already; nothing written.")
            return 0
        save_collection(folder, result.collection)
        write_round_record(folder, result.record)
    print(result.summary())
    for entry in result.record["patches"]:
        print(f"  {entry['box']}: {entry['stratum'] or entry['source']}: {entry['reason']}")
    print(f"done in {time.perf_counter() - t0:.1f} s; recorded in "
          f"{record_path(folder.name, result.round).as_posix()} (patchwise rounds {folder} lists the rounds).")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "next-round",
        help="propose the next round of boxes: where a prediction fails, mixed with stratified boxes",
        description="Scan the project's images for regions where PRED is likely wrong and add the next round "
        "of N boxes: a fraction --mix of them there (worst first), the rest from the stratified proposal. "
        "Boxes never overlap the boxes the project holds. The round is recorded in "
        "PROJECT/rounds/loop_NNN.json.")
    p.add_argument("project", metavar="PROJECT", help="project folder")
    p.add_argument("--prediction", required=True, metavar="PRED",
                   help="the model's prediction: instance or semantic labels or a probability map, one file "
                   "(one image) or a folder of one file per image")
    p.add_argument("--second-prediction", default=None, metavar="P2",
                   help="a second prediction: where the two disagree counts as a failure")
    p.add_argument("--threshold", type=float, default=None,
                   help="threshold of a probability map (default: the failure scan's)")
    p.add_argument("-n", "--n", type=int, default=10, help="boxes of the round (default: %(default)s)")
    p.add_argument("--mix", type=float, default=0.5,
                   help="fraction of the boxes where the prediction fails, 0 to 1 (default: %(default)s)")
    p.add_argument("--images", default=None, metavar="NAME[,NAME]",
                   help="images that get boxes (default: every image)")
    p.add_argument("--seed", type=int, default=0, help="seed of the stratified boxes (default: 0)")
    p.add_argument("--scheduler", default=None, help="dask scheduler of the stratified proposal's measurement")
    p.set_defaults(func=cmd_next_round)
