"""What a plan annotates: the image's shape, dtype, voxel size and unit, and where it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry.magnification import Triple, _as_int_triple


def _triple_entry(value, what: str) -> tuple:
    """A list entry of plan.json (``[z, y, x]``) as a tuple; text is refused as a whole
    (``tuple("128")`` would read it character by character, as ``(1, 2, 8)``).

    Examples
    --------
    >>> _triple_entry([1, 2, 2], "magnification")
    (1, 2, 2)
    >>> _triple_entry("64,64,64", "image shape")
    Traceback (most recent call last):
    ...
    ValueError: image shape must be a list of three numbers [z, y, x]; got the text '64,64,64'.
    """
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{what} must be a list of three numbers [z, y, x]; got the text {value!r}.")
    try:
        return tuple(value)
    except TypeError:
        raise TypeError(f"{what} must be a list of three numbers [z, y, x]; got {value!r}") from None


@dataclass(frozen=True)
class ImageRef:
    """What the plan annotates.

    Parameters
    ----------
    shape : tuple of int
        Full-resolution shape ``(z, y, x)``; must be 3D.
    dtype : str
        NumPy dtype name.
    voxel_size : tuple of float
        Physical size of one voxel ``(z, y, x)`` (e.g. µm or nm).
    path : str or None
        Where the image is stored, relative to the project folder when inside it.
    name : str
        Display name (a napari layer name).
    unit : str
        Unit of ``voxel_size``.
    voxel_size_known : bool
        False while nobody knows the voxel size (the file records none and
        none was given): ``voxel_size`` is then a placeholder and the plan
        carries a ``voxel-size-unknown`` warning.
    dataset : str or None
        The dataset holding the image in a file with several (HDF5).
    """

    shape: Triple
    dtype: str = "uint16"
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    path: str | None = None
    name: str = "image"
    unit: str = "micrometer"
    voxel_size_known: bool = True
    dataset: str | None = None

    def __post_init__(self):
        shape = tuple(_triple_entry(self.shape, "image shape"))
        if len(shape) != 3:
            hint = (
                "this is a 2D image; patchwise plans 3D boxes — open a z-stack"
                if len(shape) == 2
                else "give a single-channel 3D volume (split channels or pick one)"
            )
            raise ValueError(f"the image must be 3D (z, y, x); got shape {shape}: {hint}.")
        object.__setattr__(self, "shape", _as_int_triple(shape, "image shape", positive=True))
        try:
            vs = tuple(float(v) for v in _triple_entry(self.voxel_size, "voxel size"))
        except (TypeError, ValueError):
            vs = ()
        if len(vs) != 3 or not all(np.isfinite(v) and v > 0 for v in vs):
            raise ValueError(
                f"voxel size must be three positive numbers (z, y, x); got {self.voxel_size!r}."
            )
        object.__setattr__(self, "voxel_size", vs)
        object.__setattr__(self, "dtype", str(np.dtype(self.dtype)))
        for key in ("name", "unit"):
            if not isinstance(getattr(self, key), str):
                raise ValueError(f"image {key} must be text; got {getattr(self, key)!r}.")
        for key in ("path", "dataset"):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), str):
                raise ValueError(f"image {key} must be text or null; got {getattr(self, key)!r}.")
        if not isinstance(self.voxel_size_known, bool):
            raise ValueError(f"image voxel_size_known must be true or false; got {self.voxel_size_known!r}.")

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "voxel_size": list(self.voxel_size),
            "unit": self.unit,
            "voxel_size_known": self.voxel_size_known,
            "axes": "zyx",
        } | ({"dataset": self.dataset} if self.dataset is not None else {})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ImageRef:
        return cls(
            shape=_triple_entry(d["shape"], "image shape"),
            dtype=d.get("dtype", "uint16"),
            voxel_size=_triple_entry(d.get("voxel_size", (1.0, 1.0, 1.0)), "image voxel_size"),
            path=d.get("path"),
            name=d.get("name", "image"),
            unit=d.get("unit", "micrometer"),
            voxel_size_known=d.get("voxel_size_known", True),
            dataset=d.get("dataset"),
        )
