"""Findings: what a check reports, ``(severity, code, box_id, message)``.

Errors block export of their box, warnings are shown and carried into export
manifests, infos are advice. Every check of the engine returns these records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .geometry.box import Box

SEVERITIES = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Finding:
    """One result of a check.

    Parameters
    ----------
    severity : {'error', 'warning', 'info'}
    code : str
        Stable machine-readable name of the rule.
    box_id : int or None
        The box it concerns, ``None`` for the whole plan.
    message : str
        What is wrong and how to fix it.
    """

    severity: str
    code: str
    box_id: int | None
    message: str

    def __post_init__(self):
        if self.severity not in _RANK:
            raise ValueError(f"severity must be one of {SEVERITIES}; got {self.severity!r}.")

    def to_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "box_id": self.box_id, "message": self.message}

    def __str__(self) -> str:
        where = "plan" if self.box_id is None else f"box {self.box_id}"
        return f"{self.severity:<7} {where:>8}  {self.code}: {self.message}"


def worst_severity(findings: Iterable[Finding]) -> str | None:
    """The most severe severity among ``findings`` (``None`` if empty).

    Examples
    --------
    >>> worst_severity([Finding("info", "x", 1, ""), Finding("warning", "y", 1, "")])
    'warning'
    >>> worst_severity([]) is None
    True
    """
    ranks = [_RANK[f.severity] for f in findings]
    return SEVERITIES[min(ranks)] if ranks else None


def severity_by_box(findings: Iterable[Finding], boxes: Iterable[Box]) -> dict[int, str | None]:
    """Worst severity of each box's findings (``None`` for a clean box).

    Examples
    --------
    >>> from napari_patchwise.engine import Box
    >>> boxes = [Box(1, (0, 0, 0), (1, 1, 1)), Box(2, (0, 0, 0), (1, 1, 1))]
    >>> severity_by_box([Finding("warning", "overlap", 1, ""), Finding("info", "x", None, "")], boxes)
    {1: 'warning', 2: None}
    """
    by_box: dict[int, list[Finding]] = {}
    for f in findings:
        by_box.setdefault(f.box_id, []).append(f)
    return {b.id: worst_severity(by_box.get(b.id, ())) for b in boxes}
