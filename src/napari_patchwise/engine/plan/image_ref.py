"""What a plan annotates: the image's shape, dtype, voxel size and unit, and where it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry.magnification import Triple, _as_int_triple
from ..geometry.voxelsize import normalize_unit


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
        Unit of ``voxel_size``; a common spelling (``nm``, ``µm``, ``A``) is stored under its
        UDUNITS-2 name (``nanometer``...), as every reader and the dock name units.
    voxel_size_known : bool
        False while nobody knows the voxel size (the file records none and
        none was given): ``voxel_size`` is then a placeholder and the plan
        carries a ``voxel-size-unknown`` warning.
    dataset : str or None
        The dataset holding the image in a file with several (HDF5).
    file_axes : str or None
        The file's axes when they are not plain ``ZYX`` (e.g. ``'TZYX'``,
        ``'CZYX'``; see :mod:`~napari_patchwise.engine.io.axes`), so the file
        is read again the same way even when its metadata records none.
    time : int or None
        The time point of the file this image is (a file with time points
        gives one image per time point).
    channels : int
        Channels of the image (1: one; more: the file is read as ``(c, z, y, x)``).
    channel_names : tuple of str or None
        A name per channel (``None``: ``channel_0``, ``channel_1``, ...).
    channel : int or None
        The channel proposal and seeding measure; ``None`` with several
        channels: the mean of the channels, each normalised.

    Examples
    --------
    >>> ref = ImageRef((5, 8, 8), path="cho.tif", file_axes="TZYX", time=3)
    >>> ImageRef.from_dict(ref.to_dict()) == ref, ref.read_options()
    (True, {'dataset': None, 'axes': 'TZYX', 'time': 3})
    >>> "time" in ImageRef((5, 8, 8)).to_dict()
    False
    """

    shape: Triple
    dtype: str = "uint16"
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    path: str | None = None
    name: str = "image"
    unit: str = "micrometer"
    voxel_size_known: bool = True
    dataset: str | None = None
    file_axes: str | None = None
    time: int | None = None
    channels: int = 1
    channel_names: tuple[str, ...] | None = None
    channel: int | None = None

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
        object.__setattr__(self, "unit", normalize_unit(self.unit) or self.unit)
        for key in ("path", "dataset"):
            if getattr(self, key) is not None and not isinstance(getattr(self, key), str):
                raise ValueError(f"image {key} must be text or null; got {getattr(self, key)!r}.")
        if not isinstance(self.voxel_size_known, bool):
            raise ValueError(f"image voxel_size_known must be true or false; got {self.voxel_size_known!r}.")
        self._check_axes()

    def _check_axes(self) -> None:
        if self.file_axes is not None:
            from ..io.axes import parse_axes

            object.__setattr__(self, "file_axes", parse_axes(self.file_axes))
        for key in ("time", "channel"):
            v = getattr(self, key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0):
                raise ValueError(f"image {key} must be a whole number >= 0 or null; got {v!r}.")
            if v is not None:
                object.__setattr__(self, key, int(v))
        n = self.channels
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"image channels must be a whole number >= 1; got {n!r}.")
        object.__setattr__(self, "channels", int(n))
        if self.channel is not None and self.channel >= self.channels:
            raise ValueError(f"image channel {self.channel} is outside 0-{self.channels - 1} "
                             f"(the image has {self.channels} channel{'s' if self.channels > 1 else ''}).")
        if self.channel_names is not None:
            names = self.channel_names
            if isinstance(names, str) or not all(isinstance(c, str) and c.strip() for c in names):
                raise ValueError(f"image channel_names must be a list of non-empty texts; got {names!r}.")
            names = tuple(names)
            if len(names) != self.channels:
                raise ValueError(f"image channel_names name {len(names)} channels, but the image has "
                                 f"{self.channels}: give one name per channel.")
            object.__setattr__(self, "channel_names", names)

    @property
    def channel_labels(self) -> tuple[str, ...]:
        """A name per channel: the recorded ones, else ``channel_0``, ``channel_1``, ...

        Examples
        --------
        >>> ImageRef((2, 4, 4), channels=2).channel_labels
        ('channel_0', 'channel_1')
        """
        return self.channel_names or tuple(f"channel_{i}" for i in range(self.channels))

    def read_options(self) -> dict:
        """How to read the image from its file again: ``read_volume(path, **ref.read_options())``."""
        return {"dataset": self.dataset, "axes": self.file_axes, "time": self.time}

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
        } | ({"dataset": self.dataset} if self.dataset is not None else {}) | self._axes_dict()

    def _axes_dict(self) -> dict:
        """The optional fields of time points and channels, written only when they say something."""
        out: dict = {}
        if self.file_axes is not None:
            out["file_axes"] = self.file_axes
        if self.time is not None:
            out["time"] = self.time
        if self.channels > 1:
            out["channels"] = self.channels
            if self.channel_names is not None:
                out["channel_names"] = list(self.channel_names)
            out["channel"] = self.channel
        return out

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
            file_axes=d.get("file_axes"),
            time=d.get("time"),
            channels=d.get("channels", 1),
            channel_names=d.get("channel_names"),
            channel=d.get("channel"),
        )
