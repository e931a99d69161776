"""Voxel sizes and their units: names, conversion, ``Z,Y,X[unit]`` text, the unknown case.

Units are kept under their UDUNITS-2 names (``micrometer``, ``nanometer``...),
as OME-Zarr writes them and napari accepts them; ``pixel`` is a unit too (a
voxel size relative to the x/y pixel, e.g. ``2.18,1,1`` for a z-step 2.18
times the pixel).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..findings import Finding

#: What is shown while a file records no voxel size (CLI, Box planner, findings).
UNKNOWN_VOXEL_SIZE = "voxel size unknown: using 1,1,1 — set it"
#: Code of the plan finding for an unknown voxel size.
UNKNOWN_CODE = "voxel-size-unknown"
DEFAULT_UNIT = "micrometer"

_ALIASES = {
    "pm": "picometer", "picometer": "picometer", "picometre": "picometer",
    "a": "angstrom", "å": "angstrom", "Å": "angstrom", "angstrom": "angstrom", "ang": "angstrom",
    "nm": "nanometer", "nanometer": "nanometer", "nanometre": "nanometer",
    "um": "micrometer", "µm": "micrometer", "μm": "micrometer", "micron": "micrometer",
    "microns": "micrometer", "micrometer": "micrometer", "micrometre": "micrometer",
    "\\u00b5m": "micrometer", "u": "micrometer",
    "mm": "millimeter", "millimeter": "millimeter", "millimetre": "millimeter",
    "cm": "centimeter", "centimeter": "centimeter", "centimetre": "centimeter",
    "m": "meter", "meter": "meter", "metre": "meter",
    "in": "inch", "inch": "inch",
    "px": "pixel", "pixel": "pixel", "pixels": "pixel", "pix": "pixel",
}
#: Nanometres per unit (``pixel`` has none).
_NM = {"picometer": 1e-3, "angstrom": 0.1, "nanometer": 1.0, "micrometer": 1e3, "millimeter": 1e6,
       "centimeter": 1e7, "meter": 1e9, "inch": 2.54e7}
#: The units offered in the Box planner.
UNITS = ("micrometer", "nanometer", "angstrom", "millimeter", "pixel")
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def normalize_unit(text) -> str | None:
    """The UDUNITS-2 name of a length unit written any common way; ``None`` if not one.

    Examples
    --------
    >>> normalize_unit("µm"), normalize_unit("micron"), normalize_unit(" NM "), normalize_unit("px")
    ('micrometer', 'micrometer', 'nanometer', 'pixel')
    >>> normalize_unit("parsec") is None, normalize_unit(None) is None
    (True, True)
    """
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    t = str(text).strip()
    return _ALIASES.get(t) or _ALIASES.get(t.lower())


def is_physical(unit: str | None) -> bool:
    """Whether ``unit`` is a physical length (not ``pixel``, not unknown).

    Examples
    --------
    >>> is_physical("nanometer"), is_physical("pixel"), is_physical(None)
    (True, False, False)
    """
    return unit in _NM


def convert(value: float, unit: str, to: str) -> float:
    """``value`` given in ``unit`` expressed in ``to`` (both physical units).

    Examples
    --------
    >>> convert(0.5, "micrometer", "nanometer")
    500.0
    >>> round(convert(10, "angstrom", "nanometer"), 9)
    1.0
    """
    if unit == to:
        return float(value)
    if not (is_physical(unit) and is_physical(to)):
        raise ValueError(f"cannot convert {unit!r} to {to!r}; both must be physical length units.")
    return float(value) * _NM[unit] / _NM[to]


def common_unit(sizes: Sequence[float], units: Sequence[str | None]) -> tuple[tuple[float, ...], str | None]:
    """Express per-axis sizes in one unit (the last axis's, usually x).

    Examples
    --------
    >>> common_unit((0.5, 200.0, 200.0), ("micrometer", "nanometer", "nanometer"))
    ((500.0, 200.0, 200.0), 'nanometer')
    >>> common_unit((2.0, 1.0, 1.0), (None, None, None))
    ((2.0, 1.0, 1.0), None)
    """
    target = units[-1]
    if all(u == target for u in units) or not all(is_physical(u) for u in units):
        return tuple(float(s) for s in sizes), target
    return tuple(convert(s, u, target) for s, u in zip(sizes, units)), target  # type: ignore[arg-type]


def check_voxel_size(values, what: str = "voxel size") -> tuple[float, float, float]:
    """Three positive finite numbers ``(z, y, x)``, or a ``ValueError`` naming the fix.

    Examples
    --------
    >>> check_voxel_size([2, 0.5, 0.5])
    (2.0, 0.5, 0.5)
    >>> check_voxel_size((1, 0, 1))
    Traceback (most recent call last):
    ...
    ValueError: voxel size must be three positive numbers (z, y, x); got (1, 0, 1).
    """
    try:
        vs = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        vs = ()
    if len(vs) != 3 or not all(math.isfinite(v) and v > 0 for v in vs):
        raise ValueError(f"{what} must be three positive numbers (z, y, x); got {tuple(values)!r}.")
    return vs  # type: ignore[return-value]


def parse_voxel_size(text: str) -> tuple[tuple[float, float, float], str | None]:
    """Read ``Z,Y,X`` (or one number for all three) with an optional unit suffix.

    Parameters
    ----------
    text : str
        E.g. ``'0.5,0.2,0.2um'``, ``'10nm'``, ``'2.18,1,1'``, ``'2 x 0.5 x 0.5 µm'``.

    Returns
    -------
    voxel_size : tuple of float
        ``(z, y, x)``.
    unit : str or None
        The unit's UDUNITS-2 name, ``None`` when the text gives none (then the
        numbers are in the image's unit).

    Examples
    --------
    >>> parse_voxel_size("0.5,0.2,0.2um")
    ((0.5, 0.2, 0.2), 'micrometer')
    >>> parse_voxel_size("10nm")
    ((10.0, 10.0, 10.0), 'nanometer')
    >>> parse_voxel_size("2.18,1,1")
    ((2.18, 1.0, 1.0), None)
    >>> parse_voxel_size("1,2")
    Traceback (most recent call last):
    ...
    ValueError: voxel size must be Z,Y,X (or one number for all axes) with an optional unit, e.g. 0.5,0.2,0.2um or 10nm; got '1,2'.
    """
    raw = str(text).strip()
    m = re.fullmatch(rf"\s*({_NUMBER}(?:\s*[,x×]\s*{_NUMBER})*)\s*([^\d\s,.+-][^\s,]*)?\s*", raw)
    hint = ("voxel size must be Z,Y,X (or one number for all axes) with an optional unit, "
            f"e.g. 0.5,0.2,0.2um or 10nm; got {raw!r}.")
    if not m:
        raise ValueError(hint)
    numbers = [float(v) for v in re.split(r"\s*[,x×]\s*", m.group(1))]
    if len(numbers) == 1:
        numbers *= 3
    if len(numbers) != 3:
        raise ValueError(hint)
    unit = None
    if m.group(2):
        unit = normalize_unit(m.group(2))
        if unit is None:
            raise ValueError(
                f"unknown unit {m.group(2)!r} in {raw!r}; use one of nm, um (µm), mm, A (angstrom) or px."
            )
    return check_voxel_size(numbers), unit


def format_voxel_size(voxel_size: Sequence[float], unit: str | None = None) -> str:
    """``'2,0.5,0.5 micrometer'`` (``Z,Y,X unit``), as :func:`parse_voxel_size` reads it back.

    Examples
    --------
    >>> format_voxel_size((2.0, 0.5, 0.5), "micrometer")
    '2,0.5,0.5 micrometer'
    >>> parse_voxel_size(format_voxel_size((0.284, 0.128, 0.128), "micrometer"))
    ((0.284, 0.128, 0.128), 'micrometer')
    """
    text = ",".join(f"{float(v):.10g}" for v in voxel_size)
    return f"{text} {unit}" if unit else text


def voxel_size_findings(known: bool) -> list[Finding]:
    """The plan finding while an image's voxel size is unknown (none when it is known).

    Examples
    --------
    >>> [f.code for f in voxel_size_findings(False)], voxel_size_findings(True)
    (['voxel-size-unknown'], [])
    """
    if known:
        return []
    return [Finding("warning", UNKNOWN_CODE, None,
                    f"{UNKNOWN_VOXEL_SIZE} (Box planner: voxel size; or patchwise propose IMAGE -o "
                    "PROJECT --voxel-size Z,Y,X). Smoothing, object sizes and export spacing use it.")]


@dataclass(frozen=True)
class VoxelChoice:
    """The voxel size an image gets, whether it is known, and notes on how it was chosen."""

    voxel_size: tuple[float, float, float]
    unit: str
    known: bool
    notes: tuple[str, ...] = ()


def choose_voxel_size(given: str | None, recorded=None, recorded_unit: str | None = None, *,
                      current=None, current_unit: str | None = None,
                      current_known: bool = True) -> VoxelChoice:
    """Decide an image's voxel size from what the user gave, the file and the project.

    Parameters
    ----------
    given : str or None
        ``Z,Y,X[unit]`` from the user (:func:`parse_voxel_size`); without a
        unit the numbers are in the image's unit (the project's, else the
        file's, else micrometer).
    recorded, recorded_unit
        What the file records (``None``: nothing).
    current, current_unit, current_known
        The voxel size a project already has for this image (``None``: a new one).

    Returns
    -------
    VoxelChoice
        Given beats the project, which beats the file; with nothing at all
        the voxel size is unknown: ``1,1,1 pixel``, ``known=False``.

    Examples
    --------
    >>> choose_voxel_size(None, (0.284, 0.128, 0.128), "micrometer")
    VoxelChoice(voxel_size=(0.284, 0.128, 0.128), unit='micrometer', known=True, notes=())
    >>> choose_voxel_size(None).known
    False
    >>> c = choose_voxel_size("2.18,1,1", current=(2.0, 1.0, 1.0), current_unit="micrometer")
    >>> c.voxel_size, c.unit, c.notes[0]
    ((2.18, 1.0, 1.0), 'micrometer', 'voxel size changed from 2,1,1 micrometer to 2.18,1,1 micrometer; boxes and labels are in voxels and stay where they are.')
    """
    if given is None or not str(given).strip():
        if current is not None:
            return VoxelChoice(check_voxel_size(current), current_unit or DEFAULT_UNIT, bool(current_known))
        if recorded is not None:
            return VoxelChoice(check_voxel_size(recorded), recorded_unit or DEFAULT_UNIT, True)
        return VoxelChoice((1.0, 1.0, 1.0), "pixel", False)
    vs, unit = parse_voxel_size(given)
    notes = []
    if unit is None:
        unit = (current_unit if current is not None and current_known else None) or recorded_unit
        if unit is None:
            unit = DEFAULT_UNIT
            notes.append(f"no unit given with the voxel size; using {unit} (add one, e.g. "
                         f"{format_voxel_size(vs)}nm or {format_voxel_size(vs)}px).")
    if current is not None and current_known:
        old = (check_voxel_size(current), current_unit)
        if old != (vs, unit):
            notes.append(f"voxel size changed from {format_voxel_size(*old)} to {format_voxel_size(vs, unit)}; "
                         "boxes and labels are in voxels and stay where they are.")
    elif current is None and recorded is not None:
        old = (check_voxel_size(recorded), recorded_unit or DEFAULT_UNIT)
        if old != (vs, unit):
            notes.append(f"using the given voxel size {format_voxel_size(vs, unit)} instead of the "
                         f"file's {format_voxel_size(*old)}.")
    return VoxelChoice(vs, unit, True, tuple(notes))
