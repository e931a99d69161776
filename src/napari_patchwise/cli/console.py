"""What every ``patchwise`` command prints the same way: findings, progress, how to open a project."""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from pathlib import Path

from ..engine.findings import Finding
from ..engine.geometry.voxelsize import UNKNOWN_VOXEL_SIZE, VoxelChoice
from .hints import installed, program
from .hints import pip as pip_command


def print_findings(findings: list[Finding], out=None) -> None:
    """Each finding on a line, then the counts by severity."""
    out = sys.stdout if out is None else out
    for f in findings:
        print(str(f), file=out)
    counts = Counter(f.severity for f in findings)
    print(
        f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} infos",
        file=out,
    )


def print_voxel_notes(vox: VoxelChoice) -> None:
    """The voxel size's notes, and the warning while it is unknown."""
    for note in vox.notes:
        print(f"note: {note}")
    if not vox.known:
        print(f"warning: {UNKNOWN_VOXEL_SIZE} with --voxel-size Z,Y,X (e.g. 2,0.5,0.5um)", file=sys.stderr)


def exit_code(findings: list[Finding]) -> int:
    """1 when a finding is an error, else 0."""
    return 1 if any(f.severity == "error" for f in findings) else 0


class ProgressBar:
    """A text progress bar on stderr (a line per 10 % when not a terminal).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> bar = ProgressBar("measuring", out)
    >>> for done in range(0, 11, 5):
    ...     bar(done, 10)
    >>> print(out.getvalue(), end="")
    measuring: 0%
    measuring: 50%
    measuring: 100%
    """

    def __init__(self, label: str, out=None):
        self.label, self.out, self.last = label, out or sys.stderr, -1
        self.tty = getattr(self.out, "isatty", lambda: False)()

    def __call__(self, done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if self.tty:
            bar = "#" * (pct // 5) + "." * (20 - pct // 5)
            end = "\n" if done >= total else ""
            print(f"\r{self.label} [{bar}] {pct:3d}%", end=end, file=self.out, flush=True)
        elif pct // 10 > self.last // 10 or (done >= total and self.last < 100):
            print(f"{self.label}: {pct}%", file=self.out, flush=True)
        self.last = pct


def open_hint(folder: Path) -> str:
    """How to open a project in napari, as a command that runs as printed.

    Through the ``napari`` installed beside this Python (``.venv/bin/napari``
    when the venv is not activated); how to install it when it is not there.
    """
    command = f"{program('napari')} --plugin napari-patchwise {shlex.quote(str(folder))}"
    if installed("napari"):
        return f"Open it in napari with:  {command}"
    return (f"napari is not installed here (the plain install is headless). To open the project:\n"
            f"  {pip_command()} install \"napari-patchwise[napari]\"\n  {command}")
