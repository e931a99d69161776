"""The ``patchwise`` command: its parser, and the dispatch to one module per subcommand.

Exit codes: 0 success, 1 the project has error findings, 2 bad input, a fault such
as a damaged file or a full disk (the message says what is wrong and how to fix it),
or another writer holds the project (the message names it; see :mod:`..engine.lock`),
130 interrupted with Ctrl-C (see :mod:`.errors`).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from .. import __version__
from ..engine.plan.plan_file import ProjectError
from . import (
    advise,
    check,
    corrections_folder,
    demo,
    evaluate,
    export,
    images,
    merge_corrections,
    next_round,
    propose,
    report,
    rounds,
    scan,
    seed,
    validate,
)
from .errors import UsageError, run

#: The subcommands, in the order ``patchwise --help`` lists them.
COMMANDS = (validate, advise, propose, images, rounds, demo, seed, check, export, evaluate, scan, next_round, report,
            merge_corrections, corrections_folder)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="patchwise",
        description="Guided 3D patch annotation: plan boxes by the rules, annotate, validate, export.",
    )
    p.add_argument("--version", action="version", version=f"napari-patchwise {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv=None) -> int:
    """Entry point of the ``patchwise`` console script."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["patchwise", *argv])[:300]
    return run(args, args.func, (UsageError, ProjectError, ValueError, FileNotFoundError, ImportError))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
