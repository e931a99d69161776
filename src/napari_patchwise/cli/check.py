"""``patchwise check``: every finding of a project, boxes and annotations (exit 1 on errors)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from ..engine.jobs.check import CONNECTIVITIES, CheckRequest, run_check
from .args import writing
from .console import print_findings


def cmd_check(args) -> int:
    folder = Path(args.project)
    request = CheckRequest(folder, connectivity=args.connectivity, update_status=args.update_status)
    if args.update_status:  # a writer: the plan is read and saved under the lock
        with writing(folder, args):
            result = run_check(request)
    else:  # a reader: plan.json once (it is replaced atomically), no lock
        result = run_check(request)
    plan, findings, report = result.plan, result.findings, result.report
    if args.json:
        out = {
            "findings": [f.to_dict() for f in findings],
            "boxes": {str(i): {"status": q.status, "counts": q.counts,
                               "touching": {k: v.tolist() for k, v in q.touching.items()}}
                      for i, q in report.boxes.items()},
        }
        json.dump(out, sys.stdout, indent=2)
        print()
    else:
        statuses = Counter(q.status for q in report.boxes.values())
        print(f"{folder}: {len(plan.boxes)} boxes (" + ", ".join(
            f"{n} {s}" for s, n in sorted(statuses.items())) + ")")
        print_findings(findings)
    return 1 if result.has_errors else 0


def add_parser(sub) -> None:
    c = sub.add_parser("check", help="every finding of a project: boxes and annotations (exit 1 on errors)")
    c.add_argument("project", help="project folder (holding plan.json)")
    c.add_argument("--json", action="store_true", help="print findings and box statuses as JSON")
    c.add_argument("--connectivity", type=int, default=1, choices=CONNECTIVITIES,
                   help="touching: 1 faces (default), 2 + edges, 3 + corners")
    c.add_argument("--update-status", action="store_true",
                   help="save the derived box statuses (todo/seeded/in_progress) in plan.json")
    c.set_defaults(func=cmd_check)
