"""The ``patchwise`` command: one module per subcommand, each building a job request.

Each subcommand module (:mod:`.propose`, :mod:`.seed`, :mod:`.check`,
:mod:`.export`, :mod:`.validate`, :mod:`.demo`) parses its options, builds the
engine job's request (:mod:`napari_patchwise.engine.jobs`), calls the job and
prints the result. :mod:`.main` holds the parser and the dispatch,
:mod:`.errors` how a command ends on bad input or a fault (one message, exit
code 2; 130 on Ctrl-C), :mod:`.console` what every command prints alike,
:mod:`.hints` the commands printed as hints. Nothing here imports Qt or the
docks.
"""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
