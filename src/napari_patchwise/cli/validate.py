"""``patchwise validate``: every box of a project against the rules."""

from __future__ import annotations

import json
import sys

from ..engine.plan.plan_file import load_plan
from .console import exit_code, print_findings


def cmd_validate(args) -> int:
    plan = load_plan(args.project)
    findings = plan.validate()
    if args.json:
        json.dump([f.to_dict() for f in findings], sys.stdout, indent=2)
        print()
    else:
        print(f"{args.project}: {len(plan.boxes)} boxes, preset {plan.preset.name}, "
              f"magnification {','.join(map(str, plan.magnification))}")
        print_findings(findings)
    return exit_code(findings)


def add_parser(sub) -> None:
    v = sub.add_parser("validate", help="check every box of a project against the rules (exit 1 on errors)")
    v.add_argument("project", help="project folder (holding plan.json)")
    v.add_argument("--json", action="store_true", help="print findings as JSON")
    v.set_defaults(func=cmd_validate)
