"""Jobs: each thing the ``patchwise`` command and the docks do, as a request and one function.

A front end (a ``patchwise`` subcommand, a dock) builds a frozen request from
its inputs (the request checks them: a ``ValueError`` names the problem and
the fix) and calls the job's function; every rule lives here or below, once.

=================  ====================  ===============
job                request               function
=================  ====================  ===============
propose boxes      :class:`ProposeRequest`  :func:`run_propose`
seed weak labels   :class:`SeedRequest`     :func:`run_seed`
check a project    :class:`CheckRequest`    :func:`run_check`
export             :class:`ExportRequest`   :func:`run_export`
=================  ====================  ===============
"""

from .box_ids import parse_box_ids
from .check import CheckRequest, CheckResult, run_check
from .export import ExportRequest, run_export
from .propose import ProposeRequest, ProposeResult, run_propose
from .seed import SeedRequest, check_manual_threshold, run_seed

__all__ = [
    "CheckRequest", "CheckResult", "ExportRequest", "ProposeRequest", "ProposeResult", "SeedRequest",
    "check_manual_threshold", "parse_box_ids", "run_check", "run_export", "run_propose", "run_seed",
]
