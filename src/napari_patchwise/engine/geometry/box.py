"""Annotation boxes: half-open ``[lo, hi)`` in full-resolution ``(z, y, x)`` voxels."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .magnification import Triple, _as_int_triple
from .regions import region_at_mag

#: Where a box came from.
SOURCES = ("manual", "grid", "points", "proposal", "uncertainty", "import")
#: Annotation progress of a box.
STATUSES = ("todo", "seeded", "in_progress", "done")


def as_box_id(value, what: str = "box id") -> int:
    """A box id as an ``int``: a whole number >= 1 (the one rule for every box id a plan holds).

    ``0`` and negative ids are refused (an export would name a case ``box_-005``),
    and so are text, booleans and fractions.

    Examples
    --------
    >>> as_box_id(7), as_box_id(np.int64(3)), as_box_id(2.0)
    (7, 3, 2)
    >>> as_box_id(0)
    Traceback (most recent call last):
    ...
    ValueError: box id must be a whole number >= 1; got 0.
    >>> as_box_id("5")
    Traceback (most recent call last):
    ...
    ValueError: box id must be a whole number >= 1; got '5' (text).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        kind = "text" if isinstance(value, str) else type(value).__name__
        raise ValueError(f"{what} must be a whole number >= 1; got {value!r} ({kind}).")
    if isinstance(value, (float, np.floating)) and not (np.isfinite(value) and float(value).is_integer()):
        raise ValueError(f"{what} must be a whole number >= 1; got {value!r}.")
    if int(value) < 1:
        raise ValueError(f"{what} must be a whole number >= 1; got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class Box:
    """One annotation box.

    Parameters
    ----------
    id : int
        Identifier, unique within a plan and never reused.
    lo, hi : tuple of int
        Corners ``(z, y, x)`` in full-resolution voxels; ``hi`` is exclusive.
    source : str
        How the box was made, one of :data:`SOURCES`.
    stratum : str or None
        The kind of region it represents (``'dense'``, ``'low_snr'``, ...).
    status : str
        One of :data:`STATUSES`.
    notes : str
        Free text.
    locked : bool
        Locked boxes are kept when boxes are proposed again.
    dense : bool
        The box is to be annotated densely: every voxel gets a class,
        background or ignore (unannotated voxels left in it are a finding).
    stats : dict
        Statistics that explain why a box was proposed (JSON-serialisable).
    round : int or None
        The proposal round that made the box (1, 2, ...; see
        :mod:`..plan.rounds`); ``None`` for boxes no proposal made (drawn by
        hand, imported) and for proposals saved before rounds were recorded
        (:func:`..plan.rounds.box_round` counts those as round 1). Written to
        ``plan.json`` only when set.

    Raises
    ------
    ValueError
        If a corner is not three whole numbers or the size is not positive.

    Examples
    --------
    >>> b = Box(1, (0, 0, 0), (32, 85, 85))
    >>> b.size, b.nvoxels
    ((32, 85, 85), 231200)
    >>> b.center
    (16.0, 42.5, 42.5)
    >>> Box(2, (0, 0, 0), (0, 10, 10))
    Traceback (most recent call last):
    ...
    ValueError: box 2 has a non-positive size (0, 10, 10) (z, y, x); hi must be greater than lo in every axis.
    """

    id: int
    lo: Triple
    hi: Triple
    source: str = "manual"
    stratum: str | None = None
    status: str = "todo"
    notes: str = ""
    locked: bool = False
    dense: bool = False
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)
    round: int | None = None

    def __post_init__(self):
        lo = _as_int_triple(self.lo, f"box {self.id} lo", positive=False)
        hi = _as_int_triple(self.hi, f"box {self.id} hi", positive=False)
        size = tuple(h - l for l, h in zip(lo, hi))
        if any(s <= 0 for s in size):
            raise ValueError(
                f"box {self.id} has a non-positive size {size} (z, y, x); "
                "hi must be greater than lo in every axis."
            )
        if self.source not in SOURCES:
            raise ValueError(f"box {self.id}: source must be one of {SOURCES}; got {self.source!r}.")
        if self.status not in STATUSES:
            raise ValueError(f"box {self.id}: status must be one of {STATUSES}; got {self.status!r}.")
        if not isinstance(self.locked, bool):
            raise ValueError(f"box {self.id}: locked must be true or false; got {self.locked!r}.")
        if not isinstance(self.dense, bool):
            raise ValueError(f"box {self.id}: dense must be true or false; got {self.dense!r}.")
        if not isinstance(self.notes, str):
            raise ValueError(f"box {self.id}: notes must be text; got {self.notes!r}.")
        if self.stratum is not None and not isinstance(self.stratum, str):
            raise ValueError(f"box {self.id}: stratum must be text or null; got {self.stratum!r}.")
        if self.round is not None:
            object.__setattr__(self, "round", as_box_id(self.round, f"box {self.id}: round"))
        if isinstance(self.id, bool) or not float(self.id).is_integer():
            raise ValueError(f"box id must be a whole number; got {self.id!r}.")
        object.__setattr__(self, "id", int(self.id))
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        object.__setattr__(self, "stats", dict(self.stats))

    @property
    def size(self) -> Triple:
        """Extent ``hi - lo`` per axis, in full-resolution voxels."""
        return tuple(h - l for l, h in zip(self.lo, self.hi))  # type: ignore[return-value]

    @property
    def nvoxels(self) -> int:
        """Number of full-resolution voxels."""
        z, y, x = self.size
        return z * y * x

    @property
    def center(self) -> tuple[float, float, float]:
        """Centre ``(lo + hi) / 2`` (the voxel at that index sits in the middle)."""
        return tuple((l + h) / 2 for l, h in zip(self.lo, self.hi))  # type: ignore[return-value]

    def slices(self, mag: Sequence[int] = (1, 1, 1)) -> tuple[slice, slice, slice]:
        """Index this box into an array at magnification ``mag``.

        Examples
        --------
        >>> Box(1, (0, 4, 8), (4, 12, 16)).slices((1, 2, 2))
        (slice(0, 4, None), slice(2, 6, None), slice(4, 8, None))
        """
        return region_at_mag(self.lo, self.hi, mag)

    def replace(self, **changes) -> Box:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """JSON-ready dict (inverse of :meth:`from_dict`)."""
        return {
            "id": self.id,
            "lo": list(self.lo),
            "hi": list(self.hi),
            "source": self.source,
            "stratum": self.stratum,
            "status": self.status,
            "notes": self.notes,
            "locked": self.locked,
            "dense": self.dense,
            "stats": dict(self.stats),
            **({} if self.round is None else {"round": self.round}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Box:
        """Build a box from :meth:`to_dict` output.

        Examples
        --------
        >>> b = Box(3, (0, 0, 0), (8, 8, 8), stratum="dense")
        >>> Box.from_dict(b.to_dict()) == b
        True
        >>> "round" in b.to_dict(), Box.from_dict(b.replace(round=2).to_dict()).round
        (False, 2)
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"box entry has unknown keys {sorted(unknown)}.")
        for key in ("id", "lo", "hi"):
            if key not in d:
                raise ValueError(f"box entry is missing {key!r}.")
        box_id = as_box_id(d["id"])
        for key in ("lo", "hi"):
            if not isinstance(d[key], (list, tuple)):
                raise ValueError(f"box {box_id} {key} must be a list of three whole numbers; got {d[key]!r}.")
        return cls(**{k: (tuple(v) if k in ("lo", "hi") else v) for k, v in d.items()})


def box_from_center(
    box_id: int, center: Sequence[float], size: Sequence[int], **fields
) -> Box:
    """A box of ``size`` voxels whose centre is at (or just before) ``center``.

    Examples
    --------
    >>> box_from_center(1, (50, 50, 50), (32, 85, 85)).lo
    (34, 8, 8)
    """
    size_ = _as_int_triple(size, "box size", positive=True)
    lo = tuple(int(round(c - s / 2)) for c, s in zip(center, size_))
    hi = tuple(l + s for l, s in zip(lo, size_))
    return Box(box_id, lo, hi, **fields)


def boxes_overlap(a: Box, b: Box) -> bool:
    """Whether two half-open boxes share at least one voxel.

    Examples
    --------
    >>> boxes_overlap(Box(1, (0, 0, 0), (4, 4, 4)), Box(2, (3, 3, 3), (8, 8, 8)))
    True
    >>> boxes_overlap(Box(1, (0, 0, 0), (4, 4, 4)), Box(2, (4, 0, 0), (8, 4, 4)))
    False
    """
    return all(al < bh and bl < ah for al, ah, bl, bh in zip(a.lo, a.hi, b.lo, b.hi))
